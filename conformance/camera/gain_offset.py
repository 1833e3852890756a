"""The gain and offset part of ConformU's properties group (alpaca.md §3.7): which of the three
modes the camera is in (not implemented, index into the list, value within Min..Max), judged by
which members are readable, then the writes each mode must accept and refuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.alpaca import INVALID_OPERATION, INVALID_VALUE
from conformance.camera.probe import Probe, Required
from conformance.camera.values import int_problem, show_value, strings_problem


def gain_or_offset(probe: Probe, name: str, limits: tuple[int, int]) -> None:
    """``name`` is Gain or Offset; ``limits`` the range of the member's integer type."""
    low = _mode_read(probe, f"{name}Min", lambda v: int_problem(v, *limits))
    high = _mode_read(probe, f"{name}Max", lambda v: int_problem(v, *limits))
    names = _mode_read(probe, f"{name}s", strings_problem)
    if low is not None and high is not None and names is not None:
        probe.report.issue(
            f"{name}s",
            f"{name}Min, {name}Max and {name}s are all readable; only one mode may be active",
        )
    value = probe.read(name, f"{name} Read", lambda v: int_problem(v, *limits), Required.OPTIONAL)
    readable = (value is not None, names is not None, low is not None, high is not None)
    if not any(readable):
        probe.report.ok(
            f"{name} Read",
            f'all four {name.lower()} properties return errors - "{name} Not Implemented" mode',
        )
        result = probe.put(name, **{name: 0})
        if result.ok:
            probe.report.issue(f"{name} Write", f"writing {name} succeeded while reading failed")
        else:
            probe.handle(f"{name} Write", Required.MUST_NOT_BE_IMPLEMENTED, result)
    elif readable == (True, True, False, False):
        probe.report.ok(
            f"{name} Read",
            f'{name} and {name}s work, {name}Min/Max do not - "{name} Index" mode',
        )
        _index_mode_writes(probe, name, value, len(names))
    elif readable == (True, False, True, True):
        probe.report.ok(
            f"{name} Read",
            f'{name}, {name}Min and {name}Max work, {name}s does not - "{name} Value" mode',
        )
        _value_mode_writes(probe, name, low, high, limits)
    else:
        probe.report.issue(
            f"{name} Read",
            f"cannot tell the {name.lower()} mode: readable "
            f"{name}={readable[0]}, {name}s={readable[1]}, {name}Min="
            f"{readable[2]}, {name}Max={readable[3]}",
        )


def _mode_read(probe: Probe, member: str, check: Callable[[Any], str]) -> Any:
    """Min/Max/list reads: NotImplemented and InvalidOperation both count as 'not readable'."""
    result = probe.get(member)
    if not result.ok:
        probe.handle_allowing(
            f"{member} Read",
            Required.OPTIONAL,
            result,
            INVALID_OPERATION,
            "not available in this mode",
        )
        return None
    problem = check(result.value)
    if problem:
        probe.report.issue(f"{member} Read", problem)
        return None
    probe.report.ok(f"{member} Read", show_value(result.value))
    return result.value


def _index_mode_writes(probe: Probe, name: str, value: int, count: int) -> None:
    """Beyond ConformU (it skips index mode): the current index is accepted, others not."""
    test = f"{name} Write"
    if not 0 <= value < count:
        probe.report.issue(
            f"{name} Read", f"{name} {value} is not an index into {name}s (0..{count - 1})"
        )
    result = probe.put(name, **{name: value})
    if result.ok:
        probe.report.ok(test, f"wrote the current index {value} back")
    else:
        probe.handle(test, Required.MUST_BE_IMPLEMENTED, result, "current index")
    for bad in (-1, count):
        result = probe.put(name, **{name: bad})
        if result.ok:
            probe.report.issue(test, f"index {bad} is outside {name}s but was accepted")
            probe.put(name, **{name: value})
        else:
            probe.handle_allowing(
                test,
                Required.MUST_BE_IMPLEMENTED,
                result,
                INVALID_VALUE,
                f"index {bad} correctly rejected",
            )


def _value_mode_writes(
    probe: Probe, name: str, low: int, high: int, limits: tuple[int, int]
) -> None:
    test = f"{name} Write"
    for legal in (low, high):
        result = probe.put(name, **{name: legal})
        if result.ok:
            probe.report.ok(test, f"successfully set {legal}")
        else:
            probe.handle(test, Required.MUST_BE_IMPLEMENTED, result, "a legal value")
    for bad in (low - 1, high + 1):
        if not limits[0] <= bad <= limits[1]:
            continue
        result = probe.put(name, **{name: bad})
        if result.ok:
            probe.report.issue(test, f"{bad} is outside {low}..{high} but was accepted")
        else:
            probe.handle_allowing(
                test,
                Required.MUST_BE_IMPLEMENTED,
                result,
                INVALID_VALUE,
                f"{bad} correctly rejected",
            )
