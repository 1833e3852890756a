"""The device worker: the one thread that owns the USB session.

Everything else talks to it through commands (futures with bounded waits) and reads an immutable
:class:`CameraSnapshot`, so status requests never wait on USB or on decoding. While idle it reads
the camera's settings about once a second (fresh facts; images shot with the camera's own button
are downloaded and saved), and after a USB drop it reconnects on its own and recovers what the
camera still holds. No exception leaves the thread dead.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from alpaca_sony.camera.decode import DecodedFrame
from alpaca_sony.camera.exposure import ExposureControl, ExposureRequest, ExposureRunner
from alpaca_sony.camera.state import CameraFacts, CameraSnapshot, CameraState, ExposureStatus
from alpaca_sony.clock import Clock
from alpaca_sony.errors import AlpacaSonyError, CameraError, TransportError
from alpaca_sony.sony.capture import CaptureSequence
from alpaca_sony.sony.codes import SonyProp
from alpaca_sony.sony.props import PropertyTable
from alpaca_sony.sony.protocol import SonyCamera
from alpaca_sony.sony.values import (
    ShootingFileInfo,
    battery_indicator,
    battery_percent,
    f_number,
    file_format_from,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Opener = Callable[[], SonyCamera]


class WorkerBusy(CameraError):
    """The worker did not take the command within its deadline."""


@dataclass(frozen=True)
class WorkerTiming:
    """Idle polling and reconnect pacing (seconds)."""

    idle_poll_s: float = 1.0
    reconnect_interval_s: float = 2.0
    command_timeout_s: float = 30.0
    join_timeout_s: float = 10.0


def facts_from(camera: SonyCamera, table: PropertyTable) -> CameraFacts:
    """The snapshot's view of one property read."""
    info = camera.device_info
    iso = table.get(SonyProp.ISO)
    file_format = file_format_from(
        table.value(SonyProp.COMPRESSION), table.value(SonyProp.STILL_FILE_FORMAT)
    )
    f_raw = table.value(SonyProp.F_NUMBER)
    return CameraFacts(
        device_model=info.model if info else "",
        serial_number=info.serial_number if info else "",
        firmware=info.device_version if info else "",
        iso=table.value(SonyProp.ISO),
        iso_values=tuple(v for v in (iso.allowed_values if iso else ()) if isinstance(v, int)),
        shutter=table.value(SonyProp.SHUTTER_SPEED),
        exposure_program=table.value(SonyProp.EXPOSURE_PROGRAM),
        focus_mode=table.value(SonyProp.FOCUS_MODE),
        file_format=str(file_format) if file_format else "",
        battery_percent=battery_percent(table.value(SonyProp.BATTERY_REMAINING)),
        battery_indicator=battery_indicator(table.value(SonyProp.BATTERY_LEVEL_INDICATOR)),
        f_number=f_number(f_raw) if f_raw is not None else None,
        images_waiting=ShootingFileInfo(
            table.value(SonyProp.SHOOTING_FILE_INFO, 0) or 0
        ).ready_count,
    )


