"""Property-based fuzzing of every parser of bytes that come from a camera.

Whatever a body (or a damaged cable, or a file on disk) sends, a parser either returns a value or
raises one of the project's own errors (the ``AlpacaSonyError`` tree in errors.py): never an
IndexError, struct.error, ValueError or UnicodeDecodeError, never a hang. Existing tests cover
round trips and short garbage (tests/ptp/test_codecs.py, tests/sony/test_props.py,
tests/simulator/test_report.py); these add what they lack: the PTP session fed arbitrary reply
streams, mutations of real and valid datasets (not only truncations), every value decoder over
its whole input range, ARW files given to the decoder, and reports damaged inside their lines.

CI runs a short pass; ALPACA_SONY_FUZZ_EXAMPLES=5000 (see tests/fuzz/budget.py) runs a long one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from alpaca_sony.camera.decode import DecodedFrame, ReadoutMode, Subframe, decode
from alpaca_sony.clock import FakeClock
from alpaca_sony.errors import AlpacaSonyError, TransportTimeout
from alpaca_sony.ptp.codes import ContainerType
from alpaca_sony.ptp.container import pack_data, pack_params
from alpaca_sony.ptp.datasets import DeviceInfo, ObjectInfo
from alpaca_sony.ptp.session import PtpSession
from alpaca_sony.simulator.arw import write_arw
from alpaca_sony.simulator.bodies import BODIES
from alpaca_sony.simulator.body import BodySettings, SimulatedBody
from alpaca_sony.simulator.report import parse_report
from alpaca_sony.sony import values
from alpaca_sony.sony.props import parse_all_properties
from alpaca_sony.sony.protocol import ExtDeviceInfo
from tests.fuzz.budget import fuzz_settings
from tests.samples import hexdumps_after, report

SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
FUZZ = fuzz_settings(150, suppress_health_check=SLOW_OK)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


def _typed_errors_only(parse: Callable[[], Any]) -> Any:
    """The parse's value, or None when it raised one of the project's errors (anything else
    escapes and fails the example)."""
    try:
        return parse()
    except AlpacaSonyError as exc:
        error = exc
    assert str(error), f"{type(error).__name__} without a message"
    return None


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few bytes overwritten, inserted or deleted, and maybe cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, max(0, len(data) - 1)))
        edit = draw(st.sampled_from(["overwrite", "insert", "delete", "max"]))
        if edit == "overwrite" and data:
            data[where] = draw(st.integers(0, 255))
        elif edit == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "delete" and data:
            del data[where : where + draw(st.integers(1, 8))]
        elif data:
            data[where : where + 4] = b"\xff\xff\xff\xff"  # counts and lengths at their largest
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


# -- the PTP session, fed arbitrary reply streams --------------------------------------------


class GarbageCamera:
    """A transport whose camera answers every read with the next of a list of byte strings and
    then goes quiet (a timeout), the way a confused or failing body would."""

    max_packet_size = 512

    def __init__(self, replies: list[bytes], events: list[bytes]):
        self.replies = list(replies)
        self.events = list(events)
        # Each transaction may meet the timeout once; a session that reads past that is looping.
        self.reads_allowed = len(replies) + 2
        self.reads = 0

    def write(self, data: bytes, timeout_s: float) -> None:
        pass

    def read(self, size: int, timeout_s: float) -> memoryview:
        self.reads += 1
        assert self.reads <= self.reads_allowed, "the session read on after a timeout"
        if not self.replies:
            raise TransportTimeout("no more bytes from the camera")
        return memoryview(self.replies.pop(0)[:size])

    def read_event(self, timeout_s: float) -> bytes | None:
        return self.events.pop(0) if self.events else None

    def device_reset(self) -> None:
        pass

    def close(self) -> None:
        pass


OPERATION = 0x1001  # GetDeviceInfo: the first transaction a session runs, tid 0


def _plausible_container() -> st.SearchStrategy[bytes]:
    """Containers near what a body sends: the right or a stale tid, data then a response."""
    tid = st.sampled_from([0, 0, 1, 0xFFFFFFFF])
    data = st.builds(pack_data, st.sampled_from([OPERATION, 0x9209]), tid, st.binary(max_size=600))
    response = st.builds(
        pack_params,
        st.sampled_from([ContainerType.RESPONSE, ContainerType.EVENT, ContainerType.COMMAND]),
        st.sampled_from([0x2001, 0x2019, 0x2002]),
        tid,
        st.lists(u32, max_size=5).map(tuple),
    )
    return st.one_of(data, response)


@st.composite
def forged_containers(draw: st.DrawFn) -> bytes:
    """A header whose length and type need not match the bytes behind it."""
    body = draw(st.binary(max_size=64))
    exact = 12 + len(body)
    length = draw(st.one_of(st.integers(exact - 6, exact + 6), st.integers(0, exact + 24), u32))
    ctype = draw(st.sampled_from([ContainerType.RESPONSE, ContainerType.DATA, 0, 4, 5, 0xFFFF]))
    tid = draw(st.sampled_from([0, 1, 0xFFFFFFFF]))
    code = draw(st.sampled_from([OPERATION, 0x2001, 0x2019]))
    header = max(0, length).to_bytes(4, "little") + int(ctype).to_bytes(2, "little")
    return header + code.to_bytes(2, "little") + tid.to_bytes(4, "little") + body


_chunk = st.one_of(
    st.binary(max_size=40),
    forged_containers(),
    _plausible_container(),
    _plausible_container().flatmap(mutated),
    st.just(b""),  # zero-length packets
)
reply_chunks = st.tuples(forged_containers(), st.lists(_chunk, max_size=14)).map(
    lambda parts: [parts[0], *parts[1]]
)


@FUZZ
@given(reply_chunks, st.lists(st.one_of(st.binary(max_size=40), forged_containers()), max_size=3))
def test_a_session_fed_any_reply_stream_answers_or_raises_a_typed_error(
    replies: list[bytes], events: list[bytes]
) -> None:
    camera = GarbageCamera(replies, events)
    session = PtpSession(camera, timeout_s=1.0)
    _typed_errors_only(lambda: session.transaction(OPERATION, check=False))
    # The same session stays usable for the next operation and for events.
    _typed_errors_only(lambda: session.transaction(OPERATION, check=False))
    for _ in range(len(events)):
        _typed_errors_only(lambda: session.read_event(0.1))


# -- datasets ---------------------------------------------------------------------------------

# Seeds for the mutations: the shape of a Sony body's datasets (the ILCE-7SM3 of sony-a7sm3.txt,
# abridged); the exact values do not matter, the fuzz changes them.
_DEVICE_INFO = DeviceInfo(
    standard_version=100,
    vendor_extension_id=0x11,
    vendor_extension_version=100,
    vendor_extension_desc="Sony PTP Extensions",
    functional_mode=0,
    operations_supported=(0x1001, 0x1002, 0x1003, 0x9201, 0x9202, 0x9209),
    events_supported=(0xC201, 0xC203),
    device_properties_supported=(0x5007, 0xD20D),
    capture_formats=(0x3801,),
    image_formats=(0xB101, 0x3801),
    manufacturer="Sony Corporation",
    model="ILCE-7SM3",
    device_version="1.00",
    serial_number="00000000000000003282933003",
)
_OBJECT_INFO = ObjectInfo(
    *(0x10001, 0xB101, 0, 24_000_000, 0x3801, 9000, 160, 120, 4256, 2848, 14, 0, 0, 0, 7),
    filename="DSC00007.ARW",
    capture_date="20261201T221530",
    modification_date="20261201T221530",
    keywords="",
)


@cache
def _ext_device_info() -> bytes:
    # The real 0x9202 data phase of an ILCE-7SM3 (sony-a7sm3.txt, from line 550).
    text = report("sony-a7sm3.txt")
    return b"".join(hexdumps_after(text, "Reading PTP_OC 0x9202 (GetSDIOGetExtDeviceInfo) data"))


@cache
def _all_properties() -> bytes:
    # The real 0x9209 data phase of an ILCE-7SM3 (sony-a7sm3.txt, from line 1091).
    text = report("sony-a7sm3.txt")
    return b"".join(hexdumps_after(text, "Reading PTP_OC 0x9209 (GetAllDevicePropData) data"))


def test_the_real_dumps_are_there_and_parse() -> None:
    # The mutations below start from these: a missing or unparsable dump must fail loudly.
    assert ExtDeviceInfo.decode(_ext_device_info()[12:]).property_codes
    assert len(parse_all_properties(_all_properties()[12:])) > 50
    assert DeviceInfo.decode(_DEVICE_INFO.encode()) == _DEVICE_INFO
    assert ObjectInfo.decode(_OBJECT_INFO.encode()) == _OBJECT_INFO


@FUZZ
@given(st.one_of(st.binary(max_size=300), mutated(_DEVICE_INFO.encode())))
def test_device_info_from_any_bytes(data: bytes) -> None:
    _typed_errors_only(lambda: DeviceInfo.decode(data))


@FUZZ
@given(st.one_of(st.binary(max_size=200), mutated(_OBJECT_INFO.encode())))
def test_object_info_from_any_bytes(data: bytes) -> None:
    info = _typed_errors_only(lambda: ObjectInfo.decode(data))
    if info is not None:
        assert isinstance(info.filename, str)


@FUZZ
@given(st.data())
def test_ext_device_info_from_any_bytes(data: st.DataObject) -> None:
    raw = data.draw(st.one_of(st.binary(max_size=200), mutated(_ext_device_info()[12:])))
    _typed_errors_only(lambda: ExtDeviceInfo.decode(raw))


@FUZZ
@given(st.data(), st.sampled_from([None, False, True]))
def test_a_damaged_real_property_table_parses_or_is_malformed(
    data: st.DataObject, two_lists: bool | None
) -> None:
    raw = data.draw(mutated(_all_properties()[12:]))  # the payload after the data header
    table = _typed_errors_only(lambda: parse_all_properties(raw, two_lists))
    if table is None:
        return
    for descriptor in table.values():  # what the driver then reads from each entry
        _typed_errors_only(partial(getattr, descriptor, "allowed_values"))
        _typed_errors_only(partial(getattr, descriptor, "int_value"))
        assert isinstance(descriptor.writable, bool) and isinstance(descriptor.enabled, bool)


# -- value decoders -------------------------------------------------------------------------


@FUZZ
@given(u32, st.one_of(st.none(), u32))
def test_every_value_decoder_takes_any_raw_number(raw: int, other: int | None) -> None:
    speed = values.ShutterSpeed(raw)
    str(speed)
    _typed_errors_only(lambda: speed.seconds)
    _typed_errors_only(lambda: speed.duration)
    assert isinstance(values.same_shutter_speed(raw, other), bool)
    iso = values.Iso(raw)
    str(iso)
    assert isinstance(iso.is_plain, bool)
    values.f_number(raw & 0xFFFF)
    values.exposure_program(raw & 0xFFFF)
    values.is_manual_program(raw & 0xFFFF)
    values.is_autofocus(raw & 0xFFFF)
    percent = values.battery_percent(raw & 0xFF)
    assert percent is None or 0 <= percent <= 100
    values.battery_indicator(raw & 0xFF)
    fmt = values.file_format_from(raw & 0xFF, None if other is None else other & 0xFF)
    if fmt is not None:
        str(fmt)
        assert fmt.files_per_shot >= 1
    info = values.ShootingFileInfo(raw & 0xFFFF)
    assert info.ready_count >= 0


# -- ARW files given to the decoder -------------------------------------------------------------


@cache
def _small_arw() -> bytes:
    """A real-shaped ARW (simulator/arw.py) of a body shrunk to 128 x 96 so LibRaw is quick."""
    model = BODIES["ILCE-7SM3"]
    sensor = dataclasses.replace(
        model.sensor, raw_width=128, raw_height=96, visible_width=128, visible_height=96
    )
    mosaic = np.random.default_rng(9).integers(512, 16000, (96, 128), dtype=np.uint16)
    tiny = dataclasses.replace(model, sensor=sensor)
    return write_arw(tiny, mosaic, exposure_s=1.0, iso=800, when=dt.datetime(2026, 12, 1, 22, 0))


def test_the_small_arw_decodes() -> None:
    frame = decode(_small_arw(), ReadoutMode.RAW, Subframe(), 16383, body="ILCE-7SM3")
    assert (frame.width, frame.height) == (128, 96)


@st.composite
def damaged_arws(draw: st.DrawFn) -> bytes:
    good = _small_arw()
    kind = draw(st.sampled_from(["header", "anywhere", "cut", "random"]))
    if kind == "header":  # the TIFF header and IFDs: sizes, offsets, counts
        head = draw(mutated(good[:2048]))
        return head + good[2048:]
    if kind == "anywhere":
        return draw(mutated(good))
    if kind == "cut":
        return good[: draw(st.integers(0, len(good) - 1))]
    return draw(st.binary(max_size=4096))


@fuzz_settings(60, suppress_health_check=SLOW_OK)
@given(damaged_arws(), st.sampled_from(list(ReadoutMode)), st.booleans())
def test_a_damaged_arw_decodes_or_is_refused_with_a_sentence(
    data: bytes, mode: ReadoutMode, from_file: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source: bytes | Path = data
        if from_file:  # the worker decodes the saved original from disk
            source = Path(folder) / "DSC00001.ARW"
            source.write_bytes(data)
        frame = _typed_errors_only(
            lambda: decode(source, mode, Subframe(), 16383, body="ILCE-7SM3")
        )
    if frame is not None:
        assert isinstance(frame, DecodedFrame) and frame.width > 0 and frame.height > 0


# -- camera reports (simulator/report.py) -------------------------------------------------------


@st.composite
def damaged_report(draw: st.DrawFn, name: str) -> str:
    """A real report with characters changed inside lines: digits, hex, separators, lengths."""
    lines = report(name).splitlines()
    for _ in range(draw(st.integers(1, 12))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        if not line:
            continue
        where = draw(st.integers(0, len(line) - 1))
        replacement = draw(st.sampled_from(["", "9", "99999999999", "-", "0x", ":", "ff", " "]))
        lines[index] = line[:where] + replacement + line[where + 1 :]
    return "\n".join(lines)


@fuzz_settings(25, suppress_health_check=SLOW_OK)
@given(st.sampled_from(["sony-a7sm3.txt", "sony-a6000.txt", "sony-a7r4.txt"]), st.data())
def test_a_report_damaged_inside_its_lines_parses_or_is_refused(
    name: str, data: st.DataObject
) -> None:
    text = data.draw(damaged_report(name))
    profile = _typed_errors_only(lambda: parse_report(text, name))
    if profile is not None:
        # A report that parses builds a body that answers the driver's first questions.
        body = SimulatedBody(FakeClock(), BodySettings(report=profile))
        _typed_errors_only(body.all_properties)


@pytest.mark.parametrize("name", ["sony-a7sm3.txt", "sony-a6000.txt", "sony-a7r4.txt"])
def test_the_undamaged_reports_parse(name: str) -> None:
    assert parse_report(report(name), name).model


@pytest.mark.parametrize("missing", ["Bottom", "Top"])
def test_a_range_widget_without_a_bound_is_skipped_or_refused(missing: str) -> None:
    # The F-Number widget of sony-a6000.txt (lines 327-333) with one bound line lost.
    widget = ["/main/other/5007", "Label: F-Number", "Type: RANGE", "Current: 500"]
    widget += [f"{name}: {value}" for name, value in (("Bottom", 0), ("Top", 65535))]
    widget = [line for line in widget if not line.startswith(missing)]
    _typed_errors_only(lambda: parse_report("\n".join(["Model: ILCE-6000", *widget, "Step: 1"])))
