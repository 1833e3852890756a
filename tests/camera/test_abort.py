"""Abort means abort (issue 9 point 2), through the device worker on a gated clock.

Before S2 an abort shoots nothing; after S2 the shot is followed through and saved with no image,
and the camera reads Idle at once; a start during the follow-through is queued (Waiting) and runs
after it, so every shot the body took ends on disk exactly once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alpaca_sony.camera.exposure import ExposureRequest
from alpaca_sony.camera.state import CameraState
from alpaca_sony.errors import CameraError
from alpaca_sony.simulator.arw import read_sequence
from tests.camera.conftest import DownloadGate, WorkerRig


def _abort_a_bulb_mid_download(rig: WorkerRig) -> DownloadGate:
    """A 600 s BULB aborted in its hold, its follow-through held in the download."""
    gate = DownloadGate(rig.camera.body)
    rig.worker.connect()
    rig.worker.start_exposure(ExposureRequest(600))
    rig.wait_for(lambda s: s.state == CameraState.EXPOSING)
    assert rig.clock.waiting.wait(10)
    rig.worker.abort_exposure()
    snap = rig.worker.snapshot()
    assert snap.state == CameraState.IDLE and not snap.image_ready  # at once, not after saving
    assert gate.reached.wait(10)
    rig.clock.real_wait_s = 0.0  # from here the clock runs fast again
    return gate


def test_abort_while_focusing_before_s2_takes_no_picture(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(real_wait_s=10.0, focus="AF-S")
    rig.worker.connect()
    rig.worker.start_exposure(ExposureRequest(600))
    assert rig.clock.waiting.wait(10)  # the autofocus pause, S1 held, S2 not yet pressed
    assert rig.worker.snapshot().state == CameraState.WAITING
    rig.worker.abort_exposure()
    assert rig.worker.snapshot().state == CameraState.IDLE
    snap = rig.wait_idle()
    assert snap.state == CameraState.IDLE and not snap.image_ready and snap.message == ""
    assert snap.exposure is not None and snap.exposure.aborted
    assert rig.camera.body.shots == [] and rig.files() == []
    rig.clock.real_wait_s = 0.0
    rig.worker.start_exposure(ExposureRequest(1.0))  # the camera is ready for the next one
    assert rig.wait_idle().image_ready and len(rig.camera.body.shots) == 1


def test_a_start_during_the_follow_through_is_queued_and_runs_after_it(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(real_wait_s=10.0)
    gate = _abort_a_bulb_mid_download(rig)
    # The worker is held in the aborted shot's download: the start must not wait for it.
    rig.worker.start_exposure(ExposureRequest(2.0))
    snap = rig.worker.snapshot()
    assert snap.state == CameraState.WAITING and not snap.image_ready
    assert snap.exposure is not None and snap.exposure.requested_s == 2.0
    with pytest.raises(CameraError, match="already in progress"):
        rig.worker.start_exposure(ExposureRequest(2.0))
    assert len(rig.camera.body.shots) == 1  # the queued one has not begun
    gate.release()
    snap = rig.wait_for(lambda s: s.image_ready)
    snap = rig.wait_idle()
    assert snap.exposure is not None and not snap.exposure.aborted
    shots = rig.camera.body.shots
    assert len(shots) == 2 and shots[1].exposure_s == pytest.approx(2.0)
    frame = rig.frame()
    assert frame is not None and read_sequence(frame.pixels.T) == shots[1].number
    files = rig.files()
    assert len(files) == 2 and len(set(files)) == 2 and all(f.endswith(".ARW") for f in files)
    assert not rig.camera.body.buffer


def test_an_abort_withdraws_the_queued_start(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(real_wait_s=10.0)
    gate = _abort_a_bulb_mid_download(rig)
    rig.worker.start_exposure(ExposureRequest(2.0))
    rig.worker.abort_exposure()
    assert rig.worker.snapshot().state == CameraState.IDLE
    gate.release()
    snap = rig.wait_idle()
    assert snap.state == CameraState.IDLE and not snap.image_ready
    assert len(rig.camera.body.shots) == 1 and len(rig.files()) == 1  # the aborted shot, saved


def test_a_disconnect_withdraws_the_queued_start(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(real_wait_s=10.0)
    gate = _abort_a_bulb_mid_download(rig)
    rig.worker.start_exposure(ExposureRequest(2.0))
    gate.release()
    rig.worker.disconnect()
    snap = rig.worker.snapshot()
    assert not snap.connected and snap.state == CameraState.IDLE
    assert len(rig.camera.body.shots) == 1 and len(rig.files()) == 1


def test_abort_while_the_body_settles_before_s1_takes_no_picture(
    worker_factory: Callable[..., WorkerRig], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Manual focus, so no autofocus pause: the abort lands in Waiting's first sleep (the wait
    after connecting, sony-ptp.md 14.6) and must stop the exposure before S1."""
    rig = worker_factory()
    rig.worker.connect()
    sleep = rig.clock.sleep
    slept_in_waiting: list[float] = []

    def abort_on_first_sleep(seconds: float) -> None:
        if not slept_in_waiting and rig.worker.snapshot().state == CameraState.WAITING:
            slept_in_waiting.append(seconds)
            rig.worker.abort_exposure()  # as a client's request would, mid-Waiting
        sleep(seconds)

    monkeypatch.setattr(rig.clock, "sleep", abort_on_first_sleep)
    rig.worker.start_exposure(ExposureRequest(600))
    snap = rig.wait_idle()
    assert slept_in_waiting, "the exposure never slept in Waiting: the test did not abort"
    assert not snap.image_ready and snap.exposure is not None and snap.exposure.aborted
    assert rig.camera.body.shots == [] and rig.files() == []
