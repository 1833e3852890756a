"""The cooling part of ConformU's properties group: CoolerOn toggled and restored, and the
SetCCDTemperature set-point search (down and up in 5-degree steps) when it is settable."""

from __future__ import annotations

from conformance.camera.probe import Probe, Required

SETPOINT_MIN = -280.0  # below absolute zero: a set-point this low must be refused
SETPOINT_MAX = 100.0
REPORTED_TEMPERATURE_MAX = 1000.0
SETPOINT_STEP = 5.0


def cooler_on_round_trip(probe: Probe) -> None:
    """CoolerOn read, toggled and restored (all optional); write-only is an ISSUE."""
    probe.facts.cooler_on = probe.read_bool("CoolerOn", "CoolerOn Read", Required.OPTIONAL)
    if probe.facts.cooler_on is not None:
        result = probe.put("CoolerOn", CoolerOn=not probe.facts.cooler_on)
        if result.ok:
            probe.report.ok("CoolerOn Write", "successfully changed CoolerOn")
        else:
            probe.handle("CoolerOn Write", Required.OPTIONAL, result)
        probe.put("CoolerOn", CoolerOn=probe.facts.cooler_on)
    else:
        result = probe.put("CoolerOn", CoolerOn=True)
        if result.ok:
            probe.report.issue("CoolerOn Write", "CoolerOn cannot be read but can be written")
        else:
            probe.handle("CoolerOn Write", Required.OPTIONAL, result)


def set_point(probe: Probe) -> None:
    """SetCCDTemperature read; searched when CanSetCCDTemperature, else a write must fail."""
    probe.facts.setpoint = probe.read_float(
        "SetCCDTemperature", "SetCCDTemperature Read", SETPOINT_MIN, SETPOINT_MAX
    )
    if probe.facts.can.get("CanSetCCDTemperature", False):
        _setpoint_search(probe)
        return
    result = probe.put("SetCCDTemperature", SetCCDTemperature=0.0)
    if result.ok:
        probe.report.issue(
            "SetCCDTemperature Write",
            "CanSetCCDTemperature is false but writing 0.0 succeeded",
        )
    else:
        probe.handle("SetCCDTemperature Write", Required.OPTIONAL, result)


def _setpoint_search(probe: Probe) -> None:
    test = "SetCCDTemperature Write"
    result = probe.put("SetCCDTemperature", SetCCDTemperature=0.0)
    if not result.ok:
        probe.handle(test, Required.MUST_BE_IMPLEMENTED, result, "setting a legal value 0")
        return
    probe.report.ok(test, "successfully wrote 0.0")
    low = _setpoint_limit(probe, -SETPOINT_STEP, SETPOINT_MIN)
    if low is None:
        probe.report.issue(
            test, f"set-points down to {SETPOINT_MIN} (below absolute zero) are accepted"
        )
    else:
        probe.report.info(test, f"set-point lower limit between {low:g} and {low + 5:g}")
    high = _setpoint_limit(probe, SETPOINT_STEP, SETPOINT_MAX)
    if high is None:
        probe.report.issue(test, f"set-points up to {SETPOINT_MAX} are accepted")
    else:
        probe.report.info(test, f"set-point upper limit between {high - 5:g} and {high:g}")
    if probe.facts.setpoint is not None:
        probe.put("SetCCDTemperature", SetCCDTemperature=probe.facts.setpoint)


def _setpoint_limit(probe: Probe, step: float, bound: float) -> float | None:
    """The first set-point, stepping from 0, that is rejected; None if even ``bound`` passes."""
    value = 0.0
    while abs(value) < abs(bound):
        value += step
        if not probe.put("SetCCDTemperature", SetCCDTemperature=value).ok:
            return value
    beyond = bound + (-1e-9 if step < 0 else 1e-9)
    if not probe.put("SetCCDTemperature", SetCCDTemperature=beyond).ok:
        return value
    return None
