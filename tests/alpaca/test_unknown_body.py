"""A body the model table lacks: it connects and shoots, learns its sensor size from its first ARW
through LibRaw, and reports that size after a restart (a new worker and device on the same
configuration folder, as a new server process would have)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from falcon import testing

from alpaca_sony.alpaca.app import create_app
from alpaca_sony.alpaca.camera_device import CameraDevice
from alpaca_sony.camera.decode import LIBRAW_VERSION
from alpaca_sony.camera.exposure import CaptureOptions, ExposureRunner
from alpaca_sony.camera.geometry import FILE_NAME, GeometryCache, default_folder
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.worker import DeviceWorker, WorkerTiming
from alpaca_sony.devices import open_camera
from alpaca_sony.simulator.bodies import BODIES
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.sony.models import MODELS, model_for
from tests.alpaca.conftest import SERVER, Api
from tests.camera.conftest import GatedClock

# Not a Sony model name: the table must never learn it. The simulated sensor is the ILCE-7SM3's
# (the cheapest full-size body), so LibRaw's visible frame is 4256 x 2848 (sony-ptp.md 9.1).
UNKNOWN = "ILCE-7XM9"
SENSOR_BODY = "ILCE-7SM3"
WIDTH, HEIGHT = 4256, 2848
INVALID_OPERATION = 0x40B


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """Starts a worker + Alpaca app for the unknown body; each call is a fresh 'server'."""
    workers: list[DeviceWorker] = []

    def start(
        config: Path = tmp_path / "config", hint: str | None = None, **settings: object
    ) -> Api:
        clock = GatedClock()
        body = BodySettings(model=SENSOR_BODY, device_info_model=UNKNOWN, post_connect_settle_s=0.0)
        for name, value in settings.items():
            setattr(body, name, value)
        camera = SimulatedCamera(clock, body)
        backend = SimulatorBackend([camera], clock, poll_interval_s=0.5)
        runner = ExposureRunner(clock, CaptureOptions(), OriginalsFolder(tmp_path / "orig", 0))
        worker = DeviceWorker(
            lambda: open_camera(backend, clock),
            clock,
            runner,
            WorkerTiming(idle_poll_s=0.05),
            geometry=GeometryCache(config),
        )
        worker.start()
        workers.append(worker)
        # What the runtime passes for a body model_for() does not know: no model hint.
        model_hint = MODELS[hint] if hint else None
        device = CameraDevice(0, worker, clock, model_hint, "SERIAL1")
        return Api(testing.TestClient(create_app([device], SERVER)), device, camera, clock)

    yield start
    for worker in workers:
        worker.stop()


def _error(api: Api, member: str) -> tuple[int, str]:
    reply = api.get(member).json
    return reply["ErrorNumber"], reply["ErrorMessage"]


def test_the_unknown_model_is_not_in_the_table() -> None:
    assert model_for(UNKNOWN) is None and UNKNOWN not in MODELS


def test_unknown_body_shoots_learns_its_size_and_keeps_it_across_a_restart(
    start_server: Callable[..., Api], tmp_path: Path
) -> None:
    first = start_server()
    first.connect()
    assert first.value("sensorname") == ""
    assert UNKNOWN in first.value("description")
    # Before its first frame: a clear error that says what to do, never an invented size.
    for member in ("cameraxsize", "cameraysize", "numx"):
        number, message = _error(first, member)
        assert number == INVALID_OPERATION, member
        assert UNKNOWN in message and "take one exposure" in message
    number, message = _error(first, "pixelsizex")
    assert number == INVALID_OPERATION and "pixel size" in message and UNKNOWN in message
    assert first.value("maxadu") == 16383

    # NINA writes NumX = CameraXSize / BinX, i.e. its -1 default after the failed read.
    assert first.put("numx", "NumX=-1").json["ErrorNumber"] == 0
    assert first.put("startexposure", "Duration=2&Light=true").json["ErrorNumber"] == 0
    first.wait_image()
    image = first.get("imagearray", headers={"Accept": "application/imagebytes"})
    assert image.status_code == 200
    assert first.value("cameraxsize") == WIDTH
    assert first.value("cameraysize") == HEIGHT
    assert first.value("numx") == -1  # what the client wrote stays what it reads back
    assert first.device.frame().width == WIDTH and first.device.frame().height == HEIGHT
    first.wait_saved()
    saved = [p for p in (tmp_path / "orig").iterdir() if p.suffix == ".ARW"]
    assert len(saved) == 1 and UNKNOWN in saved[0].name

    stored = json.loads((tmp_path / "config" / FILE_NAME).read_text())
    entry = stored["bodies"][UNKNOWN]
    assert (entry["width"], entry["height"], entry["libraw"]) == (WIDTH, HEIGHT, LIBRAW_VERSION)
    first.put("connected", "Connected=False")
    first.device.worker.stop()

    # A new server on the same configuration folder knows the size before any exposure.
    second = start_server()
    second.connect()
    assert second.value("cameraxsize") == WIDTH
    assert second.value("cameraysize") == HEIGHT
    assert second.value("numx") == WIDTH
    assert f"{WIDTH} x {HEIGHT}" in second.value("readoutmodes")[0]
    assert second.put("numx", "NumX=4000").json["ErrorNumber"] == 0
    assert second.put("startexposure", "Duration=2&Light=true").json["ErrorNumber"] == 0
    second.wait_image()
    assert second.device.frame().width == 4000  # the subframe is honoured once the size is known
    number, _ = _error(second, "pixelsizex")
    assert number == INVALID_OPERATION


def test_a_corrupt_cache_is_ignored_with_a_warning_and_replaced(
    start_server: Callable[..., Api], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / FILE_NAME).write_text('{"version": 1, "bodies": {"ILCE-7XM9": {"width": "wide"')
    api = start_server()
    api.connect()
    with caplog.at_level(logging.WARNING, logger="alpaca_sony.camera.geometry"):
        number, _ = _error(api, "cameraxsize")
    assert number == INVALID_OPERATION
    assert any("ignoring the learned sensor sizes" in r.getMessage() for r in caplog.records)
    assert api.put("startexposure", "Duration=2&Light=true").json["ErrorNumber"] == 0
    api.wait_image()
    assert api.value("cameraxsize") == WIDTH
    assert json.loads((folder / FILE_NAME).read_text())["bodies"][UNKNOWN]["width"] == WIDTH
    assert [p.name for p in folder.iterdir()] == [FILE_NAME]  # no temporary file left behind


def test_a_table_body_never_writes_the_cache(
    start_server: Callable[..., Api], tmp_path: Path
) -> None:
    api = start_server(device_info_model=None)
    api.connect()
    assert api.value("cameraxsize") == MODELS[SENSOR_BODY].sensor.visible_width
    assert api.put("startexposure", "Duration=2&Light=true").json["ErrorNumber"] == 0
    api.wait_image()
    assert np.asarray(api.device.frame().pixels).shape == (WIDTH, HEIGHT)
    assert not (tmp_path / "config").exists()


def test_cache_round_trip_and_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_folder() == tmp_path / "xdg" / "alpaca-sony"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")  # the XDG spec: must be absolute
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_folder() == tmp_path / "home" / ".config" / "alpaca-sony"
    cache = GeometryCache(tmp_path / "c")
    assert cache.get("ILCE-7XM9") is None
    cache.store("ILCE-7XM9", 100, 50, "0.22.2")
    cache.store("ILCE-7XM8", 10, 5, "0.22.2")
    again = GeometryCache(tmp_path / "c")
    learned = again.get("ILCE-7XM9")
    assert learned is not None and (learned.width, learned.height) == (100, 50)
    assert again.get("ILCE-7XM8") is not None


def test_a_table_body_without_published_sizes_learns_them(
    start_server: Callable[..., Api], tmp_path: Path
) -> None:
    # The a9 III's ARW size is not published: the simulator writes the a9's, the driver measures.
    model = MODELS["ILCE-9M3"]
    assert not model.sensor.sizes_published
    api = start_server(hint="ILCE-9M3", model="ILCE-9M3", device_info_model=None)
    api.connect()
    assert api.value("description").startswith("Sony a9 III")
    number, message = _error(api, "cameraxsize")
    assert number == INVALID_OPERATION and "ILCE-9M3" in message
    assert _error(api, "pixelsizex")[0] == INVALID_OPERATION
    assert api.put("startexposure", "Duration=2&Light=true").json["ErrorNumber"] == 0
    api.wait_image()
    lit = BODIES["ILCE-9M3"].sensor  # what the simulated body's ARW carries
    assert api.value("cameraxsize") == lit.visible_width
    assert api.value("cameraysize") == lit.visible_height
    stored = json.loads((tmp_path / "config" / FILE_NAME).read_text())
    assert stored["bodies"]["ILCE-9M3"]["width"] == lit.visible_width
