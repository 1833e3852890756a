"""End to end: a real waitress server in simulator mode, driven by the official client (alpyca)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
from alpaca.camera import Camera

from alpaca_sony.config import Config, with_overrides
from alpaca_sony.runtime import Runtime
from tests.alpaca.conftest import saved_by_server
from tests.camera.conftest import GatedClock


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Runtime, int]]:
    config = with_overrides(
        Config(),
        server={"host": "127.0.0.1", "port": 0},
        discovery={"enabled": False, "mdns": False},
        camera={"simulator": "ILCE-7M3", "save_dir": str(tmp_path)},
    )
    runtime = Runtime(config, clock=GatedClock())  # virtual time: a 2 s exposure is instant
    port = runtime.start()
    yield runtime, port
    runtime.stop()


def test_alpyca_session(server: tuple[Runtime, int], tmp_path: Path) -> None:
    _, port = server
    camera = Camera(f"127.0.0.1:{port}", 0)
    assert camera.InterfaceVersion == 4
    camera.Connected = True
    assert camera.Connected
    assert camera.Gains[camera.Gain] == "ISO 800"
    camera.Gain = camera.Gains.index("ISO 1600")
    assert camera.ReadoutModes[camera.ReadoutMode].startswith("Raw")
    assert camera.SensorType.value == 2 and camera.BayerOffsetX == 0
    camera.StartExposure(2.0, True)
    deadline = time.monotonic() + 60
    while not camera.ImageReady:
        assert time.monotonic() < deadline, "the image never became ready"
        time.sleep(0.02)
    assert camera.LastExposureDuration == pytest.approx(2.0)
    via_bytes = np.asarray(camera.ImageArray, dtype=np.int32)  # alpyca asks for ImageBytes
    url = f"http://127.0.0.1:{port}/api/v1/camera/0/imagearray?ClientID=1&ClientTransactionID=2"
    with urllib.request.urlopen(url) as reply:
        assert reply.headers["Content-Type"] == "application/json"
        body = orjson.loads(reply.read())
    via_json = np.asarray(body["Value"], dtype=np.int32)
    assert via_bytes.shape == (6024, 4024)
    assert np.array_equal(via_bytes, via_json)
    assert [Path(name).suffix for name in saved_by_server(camera, 1)] == [".ARW"]
    assert [p.suffix for p in tmp_path.iterdir() if not p.name.startswith(".")] == [".ARW"]
    assert any("ISO1600" in p.name for p in tmp_path.iterdir())
    camera.Connected = False
    assert not camera.Connected
