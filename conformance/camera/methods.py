"""ConformU's methods group: AbortExposure and StopExposure while idle, PulseGuide, one
exposure per binning (``exposure``), then the StartExposure error cases (``error_cases``)."""

from __future__ import annotations

import time

from conformance.alpaca import error_name
from conformance.camera.error_cases import error_cases
from conformance.camera.exposure import happy_exposure
from conformance.camera.probe import IDLE, POLL_S, Probe

PULSE_MS = 2000
PULSE_RETURN_S = 1.0  # ICameraV4: PulseGuide returns at once
PULSE_END_S = 4.0  # IsPulseGuiding must fall within this of a 2 s pulse


def methods(probe: Probe) -> None:
    probe.report.text("")
    probe.report.text("Methods")
    _idle_call(probe, "AbortExposure", "CanAbortExposure")
    _pulse_guide(probe)
    _idle_call(probe, "StopExposure", "CanStopExposure")
    for bx, by in probe.facts.binnings():
        happy_exposure(probe, bx, by)
    error_cases(probe)


def _idle_call(probe: Probe, method: str, flag: str) -> None:
    """While idle the call must succeed exactly when its Can* flag is true."""
    state = probe.get("CameraState")
    if not state.ok or state.value != IDLE:
        probe.report.issue(
            method, f"the camera is not idle, {method} test skipped: {state.describe()}"
        )
        return
    result = probe.put(method)
    can = probe.facts.can.get(flag, False)
    if result.ok and can:
        probe.report.ok(method, "no error when the camera is already idle")
    elif result.ok:
        probe.report.issue(method, f"{flag} is false but {method} succeeded")
    elif can:
        probe.report.issue(method, f"error when the camera is idle: {result.describe()}")
    else:
        probe.report.ok(method, f"{flag} is false and an error was correctly returned")


def _pulse_guide(probe: Probe) -> None:
    if not probe.facts.can.get("CanPulseGuide", False):
        result = probe.put("PulseGuide", Direction=0, Duration=0)
        if result.ok:
            probe.report.issue("PulseGuide", "CanPulseGuide is false but PulseGuide succeeded")
        else:
            probe.report.ok(
                "PulseGuide",
                "CanPulseGuide is false and an error was correctly "
                f"returned ({error_name(result.error)})",
            )
        return
    for direction, label in enumerate(("North", "South", "East", "West")):
        _pulse(probe, direction, f"PulseGuide {label}")


def _pulse(probe: Probe, direction: int, test: str) -> None:
    started = time.monotonic()
    result = probe.put("PulseGuide", Direction=direction, Duration=PULSE_MS)
    took = time.monotonic() - started
    if not result.ok:
        probe.report.issue(
            test, f"CanPulseGuide is true but PulseGuide failed: {result.describe()}"
        )
        return
    if not probe.facts.pulse_guiding_readable:
        probe.report.issue(
            test, "IsPulseGuiding could not be read, so the pulse cannot be followed"
        )
        return
    if took >= PULSE_RETURN_S:
        probe.report.issue(
            test, f"PulseGuide took {took:.2f} s: ICameraV4 requires it to return at once"
        )
        return
    guiding = probe.get("IsPulseGuiding")
    if not (guiding.ok and guiding.value is True):
        probe.report.issue(test, "asynchronous pulse expected but IsPulseGuiding is not true")
        return
    deadline = time.monotonic() + PULSE_END_S
    while time.monotonic() < deadline:
        guiding = probe.get("IsPulseGuiding")
        if guiding.ok and guiding.value is False:
            probe.report.ok(test, "asynchronous pulse guide found OK")
            return
        time.sleep(POLL_S)
    probe.report.issue(test, "IsPulseGuiding still true 4 s after a 2 s pulse")
