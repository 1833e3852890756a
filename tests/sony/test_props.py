"""The 0x9209 parser against the real ILCE-7SM3 dump, the documented example, and garbage."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpaca_sony.errors import MalformedData
from alpaca_sony.ptp.codes import DataType
from alpaca_sony.ptp.container import unpack_header
from alpaca_sony.simulator.bodies import BODIES
from alpaca_sony.simulator.properties import SimProperty, build_properties, encode_all
from alpaca_sony.sony.capture import shutter_ladder
from alpaca_sony.sony.codes import FormFlag, SonyProp
from alpaca_sony.sony.models import MODELS
from alpaca_sony.sony.props import parse_all_properties
from alpaca_sony.sony.protocol import ExtDeviceInfo
from alpaca_sony.sony.values import Iso, ShutterSpeed
from tests.samples import hexdumps_after, report

# sony-ptp.md 4.3: five descriptors in the v2 layout, byte for byte.
DOC_EXAMPLE = bytes.fromhex(
    "05000000 00000000"
    "0450 0200 01 01 00 10 02 0300 03 10 13"
    "0DD2 0600 00 01 00000000 0A002C01 00"
    "15D2 0400 00 01 0000 0180 01 0000 FFFF 0100"
    "13D2 0200 00 01 00 01 00"
    "C1D2 0400 81 01 0000 0100 00"
)


@pytest.fixture(scope="module")
def a7sm3_text() -> str:
    return report("sony-a7sm3.txt")


@pytest.fixture(scope="module")
def a7sm3_payload(a7sm3_text: str) -> bytes:
    container = b"".join(
        hexdumps_after(a7sm3_text, "Reading PTP_OC 0x9209 (GetAllDevicePropData) data")
    )
    header = unpack_header(container)
    # sony-a7sm3.txt line 1091 on: three USB reads, 1024 + 8192 + 145 bytes, dumped in full.
    assert header.length == len(container) == 9361
    return container[12:]


def _listed_properties(text: str) -> set[int]:
    """The codes the report's DeviceInfo summary lists after the handshake."""
    lines = text.splitlines()
    start = [i for i, line in enumerate(lines) if line.startswith("Device Properties Supported")][1]
    codes = set()
    for line in lines[start + 1 :]:
        match = re.match(r"  0x([0-9a-f]{4}) ", line)
        if not match:
            break
        codes.add(int(match.group(1), 16))
    return codes


def _control_codes(text: str) -> set[int]:
    payload = b"".join(hexdumps_after(text, "Reading PTP_OC 0x9202 (GetSDIOGetExtDeviceInfo) data"))
    return set(ExtDeviceInfo.decode(payload[12:]).control_codes)


@pytest.mark.parametrize("two_lists", [None, True], ids=["detected", "v3"])
def test_real_a7sm3_dump_decodes_to_the_reports_properties(
    a7sm3_text: str, a7sm3_payload: bytes, two_lists: bool | None
) -> None:
    table = parse_all_properties(a7sm3_payload, two_lists)
    assert len(table) == 320
    # Every property the summary lists appears, except the controls (a v3 body omits them from
    # 0x9209, sony-ptp.md 5.3), and nothing else appears.
    assert set(table) == _listed_properties(a7sm3_text) - _control_codes(a7sm3_text)
    assert SonyProp.SHUTTER_SPEED in table and 0xD2C1 not in table


def test_real_a7sm3_values(a7sm3_payload: bytes) -> None:
    table = parse_all_properties(a7sm3_payload, True)
    shutter = table[SonyProp.SHUTTER_SPEED]
    assert shutter.data_type == DataType.UINT32 and shutter.writable
    speeds = [v for v in shutter.values if isinstance(v, int)]
    assert len(speeds) == len(shutter.values) == 56
    assert [str(ShutterSpeed(v)) for v in speeds[:3]] == ["BULB", '30"', '25"']
    assert str(ShutterSpeed(speeds[-1])) == "1/8000"
    assert str(ShutterSpeed(shutter.int_value)) == "1/250"
    iso = table[SonyProp.ISO]
    assert Iso(iso.int_value).is_auto
    isos = [v for v in iso.values if isinstance(v, int)]
    assert len(isos) == len(iso.values)
    assert [str(Iso(v)) for v in isos[:5]] == ["AUTO", "40", "50", "64", "80"]
    assert Iso(isos[-1]).number == 409600
    assert table[SonyProp.SHOOTING_FILE_INFO].range == (0, 0xFFFF, 1)
    assert table[SonyProp.BATTERY_REMAINING].range == (-1, 100, 1)
    assert table[SonyProp.SAVE_DESTINATION].values == (1, 17, 16)
    # Exposure program: an empty settable list, the valid values in the second list.
    program = table[SonyProp.EXPOSURE_PROGRAM]
    assert program.values == () and 1 in (program.valid_values or ())
    # The simulator's a7S III offers the same ladders the real body sent.
    model = MODELS["ILCE-7SM3"]
    assert tuple(shutter.values) == (0, *model.shutter_speeds)
    assert tuple(iso.values) == model.iso_values


