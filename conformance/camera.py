"""The camera conformance check (ConformU's ``conformance`` command for an ICameraV4 device).

The order and pass criteria follow ConformU's CameraTester: connect, common members, Can*
properties, first-use checks, properties (binning, subframe, cooling, sensor, exposure limits,
gain/offset modes, readout modes), methods (abort/stop while idle, pulse guiding, one 2 s exposure
per binning with its timing, LastExposure* and image checks, the StartExposure error cases), the
post-run reset and the disconnect. A few checks ConformU lacks are added: members called while
disconnected, how long CameraState stays Exposing, ImageArray over JSON as well as ImageBytes
(and the two carrying the same pixels), and index-mode Gain writes.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conformance.alpaca import (
    HTTP_FAILURE,
    INVALID_OPERATION,
    INVALID_VALUE,
    NOT_CONNECTED,
    NOT_IMPLEMENTED,
    AlpacaDevice,
    ProtocolFailure,
    Result,
    Scalar,
    error_name,
    result_from,
)
from conformance.images import (
    decode_imagebytes,
    element_name,
    imagebytes_error_message,
    imagebytes_problems,
    parse_header,
    scan_json_image,
)
from conformance.report import Report
from conformance.wire import Reply, Wire, WireError

POLL_S = 0.1  # ConformU polls every 0.5 s; faster polling only sharpens the timing checks
MAX_BIN = 16
SETPOINT_MIN = -280.0
SETPOINT_MAX = 100.0
REPORTED_TEMPERATURE_MAX = 1000.0
DESCRIPTION_MAX = 68
IDLE, WAITING, EXPOSING, READING, DOWNLOAD, ERROR_STATE = range(6)
STATE_NAMES = ("Idle", "Waiting", "Exposing", "Reading", "Download", "Error")
SENSOR_NAMES = ("Monochrome", "Color", "RGGB", "CMYG", "CMYG2", "LRGB")
DEVICE_STATE_NAMES = (
    "CameraState",
    "CCDTemperature",
    "CoolerPower",
    "HeatSinkTemperature",
    "ImageReady",
    "IsPulseGuiding",
    "PercentCompleted",
)
START_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?")
IMAGEBYTES_ACCEPT = {"Accept": "application/imagebytes, application/json"}
JSON_ACCEPT = {"Accept": "application/json"}
INT16 = (-32768, 32767)
INT32 = (-(2**31), 2**31 - 1)

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


class Required(enum.Enum):
    """How an error reply is judged (ConformU's Required enumeration)."""

    OPTIONAL = "optional"  # NotImplemented is OK, any other error is an issue
    MANDATORY = "mandatory"  # every error is an issue
    MUST_NOT_BE_IMPLEMENTED = "must not be implemented"  # only NotImplemented is OK
    MUST_BE_IMPLEMENTED = "must be implemented"  # every error is an issue


def bankers_round(value: float) -> int:
    """.NET Convert.ToInt32 (round half to even), which ConformU uses for sizes."""
    return round(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_start_time(text: str) -> dt.datetime | None:
    """A FITS-style UTC time without zone (``CCYY-MM-DDThh:mm:ss[.fff...]``), else None."""
    match = START_TIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or "0")[:6].ljust(6, "0")
    try:
        return dt.datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=dt.UTC)
    except ValueError:
        return None


@dataclass
class ExposureWatch:
    """What was seen while an exposure ran."""

    start_monotonic: float
    exposing_first: float | None = None  # monotonic time Exposing was first seen
    exposing_first_utc: dt.datetime | None = None
    before_exposing: float = 0.0  # the last moment the camera was surely not yet exposing
    exposing_end: float | None = None  # monotonic time it was first seen to have left Exposing
    ready_too_early: bool = False
    states: list[int] = field(default_factory=list)
    percents: list[int] = field(default_factory=list)
    percent_errors: set[str] = field(default_factory=set)
    timed_out: str = ""


@dataclass
class ImageFetch:
    """One image download and the ASCOM error number it carried (0: an image)."""

    reply: Reply | None
    error: int = 0


