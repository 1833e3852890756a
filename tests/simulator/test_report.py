"""The libgphoto2 report parser, per format, on the real reports; and the bodies built from them."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpaca_sony.clock import FakeClock
from alpaca_sony.ptp.codes import DataType
from alpaca_sony.simulator.body import BodySettings, SimulatedBody
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.ladders import BULB, STANDARD_LADDER, ladder_within, seconds
from alpaca_sony.simulator.profile import BodyProfile
from alpaca_sony.simulator.properties import build_from_profile, encode_all
from alpaca_sony.simulator.report import ReportError, find_report, load_report, parse_report
from alpaca_sony.sony.codes import PROTOCOL_V2, PROTOCOL_V3, FormFlag, SonyControl, SonyProp
from alpaca_sony.sony.props import parse_all_properties
from tests.samples import GPHOTO_REPORTS, hexdumps_after, report

ALL = sorted(GPHOTO_REPORTS.glob("sony-*.txt"))
ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> BodyProfile:
    return load_report(GPHOTO_REPORTS / name)


def test_old_style_summary() -> None:
    a7r4 = _load("sony-a7r4.txt")
    assert (a7r4.model, a7r4.device_version, a7r4.vendor_extension_id) == (
        "ILCE-7RM4",
        "1.00",
        0x11,
    )
    shutter = a7r4.property(SonyProp.SHUTTER_SPEED)
    assert shutter is not None and shutter.data_type == DataType.UINT32
    assert (shutter.form, shutter.range, shutter.current) == (
        FormFlag.RANGE,
        (0, 0xFFFFFFFF, 1),
        67536,
    )
    iso2 = a7r4.property(0xD226)  # a "Property 0xd226:(readwrite)" line, no name in front
    assert iso2 is not None and iso2.values[:3] == (0xFFFFFF, 50, 64)
    assert a7r4.idle_button_value() == 2  # 0xD2C1 "value: 2" (sony-ptp.md 14.2)
    assert 0xD223 in a7r4.unqueryable  # "error 2002 on query"
    assert a7r4.pc_remote() == (True, 'the device capabilities say "Sony Capture"')
    assert a7r4.protocol_version()[0] == PROTOCOL_V2
    program = a7r4.property(SonyProp.EXPOSURE_PROGRAM)
    assert program is not None and program.current == 3  # "value: A (3)": the number in brackets


def test_new_style_summary() -> None:
    a1m2 = _load("sony-a1m2.txt")
    program = a1m2.property(SonyProp.EXPOSURE_PROGRAM)
    assert program is not None and program.data_type == DataType.UINT32 and program.get_set == 0
    assert a1m2.protocol_version() == (PROTOCOL_V3, "Exposure Program 0x500E is UINT32")
    lenr = a1m2.property(SonyProp.LONG_EXPOSURE_NR)
    assert lenr is not None and lenr.values == (2, 1) and lenr.current == 1
    assert a1m2.long_exposure_nr() is False  # 1 = off
    assert a1m2.idle_button_value() == 0  # "ShutterHalfRelease (d2c1 rw u16): ... value: 0"
    date = a1m2.property(0xD223)
    assert date is not None and date.data_type == 0xFFFF and date.current == ""
    assert _load("sony-a7m5.txt").long_exposure_nr() is True  # 0xD15B value 2


def test_german_summary_and_device_info() -> None:
    a7rm2 = _load("sony-a7mr2.txt")
    assert a7rm2.model == "ILCE-7RM2" and a7rm2.sony_capture  # "Sony Aufnahme"
    assert a7rm2.operations is not None and 0x9209 in a7rm2.operations
    assert a7rm2.events == (0xC201, 0xC202, 0xC203)
    compression = a7rm2.property(SonyProp.COMPRESSION)
    assert compression is not None and compression.values == (2, 3, 4, 16, 19)


def test_widget_dump() -> None:
    a6400 = _load("sony-a6400.txt")
    assert (a6400.model, a6400.device_version) == ("ILCE-6400", "2.0")
    assert a6400.vendor_extension_id == 0x11  # from "Sony PTP Extensions"
    shutter = a6400.property(SonyProp.SHUTTER_SPEED)
    assert shutter is not None and not shutter.type_reported
    assert shutter.range == (0, 0xFFFFFFFF, 1)  # "Top: 4.29497e+09"
    compression = a6400.property(SonyProp.COMPRESSION)
    assert compression is not None and compression.current == 20
    assert compression.values == (2, 3, 4, 16, 19, 20, 18)
    a7s = _load("sony-a7s.txt")  # a German widget dump: "Top: 4,29497e+09"
    a7s_shutter = a7s.property(SonyProp.SHUTTER_SPEED)
    assert a7s_shutter is not None and a7s_shutter.range == (0, 0xFFFFFFFF, 1)


def test_debug_log_with_hex_dumps() -> None:
    a7sm3 = _load("sony-a7sm3.txt")
    assert a7sm3.sdio_version == PROTOCOL_V3  # the 0x9202 data phase's first word
    assert a7sm3.dump_two_lists and a7sm3.controls_listed() is False
    program = a7sm3.property(SonyProp.EXPOSURE_PROGRAM)
    assert program is not None and program.first_values == () and len(program.values) == 13
    assert a7sm3.long_exposure_nr() is True
    a6000 = _load("sony-a6000.txt")  # timestamped debug lines ("0.87 PTP2/ptp2/library.c(2):")
    assert a6000.model == "ILCE-6000" and a6000.operations is not None


def test_mtp_only_report() -> None:
    rx100 = _load("sony-dsc-rx100.txt")
    assert rx100.vendor_extension_id == 0xFFFFFFFF
    assert rx100.pc_remote()[0] is False
    body = SimulatedBody(FakeClock(), BodySettings(report=rx100))
    assert body.settings.usb_mode == "mtp"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_report_parses_and_builds_a_body(path: Path) -> None:
    profile = load_report(path)
    assert profile.model and profile.model == profile.model.strip()
    body = SimulatedBody(FakeClock(), BodySettings(report=profile))
    listed = parse_all_properties(body.all_properties(), two_lists=body.two_lists)
    assert SonyProp.SHUTTER_SPEED in listed  # the driver's parser reads every simulated table
    reported = {p.code for p in profile.properties}
    assert reported - set(body.props) <= {p.code for p in profile.properties if p.code > 0xFFFF}


def test_the_simulated_a7sm3_sends_the_bytes_the_real_one_sent() -> None:
    # The real 0x9209 data phase (sony-a7sm3.txt) against the table built from its report.
    dumps = hexdumps_after(report("sony-a7sm3.txt"), "Sending PTP_OC 0x9209")
    real = b"".join(dumps[:3])[12:]
    profile = _load("sony-a7sm3.txt")
    props = build_from_profile(
        profile, program=None, focus=None, compression=None, shutter=None, iso=None,
        long_exposure_nr=None, battery_percent=0, idle_button_value=None,
    )  # fmt: skip
    buttons = (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON)
    listed = [p for p in props.values() if p.code not in buttons]
    assert encode_all(listed, two_lists=True) == real


def test_the_standard_ladder_is_the_cameras_own() -> None:
    # libgphoto2 sony_shuttertable, encoded as the real bodies send it (sony-a7r4.txt 0xD229).
    a7r4_ladder = _load("sony-a7r4.txt").property(0xD229)
    assert a7r4_ladder is not None
    to_8000 = STANDARD_LADDER[: STANDARD_LADDER.index((1 << 16) | 8000) + 1]
    assert to_8000 == a7r4_ladder.values
    a7m5 = _load("sony-a7m5.txt").property(SonyProp.SHUTTER_SPEED)
    assert a7m5 is not None and a7m5.values[0] == BULB
    assert set(a7m5.values[1:]) <= set(STANDARD_LADDER)
    bounded = ladder_within(73536, 1966081)  # ILCE-7M4: [1/8000 - 30/1]
    assert (seconds(bounded[0]), bounded[-1]) == (30.0, (1 << 16) | 8000)
    assert ladder_within(0, 0xFFFFFFFF) == STANDARD_LADDER


def test_a_range_shutter_steps_through_the_standard_ladder() -> None:
    clock = FakeClock()
    body = SimulatedBody(clock, BodySettings(report=_load("sony-a7r4.txt")))
    assert body.props[SonyProp.SHUTTER_SPEED].form == FormFlag.RANGE
    body.notch(SonyProp.SHUTTER_SPEED, 1)
    clock.advance(body.settings.notch_delay_s)
    assert body.value(SonyProp.SHUTTER_SPEED) == (1 << 16) | 160  # 1/125 -> 1/160
    body.notch(SonyProp.SHUTTER_SPEED, -100)
    clock.advance(body.settings.notch_delay_s)
    assert body.value(SonyProp.SHUTTER_SPEED) == BULB  # past 30" in M: BULB


def test_lenr_and_idle_buttons_come_from_the_report() -> None:
    a7m5 = SimulatedBody(FakeClock(), BodySettings(report=_load("sony-a7m5.txt")))
    assert a7m5.props[SonyProp.LONG_EXPOSURE_NR].current == 2  # as reported: on
    off = SimulatedBody(
        FakeClock(), BodySettings(report=_load("sony-a7m5.txt"), long_exposure_nr=False)
    )
    assert off.props[SonyProp.LONG_EXPOSURE_NR].current == 1
    a7c = SimulatedBody(FakeClock(), BodySettings(report=_load("sony-a7c.txt")))
    assert a7c.props[SonyControl.S1_BUTTON].current == 2
    a7r3 = SimulatedBody(FakeClock(), BodySettings(report=_load("sony-a7r3.txt")))
    assert a7r3.props[SonyControl.S1_BUTTON].current == 1
    v2 = SimulatedBody(FakeClock(), BodySettings(report=_load("sony-a7r3.txt")))
    assert v2.settings.long_exposure_nr is True  # no 0xD15B: Sony's default, on


def test_v3_bodies_send_both_lists() -> None:
    body = SimulatedBody(FakeClock(), BodySettings(report=_load("sony-a7sm3.txt")))
    props = parse_all_properties(body.all_properties(), two_lists=True)
    program = props[SonyProp.EXPOSURE_PROGRAM]
    assert program.valid_values is not None
    assert program.values == () and len(program.valid_values) == 13  # as sony-a7sm3.txt sent


def test_a_body_the_table_lacks_gets_a_default_geometry(caplog: pytest.LogCaptureFixture) -> None:
    # The real ILCE-1M2 report under a model name no table has (every reported body is known).
    text = (GPHOTO_REPORTS / "sony-a1m2.txt").read_text().replace("ILCE-1M2", "ILCE-9XZ")
    with caplog.at_level(logging.INFO):
        camera = SimulatedCamera(FakeClock(), BodySettings(report=parse_report(text)))
    assert camera.body.model.model == "ILCE-9XZ"
    assert "the model table has no ILCE-9XZ" in caplog.text
    info = camera._device_info()
    assert info.model == "ILCE-9XZ" and info.device_version == "3.00"
    assert 0x9201 in info.operations_supported  # no DeviceInfo in the report: the PC-remote set


def test_device_info_comes_from_the_report() -> None:
    camera = SimulatedCamera(FakeClock(), BodySettings(report=_load("sony-a7sm3.txt")))
    profile = _load("sony-a7sm3.txt")
    info = camera._device_info()
    assert info.operations_supported == profile.operations
    assert info.events_supported == profile.events
    assert info.device_version == "3.00"


def test_simulator_model_uses_its_report_and_the_table_otherwise() -> None:
    assert SimulatedBody(FakeClock(), BodySettings(model="ILCE-7RM4")).profile is not None
    assert SimulatedBody(FakeClock(), BodySettings(model="ILCE-7M3")).profile is None  # none
    table = SimulatedBody(FakeClock(), BodySettings(model="ILCE-7RM4", reports_dir=""))
    assert table.profile is None
    found = find_report("ILCE-7RM2", GPHOTO_REPORTS)
    # Three reports: sony-a7r2.txt has no properties; of the two fullest the first by name wins.
    assert found is not None and found.source == "sony-a7mr2.txt"


def test_from_python_with_text_or_path() -> None:
    by_path = SimulatedCamera.from_report(GPHOTO_REPORTS / "sony-a7r4.txt", FakeClock())
    by_text = SimulatedCamera.from_report(report("sony-a7r4.txt"), FakeClock())
    assert by_path.body.model.model == by_text.body.model.model == "ILCE-7RM4"


@pytest.mark.parametrize(
    "text",
    ["", "hello\nworld\n", "\x89PNG\r\n\x1a\n\x00\x00", "Model: ILCE-7RM4\n"],
    ids=["empty", "prose", "binary", "model only"],
)
def test_not_a_report_is_one_clear_sentence(text: str) -> None:
    with pytest.raises(ReportError) as error:
        parse_report(text, "upload.txt")
    message = str(error.value)
    assert message.startswith("upload.txt is not a libgphoto2 camera report")
    assert "gphoto2 --summary" in message and "\n" not in message


def test_an_unreadable_report_says_so(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot read the camera report"):
        load_report(tmp_path / "missing.txt")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_garbage_never_crashes_the_parser(text: str) -> None:
    try:
        parse_report(text)
    except ReportError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_damaged_report_still_parses_or_is_refused(data: st.DataObject) -> None:
    lines = report("sony-a7r4.txt").splitlines()
    kept = data.draw(st.lists(st.sampled_from(lines), max_size=len(lines)))
    noise = data.draw(st.lists(st.text(max_size=60), max_size=5))
    try:
        profile = parse_report("\n".join(["Model: ILCE-7RM4", *kept, *noise]))
    except ReportError:
        return
    SimulatedBody(FakeClock(), BodySettings(report=profile)).all_properties()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alpaca_sony", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip


def test_cli_refuses_a_file_that_is_not_a_report(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("shopping list\nmilk\n")
    done = _cli("--simulator-report", str(bogus), "list")
    assert done.returncode == 2
    assert "notes.txt is not a libgphoto2 camera report" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_lists_a_reported_body() -> None:
    done = _cli("--simulator-report", str(GPHOTO_REPORTS / "sony-a7r4.txt"), "list")
    assert done.returncode == 0, done.stderr
    assert "ILCE-7RM4" in done.stdout and "mode: PC Remote" in done.stdout


def _call(port: int, method: str, member: str, body: str = "") -> object:
    url = f"http://127.0.0.1:{port}/api/v1/camera/0/{member}"
    ids = "ClientID=1&ClientTransactionID=2"
    if method == "GET":
        request = urllib.request.Request(f"{url}?{ids}")  # noqa: S310 - loopback http
    else:
        data = f"{ids}&{body}".encode()
        request = urllib.request.Request(url, data=data, method="PUT")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - loopback http
        answer = orjson.loads(reply.read())
    assert answer["ErrorNumber"] == 0, answer
    return answer.get("Value")


@contextlib.contextmanager
def _serving(report: Path, save_dir: Path, config_home: Path | None = None) -> Iterator[int]:
    """A real alpaca-sony process serving the report's body on loopback; yields its port."""
    env = dict(os.environ)
    if config_home is not None:
        env["XDG_CONFIG_HOME"] = str(config_home)
    server = subprocess.Popen(
        [sys.executable, "-m", "alpaca_sony", "--simulator-report", str(report),
         "--host", "127.0.0.1", "--port", "0", "--no-discovery", "--no-mdns",
         "--save-dir", str(save_dir)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            match = re.search(
                r"Alpaca server on http://127\.0\.0\.1:(\d+)/", server.stderr.readline()
            )
            port = int(match.group(1)) if match else None
        assert port, "the server never said its port"
        yield port
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        if server.stderr is not None:
            server.stderr.close()


def _connect(port: int) -> None:
    _call(port, "PUT", "connected", "Connected=True")
    deadline = time.monotonic() + 60
    while not _call(port, "GET", "connected"):
        assert time.monotonic() < deadline, "never connected"
        time.sleep(0.05)


def _error_of(port: int, member: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{port}/api/v1/camera/0/{member}?ClientID=1&ClientTransactionID=2"
    with urllib.request.urlopen(url, timeout=30) as reply:
        answer = orjson.loads(reply.read())
    return answer["ErrorNumber"], answer["ErrorMessage"]


def test_cli_serves_a_reported_body_over_http(tmp_path: Path) -> None:
    with _serving(GPHOTO_REPORTS / "sony-a7r4.txt", tmp_path) as port:
        _connect(port)
        assert _call(port, "GET", "name") == "Sony a7R IV"  # the body the report describes
        assert "ISO 800" in list(_call(port, "GET", "gains"))  # type: ignore[call-overload]


def test_a_reported_body_the_table_lacks_learns_its_size_and_keeps_it_after_a_restart(
    tmp_path: Path,
) -> None:
    # The real ILCE-1M2 report under a name no table has: the server must not invent a size,
    # shoots, learns the size from the ARW through LibRaw, and the next process reports it.
    report_file = tmp_path / "sony-unknown.txt"
    text = (GPHOTO_REPORTS / "sony-a1m2.txt").read_text().replace("ILCE-1M2", "ILCE-9XZ")
    report_file.write_text(text)
    config_home = tmp_path / "config"
    with _serving(report_file, tmp_path / "orig", config_home) as port:
        _connect(port)
        number, message = _error_of(port, "cameraxsize")
        assert number == 0x40B and "ILCE-9XZ" in message and "take one exposure" in message
        _call(port, "PUT", "startexposure", "Duration=0.01&Light=true")
        deadline = time.monotonic() + 120
        while not _call(port, "GET", "imageready"):
            assert time.monotonic() < deadline, "the image never became ready"
            time.sleep(0.05)
        width, height = _call(port, "GET", "cameraxsize"), _call(port, "GET", "cameraysize")
    saved = sorted(p.name for p in (tmp_path / "orig").iterdir())
    assert len(saved) == 1 and "ILCE-9XZ" in saved[0]
    # The simulated stand-in sensor's LibRaw visible size (the log names it; sony-ptp.md 9.1).
    assert (width, height) == (6024, 4024)
    assert (config_home / "alpaca-sony" / "learned-geometry.json").is_file()
    with _serving(report_file, tmp_path / "orig", config_home) as port:
        _connect(port)
        assert _call(port, "GET", "cameraxsize") == width
        assert _call(port, "GET", "cameraysize") == height
        assert _call(port, "GET", "numy") == height
