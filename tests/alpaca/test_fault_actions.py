"""Fault rehearsal over HTTP: each fault action armed through the Action endpoint, as any client
would, then the exposure's state, message, recovery and the originals on disk checked. Expectations
follow tests/camera/test_fault_matrix.py: a lost connection is an Error saying so, the worker
reconnects, and every image the simulated camera took is on disk exactly once."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from falcon import testing

from alpaca_sony.alpaca.app import create_app
from alpaca_sony.config import Config, with_overrides
from alpaca_sony.runtime import Runtime
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.simulator.rehearsal import REHEARSALS
from tests.alpaca.conftest import SERVER, Api
from tests.camera.conftest import GatedClock

ERROR, IDLE = 5, 0


@pytest.fixture
def fault_api(api_factory: Callable[..., Api]) -> Callable[..., Api]:
    """The HTTP rig of tests/alpaca/conftest.py with the fault actions wired in."""
    return functools.partial(api_factory, fault_actions=True)


def _action(api: Api, name: str, parameters: str = "") -> dict[str, Any]:
    reply: dict[str, Any] = api.put(
        "action", urlencode({"Action": name, "Parameters": parameters})
    ).json
    return reply


def _armed(api: Api, name: str, parameters: str = "") -> str:
    reply = _action(api, name, parameters)
    assert reply["ErrorNumber"] == 0, reply
    message: str = orjson.loads(reply["Value"])["message"]
    return message


def _message(api: Api) -> str:
    reply = _action(api, "camerainfo")
    text: str = orjson.loads(reply["Value"])["message"]
    return text


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never: {what}")


def _expose(api: Api, seconds: float = 2.0) -> None:
    reply = api.put("startexposure", f"Duration={seconds}&Light=True").json
    assert reply["ErrorNumber"] == 0, reply


def _originals(tmp_path: Path) -> Counter[int]:
    """Sequence number -> how many ARWs on disk carry it (names: ..._<sequence>_...)."""
    names = [p.name for p in (tmp_path / "orig").glob("*.ARW")]
    return Counter(int(re.split(r"_", n)[2]) for n in names)


def _all_on_disk_once(api: Api, tmp_path: Path) -> None:
    taken = {shot.sequence for shot in api.camera.body.shots}
    _wait(lambda: set(_originals(tmp_path)) == taken, "every shot on disk")
    assert all(count == 1 for count in _originals(tmp_path).values()), _originals(tmp_path)


def _still_works(api: Api, tmp_path: Path) -> None:
    _expose(api, 1.0)
    api.wait_image()
    assert api.value("camerastate") == IDLE
    assert api.value("lastexposureduration") == pytest.approx(1.0)
    _all_on_disk_once(api, tmp_path)


# -- offering ----------------------------------------------------------------------------------


def _runtime_actions(config: Config, backend: Any = None) -> list[str]:
    runtime = Runtime(config, clock=GatedClock(), backend=backend)
    runtime._build_devices()
    try:
        client = testing.TestClient(create_app(runtime.devices, SERVER))
        reply = client.simulate_get("/api/v1/camera/0/supportedactions")
        actions: list[str] = orjson.loads(reply.content)["Value"]
        return actions
    finally:
        runtime.stop()


def test_simulator_mode_offers_the_fault_actions_and_a_real_camera_does_not(
    tmp_path: Path,
) -> None:
    simulated = with_overrides(
        Config(), camera={"simulator": "ILCE-7M3", "save_dir": str(tmp_path)}
    )
    offered = _runtime_actions(simulated)
    assert set(REHEARSALS) <= set(offered)
    assert "savedfiles" in offered
    # A camera found on USB (here a simulated one behind the plain pyusb path, as a real one).
    clock = GatedClock()
    on_usb = SimulatorBackend([SimulatedCamera(clock, BodySettings())], clock)
    plain = with_overrides(Config(), camera={"save_dir": str(tmp_path)})
    assert not any(name.startswith("sim") for name in _runtime_actions(plain, on_usb))


def test_names_are_case_insensitive_unknown_is_0x40c_bad_parameters_0x401(
    fault_api: Callable[..., Api], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = fault_api()
    api.connect()
    unknown = _action(api, "SimUnplugTheMoon")
    assert unknown["ErrorNumber"] == 0x40C and "simbusy" in unknown["ErrorMessage"]
    for name, parameters in [
        ("SIMBUSY", "many"),
        ("simbusy", "0"),
        ("simbusy", "1000"),
        ("simstaleimage", "-1"),
        ("SimLongExposureNR", "maybe"),
        ("simreplug", "now"),
        ("simunplugduringexposure", "-5"),
        ("simunplugduringexposure", "soon"),
        ("SimPowerOff", "now"),
        ("simpoweron", "1"),
        ("simbufferfull", "3"),
        ("simcorruptdownload", "everything"),
        ("SimSlowUSB", ""),
        ("simslowusb", "fast"),
        ("simslowusb", "-1"),
        ("simslowusb", "5000"),
    ]:
        reply = _action(api, name, parameters)
        assert reply["ErrorNumber"] == 0x401, (name, parameters, reply)
        assert "give" in reply["ErrorMessage"] or "no parameters" in reply["ErrorMessage"]
    assert api.camera.attached and api.camera.faults.usb_bytes_per_s is None
    assert api.camera.faults.take_corruption() is None and not api.camera.body.buffer
    # Nothing was armed: the next exposure meets no busy answer and no stale image.
    caplog.set_level(logging.DEBUG, logger="alpaca_sony.sony.protocol")
    _expose(api)
    api.wait_image()
    assert not [r for r in caplog.records if "camera busy" in r.getMessage()]
    assert len(api.camera.body.shots) == 1
    _all_on_disk_once(api, tmp_path)


# -- each fault --------------------------------------------------------------------------------


def test_unplug_during_exposure(fault_api: Callable[..., Api], tmp_path: Path) -> None:
    api = fault_api()
    api.connect()
    assert "simreplug" in _armed(api, "SimUnplugDuringExposure")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the exposure fails")
    assert "connection was lost" in _message(api)
    assert not api.camera.attached
    _armed(api, "simreplug")
    _wait(lambda: api.device.worker.snapshot().online, "the worker reconnects")
    # The cable went while the shutter was open: the shot ends (exposing advances the body's
    # clock) and is downloaded after the reconnect.
    _wait(lambda: not api.camera.body.exposing and len(api.camera.body.shots) == 1, "the shot")
    _all_on_disk_once(api, tmp_path)
    _still_works(api, tmp_path)
    assert _message(api) == ""


def test_unplug_during_download(fault_api: Callable[..., Api], tmp_path: Path) -> None:
    api = fault_api()
    api.connect()
    _armed(api, "simunplugduringdownload")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the download fails")
    assert "connection was lost" in _message(api)
    assert not api.camera.attached
    _armed(api, "SimReplug")
    _wait(lambda: api.device.worker.snapshot().online, "the worker reconnects")
    _all_on_disk_once(api, tmp_path)  # the cut download is fetched again, once
    _still_works(api, tmp_path)


def test_stall_during_download(fault_api: Callable[..., Api], tmp_path: Path) -> None:
    api = fault_api()
    api.connect()
    _armed(api, "simstalldownload")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the download times out")
    assert "connection was lost" in _message(api)
    _wait(lambda: api.device.worker.snapshot().online, "the worker reconnects")
    _all_on_disk_once(api, tmp_path)
    _still_works(api, tmp_path)


def test_busy_for_n_operations(
    fault_api: Callable[..., Api], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="alpaca_sony.sony.protocol")
    api = fault_api()
    api.connect()
    assert "5" in _armed(api, "simbusy", "5")
    _expose(api)
    api.wait_image()
    assert api.value("camerastate") == IDLE
    assert len([r for r in caplog.records if "camera busy" in r.getMessage()]) == 5
    _all_on_disk_once(api, tmp_path)
    _still_works(api, tmp_path)


def test_autofocus_miss_once_is_retried(
    fault_api: Callable[..., Api], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = fault_api(focus="AF-S")
    api.connect()
    _armed(api, "simautofocusmiss")
    _expose(api)
    api.wait_image()
    assert api.value("camerastate") == IDLE and _message(api) == ""
    assert any("could not focus; retrying" in r.getMessage() for r in caplog.records)
    assert len(api.camera.body.shots) == 1
    _all_on_disk_once(api, tmp_path)
    _still_works(api, tmp_path)


def test_autofocus_miss_twice_fails_without_a_shot(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = fault_api(focus="AF-S")
    api.connect()
    _armed(api, "SimAutofocusMiss", "2")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the exposure fails")
    assert "manual focus (MF)" in _message(api)
    assert not api.value("imageready")
    assert api.camera.body.shots == []  # S2 was never pressed
    _still_works(api, tmp_path)


def test_stale_image_in_the_buffer(fault_api: Callable[..., Api], tmp_path: Path) -> None:
    api = fault_api()
    api.connect()
    _armed(api, "simstaleimage", "2")
    _wait(lambda: len(_originals(tmp_path)) == 2, "the stale images are saved")
    _expose(api)
    api.wait_image()
    # The client gets its own frame, not an old one (the stale shots were 10 s long).
    assert api.value("lastexposureduration") == pytest.approx(2.0)
    _all_on_disk_once(api, tmp_path)
    assert len(_originals(tmp_path)) == 3


def test_long_exposure_noise_reduction_dark_frame_is_waited_for(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    """With LENR on the image comes a whole exposure later (body.py: a dark frame as long as the
    exposure): the driver must wait for it, not call it a lost picture or press again."""
    api = fault_api()
    api.connect()
    assert "is on" in _armed(api, "SimLongExposureNR", "ON")
    _expose(api, 30.0)
    api.wait_image()
    assert api.value("camerastate") == IDLE and _message(api) == ""
    assert api.value("lastexposureduration") == pytest.approx(30.0)
    assert len(api.camera.body.shots) == 1
    _all_on_disk_once(api, tmp_path)
    assert "is off" in _armed(api, "simlongexposurenr", "off")
    _still_works(api, tmp_path)


def test_camera_switched_off_mid_exposure_keeps_the_shot_for_after_power_on(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    """Switched off during a BULB hold: the USB device vanishes, the shot stays in the body's
    buffer through the power cycle (libgphoto2: "Camera on-off does not delete RAM") and is
    downloaded once the camera is back on."""
    api = fault_api(real_wait_s=5.0)  # the BULB hold blocks in real time: time to switch off
    api.connect()
    _expose(api, 60.0)
    _wait(api.clock.waiting.is_set, "the BULB hold")
    assert "switched off" in _armed(api, "SimPowerOff")
    assert not api.camera.attached
    _wait(lambda: api.value("camerastate") == ERROR, "the exposure fails")
    assert "connection was lost" in _message(api)
    # While it is off the worker keeps trying and says what to do; the shot waits in the body.
    _wait(lambda: "switch the camera on" in _message(api), "a reconnect attempt fails")
    assert "connection was lost" in _message(api)
    assert len(api.camera.body.shots) == 1 and len(api.camera.body.buffer) == 1
    assert not list((tmp_path / "orig").glob("*.ARW"))
    assert "reconnects" in _armed(api, "simpoweron")
    _wait(lambda: api.device.worker.snapshot().online, "the worker reconnects")
    _all_on_disk_once(api, tmp_path)
    _still_works(api, tmp_path)
    assert _message(api) == ""


def test_replug_while_switched_off_needs_power_on(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = fault_api()
    api.connect()
    _armed(api, "simpoweroff")
    assert "simpoweron" in _armed(api, "simreplug")
    assert not api.camera.attached
    _wait(lambda: "switch the camera on" in _message(api), "a reconnect attempt fails")
    _armed(api, "simpoweron")
    _wait(lambda: api.device.worker.snapshot().online, "the worker reconnects")
    _still_works(api, tmp_path)


def test_unplug_during_exposure_plugs_back_after_n_seconds_on_the_clock(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = fault_api()
    api.connect()
    assert "5 s later" in _armed(api, "simunplugduringexposure", "5")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the exposure fails")
    # Real time passes, the simulator's clock does not: the cable stays out.
    _wait(lambda: "waiting for the camera" in _message(api), "a reconnect attempt fails")
    assert not api.camera.attached
    api.clock.advance(5.0)
    _wait(lambda: api.device.worker.snapshot().online, "the worker reconnects")
    _wait(lambda: not api.camera.body.exposing and len(api.camera.body.shots) == 1, "the shot")
    _all_on_disk_once(api, tmp_path)
    _still_works(api, tmp_path)
    assert _message(api) == ""


def test_buffer_full_of_old_images_is_emptied_before_the_next_shot(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    """A body whose buffer is full takes no picture (sony-ptp.md 6.1, 8 row 6): the server
    downloads and saves every old image, then the client gets its own frame."""
    api = fault_api(buffer_capacity_shots=3)
    api.connect()
    assert "3 old image(s)" in _armed(api, "SimBufferFull")
    _expose(api)
    api.wait_image()
    assert api.value("camerastate") == IDLE and _message(api) == ""
    assert api.value("lastexposureduration") == pytest.approx(2.0)  # not a 10 s old one
    assert api.camera.body.refusals == []  # never pressed while the buffer was full
    _all_on_disk_once(api, tmp_path)
    assert len(_originals(tmp_path)) == 4
    recovered = [p for p in (tmp_path / "orig").glob("*.ARW") if "_recovered" in p.name]
    assert len(recovered) == 3


def _download_seconds(api: Api, tmp_path: Path, seconds: float) -> float:
    """Simulator-clock seconds one exposure of ``seconds`` spends beyond its exposure time."""
    start = api.clock.monotonic()
    _expose(api, seconds)
    api.wait_image()
    return api.clock.monotonic() - start - seconds


def test_slow_usb_is_waited_for_and_full_speed_comes_back(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = fault_api()
    api.connect()
    assert "2 MB/s" in _armed(api, "SimSlowUSB", "2")
    slow = _download_seconds(api, tmp_path, 1.0)
    assert api.value("camerastate") == IDLE and _message(api) == ""
    _all_on_disk_once(api, tmp_path)
    size = next((tmp_path / "orig").glob("*.ARW")).stat().st_size
    assert slow >= size / 2e6  # every byte crossed the link at 2 MB/s
    assert "full speed" in _armed(api, "simslowusb", "off")
    assert _download_seconds(api, tmp_path, 1.0) < size / 2e6 / 4
    _all_on_disk_once(api, tmp_path)


def test_a_usb_1_1_link_is_slow_but_every_read_finishes(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    """0.5 MB/s, a USB 1.1 port or hub: an 8 MiB read takes 17 s, beyond the 10 s operation
    timeout, and must still not be cut off (ptp/session.py SLOWEST_LINK_BYTES_PER_S)."""
    api = fault_api()
    api.connect()
    _armed(api, "simslowusb", "0.5")
    _download_seconds(api, tmp_path, 1.0)
    assert api.value("camerastate") == IDLE and _message(api) == ""
    _all_on_disk_once(api, tmp_path)


def test_usb_too_slow_for_a_read_times_out_and_the_image_waits_in_the_camera(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    """At 0.05 MB/s one read of the download cannot finish within its timeout: the exposure
    fails saying so, the image stays in the camera, and once the link is fast again the worker
    (after a PTP Device Reset clears the cut-off transfer) downloads it."""
    api = fault_api()
    api.connect()
    _armed(api, "simslowusb", "0.05")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the download times out")
    assert "timed out" in _message(api) and "USB 2 or 3 port" in _message(api)
    assert len(api.camera.body.buffer) == 1
    _armed(api, "simslowusb", "0")
    _all_on_disk_once(api, tmp_path)
    _still_works(api, tmp_path)


def test_corrupt_download_garbled_bytes_keep_the_original_and_say_it_cannot_be_decoded(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    """Framing intact, the file's TIFF header garbled: the camera has dropped its copy, so the
    bytes that arrived are saved once, and the client is told the frame could not be decoded."""
    api = fault_api()
    api.connect()
    assert "garbled" in _armed(api, "SimCorruptDownload")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the decode fails")
    message = _message(api)
    assert "could not decode" in message and "the original is saved as" in message
    assert not api.value("imageready")
    _all_on_disk_once(api, tmp_path)
    saved = next((tmp_path / "orig").glob("*.ARW"))
    assert str(saved) in message and saved.read_bytes()[:4] != b"II*\x00"  # what arrived
    _still_works(api, tmp_path)


def test_corrupt_download_bad_container_type_resets_and_recovers_the_image(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    """A data phase in a container of no PTP type: the stream is out of step, so the worker
    resets the device and reconnects; the camera never finished sending, so it still holds the
    image, which is then downloaded once."""
    api = fault_api()
    api.connect()
    _armed(api, "simcorruptdownload", "TYPE")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the download fails")
    assert "could not read" in _message(api)
    _wait(lambda: api.device.worker.snapshot().online, "the worker reconnects")
    assert api.camera.device_resets >= 1
    _all_on_disk_once(api, tmp_path)
    assert not api.value("imageready")  # a recovered image is saved, not handed out
    _still_works(api, tmp_path)


def test_corrupt_download_shorter_than_announced_is_kept_as_damaged_not_as_a_frame(
    fault_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = fault_api()
    api.connect()
    _armed(api, "simcorruptdownload", "short")
    _expose(api)
    _wait(lambda: api.value("camerastate") == ERROR, "the download fails")
    message = _message(api)
    assert "damaged" in message and "take the exposure again" in message
    assert not api.value("imageready")
    (damaged,) = (tmp_path / "orig").glob("*.ARW")
    assert "_damaged" in damaged.name and str(damaged) in message
    _all_on_disk_once(api, tmp_path)  # what is left of the shot, once
    _still_works(api, tmp_path)
