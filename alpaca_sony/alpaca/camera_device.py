"""The ICameraV4 members of one Sony body, over the camera domain's device worker.

No HTTP here: the member table (:mod:`alpaca_sony.alpaca.members`) parses each request, checks
the connection where its row says so, and calls these methods, which raise :class:`AlpacaError`
subclasses; a method may assume the connection its row asks for. Client-side settings (binning,
subframe, gain index, readout mode) live here as one immutable value swapped under a lock;
everything about the camera comes from the worker's snapshot, so no member waits on USB except
Connected/Connect/Disconnect and StartExposure's hand-over.

A body the model table lacks (sony-ptp.md 14.4: it must still shoot) learns its sensor size from its
first frame (the worker keeps it in :mod:`alpaca_sony.camera.geometry`). Before that frame,
CameraXSize/CameraYSize (and NumX/NumY, whose default is the full frame) raise InvalidOperation
saying to take one exposure, rather than answer a made-up size: NINA and other ASCOM clients catch a
failed property read and keep going (NINA logs it and still shoots), while a wrong number would be
written into FITS headers and subframe maths, and ConformU would then report a mismatched ImageArray
instead of the real cause. That first exposure ignores StartX/StartY/NumX/NumY (there is nothing to
check them against) and delivers the whole frame at the requested binning; from then on, and after a
restart, the sizes are known. PixelSizeX/Y of such a body stay an error naming the cause: the pitch
is not in the ARW and is not guessed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from alpaca_sony import __version__
from alpaca_sony.alpaca.device_view import DeviceView
from alpaca_sony.alpaca.errors import (
    ActionNotImplemented,
    DriverError,
    InvalidOperation,
    InvalidValue,
)
from alpaca_sony.camera.decode import DecodedFrame, ReadoutMode, Subframe
from alpaca_sony.camera.exposure import ExposureRequest
from alpaca_sony.camera.state import CameraSnapshot, CameraState, ExposureStatus, LatestImage
from alpaca_sony.camera.worker import DeviceWorker
from alpaca_sony.clock import Clock
from alpaca_sony.errors import AlpacaSonyError, CameraError
from alpaca_sony.sony.models import CameraModel
from alpaca_sony.sony.values import Iso, ShutterSpeed

log = logging.getLogger(__name__)

MAX_BIN = 4
EXPOSURE_MAX_S = 4 * 3600.0
SENSOR_TYPE_COLOR = 1
SENSOR_TYPE_RGGB = 2
READOUT_MODES = (ReadoutMode.RAW, ReadoutMode.RGB, ReadoutMode.RGB_HALF)
UNIQUE_ID_NAMESPACE = uuid.UUID("6f1d9a52-3c1e-4d8e-9b8e-2a5f4e7c0a11")
ACTIONS = ("camerainfo", "battery", "buffer", "lens", "savedfiles")
# A body outside the table: Sony's ARW is 14-bit (DLL table: MaxADU 16383 on every body,
# sony-ptp.md 9.1) and the standard ladder ends at 1/8000 s (sony-ptp.md 14.4).
UNKNOWN_BODY_MAX_ADU = 16383
UNKNOWN_BODY_SHORTEST_S = 1 / 8000


def unique_id(model: str, serial_number: str) -> str:
    """A UUID derived from the body's serial number: the same everywhere, forever."""
    return str(uuid.uuid5(UNIQUE_ID_NAMESPACE, f"sony/{model}/{serial_number}"))


@dataclass(frozen=True)
class _ClientSettings:
    bin_x: int = 1
    bin_y: int = 1
    start_x: int = 0
    start_y: int = 0
    num_x: int | None = None  # None: the full (binned) frame, until a client writes it
    num_y: int | None = None
    gain_index: int | None = None
    readout_mode: int = 0


