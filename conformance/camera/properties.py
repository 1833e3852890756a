"""ConformU's properties group, in its order: binning, sizes, cooling, first-use image state,
subframe, set-point, then (by interface version) sensor, exposure limits, fast readout, gain,
percent completed, readout modes, sensor name, offset and sub-exposure duration."""

from __future__ import annotations

import math

from conformance.alpaca import INVALID_VALUE, error_name
from conformance.camera.cooling import (
    REPORTED_TEMPERATURE_MAX,
    SETPOINT_MIN,
    cooler_on_round_trip,
    set_point,
)
from conformance.camera.gain_offset import gain_or_offset
from conformance.camera.image_checks import IMAGEBYTES_ACCEPT, fetch_image
from conformance.camera.probe import INT16, INT32, Probe, Required
from conformance.camera.values import (
    bankers_round,
    int_problem,
    is_int,
    show_value,
    string_problem,
)

MAX_BIN = 16  # ConformU: a higher MaxBin is INFO ("is this intended?")
SENSOR_NAMES = ("Monochrome", "Color", "RGGB", "CMYG", "CMYG2", "LRGB")
SENSOR_NAME_MAX = 250


def properties(probe: Probe) -> None:
    probe.report.text("")
    probe.report.text("Properties")
    _binning(probe)
    _sizes_and_cooling(probe)
    _image_before_exposure(probe)
    _subframe_and_setpoint(probe)
    if probe.facts.interface_version > 1:
        _sensor(probe)
        _exposure_limits(probe)
        _fast_readout(probe)
        gain_or_offset(probe, "Gain", INT16)
        _percent_completed(probe)
        _readout_modes(probe)
        probe.read("SensorName", "SensorName Read", lambda v: string_problem(v, SENSOR_NAME_MAX))
    if probe.facts.interface_version > 2:
        gain_or_offset(probe, "Offset", INT32)
        _sub_exposure_duration(probe)


# -- binning -----------------------------------------------------------------------------------


def _binning(probe: Probe) -> None:
    facts = probe.facts
    asymmetric = facts.can.get("CanAsymmetricBin", False)
    facts.max_bin_x = _read_max_bin(probe, "MaxBinX")
    facts.max_bin_y = _read_max_bin(probe, "MaxBinY")
    if not asymmetric and facts.max_bin_x != facts.max_bin_y:
        probe.report.issue(
            "CanAsymmetricBin", "CanAsymmetricBin is false but MaxBinX and MaxBinY differ"
        )
    bin_x = probe.read_int("BinX", "BinX Read", 1, 1)
    bin_y = probe.read_int("BinY", "BinY Read", 1, 1)
    if not asymmetric and bin_x != bin_y:
        probe.report.issue("CanAsymmetricBin", "CanAsymmetricBin is false but BinX and BinY differ")
    for member, value in (
        ("BinX", 0),
        ("BinX", facts.max_bin_x + 1),
        ("BinY", 0),
        ("BinY", facts.max_bin_y + 1),
    ):
        result = probe.put(member, **{member: value})
        if result.ok:
            probe.report.issue(f"{member} Write", f"invalid value {value} accepted")
        else:
            probe.report.ok(
                f"{member} Write", f"{value} correctly rejected ({error_name(result.error)})"
            )
    for bx, by in facts.binnings():
        _write_binning(probe, bx, by)
    probe.put("BinX", BinX=1)
    probe.put("BinY", BinY=1)


def _read_max_bin(probe: Probe, member: str) -> int:
    result = probe.get(member)
    if not result.ok:
        probe.handle(member, Required.MANDATORY, result)
        return 1
    value = result.value
    if not is_int(value) or value < 1 or value > INT16[1]:
        probe.report.issue(member, f"invalid value {value!r}")
        return 1
    if value > MAX_BIN:
        probe.report.info(member, f"{value}: higher than {MAX_BIN}; is this intended?")
    else:
        probe.report.ok(member, str(value))
    return int(value)


def _write_binning(probe: Probe, bin_x: int, bin_y: int) -> None:
    for member, value in (("BinY", bin_y), ("BinX", bin_x)):
        result = probe.put(member, **{member: value})
        if result.ok:
            continue
        if result.error == INVALID_VALUE:
            probe.report.info(
                f"{member} Write",
                f"InvalidValue when setting {member} to {value}: {result.message}",
            )
        else:
            probe.handle(f"{member} Write", Required.MANDATORY, result, f"{member}={value}")
        return
    probe.report.ok("BinXY Write", f"successfully set binning {bin_x} x {bin_y}")


