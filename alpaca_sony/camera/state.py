"""What the API layer may read at any time without waiting: an immutable camera snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from alpaca_sony.sony.models import CameraModel


class CameraState(IntEnum):
    """ASCOM CameraState values."""

    IDLE = 0
    WAITING = 1
    EXPOSING = 2
    READING = 3
    DOWNLOAD = 4
    ERROR = 5


@dataclass(frozen=True)
class ExposureStatus:
    """The current or last exposure."""

    requested_s: float
    planned_s: float
    bulb: bool
    started_monotonic: float | None = None
    started_utc: str | None = None  # ISO 8601, for LastExposureStartTime
    ended_monotonic: float | None = None
    actual_s: float | None = None  # from the camera's own timing, once known
    aborted: bool = False
    stopped: bool = False


@dataclass(frozen=True)
class CameraFacts:
    """Settings and status the camera last reported (read on connect and while idle)."""

    device_model: str = ""
    serial_number: str = ""
    firmware: str = ""
    iso: int | None = None
    iso_values: tuple[int, ...] = ()
    shutter: int | None = None
    exposure_program: int | None = None
    focus_mode: int | None = None
    file_format: str = ""
    battery_percent: int | None = None
    battery_indicator: str | None = None
    f_number: float | None = None
    images_waiting: int = 0


@dataclass(frozen=True)
class CameraSnapshot:
    """Everything a status request needs, swapped atomically by the device worker."""

    connected: bool = False  # what the client asked for (stays true while a link is recovered)
    online: bool = False  # a USB session with the camera is up right now
    connecting: bool = False
    state: CameraState = CameraState.IDLE
    image_ready: bool = False
    message: str = ""
    model: CameraModel | None = None
    facts: CameraFacts = field(default_factory=CameraFacts)
    exposure: ExposureStatus | None = None
    saved_files: tuple[str, ...] = ()
    low_disk_space: bool = False
    image_number: int = 0