class CameraCheck:
    """Runs the conformance sequence against ``/api/v1/camera/{number}``."""

    def __init__(
        self,
        wire: Wire,
        report: Report,
        number: int = 0,
        exposure_s: float = 2.0,
        wait_s: float = 10.0,
    ) -> None:
        self.wire = wire
        self.report = report
        self.cam = AlpacaDevice(wire, "camera", number)
        self.exposure_s = exposure_s
        self.wait_s = wait_s
        self.interface_version = 0
        self.can: dict[str, bool] = {}
        self.max_bin_x = self.max_bin_y = 1
        self.x_size = self.y_size = 0
        self.max_adu = 0
        self.sensor_type: int | None = None
        self.pulse_guiding_readable = False
        self.cooler_on: bool | None = None
        self.setpoint: float | None = None
        self.connected = False

    # -- outcome helpers -----------------------------------------------------------------------

    def handle(self, test: str, required: Required, result: Result, context: str = "") -> None:
        """Judge an error reply the way ConformU's HandleException does."""
        suffix = f" ({context})" if context else ""
        what = result.describe()
        if result.error == NOT_IMPLEMENTED and required in (
            Required.OPTIONAL,
            Required.MUST_NOT_BE_IMPLEMENTED,
        ):
            self.report.ok(test, f"NotImplemented, as allowed{suffix}")
        elif result.error == NOT_IMPLEMENTED:
            self.report.issue(test, f"this member is {required.value} but returned {what}{suffix}")
        elif required is Required.MUST_NOT_BE_IMPLEMENTED:
            self.report.issue(test, f"expected NotImplemented (0x400), got {what}{suffix}")
        else:
            self.report.issue(test, f"unexpected error: {what}{suffix}")

    def handle_allowing(
        self, test: str, required: Required, result: Result, allowed: int, note: str
    ) -> None:
        """ConformU's Handle...ExceptionAsOK: one extra error number counts as OK."""
        if result.error == allowed:
            self.report.ok(test, f"{error_name(allowed)} - {note}")
        else:
            self.handle(test, required, result)

    def get(self, member: str) -> Result:
        return self.cam.get(member)

    def put(self, member: str, **params: Scalar) -> Result:
        return self.cam.put(member, **params)

    def read(
        self,
        member: str,
        test: str,
        check: Callable[[Any], str],
        required: Required = Required.MANDATORY,
        show: Callable[[Any], str] | None = None,
    ) -> Any:
        """GET a property; ``check`` returns '' when the value is acceptable, else the problem."""
        result = self.get(member)
        if not result.ok:
            self.handle(test, required, result)
            return None
        problem = check(result.value)
        if problem:
            self.report.issue(test, problem)
            return None
        self.report.ok(test, (show or _show)(result.value))
        return result.value

    def read_int(
        self,
        member: str,
        test: str,
        low: float,
        high: float,
        required: Required = Required.MANDATORY,
    ) -> int | None:
        value = self.read(member, test, lambda v: _int_problem(v, low, high), required)
        return value if is_int(value) else None

    def read_float(
        self,
        member: str,
        test: str,
        low: float,
        high: float,
        required: Required = Required.OPTIONAL,
    ) -> float | None:
        value = self.read(member, test, lambda v: _float_problem(v, low, high), required)
        return float(value) if is_number(value) else None

    def read_bool(
        self, member: str, test: str, required: Required = Required.MANDATORY
    ) -> bool | None:
        value = self.read(member, test, _bool_problem, required)
        return value if isinstance(value, bool) else None

    def read_strings(self, member: str, test: str, required: Required) -> list[str] | None:
        value = self.read(member, test, _strings_problem, required)
        return value if isinstance(value, list) else None

    # -- the sequence --------------------------------------------------------------------------

    def run(self) -> None:
        self.report.section("Camera conformance check")
        try:
            if not self._create():
                return
            self._disconnected_probes()
            if not self._connect():
                return
            self._common_members()
            self._can_properties()
            self._first_use()
            self._properties()
            self._methods()
            self._post_run()
        except ProtocolFailure as exc:
            self.report.error("Conformance", f"the check could not continue: {exc}")
        except WireError as exc:
            self.report.error("Conformance", f"the server stopped answering: {exc}")
        finally:
            self._disconnect()

    def _create(self) -> bool:
        result = self.get("InterfaceVersion")
        if not result.ok or not is_int(result.value) or not 1 <= result.value <= 4:
            self.report.issue(
                "InterfaceVersion",
                f"must be 1..4 before connecting, got {result.describe()}; the check stops here",
            )
            return False
        self.interface_version = result.value
        self.report.ok("InterfaceVersion", f"{result.value} (read before connecting)")
        connected = self.get("Connected")
        if connected.ok and connected.value is True:
            self.report.info(
                "Connected",
                "the camera was already connected: disconnecting so "
                "that the first-use checks see a fresh connection",
            )
            self.put("Connected", Connected=False)
        return True

    def _disconnected_probes(self) -> None:
        """Beyond ConformU: what members answer before Connect."""
        test = "Not connected"
        not_connected: list[str] = []
        values: list[str] = []
        for member in (*INFORMATIONAL, *CAMERA_GETS):
            result = self.get(member)
            if member in INFORMATIONAL:
                if result.ok:
                    continue
                if result.error == NOT_CONNECTED:
                    self.report.info(
                        test,
                        f"{member} returns NotConnected while disconnected; "
                        "clients often read it before connecting",
                    )
                    continue
            elif result.error in (NOT_CONNECTED, NOT_IMPLEMENTED):
                not_connected.append(member)
                continue
            elif result.ok:
                values.append(f"{member}={_show(result.value)}")
                continue
            self.report.issue(
                test,
                f"GET {member} while disconnected: expected NotConnected "
                f"(0x407), got {result.describe()}",
            )
        if not_connected:
            self.report.ok(
                test,
                f"{len(not_connected)} members answer NotConnected "
                "(or NotImplemented) while disconnected",
            )
        if values:
            self.report.info(
                test,
                "these members answer while disconnected (allowed, but "
                f"NotConnected is usual): {', '.join(values)}",
            )
        result = self.put("StartExposure", Duration=self.exposure_s, Light=True)
        if result.ok:
            self.report.issue(test, "StartExposure succeeded while disconnected")
            self._wait_state(lambda s: s in (IDLE, ERROR_STATE), self.exposure_s + self.wait_s)
        elif result.error == NOT_CONNECTED:
            self.report.ok(test, "StartExposure while disconnected returns NotConnected")
        else:
            self.report.info(
                test,
                f"StartExposure while disconnected: {result.describe()} (NotConnected expected)",
            )

    def _connect(self) -> bool:
        if self.interface_version < 4:
            return self._set_connected(True, "Connected")
        connecting = self.get("Connecting")
        if not connecting.ok or not isinstance(connecting.value, bool):
            self.report.issue(
                "Connecting",
                f"an ICameraV4 device must implement Connecting: "
                f"{connecting.describe()}; the check stops here",
            )
            return False
        self.report.ok("Connecting", _show(connecting.value))
        if not connecting.value:
            if not self._set_connected(True, "Connected"):
                return False
            # Beyond ConformU: leave 2 x 2 binning behind; after Connect it must read 1 again.
            if self.put("BinX", BinX=2).ok and self.put("BinY", BinY=2).ok:
                self.report.ok("Connected", "set 2 x 2 binning; the reconnect must reset it to 1")
            time.sleep(0.5)
            if not self._set_connected(False, "Connected"):
                return False
        started = time.monotonic()
        result = self.put("Connect")
        if not result.ok:
            self.report.issue("Connect", f"Connect failed: {result.describe()}")
            return False
        self._timing("Connect", started)
        if not self._wait_connecting("Connect"):
            return False
        return self._expect_connected(True, "Connect")

    def _set_connected(self, value: bool, test: str) -> bool:
        result = self.put("Connected", Connected=value)
        if not result.ok:
            self.report.issue(test, f"setting Connected {value} failed: {result.describe()}")
            return False
        return self._expect_connected(value, test)

    def _expect_connected(self, value: bool, test: str) -> bool:
        result = self.get("Connected")
        if result.ok and result.value is value:
            self.report.ok(test, f"Connected is {value}")
            self.connected = value
            return True
        self.report.issue(test, f"Connected should be {value}, got {result.describe()}")
        return False

    def _wait_connecting(self, test: str) -> bool:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            result = self.get("Connecting")
            if not result.ok:
                self.report.issue(test, f"Connecting failed: {result.describe()}")
                return False
            if result.value is False:
                return True
            time.sleep(POLL_S)
        self.report.issue(test, "Connecting stayed true for more than 5 s")
        return False

    def _timing(self, test: str, started: float, limit: float = 1.0) -> float:
        took = time.monotonic() - started
        if took > limit:
            self.report.info(test, f"took {took:.2f} s (target {limit:g} s)")
        return took

    # -- common members ------------------------------------------------------------------------

    def _common_members(self) -> None:
        self.report.text("")
        self.report.text("Common members")
        self.read_bool("Connected", "Connected")
        description = self.read("Description", "Description", _string_problem)
        if isinstance(description, str):
            if not description:
                self.report.info("Description", "the description is empty")
            elif len(description) > DESCRIPTION_MAX:
                self.report.issue(
                    "Description",
                    f"{len(description)} characters; more than "
                    f"{DESCRIPTION_MAX} do not fit a FITS header card",
                )
        self.read("DriverInfo", "DriverInfo", _string_problem)
        self.read("DriverVersion", "DriverVersion", _string_problem, Required.MUST_BE_IMPLEMENTED)
        self.read("Name", "Name", _string_problem)
        actions = self.read(
            "SupportedActions", "SupportedActions", _actions_problem, Required.MUST_BE_IMPLEMENTED
        )
        if actions is not None:
            self.report.info("Action", "Action is not tested (its effects are device specific)")
        if self.interface_version >= 4:
            self._device_state()

    def _device_state(self) -> None:
        result = self.get("DeviceState")
        if not result.ok:
            self.handle("DeviceState", Required.MANDATORY, result)
            return
        if not isinstance(result.value, list):
            self.report.issue("DeviceState", f"Value should be an array, got {result.value!r}")
            return
        seen: set[str] = set()
        for item in result.value:
            problem = _device_state_item_problem(item)
            if problem:
                self.report.issue("DeviceState", problem)
            else:
                seen.add(item["Name"])
                self.report.ok("DeviceState", f"{item['Name']} = {_show(item['Value'])}")
        missing = [name for name in DEVICE_STATE_NAMES if name not in seen]
        if missing:
            self.report.info("DeviceState", f"not included: {', '.join(missing)}")

    def _can_properties(self) -> None:
        self.report.text("")
        self.report.text("Can properties")
        for name in (
            "CanAbortExposure",
            "CanAsymmetricBin",
            "CanGetCoolerPower",
            "CanPulseGuide",
            "CanSetCCDTemperature",
            "CanStopExposure",
            "CanFastReadout",
        ):
            value = self.read_bool(name, name)
            self.can[name] = bool(value)

    def _first_use(self) -> None:
        self.report.text("")
        self.report.text("Pre-run checks (first use)")
        for member in ("LastExposureDuration", "LastExposureStartTime"):
            result = self.get(member)
            if result.ok:
                self.report.issue(
                    member,
                    f"{member} did not return an error before any "
                    f"exposure was made: {_show(result.value)}",
                )
            else:
                self.report.ok(
                    member,
                    f"{member} correctly returned an error before an "
                    f"exposure was made ({error_name(result.error)})",
                )

    # -- properties ----------------------------------------------------------------------------

    def _properties(self) -> None:
        self.report.text("")
        self.report.text("Properties")
        self._binning()
        self._sizes_and_cooling()
        self._image_before_exposure()
        self._subframe_and_setpoint()
        if self.interface_version > 1:
            self._sensor()
            self._exposure_limits()
            self._fast_readout()
            self._gain_or_offset("Gain", INT16)
            self._percent_completed()
            self._readout_modes()
            self.read("SensorName", "SensorName Read", lambda v: _string_problem(v, 250))
        if self.interface_version > 2:
            self._gain_or_offset("Offset", INT32)
            self._sub_exposure_duration()

    def _binning(self) -> None:
        asymmetric = self.can.get("CanAsymmetricBin", False)
        self.max_bin_x = self._read_max_bin("MaxBinX")
        self.max_bin_y = self._read_max_bin("MaxBinY")
        if not asymmetric and self.max_bin_x != self.max_bin_y:
            self.report.issue(
                "CanAsymmetricBin", "CanAsymmetricBin is false but MaxBinX and MaxBinY differ"
            )
        bin_x = self.read_int("BinX", "BinX Read", 1, 1)
        bin_y = self.read_int("BinY", "BinY Read", 1, 1)
        if not asymmetric and bin_x != bin_y:
            self.report.issue(
                "CanAsymmetricBin", "CanAsymmetricBin is false but BinX and BinY differ"
            )
        for member, value in (
            ("BinX", 0),
            ("BinX", self.max_bin_x + 1),
            ("BinY", 0),
            ("BinY", self.max_bin_y + 1),
        ):
            result = self.put(member, **{member: value})
            if result.ok:
                self.report.issue(f"{member} Write", f"invalid value {value} accepted")
            else:
                self.report.ok(
                    f"{member} Write", f"{value} correctly rejected ({error_name(result.error)})"
                )
        for bx, by in self._binnings():
            self._write_binning(bx, by)
        self.put("BinX", BinX=1)
        self.put("BinY", BinY=1)

    def _read_max_bin(self, member: str) -> int:
        result = self.get(member)
        if not result.ok:
            self.handle(member, Required.MANDATORY, result)
            return 1
        value = result.value
        if not is_int(value) or value < 1 or value > INT16[1]:
            self.report.issue(member, f"invalid value {value!r}")
            return 1
        if value > MAX_BIN:
            self.report.info(member, f"{value}: higher than {MAX_BIN}; is this intended?")
        else:
            self.report.ok(member, str(value))
        return int(value)

    def _binnings(self) -> list[tuple[int, int]]:
        if self.can.get("CanAsymmetricBin", False):
            return [
                (bx, by)
                for by in range(1, self.max_bin_y + 1)
                for bx in range(1, self.max_bin_x + 1)
            ]
        return [(b, b) for b in range(1, self.max_bin_x + 1)]

    def _write_binning(self, bin_x: int, bin_y: int) -> None:
        for member, value in (("BinY", bin_y), ("BinX", bin_x)):
            result = self.put(member, **{member: value})
            if result.ok:
                continue
            if result.error == INVALID_VALUE:
                self.report.info(
                    f"{member} Write",
                    f"InvalidValue when setting {member} to {value}: {result.message}",
                )
            else:
                self.handle(f"{member} Write", Required.MANDATORY, result, f"{member}={value}")
            return
        self.report.ok("BinXY Write", f"successfully set binning {bin_x} x {bin_y}")

    def _sizes_and_cooling(self) -> None:
        self.read_int("CameraState", "CameraState", 0, 5)
        self.x_size = self.read_int("CameraXSize", "CameraXSize", 1, INT32[1]) or 0
        self.y_size = self.read_int("CameraYSize", "CameraYSize", 1, INT32[1]) or 0
        self.read_float("CCDTemperature", "CCDTemperature", SETPOINT_MIN, REPORTED_TEMPERATURE_MAX)
        self.cooler_on = self.read_bool("CoolerOn", "CoolerOn Read", Required.OPTIONAL)
        if self.cooler_on is not None:
            result = self.put("CoolerOn", CoolerOn=not self.cooler_on)
            if result.ok:
                self.report.ok("CoolerOn Write", "successfully changed CoolerOn")
            else:
                self.handle("CoolerOn Write", Required.OPTIONAL, result)
            self.put("CoolerOn", CoolerOn=self.cooler_on)
        else:
            result = self.put("CoolerOn", CoolerOn=True)
            if result.ok:
                self.report.issue("CoolerOn Write", "CoolerOn cannot be read but can be written")
            else:
                self.handle("CoolerOn Write", Required.OPTIONAL, result)
        self.read_float("CoolerPower", "CoolerPower", 0.0, 100.0)
        self.read_float("ElectronsPerADU", "ElectronsPerADU", 0.00001, math.inf)
        self.read_float("FullWellCapacity", "FullWellCapacity", 0.0, math.inf)
        self.read_bool("HasShutter", "HasShutter", Required.OPTIONAL)
        self.read_float(
            "HeatSinkTemperature", "HeatSinkTemperature", SETPOINT_MIN, REPORTED_TEMPERATURE_MAX
        )

    def _image_before_exposure(self) -> None:
        ready = self.read_bool("ImageReady", "ImageReady")
        if ready:
            self.report.issue("ImageReady", "an image is flagged ready but no exposure was made")
        for member in ("ImageArray", "ImageArrayVariant"):
            fetch = self._fetch_image(member, IMAGEBYTES_ACCEPT, member)
            if fetch.reply is None:
                continue
            if fetch.error:
                self.report.ok(
                    member,
                    f"an error was correctly returned before an image was "
                    f"taken ({error_name(fetch.error)})",
                )
                if fetch.reply.is_imagebytes:
                    self.report.info(
                        member,
                        "the error came as ImageBytes; clients handle JSON error replies better",
                    )
            else:
                self.report.issue(member, "no image has been taken but an image was returned")
        value = self.read_bool("IsPulseGuiding", "IsPulseGuiding", Required.OPTIONAL)
        self.pulse_guiding_readable = value is not None
        if value:
            self.report.issue(
                "IsPulseGuiding", "pulse guiding is shown although no PulseGuide was issued"
            )
        self.max_adu = self.read_int("MaxADU", "MaxADU", 1, INT32[1]) or 0

    def _subframe_and_setpoint(self) -> None:
        self.read_int("NumX", "NumX Read", 1, max(self.x_size, 1))
        self._write_legal("NumX", bankers_round(self.x_size / 2))
        self.read_int("NumY", "NumY Read", 1, max(self.y_size, 1))
        self._write_legal("NumY", bankers_round(self.y_size / 2))
        self.read_float("PixelSizeX", "PixelSizeX", 1.0, math.inf)
        self.read_float("PixelSizeY", "PixelSizeY", 1.0, math.inf)
        self.setpoint = self.read_float(
            "SetCCDTemperature", "SetCCDTemperature Read", SETPOINT_MIN, SETPOINT_MAX
        )
        if self.can.get("CanSetCCDTemperature", False):
            self._setpoint_search()
        else:
            result = self.put("SetCCDTemperature", SetCCDTemperature=0.0)
            if result.ok:
                self.report.issue(
                    "SetCCDTemperature Write",
                    "CanSetCCDTemperature is false but writing 0.0 succeeded",
                )
            else:
                self.handle("SetCCDTemperature Write", Required.OPTIONAL, result)
        self.read_int("StartX", "StartX Read", 0, max(self.x_size - 1, 0))
        self._write_legal("StartX", bankers_round(self.x_size / 2))
        self.read_int("StartY", "StartY Read", 0, max(self.y_size - 1, 0))
        self._write_legal("StartY", bankers_round(self.y_size / 2))

    def _write_legal(self, member: str, value: int) -> None:
        """Subframe writes are not validated until StartExposure: they must succeed."""
        result = self.put(member, **{member: value})
        if result.ok:
            self.report.ok(f"{member} write", f"successfully wrote {value}")
        else:
            self.handle(
                f"{member} write",
                Required.MUST_BE_IMPLEMENTED,
                result,
                f"cannot set a legal value {value}",
            )

    def _setpoint_search(self) -> None:
        test = "SetCCDTemperature Write"
        result = self.put("SetCCDTemperature", SetCCDTemperature=0.0)
        if not result.ok:
            self.handle(test, Required.MUST_BE_IMPLEMENTED, result, "setting a legal value 0")
            return
        self.report.ok(test, "successfully wrote 0.0")
        low = self._setpoint_limit(-5.0, SETPOINT_MIN)
        if low is None:
            self.report.issue(
                test, f"set-points down to {SETPOINT_MIN} (below absolute zero) are accepted"
            )
        else:
            self.report.info(test, f"set-point lower limit between {low:g} and {low + 5:g}")
        high = self._setpoint_limit(5.0, SETPOINT_MAX)
        if high is None:
            self.report.issue(test, f"set-points up to {SETPOINT_MAX} are accepted")
        else:
            self.report.info(test, f"set-point upper limit between {high - 5:g} and {high:g}")
        if self.setpoint is not None:
            self.put("SetCCDTemperature", SetCCDTemperature=self.setpoint)

    def _setpoint_limit(self, step: float, bound: float) -> float | None:
        """The first set-point, stepping from 0, that is rejected; None if even ``bound`` passes."""
        value = 0.0
        while abs(value) < abs(bound):
            value += step
            if not self.put("SetCCDTemperature", SetCCDTemperature=value).ok:
                return value
        beyond = bound + (-1e-9 if step < 0 else 1e-9)
        if not self.put("SetCCDTemperature", SetCCDTemperature=beyond).ok:
            return value
        return None

    def _sensor(self) -> None:
        value = self.read(
            "SensorType",
            "SensorType Read",
            lambda v: _int_problem(v, 0, 5),
            show=lambda v: f"{v} ({SENSOR_NAMES[v]})",
        )
        self.sensor_type = value if is_int(value) else None
        if not self.sensor_type:  # monochrome, or unreadable (then assumed monochrome)
            if self.sensor_type is None:
                self.report.info(
                    "BayerOffset Read", "SensorType is unreadable; assuming a monochrome sensor"
                )
            for member in ("BayerOffsetX", "BayerOffsetY"):
                result = self.get(member)
                if result.ok:
                    self.report.issue(
                        f"{member} Read",
                        "the sensor is monochrome so this must return NotImplemented, not a value",
                    )
                else:
                    self.handle(
                        f"{member} Read",
                        Required.MUST_NOT_BE_IMPLEMENTED,
                        result,
                        "monochrome sensor",
                    )
            return
        for member in ("BayerOffsetX", "BayerOffsetY"):
            self.read_int(member, f"{member} Read", 0, 10000)

    def _exposure_limits(self) -> None:
        high = self.read_float(
            "ExposureMax", "ExposureMax Read", 0.0001, math.inf, Required.MANDATORY
        )
        low = self.read_float("ExposureMin", "ExposureMin Read", 0.0, math.inf, Required.MANDATORY)
        if high is not None and low is not None:
            if low <= high:
                self.report.ok("ExposureMin", "ExposureMin is less than or equal to ExposureMax")
            else:
                self.report.issue("ExposureMin", "ExposureMin is greater than ExposureMax")
            if not low <= self.exposure_s <= high:
                self.report.info(
                    "ExposureMin",
                    f"the test exposure {self.exposure_s:g} s is outside {low:g}..{high:g} s",
                )
        resolution = self.read_float(
            "ExposureResolution", "ExposureResolution Read", 0.0, math.inf, Required.MANDATORY
        )
        if resolution is not None and high is not None:
            if resolution <= high:
                self.report.ok("ExposureResolution", "less than or equal to ExposureMax")
            else:
                self.report.issue("ExposureResolution", "greater than ExposureMax")

    def _fast_readout(self) -> None:
        if self.can.get("CanFastReadout", False):
            value = self.read_bool("FastReadout", "FastReadout Read")
            if value is not None:
                first = self.put("FastReadout", FastReadout=not value)
                second = self.put("FastReadout", FastReadout=value)
                failed = first if not first.ok else second
                if failed.ok:
                    self.report.ok("FastReadout Write", "able to change FastReadout")
                else:
                    self.handle("FastReadout Write", Required.MANDATORY, failed)
            return
        result = self.get("FastReadout")
        if result.ok:
            self.report.issue(
                "FastReadout Read",
                "CanFastReadout is false but FastReadout "
                "returned a value instead of NotImplemented",
            )
        else:
            self.handle("FastReadout Read", Required.OPTIONAL, result)
        result = self.put("FastReadout", FastReadout=True)
        if result.ok:
            self.report.issue(
                "FastReadout Write", "CanFastReadout is false but writing FastReadout succeeded"
            )
        else:
            self.handle("FastReadout Write", Required.OPTIONAL, result)

    # -- gain and offset -----------------------------------------------------------------------

    def _mode_read(self, member: str, check: Callable[[Any], str]) -> Any:
        """Min/Max/list reads: NotImplemented and InvalidOperation both count as 'not readable'."""
        result = self.get(member)
        if not result.ok:
            self.handle_allowing(
                f"{member} Read",
                Required.OPTIONAL,
                result,
                INVALID_OPERATION,
                "not available in this mode",
            )
            return None
        problem = check(result.value)
        if problem:
            self.report.issue(f"{member} Read", problem)
            return None
        self.report.ok(f"{member} Read", _show(result.value))
        return result.value

    def _gain_or_offset(self, name: str, limits: tuple[int, int]) -> None:
        low = self._mode_read(f"{name}Min", lambda v: _int_problem(v, *limits))
        high = self._mode_read(f"{name}Max", lambda v: _int_problem(v, *limits))
        names = self._mode_read(f"{name}s", _strings_problem)
        if low is not None and high is not None and names is not None:
            self.report.issue(
                f"{name}s",
                f"{name}Min, {name}Max and {name}s are all readable; only one mode may be active",
            )
        value = self.read(
            name, f"{name} Read", lambda v: _int_problem(v, *limits), Required.OPTIONAL
        )
        readable = (value is not None, names is not None, low is not None, high is not None)
        if not any(readable):
            self.report.ok(
                f"{name} Read",
                f'all four {name.lower()} properties return errors - "{name} Not Implemented" mode',
            )
            result = self.put(name, **{name: 0})
            if result.ok:
                self.report.issue(f"{name} Write", f"writing {name} succeeded while reading failed")
            else:
                self.handle(f"{name} Write", Required.MUST_NOT_BE_IMPLEMENTED, result)
        elif readable == (True, True, False, False):
            self.report.ok(
                f"{name} Read",
                f'{name} and {name}s work, {name}Min/Max do not - "{name} Index" mode',
            )
            self._index_mode_writes(name, value, len(names))
        elif readable == (True, False, True, True):
            self.report.ok(
                f"{name} Read",
                f'{name}, {name}Min and {name}Max work, {name}s does not - "{name} Value" mode',
            )
            self._value_mode_writes(name, low, high, limits)
        else:
            self.report.issue(
                f"{name} Read",
                f"cannot tell the {name.lower()} mode: readable "
                f"{name}={readable[0]}, {name}s={readable[1]}, {name}Min="
                f"{readable[2]}, {name}Max={readable[3]}",
            )

    def _index_mode_writes(self, name: str, value: int, count: int) -> None:
        """Beyond ConformU (it skips index mode): the current index is accepted, others not."""
        test = f"{name} Write"
        if not 0 <= value < count:
            self.report.issue(
                f"{name} Read", f"{name} {value} is not an index into {name}s (0..{count - 1})"
            )
        result = self.put(name, **{name: value})
        if result.ok:
            self.report.ok(test, f"wrote the current index {value} back")
        else:
            self.handle(test, Required.MUST_BE_IMPLEMENTED, result, "current index")
        for bad in (-1, count):
            result = self.put(name, **{name: bad})
            if result.ok:
                self.report.issue(test, f"index {bad} is outside {name}s but was accepted")
                self.put(name, **{name: value})
            else:
                self.handle_allowing(
                    test,
                    Required.MUST_BE_IMPLEMENTED,
                    result,
                    INVALID_VALUE,
                    f"index {bad} correctly rejected",
                )

    def _value_mode_writes(self, name: str, low: int, high: int, limits: tuple[int, int]) -> None:
        test = f"{name} Write"
        for legal in (low, high):
            result = self.put(name, **{name: legal})
            if result.ok:
                self.report.ok(test, f"successfully set {legal}")
            else:
                self.handle(test, Required.MUST_BE_IMPLEMENTED, result, "a legal value")
        for bad in (low - 1, high + 1):
            if not limits[0] <= bad <= limits[1]:
                continue
            result = self.put(name, **{name: bad})
            if result.ok:
                self.report.issue(test, f"{bad} is outside {low}..{high} but was accepted")
            else:
                self.handle_allowing(
                    test,
                    Required.MUST_BE_IMPLEMENTED,
                    result,
                    INVALID_VALUE,
                    f"{bad} correctly rejected",
                )

    def _percent_completed(self) -> None:
        result = self.get("PercentCompleted")
        if result.ok:
            problem = _int_problem(result.value, 0, 100)
            if problem:
                self.report.issue("PercentCompleted Read", problem)
            else:
                self.report.ok("PercentCompleted Read", _show(result.value))
            return
        self.handle_allowing(
            "PercentCompleted Read",
            Required.OPTIONAL,
            result,
            INVALID_VALUE,
            "operation is invalid when the camera is idle",
        )

    def _readout_modes(self) -> None:
        modes = self.read_strings("ReadoutModes", "ReadoutModes Read", Required.MANDATORY)
        if modes is not None and not modes:
            self.report.issue("ReadoutModes Read", "ReadoutModes must list at least one mode")
        mode = self.read_int("ReadoutMode", "ReadoutMode Read", 0, INT16[1])
        if modes is None or mode is None:
            self.report.info("ReadoutMode Index", "skipped: ReadoutModes or ReadoutMode failed")
        elif mode < len(modes):
            self.report.ok("ReadoutMode Index", f"current mode {mode}: {modes[mode]}")
        else:
            self.report.issue("ReadoutMode Index", f"{mode} is outside ReadoutModes")

    def _sub_exposure_duration(self) -> None:
        value = self.read_float("SubExposureDuration", "SubExposureDuration", 5e-324, math.inf)
        result = self.put("SubExposureDuration", SubExposureDuration=value or 0.0)
        if result.ok:
            self.report.ok("SubExposureDuration write", f"successfully wrote {value}")
        else:
            self.handle("SubExposureDuration write", Required.OPTIONAL, result)

    # -- methods -------------------------------------------------------------------------------

    def _methods(self) -> None:
        self.report.text("")
        self.report.text("Methods")
        self._idle_call("AbortExposure", "CanAbortExposure")
        self._pulse_guide()
        self._idle_call("StopExposure", "CanStopExposure")
        for bx, by in self._binnings():
            self._happy_exposure(bx, by)
        self._error_cases()

    def _idle_call(self, method: str, flag: str) -> None:
        state = self.get("CameraState")
        if not state.ok or state.value != IDLE:
            self.report.issue(
                method, f"the camera is not idle, {method} test skipped: {state.describe()}"
            )
            return
        result = self.put(method)
        can = self.can.get(flag, False)
        if result.ok and can:
            self.report.ok(method, "no error when the camera is already idle")
        elif result.ok:
            self.report.issue(method, f"{flag} is false but {method} succeeded")
        elif can:
            self.report.issue(method, f"error when the camera is idle: {result.describe()}")
        else:
            self.report.ok(method, f"{flag} is false and an error was correctly returned")

    def _pulse_guide(self) -> None:
        if not self.can.get("CanPulseGuide", False):
            result = self.put("PulseGuide", Direction=0, Duration=0)
            if result.ok:
                self.report.issue("PulseGuide", "CanPulseGuide is false but PulseGuide succeeded")
            else:
                self.report.ok(
                    "PulseGuide",
                    "CanPulseGuide is false and an error was correctly "
                    f"returned ({error_name(result.error)})",
                )
            return
        for direction, label in enumerate(("North", "South", "East", "West")):
            self._pulse(direction, f"PulseGuide {label}")

    def _pulse(self, direction: int, test: str) -> None:
        started = time.monotonic()
        result = self.put("PulseGuide", Direction=direction, Duration=2000)
        took = time.monotonic() - started
        if not result.ok:
            self.report.issue(
                test, f"CanPulseGuide is true but PulseGuide failed: {result.describe()}"
            )
            return
        if not self.pulse_guiding_readable:
            self.report.issue(
                test, "IsPulseGuiding could not be read, so the pulse cannot be followed"
            )
            return
        if took >= 1.0:
            self.report.issue(
                test, f"PulseGuide took {took:.2f} s: ICameraV4 requires it to return at once"
            )
            return
        guiding = self.get("IsPulseGuiding")
        if not (guiding.ok and guiding.value is True):
            self.report.issue(test, "asynchronous pulse expected but IsPulseGuiding is not true")
            return
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            guiding = self.get("IsPulseGuiding")
            if guiding.ok and guiding.value is False:
                self.report.ok(test, "asynchronous pulse guide found OK")
                return
            time.sleep(POLL_S)
        self.report.issue(test, "IsPulseGuiding still true 4 s after a 2 s pulse")

    # -- exposures -----------------------------------------------------------------------------

    def _set_frame(self, frame: tuple[int, int, int, int, int, int]) -> bool:
        """BinX, BinY, StartX, StartY, NumX, NumY in ConformU's order; every write must work."""
        names = ("BinX", "BinY", "StartX", "StartY", "NumX", "NumY")
        for member, value in zip(names, frame, strict=True):
            result = self.put(member, **{member: value})
            if result.ok:
                continue
            if member.startswith("Bin") and result.error == INVALID_VALUE:
                self.report.info(
                    "BinXY Write", f"exposure skipped: {member}={value} rejected ({result.message})"
                )
            else:
                self.report.issue(
                    "StartExposure",
                    f"unable to set {member} to {value}: {result.describe()}; exposure skipped",
                )
            return False
        return True

    def _wait_state(self, done: Callable[[int], bool], timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while True:
            result = self.get("CameraState")
            if result.ok and is_int(result.value) and done(result.value):
                return int(result.value)
            if time.monotonic() > deadline:
                return None
            time.sleep(POLL_S)

    def _happy_exposure(self, bin_x: int, bin_y: int) -> None:
        num_x, num_y = self.x_size // bin_x, self.y_size // bin_y
        self.report.text("")
        self.report.text(f"Take image full frame {bin_x} x {bin_y} bin ({num_x} x {num_y})")
        if self._wait_state(lambda s: s == IDLE, self.wait_s) is None:
            self.report.issue("StartExposure", "the camera is not idle; exposure skipped")
            return
        if not self._set_frame((bin_x, bin_y, 0, 0, num_x, num_y)):
            return
        started_utc = utc_now()
        started = time.monotonic()
        result = self.put("StartExposure", Duration=self.exposure_s, Light=True)
        took = time.monotonic() - started
        if not result.ok:
            self.report.issue("StartExposure", f"error when exposing: {result.describe()}")
            return
        if not self._judge_start_time(took):
            return
        ready, state = self.get("ImageReady"), self.get("CameraState")
        if ready.value is True and state.value == IDLE:
            self._synchronous(took, started_utc)
        else:
            watch = self._watch(started)
            if not self._judge_watch(watch, started):
                return
            self._test_last(started_utc, watch.exposing_first_utc or started_utc)
        for member in ("ImageArray", "ImageArrayVariant"):
            self._check_image(member, num_x, num_y)

    def _judge_start_time(self, took: float) -> bool:
        if took > self.wait_s:
            self.report.error(
                "StartExposure",
                f"StartExposure took {took:.1f} s, beyond ConformU's {self.wait_s:g} s limit",
            )
            return False
        if took > 1.0:
            self.report.issue(
                "StartExposure",
                f"StartExposure took {took:.2f} s; ICameraV4 requires it to return quickly (1 s)",
            )
        else:
            self.report.ok("StartExposure", f"returned in {took * 1000:.0f} ms")
        return True

    def _synchronous(self, took: float, started_utc: dt.datetime) -> None:
        if self.interface_version >= 4:
            self.report.issue(
                "StartExposure",
                "synchronous exposure: ICameraV4 requires StartExposure to be asynchronous",
            )
        elif took < self.exposure_s:
            self.report.issue(
                "StartExposure",
                "synchronous exposure returned before the exposure time was complete",
            )
        else:
            self.report.ok("StartExposure", "synchronous exposure found OK")
        self._test_last(started_utc, started_utc)

    def _poll_exposure(self, watch: ExposureWatch) -> tuple[int | None, bool | None]:
        state = self.get("CameraState")
        ready = self.get("ImageReady")
        value = int(state.value) if state.ok and is_int(state.value) else None
        is_ready = ready.value if ready.ok and isinstance(ready.value, bool) else None
        if value is not None:
            watch.states.append(value)
        if value in (WAITING, EXPOSING) and is_ready:
            watch.ready_too_early = True
        if value == EXPOSING:
            percent = self.get("PercentCompleted")
            if percent.ok and is_int(percent.value):
                watch.percents.append(int(percent.value))
            elif not percent.ok and percent.error != NOT_IMPLEMENTED:
                watch.percent_errors.add(percent.describe())
        return value, is_ready

    def _watch(self, started: float) -> ExposureWatch:
        """Follow the exposure: to Exposing, through it, to Idle, to ImageReady."""
        watch = ExposureWatch(started, before_exposing=started)
        phase = "reach Exposing"
        deadline = started + self.exposure_s + 2.0  # ConformU: duration + 2 s to reach Exposing
        while True:
            before = time.monotonic()
            state, ready = self._poll_exposure(watch)
            if state == ERROR_STATE:
                return watch
            phase, deadline = self._advance(watch, phase, deadline, (before, state, ready))
            if phase == "done":
                return watch
            if before > deadline:
                watch.timed_out = phase
                return watch
            time.sleep(POLL_S)

    def _advance(
        self,
        watch: ExposureWatch,
        phase: str,
        deadline: float,
        seen: tuple[float, int | None, bool | None],
    ) -> tuple[str, float]:
        """Next phase and its deadline after one poll (taken at ``before``)."""
        before, state, ready = seen
        now = time.monotonic()
        if phase == "reach Exposing":
            if state == EXPOSING:
                watch.exposing_first, watch.exposing_first_utc = now, utc_now()
                phase, deadline = "leave Exposing", now + self.exposure_s + self.wait_s
            elif state in (READING, DOWNLOAD) or (state == IDLE and ready):
                phase, deadline = "reach Idle", now + self.wait_s  # Exposing came and went unseen
            else:
                watch.before_exposing = before
        if phase == "leave Exposing" and state not in (EXPOSING, None):
            watch.exposing_end = now
            phase, deadline = "reach Idle", now + self.wait_s
        if phase == "reach Idle" and state == IDLE:
            phase, deadline = "reach ImageReady", now + self.wait_s
        if phase == "reach ImageReady" and ready:
            phase = "done"
        return phase, deadline

    def _judge_watch(self, watch: ExposureWatch, started: float) -> bool:
        test = "StartExposure"
        if watch.exposing_first is None:
            self.report.issue(
                "CameraState",
                f"CameraState never showed Exposing (states seen: {_state_path(watch.states)})",
            )
        else:
            self._judge_exposing_time(watch, started)
        if watch.ready_too_early:
            self.report.issue(test, "ImageReady was true before the camera completed its exposure")
        if watch.percent_errors:
            self.report.info(
                "PercentCompleted",
                f"errors while exposing: {'; '.join(sorted(watch.percent_errors))}",
            )
        if watch.timed_out:
            self.report.error(
                test,
                f"timed out waiting to {watch.timed_out} "
                f"(ConformU allows {self.wait_s:g} s per wait)",
            )
            return False
        final = self.get("CameraState")
        ready = self.get("ImageReady")
        if not (ready.ok and ready.value is True):
            self.report.issue(
                test, f"the camera ended in state {final.describe()} without an image"
            )
            return False
        if final.value != IDLE:
            self.report.issue(
                test, f"ImageReady is true but CameraState is {final.describe()}, expected Idle"
            )
        total = time.monotonic() - started
        self.report.ok(
            test,
            f"asynchronous exposure found OK: {self.exposure_s:g} s, image "
            f"ready after {total:.2f} s",
        )
        return True

    def _judge_exposing_time(self, watch: ExposureWatch, started: float) -> None:
        first = watch.exposing_first if watch.exposing_first is not None else started
        if first - started > 1.0:
            self.report.info(
                "CameraState",
                f"Exposing began {first - started:.2f} s after StartExposure returned",
            )
        end = watch.exposing_end if watch.exposing_end is not None else time.monotonic()
        # The longest the camera can have been exposing, given when it was polled: from the last
        # poll before Exposing to the first poll after it. Even that must cover the exposure.
        longest = end - watch.before_exposing
        if longest < self.exposure_s * 0.95:
            self.report.issue(
                "CameraState",
                f"CameraState left Exposing after at most {longest:.2f} s of a "
                f"{self.exposure_s:g} s exposure ({_state_path(watch.states)}): clients polling "
                "every 0.5 s, like ConformU, may never see Exposing",
            )
        else:
            self.report.ok(
                "CameraState",
                f"Exposing for about {end - first:.2f} s of a {self.exposure_s:g} s exposure "
                f"({_state_path(watch.states)})",
            )
        if watch.percents and (min(watch.percents) < 0 or max(watch.percents) > 100):
            self.report.issue(
                "PercentCompleted",
                f"outside 0..100 while exposing: {min(watch.percents)}..{max(watch.percents)}",
            )

    def _test_last(self, started_utc: dt.datetime, exposing_seen_utc: dt.datetime) -> None:
        result = self.get("LastExposureDuration")
        if not result.ok:
            self.handle("LastExposureDuration", Required.OPTIONAL, result)
        elif not is_number(result.value):
            self.report.issue("LastExposureDuration", f"not a number: {result.value!r}")
        elif abs(result.value - self.exposure_s) / self.exposure_s < 0.02:
            self.report.ok("LastExposureDuration", f"{result.value} s")
        else:
            self.report.issue(
                "LastExposureDuration",
                f"{result.value} s differs from the {self.exposure_s:g} s requested by 2 % or more",
            )
        result = self.get("LastExposureStartTime")
        if not result.ok:
            self.handle("LastExposureStartTime", Required.OPTIONAL, result)
            return
        self._judge_start_stamp(result.value, started_utc, exposing_seen_utc)

    def _judge_start_stamp(
        self, value: Any, started_utc: dt.datetime, exposing_seen_utc: dt.datetime
    ) -> None:
        test = "LastExposureStartTime"
        if not isinstance(value, str):
            self.report.issue(test, f"not a string: {value!r}")
            return
        if value.endswith(("Z", "z")) or re.search(r"[+-]\d{2}:?\d{2}$", value[19:]):
            self.report.issue(
                test,
                f"{value!r} has a time zone suffix; the format is "
                "CCYY-MM-DDThh:mm:ss[.fff] in UTC without one (ConformU reads a "
                "'Z' as local time)",
            )
            return
        stamp = parse_start_time(value)
        if stamp is None:
            self.report.issue(test, f"{value!r} is not in the format CCYY-MM-DDThh:mm:ss[.fff]")
            return
        early = (started_utc - stamp).total_seconds()
        late = (stamp - exposing_seen_utc).total_seconds()
        if early > 2.0 or late > 2.0:
            self.report.issue(
                test,
                f"{value} is more than 2 s away from the exposure start "
                f"(StartExposure called at "
                f"{started_utc.strftime('%H:%M:%S.%f')[:-3]} UTC)",
            )
        else:
            self.report.ok(test, f"correct to within 2 s: {value} UTC")

    # -- images --------------------------------------------------------------------------------

    def _fetch_image(self, member: str, headers: dict[str, str], test: str) -> ImageFetch:
        """GET an image; its ASCOM error number comes from the JSON or the ImageBytes header."""
        try:
            reply = self.cam.get_reply(member, headers)
        except WireError as exc:
            self.report.error(test, f"download failed: {exc}")
            return ImageFetch(None)
        if reply.elapsed > self.wait_s:
            self.report.error(
                test,
                f"INSTABILITY WARNING: the download took {reply.elapsed:.1f} "
                f"s, beyond ConformU's {self.wait_s:g} s limit",
            )
        if reply.status != 200:
            return ImageFetch(reply, error=HTTP_FAILURE)
        if reply.is_imagebytes:
            try:
                header = parse_header(reply.body)
            except ValueError as exc:
                self.report.issue(test, f"unreadable ImageBytes reply: {exc}")
                return ImageFetch(reply, error=HTTP_FAILURE)
            return ImageFetch(reply, error=header.error_number)
        if len(reply.body) < 100_000:
            return ImageFetch(reply, error=result_from(member, reply).error)
        return ImageFetch(reply)

    def _check_image(self, member: str, num_x: int, num_y: int) -> None:
        binary = self._check_imagebytes(member, num_x, num_y)
        self._check_json_image(member, num_x, num_y, binary)

    def _expected_rank(self) -> int:
        return 3 if self.sensor_type == 1 else 2

    def _check_dimensions(self, test: str, shape: tuple[int, ...], num_x: int, num_y: int) -> bool:
        if shape[:2] == (num_x, num_y):
            return True
        if shape[:2] == (num_y, num_x):
            self.report.issue(
                test,
                f"image dimensions swapped: expected {num_x} x {num_y}, "
                f"got {shape[0]} x {shape[1]}",
            )
        else:
            self.report.issue(
                test,
                f"image does not have the expected dimensions {num_x} x "
                f"{num_y}: got {' x '.join(map(str, shape))}",
            )
        return False

    def _check_imagebytes(self, member: str, num_x: int, num_y: int) -> np.ndarray | None:
        test = f"{member} (ImageBytes)"
        fetch = self._fetch_image(member, IMAGEBYTES_ACCEPT, test)
        reply = fetch.reply
        if reply is None:
            return None
        if not reply.is_imagebytes:
            self.report.info(
                test, f"ImageBytes was offered but the reply is {reply.content_type!r}"
            )
            return None
        header = parse_header(reply.body)
        problems = []
        if header.metadata_version != 1:
            problems.append(f"metadata version {header.metadata_version}, expected 1")
        if header.error_number != 0:
            message = imagebytes_error_message(reply.body, header)
            self.report.issue(
                test, f"error instead of an image: {error_name(header.error_number)}: {message}"
            )
            return None
        if header.client_transaction_id != self.cam.last_transaction:
            problems.append(
                f"ClientTransactionID {header.client_transaction_id}, sent "
                f"{self.cam.last_transaction}"
            )
        if header.server_transaction_id < 1:
            problems.append(f"ServerTransactionID {header.server_transaction_id}")
        problems += imagebytes_problems(reply.body, header, variant=member.endswith("Variant"))
        if header.rank != self._expected_rank():
            problems.append(
                f"Rank {header.rank} for sensor type {self.sensor_type}, expected "
                f"{self._expected_rank()}"
            )
        for problem in problems:
            self.report.issue(test, problem)
        if problems or not self._check_dimensions(test, header.shape, num_x, num_y):
            return None
        pixels = decode_imagebytes(reply.body, header)
        self._judge_pixels(test, pixels)
        self.report.ok(
            test,
            f"{element_name(header.image_element_type)} sent as "
            f"{element_name(header.transmission_element_type)}, "
            f"{' x '.join(map(str, header.shape))}, {len(reply.body)} bytes in "
            f"{reply.elapsed * 1000:.0f} ms",
        )
        return pixels

    def _judge_pixels(self, test: str, pixels: np.ndarray) -> None:
        if pixels.size == 0:
            return
        low, high = pixels.min(), pixels.max()
        if low < 0 or (self.max_adu and high > self.max_adu):
            self.report.info(
                test, f"pixel values {low}..{high} fall outside 0..MaxADU ({self.max_adu})"
            )

    def _check_json_image(
        self, member: str, num_x: int, num_y: int, binary: np.ndarray | None
    ) -> None:
        test = f"{member} (JSON)"
        fetch = self._fetch_image(member, JSON_ACCEPT, test)
        reply = fetch.reply
        if reply is None:
            return
        if reply.status != 200 or not reply.is_json:
            self.report.issue(
                test,
                f"expected a JSON reply, got HTTP {reply.status} {reply.content_type!r}",
                reply.snippet(),
            )
            return
        try:
            image = scan_json_image(reply.body)
        except ValueError as exc:
            self.report.error(test, f"the reply is not JSON: {exc}", reply.snippet())
            return
        problems = self._json_image_problems(member, image.envelope)
        if image.problem:
            problems.append(f"Value: {image.problem}")
        elif len(image.shape) != self._expected_rank():
            problems.append(f"Value has rank {len(image.shape)}, expected {self._expected_rank()}")
        elif not image.integral and image.envelope.get("Type") in (1, 2):
            problems.append("Value holds non-integer numbers but Type says integers")
        for problem in problems:
            self.report.issue(test, problem)
        if problems or not self._check_dimensions(test, image.shape, num_x, num_y):
            return
        if binary is not None and image.pixels is not None:
            if np.array_equal(image.pixels, binary):
                self.report.ok(test, "the same pixels as the ImageBytes reply")
            else:
                self.report.issue(test, "the pixels differ from the ImageBytes reply")
        self.report.ok(
            test,
            f"Type {image.envelope.get('Type')}, Rank "
            f"{image.envelope.get('Rank')}, {' x '.join(map(str, image.shape))}, "
            f"{len(reply.body)} bytes in {reply.elapsed * 1000:.0f} ms",
        )

    def _json_image_problems(self, member: str, envelope: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        for key in (
            "Type",
            "Rank",
            "Value",
            "ClientTransactionID",
            "ServerTransactionID",
            "ErrorNumber",
            "ErrorMessage",
        ):
            if key not in envelope:
                problems.append(f"no {key} key (exact casing)")
        if envelope.get("ErrorNumber") not in (0, None):
            problems.append(f"error instead of an image: {envelope.get('ErrorMessage')}")
        allowed = (2,) if member == "ImageArray" else (1, 2, 3)
        if "Type" in envelope and envelope["Type"] not in allowed:
            problems.append(f"Type {envelope['Type']!r}, expected {' or '.join(map(str, allowed))}")
        if "Rank" in envelope and envelope["Rank"] != self._expected_rank():
            problems.append(f"Rank {envelope['Rank']!r}, expected {self._expected_rank()}")
        if envelope.get("ClientTransactionID") != self.cam.last_transaction:
            problems.append(
                f"ClientTransactionID {envelope.get('ClientTransactionID')!r}, sent "
                f"{self.cam.last_transaction}"
            )
        return problems

    # -- StartExposure error cases -------------------------------------------------------------

    def _error_cases(self) -> None:
        self.report.text("")
        self.report.text("StartExposure error cases")
        self._reject("negative duration", (1, 1, 0, 0, self.x_size, self.y_size), -1.0)
        for bx, by in self._binnings():
            nx = bankers_round(self.x_size / bx)
            ny = bankers_round(self.y_size / by)
            where = f"Bin {bx}x{by}"
            self._reject(
                f"X size larger than binned chip size, {where}", (bx, by, 0, 0, nx + 1, ny)
            )
            self._reject(
                f"Y size larger than binned chip size, {where}", (bx, by, 0, 0, nx, ny + 1)
            )
            self._reject(f"X start outside binned chip size, {where}", (bx, by, nx + 1, 0, nx, ny))
            self._reject(f"Y start outside binned chip size, {where}", (bx, by, 0, ny + 1, nx, ny))

    def _reject(
        self, what: str, frame: tuple[int, int, int, int, int, int], duration: float = 0.1
    ) -> None:
        if not self._set_frame(frame):
            return
        result = self.put("StartExposure", Duration=duration, Light=True)
        if not result.ok:
            self.report.ok(
                "StartExposure", f"error correctly returned for {what} ({error_name(result.error)})"
            )
            return
        self.report.issue(
            "StartExposure",
            f"expected an error for {what} and got none - "
            f"BinX:{frame[0]} BinY:{frame[1]} StartX:{frame[2]} StartY:{frame[3]} "
            f"NumX:{frame[4]} NumY:{frame[5]} Duration:{duration}",
        )
        self.put("StopExposure")
        self.put("AbortExposure")
        self._wait_state(lambda s: s in (IDLE, ERROR_STATE), self.wait_s + abs(duration))

    # -- after the run -------------------------------------------------------------------------

    def _post_run(self) -> None:
        self.report.text("")
        if self.can.get("CanAbortExposure", False):
            self.put("AbortExposure")
        if self.can.get("CanStopExposure", False):
            self.put("StopExposure")
        if self.can.get("CanSetCCDTemperature", False) and self.setpoint is not None:
            self.put("SetCCDTemperature", SetCCDTemperature=self.setpoint)
        if self.cooler_on is not None:
            self.put("CoolerOn", CoolerOn=self.cooler_on)
        # ConformU sets NumX/NumY to 1; a full frame leaves the camera ready for real use.
        for member, value in (
            ("StartX", 0),
            ("StartY", 0),
            ("BinX", 1),
            ("BinY", 1),
            ("NumX", self.x_size or 1),
            ("NumY", self.y_size or 1),
        ):
            self.put(member, **{member: value})
        self.report.ok("PostRunCheck", "camera returned to bin 1, full frame")

    def _disconnect(self) -> None:
        if not self.connected:
            return
        self.report.text("")
        try:
            if self.interface_version >= 4:
                result = self.put("Disconnect")
                if not result.ok:
                    self.report.issue("Disconnect", f"Disconnect failed: {result.describe()}")
                    return
                if self._wait_connecting("Disconnect"):
                    self._expect_connected(False, "Disconnect")
            else:
                self._set_connected(False, "Connected")
        except (ProtocolFailure, WireError) as exc:
            self.report.error("Disconnect", f"could not disconnect: {exc}")


# -- value checks (return the problem, '' when fine) ---------------------------------------------


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _int_problem(value: Any, low: float, high: float) -> str:
    if not is_int(value):
        return f"expected a JSON integer, got {value!r}"
    if not low <= value <= high:
        return f"invalid value: {value} (expected {low:g}..{high:g})"
    return ""


def _float_problem(value: Any, low: float, high: float) -> str:
    if not is_number(value):
        return f"expected a number, got {value!r}"
    if not low <= value <= high:
        return f"invalid value: {value} (expected {low:g}..{high:g})"
    return ""


def _bool_problem(value: Any) -> str:
    return "" if isinstance(value, bool) else f"expected true or false, got {value!r}"


def _string_problem(value: Any, max_length: int = 0) -> str:
    if not isinstance(value, str):
        return f"expected a string, got {value!r}"
    if max_length and len(value) > max_length:
        return f"longer than {max_length} characters: {value!r}"
    return ""


def _strings_problem(value: Any) -> str:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"expected an array of strings, got {_show(value)}"
    return ""


def _actions_problem(value: Any) -> str:
    problem = _strings_problem(value)
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


def _state_path(states: list[int]) -> str:
    path: list[str] = []
    for state in states:
        label = STATE_NAMES[state] if 0 <= state < len(STATE_NAMES) else str(state)
        if not path or path[-1] != label:
            path.append(label)
    return " > ".join(path)