class CameraDevice:
    """One Alpaca camera device number."""

    def __init__(
        self,
        number: int,
        worker: DeviceWorker,
        clock: Clock,
        model_hint: CameraModel | None,
        serial_number: str,
        extra_actions: Mapping[str, Callable[[str], str]] | None = None,
    ):
        self.number = number
        # Injected (the simulator's fault rehearsal): name -> run(parameters) -> text; a run
        # raises ValueError for bad parameters. This layer never imports the simulator.
        self._extra_actions = {k.lower(): v for k, v in (extra_actions or {}).items()}
        self.worker = worker
        self.clock = clock
        self.model_hint = model_hint
        self.serial_number = serial_number
        self._settings = _ClientSettings()
        self._lock = threading.Lock()
        self._exposure_seen = False  # LastExposure* raise until an exposure since connect
        # Fixed at start-up: it must never change, not even when the body's model becomes known.
        self.unique_id = unique_id(model_hint.model if model_hint else "any", serial_number)

    # -- identity ---------------------------------------------------------------------------

    @property
    def model(self) -> CameraModel | None:
        return self.worker.snapshot().model or self.model_hint

    @property
    def model_name(self) -> str:
        model = self.model
        return model.model if model else self.worker.snapshot().facts.device_model or "Sony camera"

    def name(self) -> str:
        model = self.model
        if model:
            return model.display_name
        reported = self.worker.snapshot().facts.device_model
        return f"Sony {reported}" if reported else "Sony camera"

    def description(self) -> str:
        return f"{self.name()} ({self.model_name}) on USB"[:64]

    @staticmethod
    def driver_info() -> str:
        return "alpaca-sony: ASCOM Alpaca server for Sony Alpha cameras in PC Remote mode"

    @staticmethod
    def driver_version() -> str:
        return ".".join(__version__.split(".")[:2])

    # -- connection -----------------------------------------------------------------------

    def connected(self) -> bool:
        return self.worker.snapshot().connected

    def set_connected(self, value: bool) -> None:
        """Synchronous: when this returns, Connected reads ``value``."""
        try:
            if value:
                if not self.worker.snapshot().connected:
                    self._reset_client_state()
                    self.worker.connect(timeout_s=30)
            else:
                self.worker.disconnect(timeout_s=30)
        except AlpacaSonyError as exc:
            raise DriverError(f"could not {'connect' if value else 'disconnect'}: {exc}") from exc

    def connect(self) -> None:
        """Asynchronous connect; Connecting reads true until it is done."""
        if self.worker.snapshot().connected:
            return
        self._reset_client_state()
        self.worker.connect_async()

    def disconnect(self) -> None:
        """Disconnect (fast: it only closes the session)."""
        self.set_connected(False)

    def connecting(self) -> bool:
        return self.worker.snapshot().connecting

    def _reset_client_state(self) -> None:
        with self._lock:
            self._settings = _ClientSettings()
            self._exposure_seen = False

    def _settings_now(self) -> _ClientSettings:
        with self._lock:
            return self._settings

    def _body_name(self, snap: CameraSnapshot) -> str:
        """The key of a learned size: the body's DeviceInfo model string."""
        model = self.model
        return snap.facts.device_model or (model.model if model else "")

    def _table_size(self) -> tuple[int, int] | None:
        model = self.model
        if model is None or not model.sensor.sizes_published:
            return None
        return model.sensor.visible_width, model.sensor.visible_height

    def _sensor_size(self) -> tuple[int, int] | None:
        """(width, height) of the whole visible frame, or None for a body not yet measured."""
        size = self._table_size()
        if size is not None:
            return size
        name = self._body_name(self.worker.snapshot())
        learned = self.worker.geometry.get(name) if name else None
        return (learned.width, learned.height) if learned else None

    def _known_size(self) -> tuple[int, int]:
        size = self._sensor_size()
        if size is None:
            raise InvalidOperation(
                f"the sensor size of this {self.model_name} is not known yet (no published source "
                "gives it): take one exposure of any length and it is learned and remembered"
            )
        return size

    # -- sensor ---------------------------------------------------------------------------

    def camera_x_size(self) -> int:
        return self._known_size()[0]

    def camera_y_size(self) -> int:
        return self._known_size()[1]

    def pixel_size(self) -> float:
        model = self.model
        pitch = model.sensor.pixel_size_um if model else None
        if pitch is None:
            raise InvalidOperation(
                f"the pixel size of this {self.model_name} is not known (no published source "
                "gives it and the camera's files do not say): enter it in your imaging program"
            )
        return pitch

    def sensor_name(self) -> str:
        model = self.model
        name = model.sensor.sensor_name if model else ""
        part = name.removeprefix("Sony ").upper()
        return part if part.startswith("IMX") and " " not in part else ""

    def _readout(self) -> ReadoutMode:
        return READOUT_MODES[self._settings_now().readout_mode]

    def sensor_type(self) -> int:
        return SENSOR_TYPE_RGGB if self._readout() == ReadoutMode.RAW else SENSOR_TYPE_COLOR

    def max_adu(self) -> int:
        model = self.model
        sensor_max = model.sensor.max_adu if model else UNKNOWN_BODY_MAX_ADU
        return sensor_max if self._readout() == ReadoutMode.RAW else 65535

    def _bayer_offsets(self) -> tuple[int, int]:
        """Offsets of the RGGB pattern (all Sony bodies: R at 0,0; 0 in RGB modes too)."""
        image = self.worker.snapshot().latest_image
        frame = image.frame if image is not None else None
        if (
            frame is not None
            and frame.bayer_offset_x is not None
            and frame.bayer_offset_y is not None
        ):
            return frame.bayer_offset_x, frame.bayer_offset_y
        return 0, 0

    def bayer_offset_x(self) -> int:
        return self._bayer_offsets()[0]

    def bayer_offset_y(self) -> int:
        return self._bayer_offsets()[1]

    # -- binning and subframe ------------------------------------------------------------------
    # StartX/StartY/NumX/NumY writes are not cross-checked (alpaca.md 0.13): StartExposure is.

    def bin_x(self) -> int:
        return self._settings_now().bin_x

    def bin_y(self) -> int:
        return self._settings_now().bin_y

    def set_bin(self, value: int) -> None:
        """BinX or BinY: symmetric binning only, so either sets both (what clients expect)."""
        if not 1 <= value <= MAX_BIN:
            raise InvalidValue(f"binning must be 1 to {MAX_BIN}, not {value}")
        with self._lock:
            self._settings = replace(self._settings, bin_x=value, bin_y=value)

    def start_x(self) -> int:
        return self._settings_now().start_x

    def start_y(self) -> int:
        return self._settings_now().start_y

    def set_start_x(self, value: int) -> None:
        with self._lock:
            self._settings = replace(self._settings, start_x=value)

    def set_start_y(self, value: int) -> None:
        with self._lock:
            self._settings = replace(self._settings, start_y=value)

    def num_x(self) -> int:
        settings = self._settings_now()
        if settings.num_x is None:
            return self.camera_x_size() // settings.bin_x
        return settings.num_x

    def num_y(self) -> int:
        settings = self._settings_now()
        if settings.num_y is None:
            return self.camera_y_size() // settings.bin_y
        return settings.num_y

    def set_num_x(self, value: int) -> None:
        with self._lock:
            self._settings = replace(self._settings, num_x=value)

    def set_num_y(self, value: int) -> None:
        with self._lock:
            self._settings = replace(self._settings, num_y=value)

    # -- gain (ISO, index mode) ------------------------------------------------------------------

    def _iso_values(self) -> list[int]:
        snap = self.worker.snapshot()
        values = [v for v in snap.facts.iso_values if Iso(v).is_plain]
        if not values and self.model is not None:
            values = [v for v in self.model.iso_values if Iso(v).is_plain]
        return sorted(set(values), key=lambda v: v & 0xFFFFFF)

    def gains(self) -> list[str]:
        return [f"ISO {Iso(v).number}" for v in self._iso_values()]

    def gain(self) -> int:
        values = self._iso_values()
        index = self._settings_now().gain_index
        if index is not None:
            return index
        current = self.worker.snapshot().facts.iso
        if current in values:
            return values.index(current)
        for preferred in (800, 400, 1600):
            if preferred in values:
                return values.index(preferred)
        return 0

    def set_gain(self, value: int) -> None:
        values = self._iso_values()
        if not 0 <= value < len(values):
            raise InvalidValue(f"gain index must be 0 to {len(values) - 1}, not {value}")
        with self._lock:
            self._settings = replace(self._settings, gain_index=value)

    # -- readout modes ----------------------------------------------------------------------------

    def readout_modes(self) -> list[str]:
        size = self._sensor_size()
        if size is None:
            return ["Raw Bayer (RGGB)", "RGB linear 16-bit", "RGB half size, fast (bin 2)"]
        width, height = size
        return [
            f"Raw Bayer (RGGB, {width} x {height})",
            f"RGB linear 16-bit ({width} x {height})",
            f"RGB half size, fast (bin 2: {width // 2} x {height // 2})",
        ]

    def readout_mode(self) -> int:
        return self._settings_now().readout_mode

    def set_readout_mode(self, value: int) -> None:
        if not 0 <= value < len(READOUT_MODES):
            raise InvalidValue(f"readout mode must be 0 to {len(READOUT_MODES) - 1}, not {value}")
        with self._lock:
            self._settings = replace(self._settings, readout_mode=value)

    # -- exposure limits and state -----------------------------------------------------------------

    def _shortest_speed_s(self) -> float:
        model = self.model
        return model.shortest_speed_s if model else UNKNOWN_BODY_SHORTEST_S

    def exposure_min(self) -> float:
        return self._shortest_speed_s()

    @staticmethod
    def exposure_max() -> float:
        return EXPOSURE_MAX_S

    def camera_state(self) -> int:
        return int(self.worker.snapshot().state)

    def image_ready(self) -> bool:
        return self.worker.snapshot().image_ready

    def percent_completed(self) -> int:
        snap = self.worker.snapshot()
        if snap.state in (CameraState.IDLE, CameraState.ERROR):
            return 100 if snap.image_ready else 0
        exposure = snap.exposure
        if snap.state == CameraState.EXPOSING and exposure and exposure.started_monotonic:
            elapsed = self.clock.monotonic() - exposure.started_monotonic
            return max(0, min(99, int(100 * elapsed / max(exposure.planned_s, 1e-6))))
        return 100 if snap.state in (CameraState.READING, CameraState.DOWNLOAD) else 0

    def last_exposure_duration(self) -> float:
        exposure = self._last_exposure()
        return exposure.actual_s if exposure.actual_s is not None else exposure.planned_s

    def last_exposure_start_time(self) -> str:
        exposure = self._last_exposure()
        if exposure.started_utc is None:
            raise InvalidOperation("the last exposure did not start")
        # FITS style, UTC, no zone suffix (ConformU reads a 'Z' as local time).
        return exposure.started_utc.split("+")[0]

    def _last_exposure(self) -> ExposureStatus:
        snap = self.worker.snapshot()
        with self._lock:
            seen = self._exposure_seen
        if not seen or snap.exposure is None or snap.exposure.started_utc is None:
            raise InvalidOperation("no exposure has been taken since connecting")
        return snap.exposure

    # -- exposures ---------------------------------------------------------------------------------

    def start_exposure(self, duration_s: float, light: bool) -> None:
        snap = self.worker.snapshot()
        shortest_s = self._shortest_speed_s()
        if duration_s < 0:
            raise InvalidValue(f"duration must not be negative ({duration_s})")
        if light and duration_s < shortest_s * 0.999:
            raise InvalidValue(f"light frames need at least {shortest_s:g} s")
        if duration_s > EXPOSURE_MAX_S:
            raise InvalidValue(f"exposures longer than {EXPOSURE_MAX_S:g} s are not supported")
        if snap.state not in (CameraState.IDLE, CameraState.ERROR):
            raise InvalidOperation("an exposure is already in progress")
        settings = self._settings_now()
        readout = READOUT_MODES[settings.readout_mode]
        size = self._sensor_size()
        if size is None:
            log.info(
                "%s: sensor size not known yet; this exposure ignores StartX/StartY/NumX/NumY "
                "and delivers the whole frame",
                self.model_name,
            )
            settings = replace(settings, start_x=0, start_y=0, num_x=None, num_y=None)
        subframe = self._subframe(settings, size, readout)
        iso_values = self._iso_values()
        gain_index = settings.gain_index if settings.gain_index is not None else self.gain()
        request = ExposureRequest(
            duration_s=max(duration_s, shortest_s),
            light=light,
            iso=iso_values[gain_index] if iso_values else None,
            readout=readout,
            subframe=subframe,
        )
        try:
            self.worker.start_exposure(request)
        except CameraError as exc:
            raise InvalidOperation(str(exc)) from exc
        with self._lock:
            self._exposure_seen = True

    @staticmethod
    def _subframe(
        settings: _ClientSettings, size: tuple[int, int] | None, readout: ReadoutMode
    ) -> Subframe:
        bin_x, bin_y = settings.bin_x, settings.bin_y
        if readout == ReadoutMode.RGB_HALF and bin_x not in (2, 4):
            raise InvalidValue("the RGB half-size mode delivers bin 2 or 4: set BinX to 2 or 4")
        # The half-size decode is bin 2; bin 4 bins it once more.
        decode_bin = 2 if readout == ReadoutMode.RGB_HALF else 1
        if size is None:  # a body not measured yet: the whole frame, nothing to check against
            return Subframe(bin_x=bin_x // decode_bin, bin_y=bin_y // decode_bin)
        width, height = size
        num_x = width // bin_x if settings.num_x is None else settings.num_x
        num_y = height // bin_y if settings.num_y is None else settings.num_y
        fits = (
            settings.start_x >= 0
            and settings.start_y >= 0
            and num_x >= 1
            and num_y >= 1
            and settings.start_x + num_x <= width // bin_x
            and settings.start_y + num_y <= height // bin_y
        )
        if not fits:
            raise InvalidValue(
                f"subframe StartX={settings.start_x} StartY={settings.start_y} NumX={num_x} "
                f"NumY={num_y} does not fit {width // bin_x} x {height // bin_y} at bin {bin_x}"
            )
        return Subframe(
            settings.start_x,
            settings.start_y,
            num_x,
            num_y,
            bin_x // decode_bin,
            bin_y // decode_bin,
        )

    def abort_exposure(self) -> None:
        """Before the shutter opens nothing is shot; once it has, the shot is followed through
        and saved without an image (issue 9 point 2). The camera reads Idle at once."""
        self._refuse_on_builtin_speed("cut short: it ends by itself and its image is kept")
        self.worker.abort_exposure()

    def stop_exposure(self) -> None:
        self._refuse_on_builtin_speed("shortened")
        self.worker.stop_exposure()

    def _refuse_on_builtin_speed(self, what: str) -> None:
        """The camera times a built-in speed itself: once open, nothing ends it early.

        Raises:
            InvalidOperation: a built-in speed is exposing (nothing changes).
        """
        snap = self.worker.snapshot()
        exposure = snap.exposure
        if snap.state == CameraState.EXPOSING and exposure is not None and not exposure.bulb:
            raise InvalidOperation(
                f"a built-in shutter speed ({exposure.planned_s:g} s) cannot be {what}"
            )

    def latest_image(self) -> LatestImage:
        """The ready image with its own number and exposure, read as one value."""
        snap = self.worker.snapshot()
        image = snap.latest_image
        if image is None:
            if snap.state == CameraState.ERROR and snap.message:
                # The last exposure failed: say why, not merely that there is no image.
                raise DriverError(f"the last exposure gave no image: {snap.message}")
            raise InvalidOperation("no image is ready (take an exposure first)")
        return image

    def frame(self) -> DecodedFrame:
        return self.latest_image().frame

    # -- device state and actions -----------------------------------------------------------------

    def device_state(self) -> list[dict[str, Any]]:
        snap = self.worker.snapshot()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
        return [
            {"Name": "CameraState", "Value": int(snap.state)},
            {"Name": "ImageReady", "Value": snap.image_ready},
            {"Name": "PercentCompleted", "Value": self.percent_completed()},
            {"Name": "TimeStamp", "Value": stamp},
        ]

    def supported_actions(self) -> list[str]:
        return [*ACTIONS, *self._extra_actions]

    def action(self, name: str, parameters: str) -> str:
        """Camera facts Alpaca has no member for (or an injected action), as JSON text."""
        action = name.lower()
        extra = self._extra_actions.get(action)
        if extra is not None:
            try:
                return extra(parameters)
            except ValueError as exc:
                raise InvalidValue(f"{name}: {exc}") from exc
        snap = self.worker.snapshot()
        facts = snap.facts
        if action not in ACTIONS:
            supported = ", ".join(self.supported_actions())
            raise ActionNotImplemented(f"unknown action {name!r}; supported: {supported}")
        result: dict[str, Any]
        if action == "battery":
            result = {"percent": facts.battery_percent, "indicator": facts.battery_indicator}
        elif action == "buffer":
            result = {"images_waiting": facts.images_waiting}
        elif action == "lens":
            result = {"f_number": facts.f_number, "attached": facts.f_number is not None}
        elif action == "savedfiles":
            result = {"files": list(snap.saved_files)}
        else:
            result = {
                "model": facts.device_model,
                "serial_number": facts.serial_number,
                "firmware": facts.firmware,
                "iso": str(Iso(facts.iso)) if facts.iso is not None else None,
                "shutter": str(ShutterSpeed(facts.shutter)) if facts.shutter is not None else None,
                "file_format": facts.file_format,
                "message": snap.message,
                "disk_trouble": snap.disk_trouble,
            }
        return orjson.dumps(result).decode()

    # -- the setup pages' view --------------------------------------------------------------------

    def view(self) -> DeviceView:
        """What the setup pages show, from one snapshot."""
        snap = self.worker.snapshot()
        facts = snap.facts
        return DeviceView(
            number=self.number,
            unique_id=self.unique_id,
            name=self.name(),
            model_name=self.model_name,
            serial_number=facts.serial_number or self.serial_number,
            firmware=facts.firmware,
            connected=snap.connected,
            usb_link_up=snap.online,
            state=CameraState(snap.state),
            image_ready=snap.image_ready,
            message=snap.message,
            disk_trouble=snap.disk_trouble,
            iso=Iso(facts.iso) if facts.iso is not None else None,
            shutter=ShutterSpeed(facts.shutter) if facts.shutter is not None else None,
            file_format=facts.file_format,
            battery_percent=facts.battery_percent,
            images_waiting=facts.images_waiting,
            saved_files=snap.saved_files,
        )