class DeviceWorker:
    """Owns one camera connection on a dedicated, named thread."""

    def __init__(
        self,
        opener: Opener,
        clock: Clock,
        runner: ExposureRunner,
        timing: WorkerTiming | None = None,
        name: str = "device-worker",
    ):
        self._opener = opener
        self._clock = clock
        self._runner = runner
        self.timing = timing or WorkerTiming()
        self._commands: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._snapshot = CameraSnapshot()
        self._frame: DecodedFrame | None = None
        self._camera: SonyCamera | None = None
        self._capture: CaptureSequence | None = None
        self._want_connected = False
        self._control: ExposureControl | None = None
        self._last_attempt = -1e9
        self._thread = threading.Thread(target=self._run, name=name, daemon=False)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the current command, disconnect, and end the thread."""
        control = self._control
        if control is not None:
            control.abort()  # a running BULB ends now; its image is still downloaded
        self._commands.put(None)
        self._thread.join(self.timing.join_timeout_s)
        if self._thread.is_alive():
            log.error("the device worker did not stop within %.0f s", self.timing.join_timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- reading -------------------------------------------------------------------------------

    def snapshot(self) -> CameraSnapshot:
        with self._lock:
            return self._snapshot

    def frame(self) -> DecodedFrame | None:
        """The last exposure's image, if it is ready."""
        with self._lock:
            return self._frame if self._snapshot.image_ready else None

    def _publish(self, **changes: Any) -> None:
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)

    # -- commands ----------------------------------------------------------------------------

    def submit(self, action: Callable[[], T]) -> Future[T]:
        """Run ``action`` on the worker thread; the future carries its result or exception."""
        future: Future[T] = Future()

        def command() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(action())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

        self._commands.put(command)
        return future

    def call(self, action: Callable[[], T], timeout_s: float | None = None) -> T:
        """Submit and wait with a deadline.

        Raises:
            WorkerBusy: the worker is busy (an exposure) past the deadline.
        """
        future = self.submit(action)
        try:
            return future.result(self.timing.command_timeout_s if timeout_s is None else timeout_s)
        except TimeoutError:
            future.cancel()
            raise WorkerBusy("the camera is busy (an exposure or a download is running)") from None

    def connect(self, timeout_s: float | None = None) -> None:
        """Connect (blocking up to the deadline); the worker keeps reconnecting after drops."""
        self._want_connected = True
        self._forget_last_exposure()
        self._publish(connecting=True)
        self.call(self._connect_now, timeout_s)

    def connect_async(self) -> Future[None]:
        """Start connecting; Connecting stays true until it is done."""
        self._want_connected = True
        self._forget_last_exposure()
        self._publish(connecting=True)
        return self.submit(self._connect_now)

    def _forget_last_exposure(self) -> None:
        """A client's (re)connect starts clean: no image ready, no last exposure."""
        with self._lock:
            self._frame = None
            self._snapshot = replace(self._snapshot, image_ready=False, exposure=None)

    def disconnect(self, timeout_s: float | None = None) -> None:
        self._want_connected = False
        control = self._control
        if control is not None:
            control.abort()
        self.call(self._drop_camera, timeout_s)
        self._publish(
            connected=False, online=False, connecting=False, state=CameraState.IDLE, message=""
        )

    def start_exposure(self, request: ExposureRequest) -> None:
        """Queue an exposure and return at once (the state already reads Waiting).

        Raises:
            CameraError: not connected, or an exposure is already running.
        """
        with self._lock:
            snap = self._snapshot
            if not snap.connected:
                raise CameraError("the camera is not connected")
            if snap.state not in (CameraState.IDLE, CameraState.ERROR):
                raise CameraError("an exposure is already in progress")
            control = ExposureControl()
            self._control = control
            self._frame = None
            self._snapshot = replace(
                snap,
                state=CameraState.WAITING,
                image_ready=False,
                message="",
                exposure=ExposureStatus(request.duration_s, request.duration_s, bulb=False),
            )
        self.submit(lambda: self._expose(request, control))

    def abort_exposure(self) -> None:
        control = self._control
        if control is not None:
            control.abort()

    def stop_exposure(self) -> None:
        control = self._control
        if control is not None:
            control.stop()

    # -- the thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                wait = (
                    self.timing.idle_poll_s
                    if self._camera is not None
                    else self.timing.reconnect_interval_s
                )
                try:
                    command = self._commands.get(timeout=wait)
                except queue.Empty:
                    self._idle()
                    continue
                if command is None:
                    break
                command()
        finally:
            self._drop_camera()
            self._publish(connected=False, online=False, connecting=False)

    def _guarded(self, what: str, action: Callable[[], None]) -> None:
        """Run ``action``; any failure becomes state and a message, never a dead thread."""
        try:
            action()
        except TransportError as exc:
            self._lost(exc)
        except AlpacaSonyError as exc:
            log.warning("%s failed: %s", what, exc)
            self._publish(message=str(exc))
        except Exception:
            log.exception("unexpected error while %s", what)
            self._publish(message=f"internal error while {what}; see the server log")

    def _idle(self) -> None:
        if self._camera is None:
            if self._want_connected:
                self._guarded("reconnecting", self._reconnect)
            return
        self._guarded("polling the camera", self._poll)

    def _poll(self) -> None:
        camera, capture = self._require()
        table = capture.read_settings()
        facts = facts_from(camera, table)
        if facts.images_waiting:
            self._recover(capture, table)
            facts = facts_from(camera, capture.read_settings())
        self._publish(facts=facts)

    def _recover(self, capture: CaptureSequence, table: PropertyTable) -> None:
        """Download and save images the camera holds outside an exposure."""
        files, _ = capture.drain(table)
        if not files:
            return
        model = capture.camera.device_info.model if capture.camera.device_info else "camera"
        names = tuple(str(p) for p in self._runner.save(model, files, None, None))
        log.info("recovered %d image file(s) from the camera", len(files))
        with self._lock:
            self._snapshot = replace(
                self._snapshot, saved_files=(*self._snapshot.saved_files, *names)[-50:]
            )

    def _connect_now(self) -> None:
        try:
            if self._camera is None:
                self._open()
        finally:
            self._publish(connecting=False)

    def _reconnect(self) -> None:
        now = self._clock.monotonic()
        if now - self._last_attempt < self.timing.reconnect_interval_s:
            return
        self._last_attempt = now
        try:
            self._open()
        except TransportError:
            raise
        except AlpacaSonyError as exc:
            self._publish(message=f"waiting for the camera: {exc}")
            return
        log.info("camera reconnected")

    def _open(self) -> None:
        camera = self._opener()
        capture = CaptureSequence(camera, self._clock)
        self._camera, self._capture = camera, capture
        table = capture.read_settings()
        if capture.release_buttons(table):
            table = capture.read_settings()
        if camera.is_v3:
            # As libgphoto2 does for v3 bodies: host settings take priority over the dials.
            camera.set_position_key_to_pc(table)
        if not camera.set_save_destination(table, self._runner.options.also_save_to_card):
            log.warning("the camera does not let the host choose where images are saved")
        message = self.snapshot().message if self.snapshot().state == CameraState.ERROR else ""
        self._publish(
            connected=True,
            online=True,
            model=camera.model,
            facts=facts_from(camera, table),
            state=CameraState.IDLE,
            message=message,
        )
        self._recover(capture, table)

    def _require(self) -> tuple[SonyCamera, CaptureSequence]:
        if self._camera is None or self._capture is None:
            raise CameraError("the camera is not connected")
        return self._camera, self._capture

    def _drop_camera(self) -> None:
        camera, self._camera, self._capture = self._camera, None, None
        if camera is None:
            return
        try:
            camera.close()
        except AlpacaSonyError as exc:
            log.debug("closing the session failed: %s", exc)
        camera.session.transport.close()

    def _lost(self, exc: TransportError) -> None:
        log.warning("lost the camera: %s", exc)
        self._drop_camera()
        self._publish(
            online=False,
            state=CameraState.ERROR,
            message=(
                f"the camera connection was lost ({exc}); reconnecting, and any image still in "
                "the camera will be downloaded and saved"
            ),
        )

    def _expose(self, request: ExposureRequest, control: ExposureControl) -> None:
        def report(state: CameraState, status: ExposureStatus) -> None:
            self._publish(state=state, exposure=status)

        def run() -> None:
            if self._camera is None and self._want_connected:
                self._open()  # the link dropped earlier: try once before giving up
            _, capture = self._require()
            outcome = self._runner.run(capture, request, control, report)
            with self._lock:
                snap = self._snapshot
                self._frame = outcome.frame
                self._snapshot = replace(
                    snap,
                    state=CameraState.IDLE,
                    exposure=outcome.status,
                    image_ready=outcome.frame is not None,
                    image_number=snap.image_number + (outcome.frame is not None),
                )
            # Durability after ImageReady: the client downloads while the disk catches up.
            saved = self._runner.commit(outcome.staged)
            names = tuple(str(p) for p in (*outcome.recovered, *saved))
            with self._lock:
                snap = self._snapshot
                self._snapshot = replace(snap, saved_files=(*snap.saved_files, *names)[-50:])

        try:
            run()
        except TransportError as exc:
            self._lost(exc)
        except AlpacaSonyError as exc:
            log.warning("exposure failed: %s", exc)
            self._publish(state=CameraState.ERROR, message=str(exc))
        except Exception:
            log.exception("unexpected error during the exposure")
            self._publish(state=CameraState.ERROR, message="internal error; see the server log")
        finally:
            self._control = None
