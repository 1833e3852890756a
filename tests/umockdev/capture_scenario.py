"""Scenarios run under umockdev: the simulated body behind the real libusb, driven by the
production stack (UsbTransport -> PtpSession -> SonyCamera -> CaptureSequence).

Each target returns 0 on success and prints what it checked; run by test_capture_libusb.py."""

from __future__ import annotations

import io
import sys
from typing import Any

import numpy as np
import rawpy

from alpaca_sony.clock import SystemClock
from alpaca_sony.errors import DeviceDisconnected
from alpaca_sony.ptp.codes import OpCode
from alpaca_sony.ptp.session import PtpSession
from alpaca_sony.simulator.arw import read_sequence
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.images import shot_mosaic
from alpaca_sony.sony.capture import CaptureSequence, CaptureTiming, plan_exposure, shutter_ladder
from alpaca_sony.sony.codes import SonyProp
from alpaca_sony.sony.protocol import SonyCamera
from alpaca_sony.sony.values import SHUTTER_BULB
from alpaca_sony.transport.usb import UsbTransport

_cameras: list[SimulatedCamera] = []


def _make(model: str) -> SimulatedCamera:
    settings = BodySettings(
        model=model,
        compression=0x13,  # RAW+JPEG
        post_connect_settle_s=0.0,
        processing_s=0.05,
        notch_delay_s=0.02,
    )
    camera = SimulatedCamera(SystemClock(), settings)
    _cameras.append(camera)
    return camera


def a7m3() -> SimulatedCamera:
    return _make("ILCE-7M3")


def a7sm3() -> SimulatedCamera:
    return _make("ILCE-7SM3")


def _connect(harness: Any) -> tuple[SimulatedCamera, SonyCamera, CaptureSequence]:
    camera = harness.functions[0]
    transport = UsbTransport.open(harness.find())
    sony = SonyCamera(PtpSession(transport), SystemClock())
    sony.connect()
    timing = CaptureTiming(poll_interval_s=0.02, af_pause_s=0.6, fixed_speed_hold_s=0.02)
    return camera, sony, CaptureSequence(sony, SystemClock(), timing)


def _check_arw(camera: SimulatedCamera, data: bytes, number: int) -> None:
    sensor = camera.body.model.sensor
    with rawpy.imread(io.BytesIO(data)) as raw:
        expected = shot_mosaic(camera.body, number)[:, : sensor.visible_width]
        assert np.array_equal(raw.raw_image_visible, expected), "pixels differ after libusb"
        assert read_sequence(raw.raw_image) == number


def full_capture(harness: Any) -> int:
    """Handshake, settings, ISO and shutter, fixed-speed and BULB RAW+JPEG captures, decode."""
    camera, sony, capture = _connect(harness)
    table = capture.read_settings()
    capture.set_iso(1600)
    assert camera.body.value(SonyProp.ISO) == 1600
    plan = plan_exposure(1 / 250, shutter_ladder(table, sony.model))
    capture.set_shutter(plan.shutter_raw)
    fixed = capture.expose(plan)
    assert [f.info.filename[-3:] for f in fixed.files] == ["JPG", "ARW"]
    _check_arw(camera, fixed.files[1].data.tobytes(), camera.body.shots[-1].number)
    capture.set_shutter(SHUTTER_BULB)
    bulb = capture.expose(plan_exposure(0.4, []))
    shot = camera.body.shots[-1]
    assert shot.shutter == SHUTTER_BULB and 0.35 < shot.exposure_s < 1.5, shot.exposure_s
    _check_arw(camera, bulb.files[1].data.tobytes(), shot.number)
    assert not camera.body.buffer and camera.body.protocol_violations == []
    sony.close()
    sony.session.transport.close()  # an open device keeps the test bed (and the process) alive
    model = sony.device_info.model if sony.device_info else "?"
    sys.stdout.write(f"ok: {model} v{sony.protocol_version:#x}\n")
    return 0


def disconnect_mid_download(harness: Any) -> int:
    """Cable pulled during GetObject: a typed error; the image stays in the camera."""
    camera, sony, capture = _connect(harness)
    plan = plan_exposure(1 / 250, shutter_ladder(capture.read_settings(), sony.model))
    capture.set_shutter(plan.shutter_raw)
    camera.faults.disconnect(OpCode.GET_OBJECT, occurrence=2, after_bytes=3_000_000)  # the ARW
    try:
        capture.expose(plan)
    except DeviceDisconnected as exc:
        sys.stdout.write(f"ok: {exc}\n")
    else:
        return 1
    assert len(camera.body.buffer) == 1  # the RAW is still waiting in the camera
    sony.session.transport.close()
    return 0