# -- sizes, cooling, first-use image state -----------------------------------------------------


def _sizes_and_cooling(probe: Probe) -> None:
    probe.read_int("CameraState", "CameraState", 0, 5)
    probe.facts.x_size = probe.read_int("CameraXSize", "CameraXSize", 1, INT32[1]) or 0
    probe.facts.y_size = probe.read_int("CameraYSize", "CameraYSize", 1, INT32[1]) or 0
    probe.read_float("CCDTemperature", "CCDTemperature", SETPOINT_MIN, REPORTED_TEMPERATURE_MAX)
    cooler_on_round_trip(probe)
    probe.read_float("CoolerPower", "CoolerPower", 0.0, 100.0)
    probe.read_float("ElectronsPerADU", "ElectronsPerADU", 0.00001, math.inf)
    probe.read_float("FullWellCapacity", "FullWellCapacity", 0.0, math.inf)
    probe.read_bool("HasShutter", "HasShutter", Required.OPTIONAL)
    probe.read_float(
        "HeatSinkTemperature", "HeatSinkTemperature", SETPOINT_MIN, REPORTED_TEMPERATURE_MAX
    )


def _image_before_exposure(probe: Probe) -> None:
    ready = probe.read_bool("ImageReady", "ImageReady")
    if ready:
        probe.report.issue("ImageReady", "an image is flagged ready but no exposure was made")
    for member in ("ImageArray", "ImageArrayVariant"):
        fetch = fetch_image(probe, member, IMAGEBYTES_ACCEPT, member)
        if fetch.reply is None:
            continue
        if fetch.error:
            probe.report.ok(
                member,
                f"an error was correctly returned before an image was "
                f"taken ({error_name(fetch.error)})",
            )
            if fetch.reply.is_imagebytes:
                probe.report.info(
                    member,
                    "the error came as ImageBytes; clients handle JSON error replies better",
                )
        else:
            probe.report.issue(member, "no image has been taken but an image was returned")
    value = probe.read_bool("IsPulseGuiding", "IsPulseGuiding", Required.OPTIONAL)
    probe.facts.pulse_guiding_readable = value is not None
    if value:
        probe.report.issue(
            "IsPulseGuiding", "pulse guiding is shown although no PulseGuide was issued"
        )
    probe.facts.max_adu = probe.read_int("MaxADU", "MaxADU", 1, INT32[1]) or 0


# -- subframe and set-point --------------------------------------------------------------------


def _subframe_and_setpoint(probe: Probe) -> None:
    x_size, y_size = probe.facts.x_size, probe.facts.y_size
    probe.read_int("NumX", "NumX Read", 1, max(x_size, 1))
    _write_legal(probe, "NumX", bankers_round(x_size / 2))
    probe.read_int("NumY", "NumY Read", 1, max(y_size, 1))
    _write_legal(probe, "NumY", bankers_round(y_size / 2))
    probe.read_float("PixelSizeX", "PixelSizeX", 1.0, math.inf)
    probe.read_float("PixelSizeY", "PixelSizeY", 1.0, math.inf)
    set_point(probe)
    probe.read_int("StartX", "StartX Read", 0, max(x_size - 1, 0))
    _write_legal(probe, "StartX", bankers_round(x_size / 2))
    probe.read_int("StartY", "StartY Read", 0, max(y_size - 1, 0))
    _write_legal(probe, "StartY", bankers_round(y_size / 2))


def _write_legal(probe: Probe, member: str, value: int) -> None:
    """Subframe writes are not validated until StartExposure: they must succeed."""
    result = probe.put(member, **{member: value})
    if result.ok:
        probe.report.ok(f"{member} write", f"successfully wrote {value}")
    else:
        probe.handle(
            f"{member} write",
            Required.MUST_BE_IMPLEMENTED,
            result,
            f"cannot set a legal value {value}",
        )


# -- sensor, exposure limits, readout ----------------------------------------------------------


