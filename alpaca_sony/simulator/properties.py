"""The simulated body's property table and its 0x9209 serialisation (sony-ptp.md 4.2).

This is the camera's side, written independently of the driver's parser (``sony.props``) so a bug
in one cannot hide in the other; the real ILCE-7SM3 dump pins the parser, the worked example of
sony-ptp.md 4.3 pins this writer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alpaca_sony.ptp.codes import DataType
from alpaca_sony.ptp.datatypes import Value, Writer
from alpaca_sony.simulator.bodies import SimulatedModel
from alpaca_sony.simulator.ladders import BULB, STANDARD_ISO_STEPS, STANDARD_LADDER, ladder_within
from alpaca_sony.simulator.profile import BodyProfile, ReportedProperty

__all__ = ["BULB", "FOCUS_MODES", "SimProperty", "build_from_profile", "build_properties"]
from alpaca_sony.sony.codes import PROTOCOL_V3, FormFlag, GetSet, SonyControl, SonyProp

log = logging.getLogger(__name__)

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
    # v3: the first ("settable") list when the camera sends a different one; ``values`` is always
    # the second (Get/Set) list, the one the body validates against (sony-ptp.md 14.5).
    first_values: tuple[Value, ...] | None = None

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
            lists = [self.values]
            if two_lists:
                first = self.values if self.first_values is None else self.first_values
                lists = [first, self.values]
            for listed in lists:
                w.u16(len(listed))
                for value in listed:
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


def build_properties(
    model: SimulatedModel,
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


# -- bodies built from a libgphoto2 report ---------------------------------------------------------

# Data types for the codes the body acts on, used when the report is a widget dump (which shows no
# type): the types every summary report in shared/samples/libgphoto2-sony gives them (e.g.
# sony-a7r4.txt, sony-a6000.txt, sony-a7mr2.txt). 0x500E is UINT32 on v3 (sony-ptp.md 5.1).
_KNOWN_TYPES: dict[int, int] = {
    SonyProp.COMPRESSION: DataType.UINT8,
    SonyProp.WHITE_BALANCE: DataType.UINT16,
    SonyProp.F_NUMBER: DataType.UINT16,
    SonyProp.FOCUS_MODE: DataType.UINT16,
    SonyProp.EXPOSURE_BIAS: DataType.INT16,
    SonyProp.STILL_CAPTURE_MODE: DataType.UINT16,
    SonyProp.SHUTTER_SPEED: DataType.UINT32,
    SonyProp.FOCUS_INDICATION: DataType.UINT8,
    SonyProp.SHOOTING_FILE_INFO: DataType.UINT16,
    SonyProp.BATTERY_REMAINING: DataType.INT8,
    SonyProp.ISO: DataType.UINT32,
    SonyProp.LIVE_VIEW_STATUS: DataType.UINT8,
    SonyProp.SAVE_DESTINATION: DataType.UINT16,
    SonyControl.S1_BUTTON: DataType.UINT16,
    SonyControl.S2_BUTTON: DataType.UINT16,
}
# v2 bodies move these only by 0x9207 notches: Get-only as properties (sony-ptp.md 3.4).
_NOTCHED_ON_V2 = (SonyProp.SHUTTER_SPEED, SonyProp.ISO, SonyProp.F_NUMBER, SonyProp.EXPOSURE_BIAS)
# 0xD253 File Format Still: 1 RAW, 2 RAW+JPEG, 3 JPEG (PTP-3 reference; sony-ptp.md 5.1), for the
# 0x5004 codes a BodySettings.compression names.
_STILL_FORMAT_FOR = {0x10: 1, 0x13: 2, 0x12: 2, 0x11: 2, 0x14: 2, 0x03: 3, 0x02: 3, 0x04: 3}


def _default(data_type: int) -> Value:
    return "" if data_type == DataType.STR else (() if data_type & 0x4000 else 0)


def _reported(prop: ReportedProperty, v3: bool, access_reported: bool) -> SimProperty | None:
    data_type = prop.data_type
    if not prop.type_reported and prop.code in _KNOWN_TYPES:
        data_type = _KNOWN_TYPES[prop.code]
        if prop.code == SonyProp.EXPOSURE_PROGRAM and v3:
            data_type = DataType.UINT32
    elif not prop.type_reported and prop.code == SonyProp.EXPOSURE_PROGRAM:
        data_type = DataType.UINT32 if v3 else DataType.UINT16
    get_set: int
    if prop.code in (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON):
        get_set = GetSet.BUTTON  # controls carry their control type here (sony-ptp.md 4.2, 4.3)
    elif prop.get_set is not None and (access_reported or prop.enabled is not None):
        get_set = prop.get_set
    else:  # old libgphoto2 printed "readwrite" for every property (ptp-pack.c set GetSet = 1);
        # the real byte shows in new-style lines, "(read only)" lines and hex dumps
        get_set = GetSet.GET if not v3 and prop.code in _NOTCHED_ON_V2 else GetSet.GET_SET
    sim = SimProperty(
        prop.code,
        data_type,
        get_set,
        prop.current,
        prop.form,
        prop.values,
        prop.range,
        enabled=1 if prop.enabled is None else prop.enabled,
        default=_default(data_type) if prop.default is None else prop.default,
        first_values=prop.first_values,
    )
    try:
        sim.encode(two_lists=True)
    except (ValueError, TypeError) as exc:
        log.debug(
            "%s: 0x%04X cannot be encoded as reported (%s); left out", prop.source, prop.code, exc
        )
        return None
    return sim


def _fills(v3: bool, battery_percent: int) -> list[SimProperty]:
    """What the body acts on, for reports that do not show it (sony-ptp.md 12.2's minimum set)."""
    program_type = DataType.UINT32 if v3 else DataType.UINT16
    programs = V3_PROGRAMS if v3 else V2_PROGRAMS
    notched = GetSet.GET_SET if v3 else GetSet.GET
    return [
        SimProperty(SonyProp.COMPRESSION, DataType.UINT8, GetSet.GET_SET, 0x10, FORM_ENUM,
                    (0x02, 0x03, 0x04, 0x10, 0x13)),
        SimProperty(SonyProp.FOCUS_MODE, DataType.UINT16, GetSet.GET_SET, 1, FORM_ENUM,
                    tuple(FOCUS_MODES.values())),
        SimProperty(SonyProp.EXPOSURE_PROGRAM, program_type, GetSet.GET, programs["M"], FORM_ENUM,
                    tuple(programs.values())),
        SimProperty(SonyProp.STILL_CAPTURE_MODE, DataType.UINT16, GetSet.GET_SET, 0x0001,
                    FORM_ENUM, (0x0001, 0x0002, 0x8012, 0x8004)),
        # A Range, as every v2 report shows 0xD20D; the body steps through ladders.py.
        SimProperty(SonyProp.SHUTTER_SPEED, DataType.UINT32, notched, (1 << 16) | 125, FORM_RANGE,
                    range=(0, 0xFFFFFFFF, 1)),
        SimProperty(SonyProp.ISO, DataType.UINT32, notched, 800, FORM_ENUM, STANDARD_ISO_STEPS),
        SimProperty(SonyProp.FOCUS_INDICATION, DataType.UINT8, GetSet.GET, 1),
        SimProperty(SonyProp.SHOOTING_FILE_INFO, DataType.UINT16, GetSet.GET, 0, FORM_RANGE,
                    range=(0, 0xFFFF, 1)),
        SimProperty(SonyProp.BATTERY_REMAINING, DataType.INT8, GetSet.GET, battery_percent,
                    FORM_RANGE, range=(-1, 100, 1)),
        SimProperty(SonyProp.LIVE_VIEW_STATUS, DataType.UINT8, GetSet.GET, 0),
        SimProperty(SonyControl.S1_BUTTON, DataType.UINT16, GetSet.BUTTON, 1, FORM_ENUM, (1, 2)),
        SimProperty(SonyControl.S2_BUTTON, DataType.UINT16, GetSet.BUTTON, 1, FORM_ENUM, (1, 2)),
    ]  # fmt: skip


def _dial(props: dict[int, SimProperty], code: int, value: Value, source: str) -> None:
    """Put a setting where the user turned the dial; the report's value if the body lacks it."""
    prop = props.get(code)
    if prop is None:
        return
    if prop.form == FORM_ENUM and prop.values and value not in prop.values:
        log.info(
            "%s: 0x%04X has no value %r; the report's %r stays", source, code, value, prop.current
        )
        return
    prop.current = value


def _dials(
    props: dict[int, SimProperty],
    source: str,
    program: str | None,
    focus: str | None,
    compression: int | None,
    shutter: int | None,
    iso: int | None,
) -> None:
    program_prop = props[SonyProp.EXPOSURE_PROGRAM]
    codes = V3_PROGRAMS if program_prop.data_type == DataType.UINT32 else V2_PROGRAMS
    if program is not None:
        _dial(props, SonyProp.EXPOSURE_PROGRAM, codes[program], source)
    if focus is not None:
        _dial(props, SonyProp.FOCUS_MODE, FOCUS_MODES[focus], source)
    if shutter is not None:
        _dial(props, SonyProp.SHUTTER_SPEED, shutter, source)
    if iso is not None:
        _dial(props, SonyProp.ISO, iso, source)
    if compression is not None and SonyProp.COMPRESSION in props:
        _dial(props, SonyProp.COMPRESSION, compression, source)
    elif compression in _STILL_FORMAT_FOR:
        _dial(props, SonyProp.STILL_FILE_FORMAT, _STILL_FORMAT_FOR[compression], source)


def build_from_profile(
    profile: BodyProfile,
    *,
    program: str | None,
    focus: str | None,
    compression: int | None,
    shutter: int | None,
    iso: int | None,
    long_exposure_nr: bool | None,
    battery_percent: int,
    idle_button_value: int | None,
    drive: int | None = None,
    destination: int | None = None,
) -> dict[int, SimProperty]:
    """The property table of a body built from its report, in the report's order.

    Every reported property keeps its type, form, lists and current value; the settings a user
    sets on the body before shooting (program, focus, file format, shutter, ISO) are then applied
    (None keeps the report's value); the body passes single shot and "save to the PC" too, the
    setup the worker makes anyway (sony-ptp.md 14.8), so tests that bypass it meet a usable body.
    Properties the body acts on and the report lacks come from ``_fills`` (logged).
    """
    v3 = profile.protocol_version()[0] >= PROTOCOL_V3
    props: dict[int, SimProperty] = {}
    for reported in profile.properties:
        sim = _reported(reported, v3, profile.access_reported)
        if sim is not None:
            props[sim.code] = sim
    has_format = SonyProp.COMPRESSION in props or SonyProp.STILL_FILE_FORMAT in props
    listed = profile.controls_listed()
    controls = (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON)
    for fill in _fills(v3, battery_percent):
        if fill.code in props or (fill.code == SonyProp.COMPRESSION and has_format):
            continue
        if fill.code in controls and listed is False:
            continue  # the body leaves them out of 0x9209; the table still holds their state
        log.debug("%s does not show 0x%04X: the simulator's default", profile.source, fill.code)
        props[fill.code] = fill
    for code in controls:
        if code not in props:  # absent from the report and from 0x9209: state only
            props[code] = SimProperty(code, DataType.UINT16, GetSet.BUTTON, 1, FORM_ENUM, (1, 2))
            props[code].current = 1 if idle_button_value is None else idle_button_value
        elif idle_button_value is not None:
            props[code].current = idle_button_value
    _dials(props, profile.source, program, focus, compression, shutter, iso)
    if drive is not None:
        _dial(props, SonyProp.STILL_CAPTURE_MODE, drive, profile.source)
    if destination is not None:
        _dial(props, SonyProp.SAVE_DESTINATION, destination, profile.source)
    lenr = props.get(SonyProp.LONG_EXPOSURE_NR)
    if lenr is not None and long_exposure_nr is not None:
        lenr.current = 2 if long_exposure_nr else 1  # 1 = off, 2 = on (sony-a1m2.txt [2,1])
    return props


def notch_ladders(props: dict[int, SimProperty]) -> dict[int, tuple[Value, ...]]:
    """The steps a notch moves along, where the descriptor itself lists none.

    A Range shutter steps through the standard Sony ladder (ladders.py), BULB at the long end; an
    empty ISO enumeration (sony-a7r4.txt, sony-a7c.txt) steps through 0xD226, the list those
    bodies send beside it (else ladders.STANDARD_ISO_STEPS), an empty shutter list through 0xD229.
    """
    out: dict[int, tuple[Value, ...]] = {}
    shutter = props.get(SonyProp.SHUTTER_SPEED)
    if shutter is not None and not shutter.values:
        twin = props.get(0xD229)
        if shutter.form == FORM_RANGE and shutter.range is not None:
            out[shutter.code] = (BULB, *ladder_within(shutter.range[0], shutter.range[1]))
        elif twin is not None and twin.values:
            out[shutter.code] = (BULB, *twin.values)
        else:
            out[shutter.code] = (BULB, *STANDARD_LADDER)
    iso = props.get(SonyProp.ISO)
    twin_iso = props.get(0xD226)
    if iso is not None and not iso.values:
        listed = twin_iso.values if twin_iso is not None else ()
        out[iso.code] = listed or STANDARD_ISO_STEPS
    return out
