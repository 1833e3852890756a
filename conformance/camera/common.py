"""ConformU's common members group: Connected, Description, DriverInfo, DriverVersion, Name,
SupportedActions and (ICameraV4) DeviceState."""

from __future__ import annotations

from typing import Any

from conformance.camera.probe import Probe, Required
from conformance.camera.values import show_value, string_problem, strings_problem

DESCRIPTION_MAX = 68  # ConformU's limit for cameras: a FITS header card
DEVICE_STATE_NAMES = (
    "CameraState",
    "CCDTemperature",
    "CoolerPower",
    "HeatSinkTemperature",
    "ImageReady",
    "IsPulseGuiding",
    "PercentCompleted",
)


def common_members(probe: Probe) -> None:
    probe.report.text("")
    probe.report.text("Common members")
    probe.read_bool("Connected", "Connected")
    description = probe.read("Description", "Description", string_problem)
    if isinstance(description, str):
        if not description:
            probe.report.info("Description", "the description is empty")
        elif len(description) > DESCRIPTION_MAX:
            probe.report.issue(
                "Description",
                f"{len(description)} characters; more than "
                f"{DESCRIPTION_MAX} do not fit a FITS header card",
            )
    probe.read("DriverInfo", "DriverInfo", string_problem)
    probe.read("DriverVersion", "DriverVersion", string_problem, Required.MUST_BE_IMPLEMENTED)
    probe.read("Name", "Name", string_problem)
    actions = probe.read(
        "SupportedActions", "SupportedActions", _actions_problem, Required.MUST_BE_IMPLEMENTED
    )
    if actions is not None:
        probe.report.info("Action", "Action is not tested (its effects are device specific)")
    if probe.facts.interface_version >= 4:
        _device_state(probe)


def _device_state(probe: Probe) -> None:
    result = probe.get("DeviceState")
    if not result.ok:
        probe.handle("DeviceState", Required.MANDATORY, result)
        return
    if not isinstance(result.value, list):
        probe.report.issue("DeviceState", f"Value should be an array, got {result.value!r}")
        return
    seen: set[str] = set()
    for item in result.value:
        problem = _device_state_item_problem(item)
        if problem:
            probe.report.issue("DeviceState", problem)
        else:
            seen.add(item["Name"])
            probe.report.ok("DeviceState", f"{item['Name']} = {show_value(item['Value'])}")
    missing = [name for name in DEVICE_STATE_NAMES if name not in seen]
    if missing:
        probe.report.info("DeviceState", f"not included: {', '.join(missing)}")


def _actions_problem(value: Any) -> str:
    problem = strings_problem(value)
    if problem:
        return problem
    return "an action name is empty" if any(not v.strip() for v in value) else ""


def _device_state_item_problem(item: Any) -> str:
    if not isinstance(item, dict) or set(item) != {"Name", "Value"}:
        return f"element {item!r} should have exactly the keys Name and Value"
    name = item["Name"]
    if not isinstance(name, str):
        return f"Name {name!r} is not a string"
    if name == "TimeStamp" or name in DEVICE_STATE_NAMES:
        return ""
    cased = [known for known in (*DEVICE_STATE_NAMES, "TimeStamp") if known.lower() == name.lower()]
    if cased:
        return f"{name!r} should be spelled {cased[0]!r}"
    return f"{name!r} is not an operational property of a camera"