def _sensor(probe: Probe) -> None:
    value = probe.read(
        "SensorType",
        "SensorType Read",
        lambda v: int_problem(v, 0, 5),
        show=lambda v: f"{v} ({SENSOR_NAMES[v]})",
    )
    probe.facts.sensor_type = value if is_int(value) else None
    if not probe.facts.sensor_type:  # monochrome, or unreadable (then assumed monochrome)
        if probe.facts.sensor_type is None:
            probe.report.info(
                "BayerOffset Read", "SensorType is unreadable; assuming a monochrome sensor"
            )
        for member in ("BayerOffsetX", "BayerOffsetY"):
            result = probe.get(member)
            if result.ok:
                probe.report.issue(
                    f"{member} Read",
                    "the sensor is monochrome so this must return NotImplemented, not a value",
                )
            else:
                probe.handle(
                    f"{member} Read",
                    Required.MUST_NOT_BE_IMPLEMENTED,
                    result,
                    "monochrome sensor",
                )
        return
    for member in ("BayerOffsetX", "BayerOffsetY"):
        probe.read_int(member, f"{member} Read", 0, 10000)


def _exposure_limits(probe: Probe) -> None:
    high = probe.read_float("ExposureMax", "ExposureMax Read", 0.0001, math.inf, Required.MANDATORY)
    low = probe.read_float("ExposureMin", "ExposureMin Read", 0.0, math.inf, Required.MANDATORY)
    if high is not None and low is not None:
        if low <= high:
            probe.report.ok("ExposureMin", "ExposureMin is less than or equal to ExposureMax")
        else:
            probe.report.issue("ExposureMin", "ExposureMin is greater than ExposureMax")
        if not low <= probe.exposure_s <= high:
            probe.report.info(
                "ExposureMin",
                f"the test exposure {probe.exposure_s:g} s is outside {low:g}..{high:g} s",
            )
    resolution = probe.read_float(
        "ExposureResolution", "ExposureResolution Read", 0.0, math.inf, Required.MANDATORY
    )
    if resolution is not None and high is not None:
        if resolution <= high:
            probe.report.ok("ExposureResolution", "less than or equal to ExposureMax")
        else:
            probe.report.issue("ExposureResolution", "greater than ExposureMax")


def _fast_readout(probe: Probe) -> None:
    if probe.facts.can.get("CanFastReadout", False):
        value = probe.read_bool("FastReadout", "FastReadout Read")
        if value is not None:
            first = probe.put("FastReadout", FastReadout=not value)
            second = probe.put("FastReadout", FastReadout=value)
            failed = first if not first.ok else second
            if failed.ok:
                probe.report.ok("FastReadout Write", "able to change FastReadout")
            else:
                probe.handle("FastReadout Write", Required.MANDATORY, failed)
        return
    result = probe.get("FastReadout")
    if result.ok:
        probe.report.issue(
            "FastReadout Read",
            "CanFastReadout is false but FastReadout returned a value instead of NotImplemented",
        )
    else:
        probe.handle("FastReadout Read", Required.OPTIONAL, result)
    result = probe.put("FastReadout", FastReadout=True)
    if result.ok:
        probe.report.issue(
            "FastReadout Write", "CanFastReadout is false but writing FastReadout succeeded"
        )
    else:
        probe.handle("FastReadout Write", Required.OPTIONAL, result)


def _percent_completed(probe: Probe) -> None:
    result = probe.get("PercentCompleted")
    if result.ok:
        problem = int_problem(result.value, 0, 100)
        if problem:
            probe.report.issue("PercentCompleted Read", problem)
        else:
            probe.report.ok("PercentCompleted Read", show_value(result.value))
        return
    probe.handle_allowing(
        "PercentCompleted Read",
        Required.OPTIONAL,
        result,
        INVALID_VALUE,
        "operation is invalid when the camera is idle",
    )


def _readout_modes(probe: Probe) -> None:
    modes = probe.read_strings("ReadoutModes", "ReadoutModes Read", Required.MANDATORY)
    if modes is not None and not modes:
        probe.report.issue("ReadoutModes Read", "ReadoutModes must list at least one mode")
    mode = probe.read_int("ReadoutMode", "ReadoutMode Read", 0, INT16[1])
    if modes is None or mode is None:
        probe.report.info("ReadoutMode Index", "skipped: ReadoutModes or ReadoutMode failed")
    elif mode < len(modes):
        probe.report.ok("ReadoutMode Index", f"current mode {mode}: {modes[mode]}")
    else:
        probe.report.issue("ReadoutMode Index", f"{mode} is outside ReadoutModes")


def _sub_exposure_duration(probe: Probe) -> None:
    value = probe.read_float("SubExposureDuration", "SubExposureDuration", 5e-324, math.inf)
    result = probe.put("SubExposureDuration", SubExposureDuration=value or 0.0)
    if result.ok:
        probe.report.ok("SubExposureDuration write", f"successfully wrote {value}")
    else:
        probe.handle("SubExposureDuration write", Required.OPTIONAL, result)
