"""What the setup pages may read of one camera: a read-only copy taken from one snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from alpaca_sony.camera.state import CameraState
from alpaca_sony.sony.values import Iso, ShutterSpeed


@dataclass(frozen=True)
class DeviceView:
    """One camera's identity and live status, as :meth:`CameraDevice.view` saw it."""

    number: int
    unique_id: str
    name: str
    model_name: str
    serial_number: str
    firmware: str
    connected: bool
    usb_link_up: bool
    state: CameraState
    image_ready: bool
    message: str
    disk_trouble: str  # originals the save folder refused, held until it takes them
    iso: Iso | None
    shutter: ShutterSpeed | None
    file_format: str
    battery_percent: int | None
    images_waiting: int
    saved_files: tuple[str, ...]
