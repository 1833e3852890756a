"""The exposure state machine on its own: the moves it allows, the ones it refuses, its flags."""

from __future__ import annotations

import threading

import pytest

from alpaca_sony.camera.exposure_state import (
    ExposureInProgress,
    ExposureMachine,
    IllegalTransition,
)
from alpaca_sony.camera.state import CameraState, ExposureStatus

S = CameraState


def _status(**changes: object) -> ExposureStatus:
    return ExposureStatus(2.0, 2.0, bulb=True, **changes)  # type: ignore[arg-type]


def _at(state: CameraState) -> ExposureMachine:
    """A machine brought to ``state`` by legal moves only."""
    machine = ExposureMachine()
    path = {
        S.IDLE: [],
        S.WAITING: [S.WAITING],
        S.EXPOSING: [S.WAITING, S.EXPOSING],
        S.READING: [S.WAITING, S.EXPOSING, S.READING],
        S.DOWNLOAD: [S.WAITING, S.EXPOSING, S.READING, S.DOWNLOAD],
    }
    if state == S.ERROR:
        machine.fail("the camera refused")
        return machine
    for step in path[state]:
        if step == S.WAITING:
            machine.begin(2.0)
        else:
            machine.advance(step, _status())
    assert machine.state == state
    return machine


def _state(machine: ExposureMachine) -> S:
    return machine.state


def _aborting(machine: ExposureMachine) -> bool:
    """Read afresh (a call): mypy keeps what an earlier assert narrowed the property to."""
    return machine.aborting


def test_a_whole_exposure_goes_idle_waiting_exposing_reading_download_idle() -> None:
    machine = ExposureMachine()
    assert (machine.state, machine.busy, machine.status) == (S.IDLE, False, None)
    control = machine.begin(7.3)
    assert _state(machine) == S.WAITING and machine.busy
    assert machine.status == ExposureStatus(7.3, 7.3, bulb=False)
    assert machine.control is control
    for state in (S.WAITING, S.EXPOSING, S.READING, S.DOWNLOAD):
        machine.advance(state, _status(started_utc="2026-12-01T00:00:00.000+00:00"))
        assert machine.state == state
    final = _status(actual_s=7.3)
    machine.finish(final)
    assert machine.state == S.IDLE and machine.status == final and machine.cause is None
    with pytest.raises(IllegalTransition):
        machine.control  # noqa: B018 - the flags went with the exposure


def test_a_late_image_finishes_from_reading() -> None:
    machine = _at(S.READING)
    machine.finish(_status())
    assert machine.state == S.IDLE


ILLEGAL = [
    (S.IDLE, S.EXPOSING),
    (S.IDLE, S.DOWNLOAD),
    (S.WAITING, S.READING),
    (S.WAITING, S.DOWNLOAD),
    (S.EXPOSING, S.WAITING),
    (S.EXPOSING, S.DOWNLOAD),
    (S.READING, S.EXPOSING),
    (S.DOWNLOAD, S.READING),
    (S.ERROR, S.EXPOSING),
    (S.DOWNLOAD, S.IDLE),  # Idle only through finish(), which ends the exposure
]


@pytest.mark.parametrize(
    ("start", "to"), ILLEGAL, ids=[f"{a.name}-to-{b.name}" for a, b in ILLEGAL]
)
def test_an_illegal_move_is_refused_and_changes_nothing(
    start: CameraState, to: CameraState
) -> None:
    machine = _at(start)
    before = (machine.state, machine.status, machine.cause)
    with pytest.raises(IllegalTransition, match=f"from {start.name} to {to.name}"):
        machine.advance(to, _status(actual_s=1.0))
    assert (machine.state, machine.status, machine.cause) == before


@pytest.mark.parametrize("start", [S.IDLE, S.WAITING, S.EXPOSING, S.ERROR], ids=lambda s: s.name)
def test_finish_before_the_shutter_closed_is_refused(start: CameraState) -> None:
    machine = _at(start)
    with pytest.raises(IllegalTransition):
        machine.finish(_status())
    assert machine.state == start


