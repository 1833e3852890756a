"""Decoder honesty, with the real LibRaw: a RAW that LibRaw cannot decode, or that is not Bayer
data (the S/M size RAW of newer bodies, LibRaw issue #493, sony-ptp.md 14.10), is an error that
names the body, the camera setting and the LibRaw version -- and the original is still saved."""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import rawpy
import tifffile
from falcon import testing

from alpaca_sony.alpaca.app import create_app
from alpaca_sony.alpaca.camera_device import CameraDevice
from alpaca_sony.camera.decode import (
    LIBRAW_VERSION,
    RawNotUsable,
    ReadoutMode,
    Subframe,
    decode,
)
from alpaca_sony.camera.exposure import CaptureOptions, ExposureRunner
from alpaca_sony.camera.geometry import GeometryCache
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.state import CameraState
from alpaca_sony.camera.worker import DeviceWorker, WorkerTiming
from alpaca_sony.devices import open_camera
from alpaca_sony.simulator.arw import write_arw
from alpaca_sony.simulator.bodies import BODIES
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.simulator.shots import CapturedFile
from alpaca_sony.sony.models import MODELS
from tests.alpaca.conftest import SERVER, Api
from tests.camera.conftest import GatedClock

BODY = "ILCE-7SM3"
SETTING = "RAW File Type to Uncompressed, Compressed or Lossless Comp (L)"
MODES = (ReadoutMode.RAW, ReadoutMode.RGB, ReadoutMode.RGB_HALF)


def _good_arw() -> bytes:
    model = BODIES[BODY]
    mosaic = np.full((model.sensor.raw_height, model.sensor.raw_width), 900, dtype=np.uint16)
    return write_arw(model, mosaic, exposure_s=2.0, iso=800, when=dt.datetime.now(dt.UTC))


def _truncated_arw() -> bytes:
    data = _good_arw()
    return data[: len(data) // 2]  # a download cut short: headers intact, pixels missing


def _linear_raw() -> bytes:
    """A 3-sample-per-pixel linear raw (DNG LinearRaw, Make SONY): LibRaw opens it as non-Bayer,
    the way it reads the camera-demosaiced S/M size RAW of newer bodies."""
    pixels = np.random.default_rng(3).integers(0, 16000, (48, 64, 3), dtype=np.uint16)
    out = io.BytesIO()
    tifffile.imwrite(
        out,
        pixels,
        photometric=34892,  # LinearRaw
        planarconfig="contig",
        metadata=None,
        extratags=[
            (271, "s", 0, "SONY", True),
            (272, "s", 0, "ILCE-7RM5", True),
            (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
            (50717, "I", 3, (16383,) * 3, True),  # WhiteLevel
            (50721, "2i", 9, (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1), True),
        ],
    )
    return out.getvalue()


def test_the_linear_raw_is_what_libraw_calls_non_bayer() -> None:
    with rawpy.imread(io.BytesIO(_linear_raw())) as raw:
        assert raw.raw_type == rawpy.RawType.Stack and raw.raw_pattern is None


@pytest.mark.parametrize("mode", MODES)
def test_non_bayer_raw_names_body_setting_and_libraw(mode: ReadoutMode) -> None:
    with pytest.raises(RawNotUsable) as caught:
        decode(_linear_raw(), mode, Subframe(), 16383, body="ILCE-7RM5")
    message = str(caught.value)
    assert "ILCE-7RM5" in message and "not Bayer" in message
    assert SETTING in message and f"LibRaw {LIBRAW_VERSION}" in message
    assert ".".join(map(str, rawpy.libraw_version)) == LIBRAW_VERSION


@pytest.mark.parametrize("data", [_truncated_arw(), b"not a raw file at all" * 50])
def test_undecodable_raw_names_body_setting_and_libraw(data: bytes, tmp_path: Path) -> None:
    for source in (data, tmp_path / "file.ARW"):
        (tmp_path / "file.ARW").write_bytes(data)
        with pytest.raises(RawNotUsable) as caught:
            decode(source, ReadoutMode.RAW, Subframe(), 16383, body=BODY)
        message = str(caught.value)
        assert f"could not decode the {BODY} RAW file" in message
        assert SETTING in message and f"LibRaw {LIBRAW_VERSION}" in message


def test_a_good_arw_still_decodes_with_its_full_size() -> None:
    frame = decode(_good_arw(), ReadoutMode.RAW, Subframe(num_x=100, num_y=50), 16383, body=BODY)
    assert (frame.width, frame.height) == (100, 50)
    assert (frame.sensor_width, frame.sensor_height) == (4256, 2848)


@pytest.fixture
def shoot(tmp_path: Path) -> Iterator[Callable[..., tuple[Api, Path]]]:
    workers: list[DeviceWorker] = []

    def start(arw: bytes, save: bool = True) -> tuple[Api, Path]:
        clock = GatedClock()

        def render(file: CapturedFile) -> bytes:
            return arw  # the camera sends this as its RAW file

        camera = SimulatedCamera(
            clock, BodySettings(model=BODY, post_connect_settle_s=0.0), render=render
        )
        backend = SimulatorBackend([camera], clock, poll_interval_s=0.5)
        folder = tmp_path / "orig"
        runner = ExposureRunner(
            clock, CaptureOptions(save_originals=save), OriginalsFolder(folder, 0)
        )
        worker = DeviceWorker(
            lambda: open_camera(backend, clock),
            clock,
            runner,
            WorkerTiming(idle_poll_s=0.05),
            geometry=GeometryCache(tmp_path / "config"),
        )
        worker.start()
        workers.append(worker)
        device = CameraDevice(0, worker, clock, MODELS[BODY], "SERIAL1")
        return Api(testing.TestClient(create_app([device], SERVER)), device, camera, clock), folder

    yield start
    for worker in workers:
        worker.stop()


def _expose_until_done(api: Api) -> None:
    api.connect()
    assert api.put("startexposure", "Duration=2&Light=true").json["ErrorNumber"] == 0
    deadline = time.monotonic() + 60
    while api.value("camerastate") not in (CameraState.IDLE, CameraState.ERROR):
        assert time.monotonic() < deadline, "the exposure never ended"
        time.sleep(0.01)
    assert not api.value("imageready")


@pytest.mark.parametrize("kind", ["truncated", "non-Bayer"])
def test_the_client_gets_the_error_and_the_original_is_saved(
    shoot: Callable[..., tuple[Api, Path]], kind: str
) -> None:
    arw = _truncated_arw() if kind == "truncated" else _linear_raw()
    api, folder = shoot(arw)
    _expose_until_done(api)
    assert api.value("camerastate") == int(CameraState.ERROR)

    saved = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert len(saved) == 1 and saved[0].suffix == ".ARW"
    assert saved[0].read_bytes() == arw  # the original, byte for byte
    reply = api.get("imagearray").json
    assert reply["ErrorNumber"] != 0
    message = reply["ErrorMessage"]
    assert BODY in message and SETTING in message and f"LibRaw {LIBRAW_VERSION}" in message
    assert f"the original is saved as {saved[0]}" in message


def test_with_saving_off_the_message_says_the_original_was_not_kept(
    shoot: Callable[..., tuple[Api, Path]],
) -> None:
    api, folder = shoot(_linear_raw(), save=False)
    _expose_until_done(api)
    message = api.get("imagearray").json["ErrorMessage"]
    assert "not Bayer" in message and "the original was not saved" in message
    assert not folder.exists() or not [p for p in folder.iterdir() if not p.name.startswith(".")]
