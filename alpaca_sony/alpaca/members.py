"""The table of ICameraV4 members: one row per member, the one place that says what it takes.

A row gives the member's ASCOM name (its path is that name in lower case), what GET returns, what
PUT does with which parameters and whether it answers a Value, and whether the member needs the
connection. :meth:`Member.read` and :meth:`Member.write` keep Alpaca's order (alpaca.md 0.8):
parameters are found and parsed first (400, or 0x401 for an Int32 beyond 32 bits), then the
connection is checked (0x407), then the device answers (0x400 for what this camera lacks, then
0x401/0x40B for range and state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from alpaca_sony.alpaca.camera_device import MAX_BIN, CameraDevice
from alpaca_sony.alpaca.errors import BadRequest, NotConnected, NotImplementedMember
from alpaca_sony.alpaca.params import (
    AlpacaRequest,
    Arguments,
    Param,
    boolean,
    int32,
    number,
    parse_arguments,
    text,
)

Getter = Callable[[CameraDevice], Any]
Applier = Callable[[CameraDevice, Arguments], Any]


@dataclass(frozen=True)
class Put:
    """What a PUT takes and does."""

    params: tuple[Param[Any], ...]  # required, in the order they are checked
    apply: Applier
    returns_value: bool = False  # only Action, CommandBool and CommandString answer a Value


@dataclass(frozen=True)
class Member:
    """One member: its GET, its PUT, and whether either needs the camera connected."""

    name: str  # ASCOM casing, e.g. "BinX"
    get: Getter | None = None
    put: Put | None = None
    needs_connection: bool = True
    image: bool = False  # GET answers an image (JSON or ImageBytes), streamed by the app

    @property
    def path(self) -> str:
        return self.name.lower()

    def read(self, device: CameraDevice) -> Any:
        """The GET value, or the ASCOM error that answers instead."""
        if self.get is None:
            raise BadRequest(f"{self.path} is not a camera property that can be read")
        self._require_connection(device)
        return self.get(device)

    def write(self, device: CameraDevice, request: AlpacaRequest) -> Any:
        """Do the PUT; its Value if :attr:`Put.returns_value`."""
        if self.put is None:
            raise BadRequest(f"{self.path} is not a camera member that can be written")
        arguments = parse_arguments(request, self.put.params)
        self._require_connection(device)
        return self.put.apply(device, arguments)

    def _require_connection(self, device: CameraDevice) -> None:
        if self.needs_connection and not device.connected():
            raise NotConnected("the camera is not connected")


def _lacks(what: str) -> Callable[..., NoReturn]:
    """A GET or PUT this camera does not implement (its parameters are still parsed first)."""

    def refuse(*_: object) -> NoReturn:
        raise NotImplementedMember(f"{what} is not implemented by this camera")

    return refuse


def _static(value: Any) -> Getter:
    return lambda _device: value


ACTION, PARAMETERS = text("Action"), text("Parameters")
COMMAND, RAW = text("Command"), boolean("Raw")  # Raw: a bool in ICameraV4, "string" in the YAML
CONNECTED = boolean("Connected")
BIN_X, BIN_Y = int32("BinX"), int32("BinY")
GAIN, READOUT_MODE = int32("Gain"), int32("ReadoutMode")
START_X, START_Y, NUM_X, NUM_Y = int32("StartX"), int32("StartY"), int32("NumX"), int32("NumY")
DURATION, LIGHT = number("Duration"), boolean("Light")
# alpyca sends 'SubexposureDuration' (ConformU inverts the casing entirely, a 400).
SUB_EXPOSURE_DURATION = number("SubExposureDuration", aliases=("SubexposureDuration",))

ROWS: tuple[Member, ...] = (
    # -- common members ----------------------------------------------------------------------
    Member("Connected", needs_connection=False, get=lambda d: d.connected(), put=Put((CONNECTED,), lambda d, a: d.set_connected(a[CONNECTED]))),
    Member("Connect", needs_connection=False, put=Put((), lambda d, _a: d.connect())),
    Member("Disconnect", needs_connection=False, put=Put((), lambda d, _a: d.disconnect())),
    Member("Connecting", needs_connection=False, get=lambda d: d.connecting()),
    Member("DeviceState", get=lambda d: d.device_state()),
    Member("Description", needs_connection=False, get=lambda d: d.description()),
    Member("DriverInfo", needs_connection=False, get=lambda d: d.driver_info()),
    Member("DriverVersion", needs_connection=False, get=lambda d: d.driver_version()),
    Member("InterfaceVersion", needs_connection=False, get=_static(4)),
    Member("Name", needs_connection=False, get=lambda d: d.name()),
    Member("SupportedActions", needs_connection=False, get=lambda d: d.supported_actions()),
    Member("Action", put=Put((ACTION, PARAMETERS), lambda d, a: d.action(a[ACTION], a[PARAMETERS]), returns_value=True)),
    Member("CommandBlind", put=Put((COMMAND, RAW), _lacks("CommandBlind"))),
    Member("CommandBool", put=Put((COMMAND, RAW), _lacks("CommandBool"), returns_value=True)),
    Member("CommandString", put=Put((COMMAND, RAW), _lacks("CommandString"), returns_value=True)),
    # -- ICameraV4 ----------------------------------------------------------------------------
    Member("AbortExposure", put=Put((), lambda d, _a: d.abort_exposure())),
    Member("BayerOffsetX", get=lambda d: d.bayer_offset_x()),
    Member("BayerOffsetY", get=lambda d: d.bayer_offset_y()),
    Member("BinX", get=lambda d: d.bin_x(), put=Put((BIN_X,), lambda d, a: d.set_bin(a[BIN_X]))),
    Member("BinY", get=lambda d: d.bin_y(), put=Put((BIN_Y,), lambda d, a: d.set_bin(a[BIN_Y]))),
    Member("CameraState", get=lambda d: d.camera_state()),
    Member("CameraXSize", get=lambda d: d.camera_x_size()),
    Member("CameraYSize", get=lambda d: d.camera_y_size()),
    Member("CanAbortExposure", needs_connection=False, get=_static(True)),
    Member("CanAsymmetricBin", needs_connection=False, get=_static(False)),
    Member("CanFastReadout", needs_connection=False, get=_static(False)),
    Member("CanGetCoolerPower", needs_connection=False, get=_static(False)),
    Member("CanPulseGuide", needs_connection=False, get=_static(False)),
    Member("CanSetCCDTemperature", needs_connection=False, get=_static(False)),
    Member("CanStopExposure", needs_connection=False, get=_static(True)),
    Member("CCDTemperature", get=_lacks("CCDTemperature")),
    Member("CoolerOn", get=_lacks("CoolerOn"), put=Put((boolean("CoolerOn"),), _lacks("CoolerOn"))),
    Member("CoolerPower", get=_lacks("CoolerPower")),
    Member("ElectronsPerADU", get=_lacks("ElectronsPerADU")),
    Member("ExposureMax", needs_connection=False, get=lambda d: d.exposure_max()),
    Member("ExposureMin", get=lambda d: d.exposure_min()),
    Member("ExposureResolution", needs_connection=False, get=_static(0.0)),
    Member("FastReadout", get=_lacks("FastReadout"), put=Put((boolean("FastReadout"),), _lacks("FastReadout"))),
    Member("FullWellCapacity", get=_lacks("FullWellCapacity")),
    Member("Gain", get=lambda d: d.gain(), put=Put((GAIN,), lambda d, a: d.set_gain(a[GAIN]))),
    Member("GainMax", get=_lacks("GainMax (the gains are ISO names)")),
    Member("GainMin", get=_lacks("GainMin (the gains are ISO names)")),
    Member("Gains", get=lambda d: d.gains()),
    Member("HasShutter", needs_connection=False, get=_static(True)),
    Member("HeatSinkTemperature", get=_lacks("HeatSinkTemperature")),
    Member("ImageArray", get=lambda d: d.latest_image(), image=True),
    Member("ImageArrayVariant", get=lambda d: d.latest_image(), image=True),
    Member("ImageReady", get=lambda d: d.image_ready()),
    Member("IsPulseGuiding", get=_lacks("IsPulseGuiding")),
    Member("LastExposureDuration", get=lambda d: d.last_exposure_duration()),
    Member("LastExposureStartTime", get=lambda d: d.last_exposure_start_time()),
    Member("MaxADU", get=lambda d: d.max_adu()),
    Member("MaxBinX", needs_connection=False, get=_static(MAX_BIN)),
    Member("MaxBinY", needs_connection=False, get=_static(MAX_BIN)),
    Member("NumX", get=lambda d: d.num_x(), put=Put((NUM_X,), lambda d, a: d.set_num_x(a[NUM_X]))),
    Member("NumY", get=lambda d: d.num_y(), put=Put((NUM_Y,), lambda d, a: d.set_num_y(a[NUM_Y]))),
    Member("Offset", get=_lacks("Offset"), put=Put((int32("Offset"),), _lacks("Offset"))),
    Member("OffsetMax", get=_lacks("OffsetMax")),
    Member("OffsetMin", get=_lacks("OffsetMin")),
    Member("Offsets", get=_lacks("Offsets")),
    Member("PercentCompleted", get=lambda d: d.percent_completed()),
    Member("PixelSizeX", get=lambda d: d.pixel_size()),
    Member("PixelSizeY", get=lambda d: d.pixel_size()),
    Member("PulseGuide", put=Put((int32("Direction"), int32("Duration")), _lacks("PulseGuide"))),
    Member("ReadoutMode", get=lambda d: d.readout_mode(), put=Put((READOUT_MODE,), lambda d, a: d.set_readout_mode(a[READOUT_MODE]))),
    Member("ReadoutModes", get=lambda d: d.readout_modes()),
    Member("SensorName", get=lambda d: d.sensor_name()),
    Member("SensorType", get=lambda d: d.sensor_type()),
    Member("SetCCDTemperature", get=_lacks("SetCCDTemperature"), put=Put((number("SetCCDTemperature"),), _lacks("SetCCDTemperature"))),
    Member("StartExposure", put=Put((DURATION, LIGHT), lambda d, a: d.start_exposure(a[DURATION], a[LIGHT]))),
    Member("StartX", get=lambda d: d.start_x(), put=Put((START_X,), lambda d, a: d.set_start_x(a[START_X]))),
    Member("StartY", get=lambda d: d.start_y(), put=Put((START_Y,), lambda d, a: d.set_start_y(a[START_Y]))),
    Member("StopExposure", put=Put((), lambda d, _a: d.stop_exposure())),
    Member("SubExposureDuration", get=_lacks("SubExposureDuration"), put=Put((SUB_EXPOSURE_DURATION,), _lacks("SubExposureDuration"))),
)  # fmt: skip

MEMBERS: dict[str, Member] = {row.path: row for row in ROWS}
