"""A whole session through the real pyusb API against the simulated body (acceptance of issue 2):
open, handshake, read all properties, set ISO and shutter speed, capture at a fixed speed and in
BULB, poll, download RAW+JPEG, and decode the ARW with LibRaw."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
import rawpy
from PIL import Image

from alpaca_sony.simulator.arw import read_sequence
from alpaca_sony.simulator.images import shot_mosaic
from alpaca_sony.sony.capture import plan_exposure, shutter_ladder
from alpaca_sony.sony.codes import PROTOCOL_V2, PROTOCOL_V3, SonyProp
from alpaca_sony.sony.protocol import DownloadedFile
from alpaca_sony.sony.values import SHUTTER_BULB, Iso, ShutterSpeed
from tests.conftest import Rig

RAW_JPEG = 0x13


def _check_arw(rig: Rig, file: DownloadedFile, shot_number: int) -> None:
    body = rig.camera.body
    sensor = body.model.sensor
    with rawpy.imread(io.BytesIO(file.data.tobytes())) as raw:
        visible = raw.raw_image_visible
        assert visible.shape == (sensor.visible_height, sensor.visible_width)
        expected = shot_mosaic(body, shot_number)[
            sensor.top_margin : sensor.top_margin + sensor.visible_height,
            sensor.left_margin : sensor.left_margin + sensor.visible_width,
        ]
        assert np.array_equal(visible, expected)
        assert read_sequence(raw.raw_image) == shot_number


@pytest.mark.parametrize(
    ("model", "version", "iso", "speed_s"),
    [
        ("ILCE-7M3", PROTOCOL_V2, 3200, 1 / 125),  # v2: notches, verified by reading back
        ("ILCE-6400", PROTOCOL_V2, 400, 2.5),
        ("ILCE-7RM4", PROTOCOL_V2, 1600, 30.0),  # S1/S2 read 2 at idle (sony-a7r4.txt l. 84-85)
        ("ILCE-7M4", PROTOCOL_V2, 6400, 1 / 8000),  # sony-a7m4.txt l. 29: v2, Range shutter
        ("ILCE-7SM3", PROTOCOL_V3, 12800, 0.5),
    ],
)
def test_full_session_fixed_speed_and_bulb(
    rig_factory: Callable[..., Rig], model: str, version: int, iso: int, speed_s: float
) -> None:
    rig = rig_factory(model=model, compression=RAW_JPEG)
    assert rig.sony.protocol_version == version
    assert rig.sony.device_info is not None and rig.sony.device_info.model == model
    table = rig.capture.read_settings()
    assert len(table) >= 17

    rig.capture.set_iso(iso)
    assert rig.camera.body.value(SonyProp.ISO) == iso
    plan = plan_exposure(speed_s, shutter_ladder(table, rig.sony.model))
    assert not plan.is_bulb
    rig.capture.set_shutter(plan.shutter_raw)
    shutter = rig.camera.body.value(SonyProp.SHUTTER_SPEED)
    assert isinstance(shutter, int)
    assert ShutterSpeed(shutter).seconds == pytest.approx(speed_s)

    fixed = rig.capture.expose(plan)
    shot = rig.camera.body.shots[-1]
    assert shot.exposure_s == pytest.approx(speed_s)
    assert Iso(shot.iso).number == iso
    assert [f.info.filename[-3:] for f in fixed.files] == ["JPG", "ARW"]  # JPEG comes first
    assert fixed.files[0].info.sequence_number == fixed.files[1].info.sequence_number
    _check_arw(rig, fixed.files[1], shot.number)
    with Image.open(io.BytesIO(fixed.files[0].data.tobytes())) as jpeg:
        assert jpeg.format == "JPEG"

    bulb_plan = plan_exposure(300.0, shutter_ladder(table, rig.sony.model))
    assert bulb_plan.is_bulb
    rig.capture.set_shutter(SHUTTER_BULB)
    bulb = rig.capture.expose(bulb_plan)
    shot = rig.camera.body.shots[-1]
    assert shot.shutter == SHUTTER_BULB
    assert shot.exposure_s == pytest.approx(300.0, abs=0.01)
    assert len(bulb.files) == 2 and bulb.files[1].is_raw
    _check_arw(rig, bulb.files[1], shot.number)

    assert rig.camera.body.buffer == type(rig.camera.body.buffer)()
    assert rig.camera.body.refusals == []
    assert rig.camera.body.protocol_violations == []


def test_raw_only_gives_one_file(rig: Rig) -> None:
    plan = plan_exposure(1 / 125, shutter_ladder(rig.capture.read_settings(), rig.sony.model))
    rig.capture.set_shutter(plan.shutter_raw)
    result = rig.capture.expose(plan)
    assert [f.info.object_format for f in result.files] == [0xB101]
    assert result.files[0].info.compressed_size == len(result.files[0].data)


def test_handshake_retries_empty_ext_device_info(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(ext_info_empty_answers=5)
    assert rig.sony.ext_info is not None and rig.sony.ext_info.version == PROTOCOL_V2
    assert rig.camera.operations_seen.count(0x9202) == 6


def test_v3_body_that_accepts_v2_initiator_falls_back(rig_factory: Callable[..., Rig]) -> None:
    # A v3 body answering the 0x012C request normally; the driver must take what comes back.
    rig = rig_factory(model="ILCE-7SM3", v3_rejects_v2_initiator=False)  # v3 by its 0x9202 dump
    assert rig.sony.is_v3
    table = rig.capture.read_settings()
    assert table[SonyProp.SHUTTER_SPEED].writable
