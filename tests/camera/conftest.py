"""Fixtures for the camera domain: a device worker driving a simulated body on a fake clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from alpaca_sony.camera.decode import DecodedFrame
from alpaca_sony.camera.exposure import CaptureOptions, ExposureRunner
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.state import CameraSnapshot, CameraState
from alpaca_sony.camera.worker import DeviceWorker, WorkerTiming
from alpaca_sony.clock import FakeClock
from alpaca_sony.devices import open_camera
from alpaca_sony.simulator.body import BodySettings, SimulatedBody
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.simulator.shots import CapturedFile


class GatedClock(FakeClock):
    """Virtual time, except that a wait on an event blocks (in real time, briefly) so another
    thread can set it first: lets tests abort or stop a BULB exposure midway."""

    def __init__(self, real_wait_s: float = 0.0):
        super().__init__()
        self.real_wait_s = real_wait_s
        self.waiting = threading.Event()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if self.real_wait_s > 0:
            self.waiting.set()
            event.wait(self.real_wait_s)
            self.waiting.clear()
        if event.is_set():
            self.advance(min(seconds, 1.0))  # ended early: some virtual time passed
            return True
        self.advance(seconds)
        return False


class DownloadGate:
    """Holds the simulated body's next GetObject until released: a follow-through that is
    still downloading, for as long as a test needs it."""

    def __init__(self, body: SimulatedBody):
        self.reached = threading.Event()
        self._release = threading.Event()
        self._pass = body.file_for_download

        def held() -> CapturedFile | None:
            self.reached.set()
            assert self._release.wait(30), "the download gate was never released"
            return self._pass()

        body.file_for_download = held  # type: ignore[method-assign]

    def release(self) -> None:
        self._release.set()


@dataclass
class WorkerRig:
    clock: GatedClock
    camera: SimulatedCamera
    worker: DeviceWorker
    folder: Path

    def wait_for(
        self, predicate: Callable[[CameraSnapshot], bool], timeout_s: float = 60
    ) -> CameraSnapshot:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            snap = self.worker.snapshot()
            if predicate(snap):
                return snap
            time.sleep(0.005)
        raise AssertionError(f"timed out; last snapshot: {self.worker.snapshot()}")

    def wait_idle(self) -> CameraSnapshot:
        """Idle or Error, with every staged original committed (that follows ImageReady)."""
        self.wait_for(lambda s: s.state in (CameraState.IDLE, CameraState.ERROR))
        # An aborted exposure reads Idle at once while its shot is still followed through.
        self.wait_for(lambda s: not self.worker.following_through)
        self.wait_for(lambda s: not self._incoming())
        return self.worker.snapshot()

    def frame(self) -> DecodedFrame | None:
        """The ready image's pixels, if an image is ready."""
        image = self.worker.snapshot().latest_image
        return image.frame if image is not None else None

    def _incoming(self) -> list[Path]:
        return list(self.folder.glob(".incoming-*")) if self.folder.is_dir() else []

    def files(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir() if not p.name.startswith("."))


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., WorkerRig]]:
    rigs: list[WorkerRig] = []

    def factory(
        options: CaptureOptions | None = None, real_wait_s: float = 0.0, **settings: object
    ) -> WorkerRig:
        clock = GatedClock(real_wait_s)
        settings.setdefault("post_connect_settle_s", 0.0)
        camera = SimulatedCamera(clock, BodySettings(**settings))  # type: ignore[arg-type]
        backend = SimulatorBackend([camera], clock, poll_interval_s=0.5)
        folder = tmp_path / f"originals{len(rigs)}"
        runner = ExposureRunner(clock, options or CaptureOptions(), OriginalsFolder(folder, 0))
        worker = DeviceWorker(
            lambda: open_camera(backend, clock),
            clock,
            runner,
            WorkerTiming(idle_poll_s=0.05, reconnect_interval_s=0.01, command_timeout_s=20),
        )
        worker.start()
        rig = WorkerRig(clock, camera, worker, folder)
        rigs.append(rig)
        return rig

    yield factory
    for rig in rigs:
        rig.worker.stop()
        assert not rig.worker.alive
    assert [r.camera.body.protocol_violations for r in rigs] == [[] for _ in rigs]
