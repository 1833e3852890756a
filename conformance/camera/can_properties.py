"""ConformU's Can properties group: the mandatory Can* booleans, remembered for later groups."""

from __future__ import annotations

from conformance.camera.probe import Probe

CAN_PROPERTIES = (
    "CanAbortExposure",
    "CanAsymmetricBin",
    "CanGetCoolerPower",
    "CanPulseGuide",
    "CanSetCCDTemperature",
    "CanStopExposure",
    "CanFastReadout",
)  # ConformU's order


def can_properties(probe: Probe) -> None:
    probe.report.text("")
    probe.report.text("Can properties")
    for name in CAN_PROPERTIES:
        value = probe.read_bool(name, name)
        probe.facts.can[name] = bool(value)