def test_documented_example_decodes() -> None:
    table = parse_all_properties(DOC_EXAMPLE, two_lists=False)
    assert [hex(c) for c in table] == ["0x5004", "0xd20d", "0xd215", "0xd213", "0xd2c1"]
    compression = table[SonyProp.COMPRESSION]
    assert (compression.current, compression.values, compression.writable) == (
        0x10,
        (3, 0x10, 0x13),
        True,
    )
    assert str(ShutterSpeed(table[SonyProp.SHUTTER_SPEED].int_value)) == '30"'
    assert table[SonyProp.SHOOTING_FILE_INFO].current == 0x8001
    assert table[0xD2C1].get_set == 0x81


def test_simulator_writer_reproduces_the_documented_bytes() -> None:
    properties = [
        SimProperty(0x5004, DataType.UINT8, 1, 0x10, FormFlag.ENUM, (3, 0x10, 0x13)),
        SimProperty(0xD20D, DataType.UINT32, 0, 0x012C000A),
        SimProperty(0xD215, DataType.UINT16, 0, 0x8001, FormFlag.RANGE, range=(0, 0xFFFF, 1)),
        SimProperty(0xD213, DataType.UINT8, 0, 1),
        SimProperty(0xD2C1, DataType.UINT16, 0x81, 1),
    ]
    assert encode_all(properties, two_lists=False) == DOC_EXAMPLE


@pytest.mark.parametrize("model", sorted(BODIES))
@pytest.mark.parametrize("two_lists", [False, True])
def test_simulator_tables_round_trip(model: str, two_lists: bool) -> None:
    props = build_properties(
        BODIES[model], v3=two_lists, program="M", focus="MF", compression=0x10,
        shutter=0x00010064, iso=800, long_exposure_nr=False, battery_percent=50,
    )  # fmt: skip
    payload = encode_all(list(props.values()), two_lists)
    for hint in (two_lists, None):  # explicit layout, and libgphoto2's detection
        table = parse_all_properties(payload, hint)
        assert set(table) == set(props)
        for code, prop in props.items():
            assert table[code].current == prop.current
            assert table[code].values == prop.values
            assert table[code].valid_values == (
                prop.values if two_lists and prop.form == 2 else None
            )


scalar = st.sampled_from([DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16,
                          DataType.INT32, DataType.UINT32])  # fmt: skip


@st.composite
def sim_properties(draw: st.DrawFn) -> SimProperty:
    data_type = draw(scalar)
    bits = {1: 8, 2: 8, 3: 16, 4: 16, 5: 32, 6: 32}[data_type]
    signed = data_type in (1, 3, 5)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    value = st.integers(low, high)
    form = draw(st.sampled_from([0, 1, 2]))
    return SimProperty(
        code=draw(st.integers(0x5000, 0xDFFF)),
        data_type=data_type,
        get_set=draw(st.sampled_from([0, 1, 0x81])),
        current=draw(value),
        form=form,
        values=tuple(draw(st.lists(value, max_size=6))) if form == 2 else (),
        range=(draw(value), draw(value), draw(value)) if form == 1 else None,
        default=draw(value),
    )


@settings(max_examples=150)
@given(st.lists(sim_properties(), max_size=12, unique_by=lambda p: p.code), st.booleans())
def test_random_tables_round_trip(props: list[SimProperty], two_lists: bool) -> None:
    table = parse_all_properties(encode_all(props, two_lists), two_lists)
    assert [table[p.code].current for p in props] == [p.current for p in props]
    assert [table[p.code].values for p in props] == [p.values for p in props]


@settings(max_examples=300)
@given(st.binary(max_size=200), st.sampled_from([None, False, True]))
def test_garbage_gives_malformed_data_never_a_crash(data: bytes, two_lists: bool | None) -> None:
    try:
        parse_all_properties(data, two_lists)
    except MalformedData:
        pass


@given(st.lists(sim_properties(), min_size=1, max_size=6, unique_by=lambda p: p.code), st.data())
def test_truncated_tables_are_malformed(props: list[SimProperty], data: st.DataObject) -> None:
    payload = encode_all(props, False)
    cut = data.draw(st.integers(0, len(payload) - 1))
    with pytest.raises(MalformedData):
        parse_all_properties(payload[:cut], False)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (bytes(4), "no element count"),
        (bytes.fromhex("FFFFFF0000000000") + bytes(20), "claims"),
        (bytes.fromhex("01000000 00000000 0450 3412 01 01 00 00 00"), "unknown data type"),
        (bytes.fromhex("01000000 00000000 0450 0200 01 01 00 10 07"), "unknown form flag"),
        (bytes.fromhex("01000000 00000000 0450 0200 01 01 00 10 02 FF00 03"), "enumeration"),
    ],
)
def test_specific_garbage_is_named(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedData, match=message):
        parse_all_properties(payload, False)


def test_the_driver_chooses_from_the_second_list_of_a_v3_descriptor(a7sm3_payload: bytes) -> None:
    # sony-ptp.md 14.5: libgphoto2 and Sony's sample code use the second (Get/Set) list; in the
    # real ILCE-7SM3 dump the first list of 0x500E is empty and the second holds 13 values.
    table = parse_all_properties(a7sm3_payload, True)
    program = table[SonyProp.EXPOSURE_PROGRAM]
    assert program.values == () and len(program.allowed_values) == 13
    assert program.allowed_values == program.valid_values
    shutter = table[SonyProp.SHUTTER_SPEED]
    assert shutter_ladder(table, None)[0] == 0 and len(shutter_ladder(table, None)) == len(
        set(shutter.valid_values or ())
    )
