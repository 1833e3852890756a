"""The simulated body's property table and its 0x9209 serialisation (sony-ptp.md 4.2).

This is the camera's side, written independently of the driver's parser (``sony.props``) so a bug
in one cannot hide in the other; the real ILCE-7SM3 dump pins the parser, the worked example of
sony-ptp.md 4.3 pins this writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from alpaca_sony.ptp.codes import DataType
from alpaca_sony.ptp.datatypes import Value, Writer
from alpaca_sony.sony.codes import FormFlag, GetSet, SonyControl, SonyProp
from alpaca_sony.sony.models import CameraModel

FORM_NONE, FORM_RANGE, FORM_ENUM = FormFlag.NONE, FormFlag.RANGE, FormFlag.ENUM


@dataclass
class SimProperty:
    """One property as the body holds it (mutable: the body changes ``current``)."""

    code: int
    data_type: int
    get_set: int
    current: Value
    form: int = FORM_NONE
    values: tuple[Value, ...] = ()
    range: tuple[int, int, int] | None = None
    enabled: int = 1
    default: Value = 0

    def encode(self, two_lists: bool) -> bytes:
        """The descriptor bytes: code, type, GetSet, IsEnabled, default, current, form."""
        w = Writer()
        w.u16(self.code).u16(self.data_type).u8(self.get_set).u8(self.enabled)
        w.value(self.data_type, self.default)
        w.value(self.data_type, self.current)
        w.u8(self.form)
        if self.form == FORM_RANGE:
            assert self.range is not None  # noqa: S101 - construction guarantees it
            for bound in self.range:
                w.integer(self.data_type, bound)
        elif self.form == FORM_ENUM:
            lists = 2 if two_lists else 1
            for _ in range(lists):
                w.u16(len(self.values))
                for value in self.values:
                    w.value(self.data_type, value)
        return w.getvalue()


def encode_all(properties: list[SimProperty], two_lists: bool) -> bytes:
    """The 0x9209 payload: a UINT64 element count, then the descriptors back to back."""
    body = b"".join(p.encode(two_lists) for p in properties)
    return Writer().u32(len(properties)).u32(0).raw(body).getvalue()


# Exposure program codes per protocol width (sony-ptp.md 5.1).
V2_PROGRAMS = {"M": 0x0001, "P": 0x0002, "A": 0x0003, "S": 0x0004}
V3_PROGRAMS = {"M": 0x00000001, "P": 0x00010002, "A": 0x00020003, "S": 0x00030004}

FOCUS_MODES = {"MF": 0x0001, "AF-S": 0x0002, "AF-C": 0x8004, "DMF": 0x8006}
BULB = 0


def build_properties(
    model: CameraModel,
    *,
    v3: bool,
    program: str,
    focus: str,
    compression: int,
    shutter: int,
    iso: int,
    long_exposure_nr: bool,
    battery_percent: int,
) -> dict[int, SimProperty]:
    """The body's initial property table in the order the camera reports it."""
    program_codes = V3_PROGRAMS if v3 else V2_PROGRAMS
    wide = DataType.UINT32 if v3 else DataType.UINT16
    exposure_access = GetSet.GET_SET if v3 else GetSet.GET  # v2: only notches move them
    ladder = (BULB, *model.shutter_speeds)
    props = [
        SimProperty(
            SonyProp.COMPRESSION,
            DataType.UINT8,
            GetSet.GET_SET,
            compression,
            FORM_ENUM,
            model.compression_values,
        ),
        SimProperty(
            SonyProp.WHITE_BALANCE,
            DataType.UINT16,
            GetSet.GET_SET,
            0x0004,
            FORM_ENUM,
            (0x0002, 0x0004, 0x8011, 0x8010, 0x0006, 0x8001, 0x0007, 0x8012),
        ),
        SimProperty(SonyProp.F_NUMBER, DataType.UINT16, GetSet.GET, 0xFFFF),  # no lens: telescope
        SimProperty(
            SonyProp.FOCUS_MODE,
            DataType.UINT16,
            GetSet.GET_SET,
            FOCUS_MODES[focus],
            FORM_ENUM,
            tuple(FOCUS_MODES.values()),
        ),
        SimProperty(
            SonyProp.EXPOSURE_PROGRAM,
            wide,
            GetSet.GET_SET,
            program_codes[program],
            FORM_ENUM,
            tuple(program_codes.values()),
        ),
        SimProperty(
            SonyProp.EXPOSURE_BIAS,
            DataType.INT16,
            GetSet.GET,
            0,
            FORM_ENUM,
            tuple(range(-3000, 3001, 1000)),
        ),
        SimProperty(
            SonyProp.STILL_CAPTURE_MODE,
            wide,
            GetSet.GET_SET,
            0x0001,
            FORM_ENUM,
            (0x0001, 0x0002, 0x8012, 0x8004),
        ),
        SimProperty(SonyProp.IMAGE_SIZE, DataType.UINT8, GetSet.GET_SET, 1, FORM_ENUM, (1, 2, 3)),
        SimProperty(
            SonyProp.SHUTTER_SPEED, DataType.UINT32, exposure_access, shutter, FORM_ENUM, ladder
        ),
        SimProperty(SonyProp.BATTERY_LEVEL_INDICATOR, DataType.UINT8, GetSet.GET, 0x07),
        SimProperty(
            SonyProp.ASPECT_RATIO, DataType.UINT8, GetSet.GET_SET, 1, FORM_ENUM, (1, 2, 3, 4)
        ),
        SimProperty(SonyProp.FOCUS_INDICATION, DataType.UINT8, GetSet.GET, 1),
        SimProperty(
            SonyProp.SHOOTING_FILE_INFO,
            DataType.UINT16,
            GetSet.GET,
            0,
            FORM_RANGE,
            range=(0, 0xFFFF, 1),
        ),
        SimProperty(
            SonyProp.BATTERY_REMAINING,
            DataType.INT8,
            GetSet.GET,
            battery_percent,
            FORM_RANGE,
            range=(-1, 100, 1),
        ),
        SimProperty(
            SonyProp.ISO, DataType.UINT32, exposure_access, iso, FORM_ENUM, model.iso_values
        ),
        SimProperty(SonyProp.LIVE_VIEW_STATUS, DataType.UINT8, GetSet.GET, 0),
        SimProperty(
            SonyProp.SAVE_DESTINATION,
            DataType.UINT16,
            GetSet.GET_SET,
            0x0001,
            FORM_ENUM,
            (0x0001, 0x0011, 0x0010),
        ),
        SimProperty(SonyProp.POSITION_KEY, DataType.UINT8, GetSet.GET_SET, 0, FORM_ENUM, (0, 1)),
    ]
    if v3:
        props.append(
            SimProperty(
                SonyProp.LONG_EXPOSURE_NR,
                DataType.UINT8,
                GetSet.GET_SET,
                2 if long_exposure_nr else 1,  # 1 = off, 2 = on: [2,1] in sony-a1m2.txt
                FORM_ENUM,
                (2, 1),
            )
        )
    props += [
        SimProperty(SonyControl.S1_BUTTON, DataType.UINT16, GetSet.BUTTON, 1, FORM_ENUM, (1, 2)),
        SimProperty(SonyControl.S2_BUTTON, DataType.UINT16, GetSet.BUTTON, 1, FORM_ENUM, (1, 2)),
    ]
    return {p.code: p for p in props}
