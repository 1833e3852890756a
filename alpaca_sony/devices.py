"""Opening Sony bodies: USB device -> transport -> PTP session -> connected :class:`SonyCamera`,
and a survey of what is attached (for ``alpaca-sony list``). The one place that puts the USB
transport, PTP and Sony layers together, so ``sony/`` never imports pyusb."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from alpaca_sony.clock import Clock
from alpaca_sony.errors import AlpacaSonyError, DeviceNotFound
from alpaca_sony.ptp.session import PtpSession
from alpaca_sony.sony.codes import SonyOp
from alpaca_sony.sony.models import MODELS
from alpaca_sony.sony.protocol import SonyCamera
from alpaca_sony.transport.advice import PC_REMOTE_HOWTO
from alpaca_sony.transport.usb import (
    InterfaceKind,
    UsbCameraInfo,
    UsbTransport,
    describe,
    find_sony_devices,
)

log = logging.getLogger(__name__)

_CONTROL_PIDS = {pid: m.model for m in MODELS.values() for pid in m.control_pids}
_MTP_PIDS = {pid: m.model for m in MODELS.values() for pid in m.mtp_pids}


@dataclass(frozen=True)
class SurveyRow:
    """One attached Sony device and what (if anything) must change before it can shoot."""

    usb: UsbCameraInfo
    model: str | None
    mode: str
    advice: str | None


def open_camera(backend: Any, clock: Clock, serial_number: str | None = None) -> SonyCamera:
    """Connect to the first Sony body in PC Remote mode (or the one with ``serial_number``).

    Raises:
        DeviceNotFound: nothing suitable is attached; the message says why.
        DeviceAccessDenied: no permission on the device node.
        CameraError: the body refuses the remote-control handshake.
    """
    devices = list(find_sony_devices(backend))
    if not devices:
        raise DeviceNotFound(
            "no Sony camera found on USB: check the cable (a data cable, not a charge-only one), "
            f"switch the camera on, and {PC_REMOTE_HOWTO}"
        )
    problems: list[str] = []
    for device in devices:
        info = describe(device)
        if serial_number is not None and info.serial_number != serial_number:
            continue
        try:
            transport = UsbTransport.open(device)
        except DeviceNotFound as exc:
            problems.append(str(exc))
            continue
        camera = SonyCamera(PtpSession(transport), clock)
        try:
            camera.connect()
        except BaseException:
            transport.close()
            raise
        return camera
    wanted = f" with serial number {serial_number}" if serial_number else ""
    raise DeviceNotFound(
        f"no Sony camera{wanted} is ready: " + "; ".join(problems or ["none matched"])
    )


def survey(backend: Any) -> list[SurveyRow]:
    """Every attached Sony device, its mode, and what to fix."""
    rows: list[SurveyRow] = []
    for device in find_sony_devices(backend):
        info = describe(device)
        model = _CONTROL_PIDS.get(info.product_id) or _MTP_PIDS.get(info.product_id) or info.product
        if info.kind == InterfaceKind.MASS_STORAGE:
            rows.append(SurveyRow(info, model, "mass storage", PC_REMOTE_HOWTO))
            continue
        if info.kind == InterfaceKind.OTHER:
            rows.append(SurveyRow(info, model, "not a camera interface", PC_REMOTE_HOWTO))
            continue
        rows.append(_probe(device, info, model))
    return rows


def _probe(device: Any, info: UsbCameraInfo, model: str | None) -> SurveyRow:
    """Ask the still-image interface for its DeviceInfo: PC Remote bodies list Sony's 0x9202."""
    try:
        transport = UsbTransport.open(device)
    except AlpacaSonyError as exc:
        return SurveyRow(info, model, "unknown", str(exc))
    try:
        device_info = PtpSession(transport, timeout_s=3.0).get_device_info()
    except AlpacaSonyError as exc:
        return SurveyRow(info, model, "unknown (busy?)", f"the camera did not answer: {exc}")
    finally:
        transport.close()
    model = device_info.model or model
    if SonyOp.SDIO_GET_EXT_DEVICE_INFO in device_info.operations_supported:
        advice = None if model in MODELS else "not in the model table: generic settings are used"
        return SurveyRow(info, model, "PC Remote", advice)
    return SurveyRow(info, model, "MTP (content transfer)", PC_REMOTE_HOWTO)
