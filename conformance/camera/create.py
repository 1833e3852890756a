"""ConformU's CreateDevice group: InterfaceVersion before connecting; added, members while
disconnected (ConformU calls nothing but InterfaceVersion, Connecting and Connected then)."""

from __future__ import annotations

from conformance.alpaca import NOT_CONNECTED, NOT_IMPLEMENTED
from conformance.camera.probe import ERROR_STATE, IDLE, Probe
from conformance.camera.values import is_int, show_value

# Members probed while disconnected: the common informational ones may answer, the rest should
# say NotConnected (or NotImplemented, when that is their permanent answer).
INFORMATIONAL = ("Description", "DriverInfo", "DriverVersion", "Name", "SupportedActions")
CAMERA_GETS = (
    "BayerOffsetX", "BayerOffsetY", "BinX", "BinY", "CameraState", "CameraXSize", "CameraYSize",
    "CanAbortExposure", "CanAsymmetricBin", "CanFastReadout", "CanGetCoolerPower",
    "CanPulseGuide", "CanSetCCDTemperature", "CanStopExposure", "CCDTemperature", "CoolerOn",
    "CoolerPower", "ElectronsPerADU", "ExposureMax", "ExposureMin", "ExposureResolution",
    "FastReadout", "FullWellCapacity", "Gain", "GainMax", "GainMin", "Gains", "HasShutter",
    "HeatSinkTemperature", "ImageArray", "ImageArrayVariant", "ImageReady", "IsPulseGuiding",
    "LastExposureDuration", "LastExposureStartTime", "MaxADU", "MaxBinX", "MaxBinY", "NumX",
    "NumY", "Offset", "OffsetMax", "OffsetMin", "Offsets", "PercentCompleted", "PixelSizeX",
    "PixelSizeY", "ReadoutMode", "ReadoutModes", "SensorName", "SensorType",
    "SetCCDTemperature", "StartX", "StartY", "SubExposureDuration",
)  # fmt: skip


def create(probe: Probe) -> bool:
    """InterfaceVersion must be 1..4 before connecting, else the check stops (False)."""
    result = probe.get("InterfaceVersion")
    if not result.ok or not is_int(result.value) or not 1 <= result.value <= 4:
        probe.report.issue(
            "InterfaceVersion",
            f"must be 1..4 before connecting, got {result.describe()}; the check stops here",
        )
        return False
    probe.facts.interface_version = result.value
    probe.report.ok("InterfaceVersion", f"{result.value} (read before connecting)")
    connected = probe.get("Connected")
    if connected.ok and connected.value is True:
        probe.report.info(
            "Connected",
            "the camera was already connected: disconnecting so "
            "that the first-use checks see a fresh connection",
        )
        probe.put("Connected", Connected=False)
    return True


def disconnected_probes(probe: Probe) -> None:
    """Beyond ConformU: what members answer before Connect."""
    test = "Not connected"
    not_connected: list[str] = []
    values: list[str] = []
    for member in (*INFORMATIONAL, *CAMERA_GETS):
        result = probe.get(member)
        if member in INFORMATIONAL:
            if result.ok:
                continue
            if result.error == NOT_CONNECTED:
                probe.report.info(
                    test,
                    f"{member} returns NotConnected while disconnected; "
                    "clients often read it before connecting",
                )
                continue
        elif result.error in (NOT_CONNECTED, NOT_IMPLEMENTED):
            not_connected.append(member)
            continue
        elif result.ok:
            values.append(f"{member}={show_value(result.value)}")
            continue
        probe.report.issue(
            test,
            f"GET {member} while disconnected: expected NotConnected "
            f"(0x407), got {result.describe()}",
        )
    if not_connected:
        probe.report.ok(
            test,
            f"{len(not_connected)} members answer NotConnected "
            "(or NotImplemented) while disconnected",
        )
    if values:
        probe.report.info(
            test,
            "these members answer while disconnected (allowed, but "
            f"NotConnected is usual): {', '.join(values)}",
        )
    _start_exposure_disconnected(probe, test)


def _start_exposure_disconnected(probe: Probe, test: str) -> None:
    result = probe.put("StartExposure", Duration=probe.exposure_s, Light=True)
    if result.ok:
        probe.report.issue(test, "StartExposure succeeded while disconnected")
        probe.wait_state(lambda s: s in (IDLE, ERROR_STATE), probe.exposure_s + probe.wait_s)
    elif result.error == NOT_CONNECTED:
        probe.report.ok(test, "StartExposure while disconnected returns NotConnected")
    else:
        probe.report.info(
            test,
            f"StartExposure while disconnected: {result.describe()} (NotConnected expected)",
        )