@pytest.mark.parametrize(
    "busy", [S.WAITING, S.EXPOSING, S.READING, S.DOWNLOAD], ids=lambda s: s.name
)
def test_a_second_exposure_while_busy_is_refused(busy: CameraState) -> None:
    machine = _at(busy)
    control = machine.control
    with pytest.raises(ExposureInProgress, match="already in progress"):
        machine.begin(1.0)
    assert machine.state == busy and machine.control is control


@pytest.mark.parametrize("start", list(CameraState), ids=lambda s: s.name)
def test_an_error_is_reachable_from_every_state_and_releases_the_flags(
    start: CameraState,
) -> None:
    machine = _at(start)
    machine.fail("the camera connection was lost")
    assert machine.state == S.ERROR and machine.cause == "the camera connection was lost"
    with pytest.raises(IllegalTransition):
        machine.control  # noqa: B018


def test_the_error_cause_stays_until_the_next_exposure_begins() -> None:
    machine = _at(S.EXPOSING)
    started = _status(started_utc="2026-12-01T00:00:00.000+00:00")
    machine.advance(S.EXPOSING, started)
    machine.fail("the camera connection was lost")
    assert machine.status == started  # LastExposureStartTime still answers
    machine.fail("the camera connection was lost again")  # a reconnect that failed
    assert machine.cause == "the camera connection was lost again"
    machine.begin(1.0)
    assert machine.state == S.WAITING and machine.cause is None


def test_reset_and_forget_are_refused_during_an_exposure() -> None:
    machine = _at(S.EXPOSING)
    with pytest.raises(IllegalTransition):
        machine.reset()
    with pytest.raises(IllegalTransition):
        machine.forget()
    assert machine.state == S.EXPOSING and machine.status is not None


def test_reset_clears_an_error_and_forget_the_last_exposure() -> None:
    machine = _at(S.DOWNLOAD)
    machine.finish(_status())
    machine.fail("the camera refused")
    machine.reset()
    assert (machine.state, machine.cause) == (S.IDLE, None)
    assert machine.status is not None  # a disconnect keeps it; a connect forgets it
    machine.forget()
    assert machine.status is None


def test_abort_and_stop_flags_reach_the_running_exposure_from_another_thread() -> None:
    machine = _at(S.EXPOSING)
    control = machine.control
    thread = threading.Thread(target=machine.signal_stop)
    thread.start()
    thread.join()
    assert control.stopped.is_set() and control.cancel.is_set() and not control.aborted.is_set()
    machine.signal_abort()
    assert control.aborted.is_set()


def test_flags_raised_between_exposures_do_not_reach_the_next_one() -> None:
    machine = ExposureMachine()
    machine.signal_abort()  # nothing runs: no-op
    machine.signal_stop()
    control = machine.begin(1.0)
    assert not control.cancel.is_set()
    machine.fail("the camera refused")
    machine.signal_abort()  # after the exposure ended: it must not leak into the next
    assert not machine.begin(1.0).cancel.is_set()


def test_an_abort_before_s2_cancels_waiting_and_only_waiting() -> None:
    machine = _at(S.WAITING)
    with pytest.raises(IllegalTransition):
        machine.cancel(_status())  # not aborted: a Waiting exposure does not just vanish
    assert not machine.aborting
    machine.signal_abort()
    assert _aborting(machine)  # the API reads Idle from here on
    machine.cancel(_status(aborted=True))
    assert machine.state == S.IDLE and machine.status == _status(aborted=True)
    assert not machine.aborting  # released with the move
    for state in (S.EXPOSING, S.READING, S.DOWNLOAD):
        past_s2 = _at(state)
        with pytest.raises(IllegalTransition, match="cannot be cancelled"):
            past_s2.cancel(_status(aborted=True))  # after S2 the shot is followed through
        assert past_s2.state == state


def test_aborting_lasts_until_the_aborted_exposure_is_followed_through() -> None:
    machine = _at(S.EXPOSING)
    machine.signal_stop()
    assert not machine.aborting  # a stop keeps the frame: no follow-through
    machine.signal_abort()
    machine.advance(S.READING, _status())
    machine.advance(S.DOWNLOAD, _status())
    assert _aborting(machine)
    machine.finish(_status(aborted=True))
    assert not _aborting(machine) and machine.state == S.IDLE
