"""Container and dataset codecs: round trips, golden bytes, and malformed input -> MalformedData."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpaca_sony.errors import MalformedData
from alpaca_sony.ptp.codes import ContainerType, DataType
from alpaca_sony.ptp.container import pack_data, pack_params, unpack_header, unpack_params
from alpaca_sony.ptp.datasets import DeviceInfo, ObjectInfo
from alpaca_sony.ptp.datatypes import SCALAR_LAYOUT, Reader, Writer, encode_value

u32 = st.integers(0, 0xFFFFFFFF)
u16 = st.integers(0, 0xFFFF)
ptp_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=60
).filter(lambda t: len(t.encode("utf-16-le")) // 2 < 255)


def test_open_session_golden_bytes() -> None:
    # sony-ptp.md 2.1: OpenSession(1), transaction 0, and its OK response.
    command = pack_params(ContainerType.COMMAND, 0x1002, 0, (1,))
    assert command == bytes.fromhex("10000000 0100 0210 00000000 01000000")
    header, params = unpack_params(bytes.fromhex("0C000000 0300 0120 00000000"))
    assert (header.type, header.code, header.transaction_id, params) == (3, 0x2001, 0, ())


def test_press_s1_golden_bytes() -> None:
    # sony-ptp.md 3.4: S1 down with 0x9207 in transaction 7.
    assert pack_params(ContainerType.COMMAND, 0x9207, 7, (0xD2C1,)) == bytes.fromhex(
        "10000000 0100 0792 07000000 C1D20000"
    )
    assert pack_data(0x9207, 7, b"\x02\x00") == bytes.fromhex("0E000000 0200 0792 07000000 0200")


def test_ptp_string_golden_bytes() -> None:
    # sony-ptp.md 2.3: the example string "ILCE-6400", byte for byte.
    encoded = Writer().string("ILCE-6400").getvalue()
    assert encoded == bytes.fromhex("0A49004C00430045002D0036003400300030000000")
    assert Reader(encoded).string() == "ILCE-6400"


@given(
    ctype=st.sampled_from(list(ContainerType)), code=u16, tid=u32, params=st.lists(u32, max_size=5)
)
def test_params_round_trip(ctype: ContainerType, code: int, tid: int, params: list[int]) -> None:
    header, decoded = unpack_params(pack_params(ctype, code, tid, tuple(params)))
    assert (header.type, header.code, header.transaction_id, decoded) == (
        ctype,
        code,
        tid,
        tuple(params),
    )


@given(st.binary(max_size=40))
def test_garbage_containers_raise_malformed_or_decode(data: bytes) -> None:
    try:
        header, params = unpack_params(data)
    except MalformedData:
        return
    assert header.length == len(data) and len(params) <= 5


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(11),
        bytes.fromhex("08000000 0300 0120 00000000"),  # length below the header
        bytes.fromhex("0C000000 0700 0120 00000000"),  # unknown container type
        bytes.fromhex("20000000 0300 0120 00000000"),  # claims more than arrived
        bytes.fromhex("0E000000 0300 0120 00000000 0000"),  # half a parameter
        bytes.fromhex("24000000 0300 0120 00000000") + bytes(24),  # six parameters
    ],
)
def test_malformed_containers(data: bytes) -> None:
    with pytest.raises(MalformedData):
        unpack_params(data)


def test_header_needs_twelve_bytes() -> None:
    with pytest.raises(MalformedData):
        unpack_header(b"\x0c\x00\x00")


scalar_types = st.sampled_from(sorted(SCALAR_LAYOUT))


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[int, int | str | tuple[int, ...]]:
    kind = draw(st.sampled_from(["scalar", "array", "string"]))
    if kind == "string":
        return DataType.STR, draw(ptp_text)
    data_type = draw(scalar_types)
    size, signed = SCALAR_LAYOUT[data_type]
    low, high = (
        (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1)
        if signed
        else (0, (1 << (8 * size)) - 1)
    )
    if kind == "scalar":
        return data_type, draw(st.integers(low, high))
    return data_type | 0x4000, tuple(draw(st.lists(st.integers(low, high), max_size=8)))


@given(typed_values())
def test_value_round_trip(item: tuple[int, int | str | tuple[int, ...]]) -> None:
    data_type, value = item
    encoded = encode_value(data_type, value)
    reader = Reader(encoded)
    assert reader.value(data_type) == value
    assert reader.remaining == 0


@given(typed_values(), st.data())
def test_truncated_values_raise_malformed(
    item: tuple[int, int | str | tuple[int, ...]], data: st.DataObject
) -> None:
    data_type, value = item
    encoded = encode_value(data_type, value)
    if len(encoded) == 0 or encoded == b"\x00":
        return
    cut = data.draw(st.integers(0, len(encoded) - 1))
    truncated = encoded[:cut]
    if data_type == DataType.STR and cut == 0:
        truncated = b""
    with pytest.raises(MalformedData):
        Reader(truncated).value(data_type)


def test_unknown_data_type_is_malformed() -> None:
    with pytest.raises(MalformedData, match="unknown data type"):
        Reader(bytes(8)).value(0x0123)


def test_array_count_larger_than_data_is_malformed_without_allocating() -> None:
    with pytest.raises(MalformedData):
        Reader(bytes.fromhex("FFFFFFFF 0100")).array(DataType.UINT16)


device_infos = st.builds(
    DeviceInfo,
    standard_version=u16,
    vendor_extension_id=u32,
    vendor_extension_version=u16,
    vendor_extension_desc=ptp_text,
    functional_mode=u16,
    operations_supported=st.lists(u16, max_size=20).map(tuple),
    events_supported=st.lists(u16, max_size=5).map(tuple),
    device_properties_supported=st.lists(u16, max_size=5).map(tuple),
    capture_formats=st.lists(u16, max_size=3).map(tuple),
    image_formats=st.lists(u16, max_size=3).map(tuple),
    manufacturer=ptp_text,
    model=ptp_text,
    device_version=ptp_text,
    serial_number=ptp_text,
)


@given(device_infos)
def test_device_info_round_trip(info: DeviceInfo) -> None:
    assert DeviceInfo.decode(info.encode()) == info


@given(device_infos, st.data())
def test_truncated_device_info_is_malformed(info: DeviceInfo, data: st.DataObject) -> None:
    encoded = info.encode()
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(MalformedData):
        DeviceInfo.decode(encoded[:cut])


object_infos = st.builds(
    ObjectInfo,
    *[u32, u16, u16, u32, u16, u32, u32, u32, u32, u32, u32, u32, u16, u32, u32],
    filename=ptp_text,
    capture_date=ptp_text,
    modification_date=ptp_text,
    keywords=ptp_text,
)


@given(object_infos)
def test_object_info_round_trip(info: ObjectInfo) -> None:
    assert ObjectInfo.decode(info.encode()) == info


@given(st.binary(max_size=120))
def test_object_info_garbage_never_crashes(data: bytes) -> None:
    try:
        ObjectInfo.decode(data)
    except MalformedData:
        pass


def test_a_header_announcing_fewer_than_twelve_bytes_is_malformed() -> None:
    # A container is at least its 12-byte header; a length of 8 cannot be a PTP container.
    with pytest.raises(MalformedData):
        unpack_header(bytes.fromhex("08000000 0300 0120 00000000"))
