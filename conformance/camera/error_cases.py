"""The StartExposure error cases of ConformU's methods group: a negative duration, and for every
binning a subframe one pixel too wide, too high, or starting beyond the binned chip (ConformU's
rounded sizes, 0.1 s). The property writes must succeed and StartExposure must fail."""

from __future__ import annotations

from conformance.alpaca import error_name
from conformance.camera.probe import ERROR_STATE, IDLE, Frame, Probe
from conformance.camera.values import bankers_round

REJECT_DURATION_S = 0.1


def error_cases(probe: Probe) -> None:
    x_size, y_size = probe.facts.x_size, probe.facts.y_size
    probe.report.text("")
    probe.report.text("StartExposure error cases")
    _reject(probe, "negative duration", (1, 1, 0, 0, x_size, y_size), -1.0)
    for bx, by in probe.facts.binnings():
        nx = bankers_round(x_size / bx)
        ny = bankers_round(y_size / by)
        where = f"Bin {bx}x{by}"
        _reject(probe, f"X size larger than binned chip size, {where}", (bx, by, 0, 0, nx + 1, ny))
        _reject(probe, f"Y size larger than binned chip size, {where}", (bx, by, 0, 0, nx, ny + 1))
        _reject(probe, f"X start outside binned chip size, {where}", (bx, by, nx + 1, 0, nx, ny))
        _reject(probe, f"Y start outside binned chip size, {where}", (bx, by, 0, ny + 1, nx, ny))


def _reject(probe: Probe, what: str, frame: Frame, duration: float = REJECT_DURATION_S) -> None:
    if not probe.set_frame(frame):
        return
    result = probe.put("StartExposure", Duration=duration, Light=True)
    if not result.ok:
        probe.report.ok(
            "StartExposure", f"error correctly returned for {what} ({error_name(result.error)})"
        )
        return
    probe.report.issue(
        "StartExposure",
        f"expected an error for {what} and got none - "
        f"BinX:{frame[0]} BinY:{frame[1]} StartX:{frame[2]} StartY:{frame[3]} "
        f"NumX:{frame[4]} NumY:{frame[5]} Duration:{duration}",
    )
    # It exposes after all: end it, so the next case finds the camera idle.
    probe.put("StopExposure")
    probe.put("AbortExposure")
    probe.wait_state(lambda s: s in (IDLE, ERROR_STATE), probe.wait_s + abs(duration))
