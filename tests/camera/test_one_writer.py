"""One writer of camera state: every member a client calls leaves the writing to the worker thread,
and the ready image, its number and its exposure are one value."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from alpaca_sony.camera.exposure import ExposureRequest
from alpaca_sony.camera.state import CameraState
from alpaca_sony.camera.worker import WrongThread
from alpaca_sony.errors import CameraError
from alpaca_sony.simulator.arw import read_sequence
from tests.camera.conftest import WorkerRig


def test_a_write_from_another_thread_is_refused(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory()
    before = rig.worker.snapshot()
    with pytest.raises(WrongThread, match="MainThread"):
        rig.worker._publish(message="written by an HTTP thread")
    assert rig.worker.snapshot() is before


def test_every_state_changing_member_writes_only_on_the_worker_thread(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    """Each member is called from this (non-worker) thread; a write here would raise WrongThread."""
    rig = worker_factory(real_wait_s=10.0)
    rig.worker.connect_async()
    snap = rig.worker.snapshot()
    # Connect returns with Connecting already true (or, done already, Connected): never neither.
    assert snap.connecting or snap.connected
    snap = rig.wait_for(lambda s: s.connected and not s.connecting)
    rig.worker.start_exposure(ExposureRequest(600))
    snap = rig.worker.snapshot()
    # StartExposure returns with the state already past Idle and no image ready.
    assert snap.state in (CameraState.WAITING, CameraState.EXPOSING) and not snap.image_ready
    rig.wait_for(lambda s: s.state == CameraState.EXPOSING)
    assert rig.clock.waiting.wait(10)
    rig.worker.stop_exposure()
    assert rig.wait_idle().image_ready
    rig.worker.start_exposure(ExposureRequest(600))
    rig.wait_for(lambda s: s.state == CameraState.EXPOSING)
    assert rig.clock.waiting.wait(10)
    rig.worker.abort_exposure()
    snap = rig.wait_idle()
    assert snap.state == CameraState.IDLE and not snap.image_ready
    rig.worker.disconnect()
    snap = rig.worker.snapshot()
    assert not snap.connected and not snap.online and snap.state == CameraState.IDLE
    rig.worker.connect()
    snap = rig.worker.snapshot()
    assert snap.connected and snap.exposure is None and not snap.image_ready


def test_racing_start_exposures_one_runs_the_other_is_refused_at_once(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(real_wait_s=10.0)
    rig.worker.connect()
    busy = threading.Event()
    rig.worker.submit(lambda: busy.wait(10))  # both requests arrive while the worker is busy
    go = threading.Barrier(3)
    errors: list[Exception] = []

    def start() -> None:
        go.wait()
        try:
            rig.worker.start_exposure(ExposureRequest(600))
        except CameraError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    go.wait()
    rig.wait_for(lambda _: rig.worker._commands.qsize() > 0)  # a hand-over waits for the worker
    busy.set()
    for thread in threads:
        # The refusal must not wait for the running BULB (it holds the worker).
        thread.join(5)
        assert not thread.is_alive()
    assert [str(e) for e in errors] == ["an exposure is already in progress"]
    rig.wait_for(lambda s: s.state == CameraState.EXPOSING)  # an abort before S2 shoots nothing
    rig.worker.abort_exposure()
    rig.wait_idle()
    assert len(rig.camera.body.shots) == 1


def test_the_latest_image_keeps_its_own_pixels_number_and_exposure(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory()
    rig.worker.connect()
    rig.worker.start_exposure(ExposureRequest(1.0))
    first = rig.wait_idle().latest_image
    rig.worker.start_exposure(ExposureRequest(2.0))
    second = rig.wait_idle().latest_image
    assert first is not None and second is not None
    # A reader still holding the first keeps a consistent pair after the second arrived.
    assert (first.number, second.number) == (1, 2)
    assert read_sequence(first.frame.pixels.T) == rig.camera.body.shots[0].number
    assert read_sequence(second.frame.pixels.T) == rig.camera.body.shots[1].number
    assert first.exposure.requested_s == 1.0 and second.exposure.requested_s == 2.0
    assert first.exposure.started_utc != second.exposure.started_utc
    assert rig.worker.snapshot().exposure == second.exposure


def test_numbers_keep_counting_across_a_reconnect(worker_factory: Callable[..., WorkerRig]) -> None:
    # The number keys the API layer's cache of transfer forms: a new image never reuses one.
    rig = worker_factory()
    rig.worker.connect()
    rig.worker.start_exposure(ExposureRequest(1.0))
    assert rig.wait_idle().latest_image is not None
    rig.worker.disconnect()
    rig.worker.connect()
    assert rig.worker.snapshot().latest_image is None  # a connect starts clean
    rig.worker.start_exposure(ExposureRequest(1.0))
    image = rig.wait_idle().latest_image
    assert image is not None and image.number == 2
