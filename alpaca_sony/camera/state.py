"""What the API layer may read at any time without waiting: an immutable camera snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from alpaca_sony.camera.decode import DecodedFrame
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
class LatestImage:
    """The last exposure's image with the number and the exposure it belongs to.

    One value, swapped as a whole: a reader can never pair one exposure's pixels with another's
    number (the number keys the API layer's cache of transfer forms).
    """

    frame: DecodedFrame
    number: int  # 1, 2, ... for each image delivered since the worker started
    exposure: ExposureStatus


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
    """Everything a status request needs; only the device worker writes it, swapping it whole."""

    connected: bool = False  # what the client asked for (stays true while a link is recovered)
    online: bool = False  # a USB session with the camera is up right now
    connecting: bool = False
    state: CameraState = CameraState.IDLE
    message: str = ""
    model: CameraModel | None = None
    facts: CameraFacts = field(default_factory=CameraFacts)
    exposure: ExposureStatus | None = None
    latest_image: LatestImage | None = None  # None until an exposure delivers one
    saved_files: tuple[str, ...] = ()
    disk_trouble: str = ""  # originals held in memory or lost because the folder refused them

    @property
    def image_ready(self) -> bool:
        return self.latest_image is not None
