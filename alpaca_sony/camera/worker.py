"""The device worker: the one thread that owns the USB session.

Everything else talks to it through commands (futures with bounded waits) and reads an immutable
:class:`CameraSnapshot`, so status requests never wait on USB or on decoding. The worker thread is
the only writer of the snapshot and of all its own state: a member that changes state (Connect,
StartExposure) hands a command over and returns once the worker has published the new state; only
a running exposure's abort and stop flags, and a start queued behind an aborted exposure, are set
from other threads. Abort means abort (issue 9 point 2): from the moment it is raised the snapshot
reads Idle without an image, while the worker follows the shot through (after S2 the file is still
downloaded and saved); a StartExposure meanwhile is queued and reads Waiting until the worker
begins it, right after the follow-through. While idle it reads the
camera's settings about once a second (fresh facts; images shot with the camera's own button are
downloaded and saved), and after a USB drop it reconnects on its own and recovers what the camera
still holds. No exception leaves the thread dead. The capture options the next exposure uses are
set from other threads too (under the lock); the runner takes them between exposures.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from alpaca_sony.camera.decode import LIBRAW_VERSION, DecodedFrame
from alpaca_sony.camera.exposure import CaptureOptions, ExposureRequest, ExposureRunner
from alpaca_sony.camera.exposure_state import ExposureMachine
from alpaca_sony.camera.geometry import GeometryCache
from alpaca_sony.camera.state import (
    CameraFacts,
    CameraSnapshot,
    CameraState,
    ExposureStatus,
    LatestImage,
)
from alpaca_sony.clock import Clock
from alpaca_sony.errors import (
    AlpacaSonyError,
    CameraError,
    MalformedData,
    TransportError,
    TransportTimeout,
)
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


class WrongThread(RuntimeError):
    """Worker state written from another thread: a bug, refused so it cannot pass unseen."""


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
        geometry: GeometryCache | None = None,
    ):
        self._opener = opener
        self.geometry = geometry or GeometryCache()  # sizes of bodies the model table lacks
        self._clock = clock
        self._runner = runner
        self.timing = timing or WorkerTiming()
        self._commands: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._lock = threading.Lock()  # readers take the snapshot reference under it
        self._snapshot = CameraSnapshot()
        # One hand-over at a time: a second StartExposure then sees the first one's Waiting.
        self._admission = threading.Lock()
        # A start accepted while an aborted exposure is followed through (under _lock): clients
        # set it, the worker clears it when it begins the exposure; an abort withdraws it.
        self._queued: ExposureRequest | None = None
        # The options the next exposure uses (under _lock): the runner takes them on the worker
        # thread, between exposures, so one running keeps the options it started with.
        self._next_options = runner.options
        # Worker-thread state from here on: written only by commands and the idle loop.
        self._exposure = ExposureMachine()
        self._images_delivered = 0
        self._camera: SonyCamera | None = None
        self._capture: CaptureSequence | None = None
        self._want_connected = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=False)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the current command, disconnect, and end the thread."""
        self._withdraw_queued()
        self._exposure.signal_abort()  # a running BULB ends now; its image is still downloaded
        self._commands.put(None)
        self._thread.join(self.timing.join_timeout_s)
        if self._thread.is_alive():
            log.error("the device worker did not stop within %.0f s", self.timing.join_timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def following_through(self) -> bool:
        """An aborted exposure's shot is still being downloaded and saved (it reads Idle)."""
        return self._exposure.aborting

    # -- reading -------------------------------------------------------------------------------

    def snapshot(self) -> CameraSnapshot:
        """The published snapshot as a client sees it: Waiting while a start is queued, Idle
        without an image once an abort is raised on an exposure still being followed through."""
        with self._lock:
            snap, queued, aborting = self._snapshot, self._queued, self._exposure.aborting
        if queued is not None:
            waiting = ExposureStatus(queued.duration_s, queued.duration_s, bulb=False)
            return replace(
                snap, state=CameraState.WAITING, exposure=waiting, latest_image=None, message=""
            )
        if aborting:
            return replace(snap, state=CameraState.IDLE, latest_image=None)
        return snap

    def _check_thread(self) -> None:
        if threading.current_thread() is not self._thread:
            raise WrongThread(
                f"the camera snapshot was written from thread {threading.current_thread().name}"
            )

    def _publish(self, **changes: Any) -> None:
        """The one writer of the snapshot.

        Raises:
            WrongThread: called from any thread but the worker's.
        """
        self._check_thread()
        with self._lock:
            self._snapshot = replace(self._snapshot, **changes)

    def _publish_exposure(self, move: Callable[[], object] | None = None, **changes: Any) -> None:
        """Publish the exposure machine's state and status (and ``changes``), after ``move``.

        ``move`` runs under the snapshot lock, so no reader sees the machine moved (an abort
        flag released, a queued start taken) before the snapshot that goes with it.
        """
        self._check_thread()
        with self._lock:
            if move is not None:
                move()
            self._snapshot = replace(
                self._snapshot,
                state=self._exposure.state,
                exposure=self._exposure.status,
                **changes,
            )

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
        return self._wait(self.submit(action), timeout_s)

    def _wait(self, future: Future[T], timeout_s: float | None) -> T:
        try:
            return future.result(self.timing.command_timeout_s if timeout_s is None else timeout_s)
        except TimeoutError:
            future.cancel()
            raise WorkerBusy("the camera is busy (an exposure or a download is running)") from None

    def _hand_over(self, accept: Callable[[], None], then: Callable[[], None]) -> Future[None]:
        """Run ``accept`` (it publishes the new state) and wait for it; ``then`` follows on the
        worker without the caller waiting. Returns the future of ``then``.

        Raises:
            Whatever ``accept`` raised; WorkerBusy past the deadline.
        """
        accepted: Future[None] = Future()
        done: Future[None] = Future()

        def command() -> None:
            if not accepted.set_running_or_notify_cancel():
                done.cancel()
                return
            try:
                accept()
            except BaseException as exc:  # handed to the caller
                accepted.set_exception(exc)
                done.cancel()
                return
            accepted.set_result(None)
            done.set_running_or_notify_cancel()
            try:
                then()
                done.set_result(None)
            except BaseException as exc:  # for whoever holds the future
                done.set_exception(exc)

        self._commands.put(command)
        self._wait(accepted, None)
        return done

    def connect(self, timeout_s: float | None = None) -> None:
        """Connect (blocking up to the deadline); the worker keeps reconnecting after drops."""

        def connect_now() -> None:
            self._begin_connect()
            self._finish_connect()

        self.call(connect_now, timeout_s)

    def connect_async(self) -> Future[None]:
        """Start connecting; returns once Connecting reads true (it stays true until done)."""
        return self._hand_over(self._begin_connect, self._finish_connect)

    def disconnect(self, timeout_s: float | None = None) -> None:
        self._withdraw_queued()
        self._exposure.signal_abort()
        self.call(self._disconnect_now, timeout_s)

    def start_exposure(self, request: ExposureRequest) -> None:
        """Hand an exposure over and return once the state reads Waiting.

        Behind an aborted exposure still being followed through, the start is queued at once
        (it reads Waiting) and begins when the worker is done with the aborted shot.

        Raises:
            CameraError: not connected, or an exposure is already running.
        """
        if not self._admission.acquire(timeout=self.timing.command_timeout_s):
            raise WorkerBusy("the camera is busy (another client is starting an exposure)")
        try:
            if self._queue_behind_abort(request):
                return
            # Refused at once while the worker is busy in an exposure (it would take the command
            # only afterwards); the worker checks again when it takes the command.
            self._check_can_start(self.snapshot())
            self._hand_over(lambda: self._begin_exposure(request), lambda: self._expose(request))
        finally:
            self._admission.release()

    def _queue_behind_abort(self, request: ExposureRequest) -> bool:
        """Queue ``request`` if an aborted exposure is being followed through; True if queued.

        Raises:
            CameraError: a start is queued already.
        """
        with self._lock:
            if self._queued is not None:
                raise CameraError("an exposure is already in progress")
            if not (self._exposure.aborting and self._snapshot.connected):
                return False
            self._queued = request
        self._commands.put(self._begin_queued)
        return True

    def _withdraw_queued(self) -> bool:
        """Drop a queued start; True if there was one."""
        with self._lock:
            queued, self._queued = self._queued, None
        return queued is not None

    def abort_exposure(self) -> None:
        """Abort: a queued start is withdrawn, else the running exposure ends (before S2:
        nothing is shot; after S2: followed through, saved, no image)."""
        if not self._withdraw_queued():
            self._exposure.signal_abort()

    def stop_exposure(self) -> None:
        self._exposure.signal_stop()

    @property
    def capture_options(self) -> CaptureOptions:
        """The options the next exposure uses (a change still queued included)."""
        with self._lock:
            return self._next_options

    def set_capture_options(self, options: CaptureOptions) -> None:
        """Use ``options`` from the next exposure on; returns without waiting for a running one.

        A command, queued in order: an exposure started after this call uses them, one running
        now finishes with the options it started with.

        Raises:
            CameraError: saving originals turned on while the folder refuses files (nothing
                changes).
        """
        if options.save_originals and not self.capture_options.save_originals:
            refusal = self._runner.folder_refusal()  # a file system probe: outside the lock
            if refusal is not None:
                raise CameraError(
                    f"originals cannot be saved because {refusal}: fix the folder or leave "
                    "saving off"
                )
        with self._lock:
            self._next_options = options
            self._commands.put(lambda: self._use_options(options))

    def _use_options(self, options: CaptureOptions) -> None:
        self._check_thread()
        self._runner.options = options

    # -- command bodies (worker thread) ---------------------------------------------------------

    def _begin_connect(self) -> None:
        """A client's (re)connect starts clean: no image ready, no last exposure."""
        self._want_connected = True
        self._exposure.forget()
        self._publish_exposure(connecting=True, latest_image=None)

    def _finish_connect(self) -> None:
        try:
            if self._camera is None:
                self._open()
        finally:
            self._publish(connecting=False)

    def _disconnect_now(self) -> None:
        self._want_connected = False
        self._drop_camera()
        self._exposure.reset()
        self._publish_exposure(connected=False, online=False, connecting=False, message="")

    @staticmethod
    def _check_can_start(snap: CameraSnapshot) -> None:
        if not snap.connected:
            raise CameraError("the camera is not connected")
        if snap.state not in (CameraState.IDLE, CameraState.ERROR):
            raise CameraError("an exposure is already in progress")

    def _begin_exposure(self, request: ExposureRequest) -> None:
        self._check_can_start(self._snapshot)
        self._publish_exposure(
            lambda: self._exposure.begin(request.duration_s), latest_image=None, message=""
        )

    def _begin_queued(self) -> None:
        """Begin the start queued behind an aborted exposure (unless it was withdrawn)."""
        with self._lock:
            request = self._queued
        if request is None:
            return

        def begin() -> None:
            self._queued = None  # under the snapshot lock, with the Waiting it becomes
            self._check_can_start(self._snapshot)
            self._exposure.begin(request.duration_s)

        try:
            self._publish_exposure(begin, latest_image=None, message="")
        except CameraError as exc:
            log.warning("the exposure queued after an abort could not start: %s", exc)
            self._publish(message=f"the exposure started after an abort could not start: {exc}")
            return
        self._expose(request)

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
            # Held originals must outlive the process: the save folder, else the fallback.
            self._runner.put_away_held("the server stopped while the save folder refused it")
            self._publish(connected=False, online=False, connecting=False)

    def _guarded(self, what: str, action: Callable[[], None]) -> None:
        """Run ``action``; any failure becomes state and a message, never a dead thread."""
        try:
            action()
        except TransportError as exc:
            self._lost(exc)
        except MalformedData as exc:
            self._resync(exc)
        except AlpacaSonyError as exc:
            log.warning("%s failed: %s", what, exc)
            self._publish(message=str(exc))
        except Exception:
            log.exception("unexpected error while %s", what)
            self._publish(message=f"internal error while {what}; see the server log")

    def _idle(self) -> None:
        self._guarded("saving held originals", self._save_held_originals)
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
        self._add_saved(names)
        self._publish_disk_trouble()

    def _add_saved(self, names: tuple[str, ...]) -> None:
        self._publish(saved_files=(*self._snapshot.saved_files, *names)[-50:])

    def _save_held_originals(self) -> None:
        """Write originals held in memory once the folder takes them; publish what is left."""
        saved = self._runner.flush_pending()
        if saved:
            self._add_saved(tuple(str(p) for p in saved))
        self._publish_disk_trouble()

    def _publish_disk_trouble(self) -> None:
        trouble = self._runner.disk_trouble()
        snap = self._snapshot
        changes: dict[str, Any] = {}
        if trouble != snap.disk_trouble:
            changes["disk_trouble"] = trouble
        if snap.message in ("", snap.disk_trouble) and snap.message != trouble:
            # Shown where the client already looks (again after an exposure cleared it),
            # unless an exposure's cause is there.
            changes["message"] = trouble
        if changes:
            self._publish(**changes)

    def _reconnect(self) -> None:
        # Paced by _run: _idle runs only after reconnect_interval_s without a command.
        try:
            self._open()
        except TransportError:
            raise
        except AlpacaSonyError as exc:
            # The loss stays in the message: it is what the person reading it needs to know.
            waiting = f"waiting for the camera: {exc}"
            cause = self._exposure.cause
            self._publish(message=f"{cause}; {waiting}" if cause else waiting)
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
        # An exposure that failed stays failed (state and cause) until the client starts another.
        self._publish(
            connected=True,
            online=True,
            model=camera.model,
            facts=facts_from(camera, table),
            message=self._exposure.cause or "",
        )
        self._recover(capture, table)

    def _remember_geometry(self, camera: SonyCamera, frame: DecodedFrame) -> None:
        """Keep the frame size of a body whose size no published source gives."""
        model = camera.model
        if model is not None and model.sensor.sizes_published:
            return
        name = camera.device_info.model if camera.device_info else ""
        width, height = frame.sensor_width, frame.sensor_height
        if not name or width is None or height is None:
            return
        known = self.geometry.get(name)
        if known is None or (known.width, known.height) != (width, height):
            self.geometry.store(name, width, height, LIBRAW_VERSION)

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
        hint = ""
        if isinstance(exc, TransportTimeout):
            # A transfer cut short by its timeout leaves the rest of its container queued in
            # the camera, where the next session's first read would start: clear it first.
            self._reset_device()
            hint = "; if this repeats, plug the camera straight into a USB 2 or 3 port"
        self._drop_camera()
        self._fail(
            f"the camera connection was lost ({exc}); reconnecting, and any image still in "
            f"the camera will be downloaded and saved{hint}",
            online=False,
        )

    def _resync(self, exc: MalformedData) -> None:
        """Bytes that form no valid container: the stream is out of step, and every later
        read would start inside the rest. A PTP Device Reset (class request 0x66) makes the
        camera drop what it still queues, as libgphoto2 does when a session meets an I/O error
        (library.c camera_init: "Try whacking PTP device"; sony-ptp.md 14.7). Our connect reads
        DeviceInfo before OpenSession, so without it the reconnect would read that rest too.
        Then the worker reconnects and recovers what the camera holds."""
        log.warning("the camera's data made no sense: %s", exc)
        self._reset_device()
        self._drop_camera()
        self._fail(
            f"the camera sent data the server could not read ({exc}); reconnecting, and any "
            "image still in the camera will be downloaded and saved",
            online=False,
        )

    def _reset_device(self) -> None:
        camera = self._camera
        if camera is None:
            return
        try:
            camera.session.transport.device_reset()
        except AlpacaSonyError as exc:
            log.debug("the PTP Device Reset failed too: %s", exc)

    def _fail(self, cause: str, **changes: Any) -> None:
        self._publish_exposure(lambda: self._exposure.fail(cause), message=cause, **changes)

    def _end(self, status: ExposureStatus) -> None:
        if self._exposure.state == CameraState.WAITING:
            self._exposure.cancel(status)  # aborted before S2: nothing was shot
        else:
            self._exposure.finish(status)

    def _expose(self, request: ExposureRequest) -> None:
        def report(state: CameraState, status: ExposureStatus) -> None:
            self._exposure.advance(state, status)
            self._publish_exposure()

        def run() -> None:
            control = self._exposure.control
            if self._camera is None and self._want_connected:
                self._open()  # the link dropped earlier: try once before giving up
            _, capture = self._require()
            outcome = self._runner.run(capture, request, control, report)
            latest: LatestImage | None = None
            if outcome.frame is not None:
                self._remember_geometry(capture.camera, outcome.frame)  # before ImageReady
                self._images_delivered += 1
                latest = LatestImage(outcome.frame, self._images_delivered, outcome.status)
            self._publish_exposure(lambda: self._end(outcome.status), latest_image=latest)
            # Durability after ImageReady: the client downloads while the disk catches up.
            saved = self._runner.commit(outcome.staged)
            self._add_saved(tuple(str(p) for p in (*outcome.recovered, *saved)))
            self._publish_disk_trouble()

        try:
            run()
        except TransportError as exc:
            self._lost(exc)
        except MalformedData as exc:
            self._resync(exc)
        except AlpacaSonyError as exc:
            log.warning("exposure failed: %s", exc)
            self._fail(str(exc))
        except Exception:
            log.exception("unexpected error during the exposure")
            self._fail("internal error; see the server log")
