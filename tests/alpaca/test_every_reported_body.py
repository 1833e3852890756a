"""Every body in the libgphoto2 reports, simulated from its report, shoots through the real server.

Each report in ../shared/samples/libgphoto2-sony/ becomes a simulated body (``--simulator-report``);
a real waitress server on loopback serves it and the official client (alpyca) drives it on virtual
time: connect, Gain, an exposure at one of the camera's own speeds, a BULB exposure, and the raw
ImageBytes compared with the visible raw data of the ARW the server saved (decoded here by rawpy).
Bodies whose report shows no PC-remote protocol are refused with a message that says what to do.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rawpy
from alpaca.camera import Camera
from alpaca.exceptions import AlpacaRequestException, DriverException

from alpaca_sony.config import Config, with_overrides
from alpaca_sony.runtime import Runtime
from alpaca_sony.simulator.report import load_report
from tests.alpaca.conftest import saved_by_server
from tests.camera.conftest import GatedClock

REPORTS = Path(__file__).resolve().parents[3] / "shared" / "samples" / "libgphoto2-sony"
ALL_REPORTS = sorted(REPORTS.glob("sony-*.txt"))
PC_REMOTE = [p for p in ALL_REPORTS if load_report(p).pc_remote()[0]]
MTP_ONLY = [p for p in ALL_REPORTS if not load_report(p).pc_remote()[0]]


def test_the_reports_are_there() -> None:
    # A missing folder must fail loudly, not leave the parametrised tests empty.
    assert len(ALL_REPORTS) >= 23, f"expected the libgphoto2 reports in {REPORTS}"
    assert {p.name for p in MTP_ONLY} == {
        "sony-a3000.txt",
        "sony-dsc-rx100.txt",
        "sony-dsc-rx100m2.txt",
    }


def _server(tmp_path: Path, report: Path) -> tuple[Runtime, int]:
    config = with_overrides(
        Config(),
        server={"host": "127.0.0.1", "port": 0},
        discovery={"enabled": False, "mdns": False},
        camera={"simulator_report": str(report), "save_dir": str(tmp_path / "originals")},
    )
    runtime = Runtime(config, clock=GatedClock())  # virtual time: a 40 s BULB costs nothing
    return runtime, runtime.start()


@dataclass
class Served:
    camera: Camera
    originals: Path
    runtime: Runtime

    def message(self) -> str:
        """What the server says about the last failure (the camera's status message)."""
        return self.runtime.devices[0].worker.snapshot().message or ""

    def expose(self, seconds: float) -> bool:
        """True when the image became ready; False when the camera went into the error state."""
        self.camera.StartExposure(seconds, True)
        deadline = time.monotonic() + 60
        while not self.camera.ImageReady:
            if self.camera.CameraState.value == 5:
                return False
            assert time.monotonic() < deadline, "the image never became ready"
            time.sleep(0.01)
        return True


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    runtime, port = _server(tmp_path, request.param)
    try:
        yield Served(Camera(f"127.0.0.1:{port}", 0), tmp_path / "originals", runtime)
    finally:
        runtime.stop()


# What a reported body cannot do, and the message the server gives for it.
LIMITS = {
    # 0xD20D lists 0.5 s .. 1/32000 and no BULB (0) in sony-a1m2.txt: no long exposure.
    "sony-a1m2": "0x0 is not a value property 0xD20D accepts",
}


@pytest.mark.parametrize("served", PC_REMOTE, ids=lambda p: p.stem, indirect=True)
def test_reported_body_shoots(served: Served, request: pytest.FixtureRequest) -> None:
    camera, originals = served.camera, served.originals
    camera.Connected = True
    assert camera.Connected
    gains = list(camera.Gains)
    assert "ISO 800" in gains, gains
    camera.Gain = gains.index("ISO 800")
    assert gains[camera.Gain] == "ISO 800"

    # A speed on the Sony ladder every body has: no BULB needed.
    assert served.expose(1 / 125), served.message()
    assert camera.LastExposureDuration == pytest.approx(1 / 125, rel=0.01)
    camera.ImageArray  # noqa: B018 - download it, so the next frame is a new one

    limit = LIMITS.get(request.node.callspec.id)
    if limit is not None:
        assert not served.expose(40.0), "a body without BULB took a 40 s exposure"
        assert limit in served.message()
        return
    assert served.expose(40.0), served.message()  # longer than any built-in speed: BULB
    assert camera.LastExposureDuration == pytest.approx(40.0, abs=0.5)
    image = np.asarray(camera.ImageArray, dtype=np.int32)  # alpyca asks for ImageBytes
    newest = Path(saved_by_server(camera, 2)[-1])
    assert newest.parent == originals and newest.suffix == ".ARW"
    with rawpy.imread(str(newest)) as raw:
        visible = raw.raw_image_visible.astype(np.int32)
    assert image.shape == visible.T.shape  # Alpaca arrays are [x][y]
    assert np.array_equal(image, visible.T)
    camera.Connected = False


def _connect(camera: Camera) -> None:
    camera.Connected = True
    deadline = time.monotonic() + 30
    while not camera.Connected and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("served", MTP_ONLY, ids=lambda p: p.stem, indirect=True)
def test_mtp_only_body_is_refused_with_advice(served: Served) -> None:
    with pytest.raises((DriverException, AlpacaRequestException)) as refused:
        _connect(served.camera)
    message = str(refused.value)
    assert "MTP/content-transfer mode, which cannot shoot" in message
    assert "to 'PC Remote'" in message
