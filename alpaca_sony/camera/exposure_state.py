"""The exposure state machine: which ASCOM CameraState the camera is in and which moves are allowed.

One object, owned by the device worker: only the worker thread moves it. Other threads may only
raise the running exposure's abort or stop flag (:meth:`ExposureMachine.signal_abort`,
:meth:`ExposureMachine.signal_stop`), because a BULB hold waits on those flags while the worker is
busy in it. An error keeps its cause until the next exposure begins or the client disconnects, so a
client polling every few seconds still learns why its exposure failed.
"""

from __future__ import annotations

import threading

from alpaca_sony.camera.exposure import ExposureControl
from alpaca_sony.camera.state import CameraState, ExposureStatus
from alpaca_sony.errors import CameraError

_BUSY = frozenset(
    {CameraState.WAITING, CameraState.EXPOSING, CameraState.READING, CameraState.DOWNLOAD}
)

# The moves an exposure makes (ERROR is reachable from every state: see fail()). A state may
# repeat with a newer status (the runner reports Waiting again once it has planned the shot).
_ADVANCES: dict[CameraState, frozenset[CameraState]] = {
    CameraState.WAITING: frozenset({CameraState.WAITING, CameraState.EXPOSING}),
    CameraState.EXPOSING: frozenset({CameraState.EXPOSING, CameraState.READING}),
    # READING -> IDLE: an image that came after the no-picture deadline is kept without a new
    # download phase (ExposureRunner._expose_with_af_retry).
    CameraState.READING: frozenset({CameraState.READING, CameraState.DOWNLOAD, CameraState.IDLE}),
    CameraState.DOWNLOAD: frozenset({CameraState.DOWNLOAD, CameraState.IDLE}),
}


class IllegalTransition(RuntimeError):
    """A move the machine does not allow: a bug in the caller, never the user's doing."""


class ExposureInProgress(CameraError):
    """StartExposure while an exposure is running."""


class ExposureMachine:
    """Idle / Waiting / Exposing / Reading / Download / Error, the current exposure's status and
    its abort/stop flags, and the cause of the last error."""

    def __init__(self) -> None:
        self._state = CameraState.IDLE
        self._status: ExposureStatus | None = None
        self._cause: str | None = None
        self._control: ExposureControl | None = None
        self._control_lock = threading.Lock()  # the flags are raised from other threads

    @property
    def state(self) -> CameraState:
        return self._state

    @property
    def busy(self) -> bool:
        return self._state in _BUSY

    @property
    def status(self) -> ExposureStatus | None:
        """The current or last exposure (None before the first one since connecting)."""
        return self._status

    @property
    def cause(self) -> str | None:
        """Why the camera is in Error (None otherwise)."""
        return self._cause

    @property
    def aborting(self) -> bool:
        """An abort was raised on the running exposure, which is still being followed through
        (any thread may ask: the API reads the camera as Idle from then on)."""
        with self._control_lock:
            return self._control is not None and self._control.aborted.is_set()

    @property
    def control(self) -> ExposureControl:
        """The running exposure's flags.

        Raises:
            IllegalTransition: no exposure is running.
        """
        with self._control_lock:
            control = self._control
        if control is None:
            raise IllegalTransition("no exposure is running")
        return control

    # -- moves (worker thread only) ------------------------------------------------------------

    def begin(self, duration_s: float) -> ExposureControl:
        """Idle or Error -> Waiting, with fresh flags; the previous error's cause is dropped.

        Raises:
            ExposureInProgress: an exposure is running.
        """
        if self.busy:
            raise ExposureInProgress("an exposure is already in progress")
        control = ExposureControl()
        self._move(CameraState.WAITING, ExposureStatus(duration_s, duration_s, bulb=False))
        self._cause = None
        with self._control_lock:
            self._control = control
        return control

    def advance(self, state: CameraState, status: ExposureStatus) -> None:
        """The exposure moved on (as the runner reports it).

        Raises:
            IllegalTransition: ``state`` does not follow the current state.
        """
        if state not in _ADVANCES.get(self._state, frozenset()) or state == CameraState.IDLE:
            raise IllegalTransition(
                f"an exposure cannot go from {self._state.name} to {state.name}"
            )
        self._move(state, status)

    def finish(self, status: ExposureStatus) -> None:
        """The exposure is over (its image delivered, or aborted): -> Idle.

        Raises:
            IllegalTransition: no exposure had got that far.
        """
        if CameraState.IDLE not in _ADVANCES.get(self._state, frozenset()):
            raise IllegalTransition(f"an exposure cannot finish from {self._state.name}")
        self._move(CameraState.IDLE, status)
        self._release()

    def cancel(self, status: ExposureStatus) -> None:
        """Waiting -> Idle: aborted before S2 was pressed, so nothing was shot.

        Raises:
            IllegalTransition: the exposure is past Waiting, or was not aborted.
        """
        if self._state != CameraState.WAITING or not status.aborted:
            raise IllegalTransition(f"an exposure cannot be cancelled from {self._state.name}")
        self._move(CameraState.IDLE, status)
        self._release()

    def fail(self, cause: str) -> None:
        """Anything -> Error (an exposure failed or the link dropped); ``cause`` says why."""
        self._state = CameraState.ERROR
        self._cause = cause
        self._release()

    def reset(self) -> None:
        """Idle or Error -> Idle, the cause dropped (the client disconnected).

        Raises:
            IllegalTransition: an exposure is running.
        """
        if self.busy:
            raise IllegalTransition(f"cannot reset during {self._state.name}")
        self._state = CameraState.IDLE
        self._cause = None

    def forget(self) -> None:
        """Drop the last exposure's status (a client's connect starts clean).

        Raises:
            IllegalTransition: an exposure is running.
        """
        if self.busy:
            raise IllegalTransition(f"cannot forget the exposure during {self._state.name}")
        self._status = None

    # -- flags (any thread) --------------------------------------------------------------------

    def signal_abort(self) -> None:
        """End the running exposure now and discard its frame (no-op when none runs)."""
        with self._control_lock:
            if self._control is not None:
                self._control.abort()

    def signal_stop(self) -> None:
        """End the running exposure now and keep its frame (no-op when none runs)."""
        with self._control_lock:
            if self._control is not None:
                self._control.stop()

    def _move(self, state: CameraState, status: ExposureStatus) -> None:
        self._state = state
        self._status = status

    def _release(self) -> None:
        with self._control_lock:
            self._control = None
