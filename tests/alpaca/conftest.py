"""An Alpaca app over a device worker that drives a simulated body on a fast clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from falcon import testing

from alpaca_sony.alpaca.app import create_app
from alpaca_sony.alpaca.camera_device import CameraDevice
from alpaca_sony.alpaca.server_info import ServerInfo
from alpaca_sony.camera.exposure import CaptureOptions, ExposureRunner
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.worker import DeviceWorker, WorkerTiming
from alpaca_sony.devices import open_camera
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.simulator.rehearsal import rehearsal_actions
from alpaca_sony.sony.models import MODELS
from tests.camera.conftest import GatedClock

SERVER = ServerInfo("alpaca-sony", "alpaca-sony project", "0.1.0", "test bench", {"Port": "0"})


@dataclass
class Api:
    client: testing.TestClient
    device: CameraDevice
    camera: SimulatedCamera
    clock: GatedClock

    def get(
        self, member: str, query: str = "ClientID=1&ClientTransactionID=67890", **kw: Any
    ) -> testing.Result:
        return self.client.simulate_get(f"/api/v1/camera/0/{member}", query_string=query, **kw)

    def put(self, member: str, body: str = "", **kw: Any) -> testing.Result:
        ids = "ClientID=1&ClientTransactionID=67890"
        return self.client.simulate_put(
            f"/api/v1/camera/0/{member}",
            body=f"{ids}&{body}" if body else ids,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            **kw,
        )

    def value(self, member: str) -> Any:
        reply = self.get(member).json
        assert reply["ErrorNumber"] == 0, reply
        return reply["Value"]

    def connect(self) -> None:
        assert self.put("connected", "Connected=True").json["ErrorNumber"] == 0

    def wait_image(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.value("imageready"):
                return
            if self.value("camerastate") == 5:
                raise AssertionError(self.device.worker.snapshot().message)
            time.sleep(0.01)
        raise AssertionError("no image")

    def wait_saved(self, count: int = 1, timeout_s: float = 30) -> tuple[str, ...]:
        """The originals saved so far, once there are ``count``: ImageReady comes before the save
        is committed (the staged file is decoded first), so a test that reads the folder waits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            saved = self.device.worker.snapshot().saved_files
            if len(saved) >= count:
                return saved
            time.sleep(0.01)
        raise AssertionError(f"fewer than {count} originals saved")


@pytest.fixture
def api_factory(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    workers: list[DeviceWorker] = []
    cameras: list[SimulatedCamera] = []

    def factory(real_wait_s: float = 0.0, fault_actions: bool = False, **settings: Any) -> Api:
        clock = GatedClock(real_wait_s)
        settings.setdefault("post_connect_settle_s", 0.0)
        camera = SimulatedCamera(clock, BodySettings(**settings))
        backend = SimulatorBackend([camera], clock, poll_interval_s=0.5)
        runner = ExposureRunner(clock, CaptureOptions(), OriginalsFolder(tmp_path / "orig", 0))
        worker = DeviceWorker(
            lambda: open_camera(backend, clock), clock, runner, WorkerTiming(idle_poll_s=0.05)
        )
        worker.start()
        workers.append(worker)
        cameras.append(camera)
        # The simulator's fault-rehearsal actions, wired in as runtime.py does in simulator mode.
        actions = rehearsal_actions(camera) if fault_actions else None
        device = CameraDevice(0, worker, clock, MODELS[camera.settings.model], "SERIAL1", actions)
        client = testing.TestClient(create_app([device], SERVER))
        return Api(client, device, camera, clock)

    yield factory
    for worker in workers:
        worker.stop()
    assert [c.body.protocol_violations for c in cameras] == [[] for _ in cameras]


@pytest.fixture
def api(api_factory: Callable[..., Api]) -> Api:
    return api_factory()


def saved_by_server(camera: Any, count: int, timeout_s: float = 60) -> list[str]:
    """The originals the server reports saved (Action "savedfiles", as any client can ask),
    once there are ``count``: ImageReady comes before the save is committed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        files: list[str] = orjson.loads(camera.Action("savedfiles", ""))["files"]
        if len(files) >= count:
            return files
        time.sleep(0.02)
    raise AssertionError(f"the server never reported {count} saved originals")
