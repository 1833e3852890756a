"""A client that starts again right after aborting, over HTTP (issue 9 point 2).

INDI's Alpaca client (indi_alpaca_ccd) aborted a 7 s BULB and sent StartExposure 0.5 s later,
while the aborted shot was still downloading, and was refused with 0x40B. Here the download is
held open by a gate for as long as the test needs, so "still downloading" is certain, not timed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from alpaca_sony.camera.state import CameraState
from alpaca_sony.simulator.arw import read_sequence
from tests.alpaca.conftest import Api
from tests.camera.conftest import DownloadGate

IDLE, WAITING, EXPOSING = int(CameraState.IDLE), int(CameraState.WAITING), int(CameraState.EXPOSING)


def _sequences_on_disk(saved: tuple[str, ...]) -> list[int]:
    """The camera's sequence number in each saved original's name (originals.file_stem)."""
    found = [re.search(r"_(\d{6})_", Path(name).name) for name in saved]
    assert all(found), saved
    return sorted(int(m.group(1)) for m in found if m)


def _wait_followed_through(api: Api) -> None:
    deadline_polls = 20_000
    for _ in range(deadline_polls):
        if not api.device.worker.following_through:
            return
        api.value("camerastate")  # a client polling meanwhile
    raise AssertionError("the aborted exposure was never followed through")


def test_bulb_abort_then_start_while_the_aborted_shot_downloads(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory(real_wait_s=10.0)
    gate = DownloadGate(api.camera.body)
    api.connect()
    assert api.put("startexposure", "Duration=7&Light=true").json["ErrorNumber"] == 0
    assert api.clock.waiting.wait(10)  # holding the BULB
    assert api.value("camerastate") == EXPOSING
    assert api.put("abortexposure").json["ErrorNumber"] == 0
    assert api.value("camerastate") == IDLE and api.value("imageready") is False
    assert gate.reached.wait(10)  # the aborted shot is downloading
    api.clock.real_wait_s = 0.0
    assert api.value("camerastate") == IDLE and api.value("percentcompleted") == 0
    reply = api.put("startexposure", "Duration=7&Light=true").json
    assert reply["ErrorNumber"] == 0, reply
    assert api.value("camerastate") == WAITING and api.value("imageready") is False
    assert api.value("percentcompleted") == 0
    again = api.put("startexposure", "Duration=7&Light=true").json
    assert again["ErrorNumber"] == 0x40B and "already in progress" in again["ErrorMessage"]
    gate.release()
    api.wait_image()
    shots = api.camera.body.shots
    assert len(shots) == 2 and read_sequence(api.device.frame().pixels.T) == shots[1].number
    # Every picture the camera took is on disk exactly once, the aborted one included.
    saved = api.wait_saved(2)
    assert len(saved) == 2 and _sequences_on_disk(saved) == sorted(s.sequence for s in shots)
    assert all(Path(name).is_file() for name in saved) and not api.camera.body.buffer


def test_abort_during_waiting_takes_no_picture(api_factory: Callable[..., Api]) -> None:
    api = api_factory(real_wait_s=10.0, focus="AF-S")
    api.connect()
    assert api.put("startexposure", "Duration=7&Light=true").json["ErrorNumber"] == 0
    assert api.clock.waiting.wait(10)  # the autofocus pause: S1 held, S2 not pressed
    assert api.value("camerastate") == WAITING
    assert api.put("abortexposure").json["ErrorNumber"] == 0
    assert api.value("camerastate") == IDLE and api.value("imageready") is False
    _wait_followed_through(api)
    assert api.value("camerastate") == IDLE and api.value("imageready") is False
    assert api.camera.body.shots == [] and api.device.worker.snapshot().saved_files == ()
    api.clock.real_wait_s = 0.0
    assert api.put("startexposure", "Duration=2&Light=true").json["ErrorNumber"] == 0
    api.wait_image()
    assert len(api.camera.body.shots) == 1 and len(api.wait_saved(1)) == 1


def test_abort_cannot_cut_a_built_in_speed_short(api_factory: Callable[..., Api]) -> None:
    api = api_factory(real_wait_s=10.0)
    api.connect()
    assert api.put("startexposure", "Duration=30&Light=true").json["ErrorNumber"] == 0
    assert api.clock.waiting.wait(10)  # the camera is timing its own 30" speed
    assert api.value("camerastate") == EXPOSING
    reply = api.put("abortexposure").json
    assert reply["ErrorNumber"] == 0x40B
    assert reply["ErrorMessage"] == (
        "a built-in shutter speed (30 s) cannot be cut short: it ends by itself and its image "
        "is kept"
    )
    # Refused, so nothing changed: the exposure runs out and delivers its image.
    assert api.value("camerastate") == EXPOSING
    assert api.device.worker.following_through is False
    api.clock.real_wait_s = 0.0
    api.device.worker.stop_exposure()  # ends the gated clock's hold; a 30" speed is timed anyway
    api.wait_image()
    exposure = api.device.worker.snapshot().exposure
    assert exposure is not None and not exposure.aborted
    assert api.value("lastexposureduration") == 30.0 and len(api.wait_saved(1)) == 1
