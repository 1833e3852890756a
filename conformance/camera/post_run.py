"""ConformU's post-run group: stop anything running, restore cooling, reset binning and frame."""

from __future__ import annotations

from conformance.camera.probe import Probe


def post_run(probe: Probe) -> None:
    facts = probe.facts
    probe.report.text("")
    if facts.can.get("CanAbortExposure", False):
        probe.put("AbortExposure")
    if facts.can.get("CanStopExposure", False):
        probe.put("StopExposure")
    if facts.can.get("CanSetCCDTemperature", False) and facts.setpoint is not None:
        probe.put("SetCCDTemperature", SetCCDTemperature=facts.setpoint)
    if facts.cooler_on is not None:
        probe.put("CoolerOn", CoolerOn=facts.cooler_on)
    # ConformU sets NumX/NumY to 1; a full frame leaves the camera ready for real use.
    for member, value in (
        ("StartX", 0),
        ("StartY", 0),
        ("BinX", 1),
        ("BinY", 1),
        ("NumX", facts.x_size or 1),
        ("NumY", facts.y_size or 1),
    ):
        probe.put(member, **{member: value})
    probe.report.ok("PostRunCheck", "camera returned to bin 1, full frame")
