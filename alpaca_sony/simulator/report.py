"""Parse a libgphoto2 camera report into a :class:`BodyProfile`.

The reports in ``shared/samples/libgphoto2-sony/`` come in several shapes, often several in one
file: the ``gphoto2 --summary`` "Camera summary" (old style ``Name(0x5004):(readwrite) (type=0x2)
Enumeration [..] value: ..``, new style ``Name (5005 rw u16): Enumeration [..] value: ..``, and
German), ``--list-all-config`` widget dumps (``/main/other/d20d`` blocks), and debug logs with a
"Device info:" dataset, "sony code:" lines and USB hex dumps (a complete 0x9209 data phase in
sony-a7sm3.txt). Each line is tried against every shape; a line no shape understands is skipped
with a debug log. The first fact of each kind wins, and summary lines outrank widget dumps (they
carry the data type). Hex-dump bytes are decoded here, from the camera's side, not by the driver's
parser.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from alpaca_sony.errors import AlpacaSonyError
from alpaca_sony.ptp.codes import DataType
from alpaca_sony.ptp.datatypes import Value
from alpaca_sony.simulator.profile import BodyProfile, ReportedProperty
from alpaca_sony.sony.codes import FormFlag

log = logging.getLogger(__name__)

_STR = 0xFFFF
_NEW_STYLE_TYPES = {
    "i8": DataType.INT8, "u8": DataType.UINT8, "i16": DataType.INT16, "u16": DataType.UINT16,
    "i32": DataType.INT32, "u32": DataType.UINT32, "i64": DataType.INT64, "u64": DataType.UINT64,
    "str": _STR,
}  # fmt: skip
_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 8, 8: 8, 9: 16, 10: 16}

# "0.870874 PTP2/ptp2/library.c(2): " or "1.05 ptp_usb_getresp   (2): " in front of debug lines.
_DEBUG_PREFIX = re.compile(r"^\d+\.\d+\s+[\w/.\-]+\s*\(\d+\):\s?")
_OLD_PROPERTY = re.compile(
    r"^(?P<name>.*?)(?:\(0x(?P<code>[0-9a-fA-F]{4})\)|Property 0x(?P<bare>[0-9a-fA-F]{4})):\s*"
    r"\((?P<access>[^)]*)\)\s*"
    r"\(type=0x(?P<type>[0-9a-fA-F]+)\)\s*(?P<rest>.*)$"
)
_NEW_PROPERTY = re.compile(
    r"^(?P<name>.*?)\((?P<code>[0-9a-fA-F]{4}) (?P<access>rw|ro) (?P<type>[a-z0-9]+)\s*\):\s*"
    r"(?P<rest>.*)$"
)
_UNQUERYABLE = re.compile(
    r"^(?:.*?\(0x(?P<old>[0-9a-fA-F]{4})\)|Property 0x(?P<prop>[0-9a-fA-F]{4})"
    r"|.*?\((?P<new>[0-9a-fA-F]{4}) -- -+\)):.*(?:error|Fehler)",
    re.IGNORECASE,
)
_ENUM = re.compile(r"^Enumeration \[(?P<items>[^\]]*)\]\s*(?:value:\s*(?P<value>.*))?$")
_RANGE = re.compile(
    r"^Range \[(?P<lo>-?\d+) - (?P<hi>-?\d+), step (?P<step>-?\d+)\]\s*(?:value:\s*(?P<value>.*))?$"
)
_HEADER = {
    "model": re.compile(r"^\s*(?:Model|Modell):\s*(?P<v>\S.*?)\s*$"),
    "manufacturer": re.compile(r"^\s*(?:Manufacturer|Hersteller):\s*(?P<v>\S.*?)\s*$"),
    "device_version": re.compile(r"^\s*(?:Version|device version):\s*(?P<v>\S+)\s*$"),
    "serial_number": re.compile(
        r"^\s*(?:Serial Number|Seriennummer|serial number):\s*'?(?P<v>[^']*?)'?\s*$"
    ),
    "vendor_extension_desc": re.compile(
        r"^\s*(?:Vendor Extension Description|Beschreibung der Vendor Extension|"
        r"Vendor extension description):\s*(?P<v>.*?)\s*$"
    ),
}
_VENDOR_ID = re.compile(r"^\s*Vendor [Ee]xtension ID:\s*0x(?P<v>[0-9a-fA-F]+)")
_VENDOR_VERSION = re.compile(r"^\s*Vendor extension version:\s*(?P<v>\d+)")
_STANDARD_VERSION = re.compile(r"^\s*PTP Standard Version:\s*(?P<v>\d+)")
_FUNCTIONAL_MODE = re.compile(r"^\s*Functional Mode:\s*0x(?P<v>[0-9a-fA-F]+)")
_LIST_HEADERS = {
    "Supported operations:": "operations",
    "Events Supported:": "events",
    "Device Properties Supported:": "device_properties",
}
_LIST_ITEM = re.compile(r"^\s+0x(?P<v>[0-9a-fA-F]{4})\b")
_SONY_CODE = re.compile(r"^sony code:\s*(?P<v>[0-9a-fA-F]{1,4})\s*$")
_WIDGET = re.compile(r"^/main/(?P<path>\S+)\s*$")
_WIDGET_FIELD = re.compile(
    r"^(?P<key>Label|Readonly|Type|Current|Choice|Bottom|Top|Step):\s?(?P<v>.*)$"
)
_HEXDUMP_LINE = re.compile(r"^[0-9a-f]{4}  (?P<bytes>[0-9a-f]{2}(?:[ -][0-9a-f]{2}){0,15})")
_DATA_PHASE = re.compile(r"Reading PTP_OC 0x(?P<op>[0-9a-fA-F]{4}) .*data\.\.\.")
_PHASE_END = re.compile(r"(?:Reading|Sending) PTP_OC 0x[0-9a-fA-F]{4} .*(?:response|request)")
_SONY_CAPTURE = re.compile(r"Sony Capture|Sony Aufnahme")
_NO_VENDOR_CAPTURE = re.compile(r"No vendor specific capture", re.IGNORECASE)
_STATUS_WIDGETS = {
    "status/cameramodel": "model",
    "status/manufacturer": "manufacturer",
    "status/deviceversion": "device_version",
    "status/serialnumber": "serial_number",
    "status/vendorextension": "vendor_extension_desc",
}


class ReportError(AlpacaSonyError):
    """The file is not a camera report this parser can use."""


@dataclass
class _Widget:
    path: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    choices: list[str] = field(default_factory=list)


@dataclass
class _Collected:
    """Facts in the order found; the first of each kind wins."""

    source: str
    header: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    lists: dict[str, list[int]] = field(default_factory=dict)
    summary: dict[int, ReportedProperty] = field(default_factory=dict)
    widgets: dict[int, ReportedProperty] = field(default_factory=dict)
    dumped: dict[int, ReportedProperty] | None = None
    unqueryable: set[int] = field(default_factory=set)
    sony_capture: bool | None = None
    sdio_version: int | None = None
    dump_two_lists: bool | None = None
    access_reported: bool = False
    skipped: int = 0

    def first(self, key: str, value: str) -> None:
        if value and key not in self.header:
            self.header[key] = value


def load_report(path: str | Path) -> BodyProfile:
    """The profile in the report file ``path``.

    Raises:
        ReportError: unreadable, or not a libgphoto2 camera report.
    """
    report = Path(path)
    try:
        text = report.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ReportError(
            f"cannot read the camera report {report}: {exc.strerror or exc}; "
            "give the path of a gphoto2 --summary output"
        ) from exc
    return parse_report(text, report.name)


def parse_report(text: str, source: str = "<report>") -> BodyProfile:
    """The profile a report's text describes (``source`` names it in logs and comments).

    Raises:
        ReportError: the text names no camera model or shows no camera facts at all.
    """
    found = _Collected(source)
    lines = [_DEBUG_PREFIX.sub("", line.rstrip("\r\n")) for line in text.splitlines()]
    _walk(lines, found)
    model = found.header.get("model", "").strip()
    has_facts = bool(found.summary or found.widgets or found.dumped or found.lists)
    if not model or not has_facts:
        raise ReportError(
            f"{source} is not a libgphoto2 camera report (no camera model and device facts in it); "
            "give the output of `gphoto2 --summary` for a camera"
        )
    if found.skipped:
        log.debug("%s: %d lines not understood and skipped", source, found.skipped)
    properties = dict(found.widgets)
    properties.update(found.summary)  # summaries carry the data type: they win over widgets
    if found.dumped:
        properties.update(found.dumped)  # the camera's own bytes win over everything
    ordered = _report_order(found, properties)
    return BodyProfile(
        source=source,
        model=model,
        manufacturer=found.header.get("manufacturer"),
        device_version=found.header.get("device_version"),
        serial_number=found.header.get("serial_number"),
        vendor_extension_id=found.numbers.get("vendor_extension_id", _vendor_from_desc(found)),
        vendor_extension_version=found.numbers.get("vendor_extension_version"),
        vendor_extension_desc=found.header.get("vendor_extension_desc"),
        standard_version=found.numbers.get("standard_version"),
        functional_mode=found.numbers.get("functional_mode"),
        operations=_tuple(found.lists.get("operations")),
        events=_tuple(found.lists.get("events")),
        device_properties=_tuple(found.lists.get("device_properties")),
        sdio_codes=_tuple(found.lists.get("sdio_codes")),
        sony_capture=found.sony_capture,
        sdio_version=found.sdio_version,
        dump_two_lists=found.dump_two_lists,
        properties=ordered,
        unqueryable=frozenset(found.unqueryable - set(properties)),
        access_reported=found.access_reported,
    )


def _tuple(values: list[int] | None) -> tuple[int, ...] | None:
    return None if values is None else tuple(dict.fromkeys(values))


def _vendor_from_desc(found: _Collected) -> int | None:
    # Widget dumps give only the description: "Sony PTP Extensions" is vendor extension 0x11.
    return 0x11 if found.header.get("vendor_extension_desc") == "Sony PTP Extensions" else None


def _report_order(
    found: _Collected, properties: dict[int, ReportedProperty]
) -> tuple[ReportedProperty, ...]:
    # The 0x9209 dump's order if there is one, else the summary's, else the widgets'.
    order = list(found.dumped or {}) + list(found.summary) + list(found.widgets)
    return tuple(properties[code] for code in dict.fromkeys(order))


# -- the walk --------------------------------------------------------------------------------------


@dataclass
class _Walk:
    """Where the walk is: inside a DeviceInfo list, a widget block or a hex dump."""

    current_list: str | None = None
    widget: _Widget | None = None
    dump_op: int | None = None
    dump: bytearray = field(default_factory=bytearray)


def _walk(lines: list[str], found: _Collected) -> None:
    state = _Walk()
    for number, line in enumerate(lines, start=1):
        where = f"{found.source}:{number}"
        if _in_widget(state, line, found) or _in_dump(state, line, found, where):
            continue
        phase = _DATA_PHASE.search(line)
        if phase:
            state.dump_op, state.dump = int(phase["op"], 16), bytearray()
            continue
        if _in_list(state, line, found) or _line(line, where, found):
            continue
        widget_start = _WIDGET.match(line)
        if widget_start:
            state.widget = _Widget(widget_start["path"], number)
            continue
        if line.strip() and not _HEXDUMP_LINE.match(line):
            found.skipped += 1
            log.debug("%s: skipped (not understood): %s", where, line.strip()[:80])
    if state.widget is not None:
        _widget_done(state.widget, found)
    if state.dump_op is not None:
        _dump_done(state.dump_op, bytes(state.dump), found, f"{found.source}:end")


def _in_widget(state: _Walk, line: str, found: _Collected) -> bool:
    widget = state.widget
    if widget is None:
        return False
    if line.strip() == "END":
        _widget_done(widget, found)
        state.widget = None
        return True
    match = _WIDGET_FIELD.match(line)
    if match:
        if match["key"] == "Choice":
            widget.choices.append(match["v"].partition(" ")[2])
        else:
            widget.fields[match["key"]] = match["v"].strip()
        return True
    _widget_done(widget, found)  # an unterminated block ends at the first foreign line
    state.widget = None
    return False


def _in_dump(state: _Walk, line: str, found: _Collected, where: str) -> bool:
    if state.dump_op is None:
        return False
    hexline = _HEXDUMP_LINE.match(line)
    if hexline:
        state.dump += bytes.fromhex(hexline["bytes"].replace("-", " "))
        return True
    if not (_PHASE_END.search(line) or _DATA_PHASE.search(line)):
        return True  # "Read 8192 = 0x2000 bytes from port" between chunks
    _dump_done(state.dump_op, bytes(state.dump), found, where)
    state.dump_op, state.dump = None, bytearray()
    return False


def _in_list(state: _Walk, line: str, found: _Collected) -> bool:
    stripped = line.strip()
    if stripped in _LIST_HEADERS:
        name = _LIST_HEADERS[stripped]
        if found.lists.get(name):
            name = "later " + name  # a second DeviceInfo in the same file: the first wins
        found.lists.setdefault(name, [])
        state.current_list = name
        return True
    if state.current_list is not None:
        item = _LIST_ITEM.match(line)
        if item:
            found.lists[state.current_list].append(int(item["v"], 16))
            return True
        state.current_list = None
    return False


def _line(line: str, where: str, found: _Collected) -> bool:
    """Try every one-line shape; True when the line was understood."""
    if "(read only)" in line or _NEW_PROPERTY.match(line.strip()):
        found.access_reported = True
    for shape in (_NEW_PROPERTY, _OLD_PROPERTY):
        match = shape.match(line.strip())
        if match:
            prop = _summary_property(match, where, found.access_reported)
            if prop is not None and prop.code not in found.summary:
                found.summary[prop.code] = prop
            return prop is not None
    unqueryable = _UNQUERYABLE.match(line.strip())
    if unqueryable:
        code = unqueryable["old"] or unqueryable["prop"] or unqueryable["new"]
        found.unqueryable.add(int(code, 16))
        return True
    sony = _SONY_CODE.match(line.strip())
    if sony:
        found.lists.setdefault("sdio_codes", []).append(int(sony["v"], 16))
        return True
    for key, pattern in _HEADER.items():
        match = pattern.match(line)
        if match:
            found.first(key, match["v"])
            return True
    for key, pattern in (
        ("vendor_extension_id", _VENDOR_ID),
        ("vendor_extension_version", _VENDOR_VERSION),
        ("standard_version", _STANDARD_VERSION),
        ("functional_mode", _FUNCTIONAL_MODE),
    ):
        match = pattern.match(line)
        if match:
            base = 10 if key in ("vendor_extension_version", "standard_version") else 16
            found.numbers.setdefault(key, int(match["v"], base))
            return True
    if _SONY_CAPTURE.search(line):
        found.sony_capture = True if found.sony_capture is None else found.sony_capture
        return True
    if _NO_VENDOR_CAPTURE.search(line):
        found.sony_capture = False if found.sony_capture is None else found.sony_capture
        return True
    return False


# -- summary lines ---------------------------------------------------------------------------------


def _summary_property(match: re.Match[str], where: str, access: bool) -> ReportedProperty | None:
    code = int(match["code"] or match.groupdict().get("bare") or "", 16)
    raw_type = match["type"]
    if raw_type in _NEW_STYLE_TYPES:
        data_type = _NEW_STYLE_TYPES[raw_type]
    else:
        try:
            data_type = int(raw_type, 16)
        except ValueError:
            log.debug("%s: property 0x%04X has an unknown type %r; skipped", where, code, raw_type)
            return None
    if data_type != _STR and data_type not in _SIZES:
        log.debug("%s: property 0x%04X has type 0x%X no body uses; skipped", where, code, data_type)
        return None
    access_text = match["access"].strip()
    get_set = None
    if access:
        get_set = 0 if access_text in ("ro", "read only") else 1
    rest = match["rest"].strip()
    try:
        return _with_form(code, data_type, get_set, rest, where)
    except ValueError as exc:
        log.debug("%s: property 0x%04X not understood (%s); skipped", where, code, exc)
        return None


def _fit(data_type: int, value: int) -> int:
    """libgphoto2 prints some unsigned 64-bit values signed (-1): the wire value is 2**64 - 1."""
    if value < 0 and data_type in _SIZES and data_type % 2 == 0:
        return value % (1 << (8 * _SIZES[data_type]))
    return value


def _with_form(
    code: int, data_type: int, get_set: int | None, rest: str, where: str
) -> ReportedProperty:
    prop = _with_form_as_printed(code, data_type, get_set, rest, where)
    if isinstance(prop.current, int):
        prop = dataclasses.replace(prop, current=_fit(data_type, prop.current))
    return dataclasses.replace(
        prop,
        values=tuple(_fit(data_type, v) if isinstance(v, int) else v for v in prop.values),
        range=None if prop.range is None else tuple(_fit(data_type, v) for v in prop.range),  # type: ignore[arg-type]
    )


def _with_form_as_printed(
    code: int, data_type: int, get_set: int | None, rest: str, where: str
) -> ReportedProperty:
    enum = _ENUM.match(rest)
    if enum:
        items = tuple(int(v) for v in enum["items"].split(",") if v.strip())
        current = _value(enum["value"] or "", data_type, items[0] if items else 0)
        return ReportedProperty(
            code, data_type, current, FormFlag.ENUM, items, get_set=get_set, source=where
        )
    ranged = _RANGE.match(rest)
    if ranged:
        bounds = (int(ranged["lo"]), int(ranged["hi"]), int(ranged["step"]))
        current = _value(ranged["value"] or "", data_type, bounds[0])
        return ReportedProperty(
            code, data_type, current, FormFlag.RANGE, range=bounds, get_set=get_set, source=where
        )
    return ReportedProperty(
        code, data_type, _value(rest, data_type, 0), FormFlag.NONE, get_set=get_set, source=where
    )


_TRAILING_NUMBER = re.compile(r"\((?P<n>-?\d+)\)\s*$")
_QUOTED = re.compile(r"'(?P<s>[^']*)'")


def _value(text: str, data_type: int, fallback: int) -> Value:
    """The number in ``A (3)``, ``67536``, ``f/6.3 (630)``; the text in ``'...'`` for strings."""
    text = text.strip()
    if data_type == _STR:
        quoted = _QUOTED.search(text)
        value = quoted["s"] if quoted else text
        return "" if value == "(null)" else value
    trailing = _TRAILING_NUMBER.search(text)
    if trailing:
        return int(trailing["n"])
    try:
        return int(text)
    except ValueError:
        if not text:
            return fallback
        raise ValueError(f"value {text!r} is not a number") from None


# -- widget dumps ----------------------------------------------------------------------------------


def _widget_done(widget: _Widget, found: _Collected) -> None:
    where = f"{found.source}:{widget.line}"
    status = _STATUS_WIDGETS.get(widget.path)
    if status is not None:
        found.first(status, widget.fields.get("Current", ""))
        return
    if not re.fullmatch(r"other/[0-9a-f]{4}", widget.path):
        log.debug("%s: widget /main/%s is not a device property; skipped", where, widget.path)
        return
    code = int(widget.path[-4:], 16)
    try:
        prop = _widget_property(code, widget, where)
    except ValueError as exc:
        log.debug("%s: widget 0x%04X not understood (%s); skipped", where, code, exc)
        return
    if prop is not None and code not in found.widgets:
        found.widgets[code] = prop


def _number(text: str) -> int:
    """A widget number; RANGE bounds are printed as floats ("4.29497e+09" is the UINT32 top)."""
    value = float(text.replace(",", "."))  # German reports print "4,29497e+09"
    if value >= 4.29e9:
        return 0xFFFFFFFF
    return round(value)


def _widget_property(code: int, widget: _Widget, where: str) -> ReportedProperty | None:
    kind = widget.fields.get("Type", "")
    current_text = widget.fields.get("Current", "")
    if kind == "TEXT":
        return ReportedProperty(
            code, _STR, current_text, FormFlag.NONE, source=where, type_reported=False
        )
    current = _number(current_text)
    if kind == "RANGE" and not widget.choices:
        if "Bottom" not in widget.fields or "Top" not in widget.fields:
            log.debug("%s: range widget 0x%04X without its bounds skipped", where, code)
            return None
        bounds = (
            _number(widget.fields["Bottom"]),
            _number(widget.fields["Top"]),
            _number(widget.fields.get("Step", "1")),
        )
        data_type = _inferred_type((current, *bounds[:2]))
        return ReportedProperty(
            code, data_type, current, FormFlag.RANGE, range=bounds, source=where,
            type_reported=False,
        )  # fmt: skip
    if kind in ("MENU", "RADIO"):
        values = tuple(int(c) for c in widget.choices)
        return ReportedProperty(
            code, _inferred_type((current, *values)), current, FormFlag.ENUM, values,
            source=where, type_reported=False,
        )  # fmt: skip
    log.debug("%s: widget 0x%04X of type %r skipped", where, code, kind)
    return None


def _inferred_type(values: tuple[int, ...]) -> int:
    """The narrowest PTP type holding every value (widget dumps do not say the type).

    Good enough for the wire: the encoding is self-describing (the descriptor carries its type),
    and the properties the simulator acts on get their type from ``simulator.properties``.
    """
    low, high = min(values), max(values)
    if low < 0:
        return DataType.INT8 if low >= -128 and high < 128 else DataType.INT16
    if high <= 0xFF:
        return DataType.UINT8
    return DataType.UINT16 if high <= 0xFFFF else DataType.UINT32


# -- hex dumps -------------------------------------------------------------------------------------


def _dump_done(op: int, data: bytes, found: _Collected, where: str) -> None:
    if len(data) < 12:
        return
    length = struct.unpack_from("<I", data)[0]
    payload = data[12:length]
    if len(data) < length:
        log.debug("%s: 0x%04X data phase cut short in the dump; skipped", where, op)
        return
    if op == 0x9202 and found.sdio_version is None and len(payload) >= 2:
        found.sdio_version = struct.unpack_from("<H", payload)[0]
    elif op == 0x9209 and found.dumped is None:
        two_lists = found.sdio_version is not None and found.sdio_version >= 0x012C
        try:
            found.dumped = _descriptors(payload, two_lists, found.source)
        except (ValueError, struct.error) as exc:
            log.debug("%s: 0x9209 dump not decodable (%s); skipped", where, exc)
            return
        found.dump_two_lists = two_lists


class _Bytes:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ValueError(f"descriptor runs past the end at byte {self.at}")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def value(self, data_type: int) -> Value:
        if data_type == _STR:
            chars = self.uint(1)
            text = self.take(chars * 2).decode("utf-16-le", errors="replace")
            return text.rstrip("\x00")
        if data_type & 0x4000:
            count = self.uint(4)
            return tuple(self.scalar(data_type & 0xFF) for _ in range(count))
        return self.scalar(data_type)

    def scalar(self, data_type: int) -> int:
        if data_type not in _SIZES:
            raise ValueError(f"data type 0x{data_type:04X}")
        signed = data_type in (1, 3, 5, 7, 9)
        return int.from_bytes(self.take(_SIZES[data_type]), "little", signed=signed)


def _descriptors(payload: bytes, two_lists: bool, source: str) -> dict[int, ReportedProperty]:
    """The descriptors of a 0x9209 data phase (sony-ptp.md 4.1, 4.2), as the camera sent them."""
    data = _Bytes(payload)
    count = data.uint(4)
    data.take(4)  # the high half of the UINT64 element count
    out: dict[int, ReportedProperty] = {}
    for index in range(count):
        code, data_type = data.uint(2), data.uint(2)
        get_set, enabled = data.uint(1), data.uint(1)
        default = data.value(data_type)  # factory default ("reserved")
        current = data.value(data_type)
        form = data.uint(1)
        where = f"{source}: 0x9209 dump, descriptor {index + 1}"
        if form == FormFlag.RANGE:
            bounds = tuple(data.scalar(data_type) for _ in range(3))
            prop = ReportedProperty(code, data_type, current, form, range=bounds,  # type: ignore[arg-type]
                                    get_set=get_set, source=where)  # fmt: skip
        elif form == FormFlag.ENUM:
            first = tuple(data.value(data_type) for _ in range(data.uint(2)))
            second = (
                tuple(data.value(data_type) for _ in range(data.uint(2))) if two_lists else first
            )
            prop = ReportedProperty(
                code, data_type, current, form, second, get_set=get_set,
                first_values=first if first != second else None, source=where,
            )  # fmt: skip
        else:
            prop = ReportedProperty(code, data_type, current, FormFlag.NONE, get_set=get_set,
                                    source=where)  # fmt: skip
        out.setdefault(code, dataclasses.replace(prop, enabled=enabled, default=default))
    return out


# -- finding a model's report ----------------------------------------------------------------------

REPORTS_SUBDIR = Path("shared") / "samples" / "libgphoto2-sony"


def default_reports_dir() -> Path | None:
    """Where the libgphoto2 reports are when nobody says: ``../shared/samples/libgphoto2-sony``
    beside the current directory or beside the package checkout, whichever exists first."""
    checkout = Path(__file__).resolve().parents[2]
    for base in (Path.cwd(), checkout):
        candidate = base.parent / REPORTS_SUBDIR
        if candidate.is_dir():
            return candidate
    return None


_cache: dict[tuple[str, float], dict[str, BodyProfile]] = {}


def reports_in(folder: Path) -> dict[str, BodyProfile]:
    """The best report per model in ``folder`` (PC-remote ones first, then the fullest)."""
    key = (str(folder), folder.stat().st_mtime)
    if key in _cache:
        return _cache[key]
    best: dict[str, BodyProfile] = {}
    for path in sorted(folder.glob("*.txt")):
        try:
            profile = load_report(path)
        except ReportError as exc:
            log.debug("%s", exc)
            continue

        def rank(p: BodyProfile) -> tuple[bool, int]:
            return p.pc_remote()[0], len(p.properties)

        if profile.model not in best or rank(profile) > rank(best[profile.model]):
            best[profile.model] = profile
    _cache[key] = best
    return best


def find_report(model: str, folder: str | Path | None = None) -> BodyProfile | None:
    """The report for ``model`` in ``folder`` (None: :func:`default_reports_dir`), if any."""
    where = Path(folder).expanduser() if folder else default_reports_dir()
    if where is None or not where.is_dir():
        if folder:
            log.warning("no reports folder %s: the simulator uses its built-in table", where)
        return None
    profile = reports_in(where).get(model)
    if profile is not None:
        log.info("simulated %s takes its facts from %s", model, where / profile.source)
    return profile
