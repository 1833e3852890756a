"""A body's facts as a libgphoto2 report shows them (parsed by ``simulator.report``).

The profile holds only what the report says; each derived decision (PC remote or not, protocol
version, idle button value, LENR) is a method here that names the facts it rests on, so a reader can
check it against the report file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alpaca_sony.ptp.codes import DataType
from alpaca_sony.ptp.datatypes import Value
from alpaca_sony.sony.codes import PROTOCOL_V2, PROTOCOL_V3, SonyControl, SonyProp

SDIO_CONNECT, SDIO_GET_EXT_DEVICE_INFO = 0x9201, 0x9202
SONY_VENDOR_EXTENSION = 0x11


@dataclass(frozen=True)
class ReportedProperty:
    """One device property as the report shows it."""

    code: int
    data_type: int
    current: Value
    form: int  # sony.codes.FormFlag
    values: tuple[Value, ...] = ()  # the enumeration (v3: the second, Get/Set list)
    range: tuple[int, int, int] | None = None
    get_set: int | None = None  # None: the report does not carry the byte (old libgphoto2)
    first_values: tuple[Value, ...] | None = None  # v3 hex dump: the first list, when it differs
    source: str = ""  # "file:line" the fact came from
    type_reported: bool = True  # False: a widget dump, whose type the parser inferred
    enabled: int | None = None  # IsEnabled and factory default: only a hex dump shows them
    default: Value | None = None


@dataclass(frozen=True)
class BodyProfile:
    """Everything a report says about one body; None = the report does not show it."""

    source: str
    model: str
    manufacturer: str | None = None
    device_version: str | None = None
    serial_number: str | None = None
    vendor_extension_id: int | None = None
    vendor_extension_version: int | None = None
    vendor_extension_desc: str | None = None
    standard_version: int | None = None
    functional_mode: int | None = None
    operations: tuple[int, ...] | None = None
    events: tuple[int, ...] | None = None
    device_properties: tuple[int, ...] | None = None
    sdio_codes: tuple[int, ...] | None = None  # libgphoto2's "sony code:" lines (the 0x9202 lists)
    sony_capture: bool | None = None  # the "Sony Capture" device capability
    sdio_version: int | None = None  # the version word of a 0x9202 data phase in a hex dump
    dump_two_lists: bool | None = None  # a 0x9209 hex dump parsed with two enumeration lists
    properties: tuple[ReportedProperty, ...] = ()
    unqueryable: frozenset[int] = field(default_factory=frozenset)  # "error 2002 on query"
    # Whether the report carries real GetSet bytes (new style "rw"/"ro", or "(read only)" lines).
    access_reported: bool = False

    def property(self, code: int) -> ReportedProperty | None:
        for prop in self.properties:
            if prop.code == code:
                return prop
        return None

    # -- decisions --------------------------------------------------------------------------------

    def pc_remote(self) -> tuple[bool, str]:
        """Whether the body offers Sony's PC-remote (SDIO) protocol, and the fact that says so."""
        ops = self.operations or ()
        if SDIO_CONNECT in ops and SDIO_GET_EXT_DEVICE_INFO in ops:
            return True, "DeviceInfo lists the SDIO operations 0x9201/0x9202"
        if self.sony_capture:
            return True, 'the device capabilities say "Sony Capture"'
        if self.vendor_extension_id == 0xFFFFFFFF or (
            self.operations is not None and SDIO_CONNECT not in ops
        ):
            return False, "MTP-only DeviceInfo (no SDIO operations, vendor extension 0xffffffff)"
        if self.vendor_extension_id == SONY_VENDOR_EXTENSION and any(
            p.code in (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON) for p in self.properties
        ):
            return True, "Sony PTP Extensions with the SDIO shutter controls 0xD2C1/0xD2C2"
        return False, "the report shows no SDIO operation, capability or control"

    def protocol_version(self) -> tuple[int, str]:
        """v2 (0x00C8) or v3 (0x012C), and the fact that decided it.

        In order: the version word of a 0x9202 data phase in a hex dump; else the data type of
        Exposure Program 0x500E, which the PTP-3 reference makes UINT32 (sony-ptp.md 5.1; v2 bodies
        report UINT16); else v2 (every report without either is an older body).
        """
        if self.sdio_version is not None:
            version = PROTOCOL_V3 if self.sdio_version >= PROTOCOL_V3 else PROTOCOL_V2
            return version, f"the 0x9202 hex dump answers version 0x{self.sdio_version:04X}"
        program = self.property(SonyProp.EXPOSURE_PROGRAM)
        if program is not None:
            if program.data_type == DataType.UINT32:
                return PROTOCOL_V3, "Exposure Program 0x500E is UINT32"
            return PROTOCOL_V2, "Exposure Program 0x500E is not UINT32"
        return PROTOCOL_V2, "no 0x9202 dump and no 0x500E: an older body"

    def two_enum_lists(self) -> bool:
        """v3 descriptors carry the second enumeration list (sony-ptp.md 14.5)."""
        if self.dump_two_lists is not None:
            return self.dump_two_lists
        return self.protocol_version()[0] >= PROTOCOL_V3

    def controls_listed(self) -> bool | None:
        """Whether 0x9209 carries S1/S2: listed with a value, or "error on query" (absent)."""
        codes = (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON)
        if any(self.property(c) is not None for c in codes):
            return True
        if any(c in self.unqueryable for c in codes) or self.dump_two_lists is not None:
            return False  # queried and refused, or a complete 0x9209 dump without them
        return None

    def idle_button_value(self) -> int | None:
        """The S1 value the body reports at idle (sony-ptp.md 14.2: a reserved field)."""
        s1 = self.property(SonyControl.S1_BUTTON)
        return s1.current if s1 is not None and isinstance(s1.current, int) else None

    def long_exposure_nr(self) -> bool | None:
        """0xD15B: 1 = off, 2 = on (sony-a1m2.txt, sony-a7m5.txt); None when not reported."""
        lenr = self.property(SonyProp.LONG_EXPOSURE_NR)
        return None if lenr is None else lenr.current == 2
