"""The explicit table of ICameraV4 members: what each GET returns and what each PUT does.

Each entry names the PUT parameters it requires (exact casing) so they are checked, and parsed, in
the order Alpaca prescribes before the device is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alpaca_sony.alpaca.camera_device import MAX_BIN, CameraDevice
from alpaca_sony.alpaca.errors import InvalidValue, NotConnected, NotImplementedMember
from alpaca_sony.alpaca.params import AlpacaRequest

Getter = Callable[[CameraDevice], Any]
Putter = Callable[[CameraDevice, AlpacaRequest], Any]

INT32 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class Member:
    """One endpoint: its GET and PUT behaviour."""

    get: Getter | None = None
    put: Putter | None = None


def _connected(device: CameraDevice) -> None:
    if not device.connected():
        raise NotConnected("the camera is not connected")


def _not_implemented(what: str) -> Getter:
    def getter(device: CameraDevice) -> Any:
        _connected(device)
        raise NotImplementedMember(f"{what} is not implemented by this camera")

    return getter


def _not_implemented_put(what: str, **params: str) -> Putter:
    """A PUT member this camera lacks: its parameters are still required and parsed first.

    ``params`` maps each parameter name to its kind: "bool", "int", "number" or "text".
    """

    def putter(device: CameraDevice, request: AlpacaRequest) -> Any:
        for name, kind in params.items():
            if kind == "bool":
                request.boolean(name)
            elif kind == "int":
                request.integer(name)
            elif kind == "number":
                request.number(name)
            else:
                request.raw(name)
        _connected(device)
        raise NotImplementedMember(f"{what} is not implemented by this camera")

    return putter


def _int_param(request: AlpacaRequest, name: str) -> int:
    value = request.integer(name)
    if not INT32[0] <= value <= INT32[1]:
        raise InvalidValue(f"{name}={value} is out of range")
    return value


def _put_int(name: str, apply: Callable[[CameraDevice, int], None]) -> Putter:
    def putter(device: CameraDevice, request: AlpacaRequest) -> None:
        value = _int_param(request, name)
        apply(device, value)

    return putter


def _static(value: Any) -> Getter:
    return lambda _device: value


def _subexposure_put(device: CameraDevice, request: AlpacaRequest) -> None:
    # alpyca sends 'SubexposureDuration' (ConformU inverts the casing entirely, a 400).
    name = (
        "SubExposureDuration" if "SubExposureDuration" in request.values else "SubexposureDuration"
    )
    request.number(name)
    _connected(device)
    raise NotImplementedMember("SubExposureDuration is not implemented by this camera")


def _action(device: CameraDevice, request: AlpacaRequest) -> str:
    name, parameters = request.raw("Action"), request.raw("Parameters")
    _connected(device)
    return device.action(name, parameters)


def _start_exposure(device: CameraDevice, request: AlpacaRequest) -> None:
    duration = request.number("Duration")
    light = request.boolean("Light")
    device.start_exposure(duration, light)


def _connected_put(device: CameraDevice, request: AlpacaRequest) -> None:
    device.set_connected(request.boolean("Connected"))


MEMBERS: dict[str, Member] = {
    # -- common members ----------------------------------------------------------------------
    "connected": Member(get=lambda d: d.connected(), put=_connected_put),
    "connect": Member(put=lambda d, _r: d.connect()),
    "disconnect": Member(put=lambda d, _r: d.disconnect()),
    "connecting": Member(get=lambda d: d.connecting()),
    "devicestate": Member(get=lambda d: d.device_state()),
    "description": Member(get=lambda d: d.description()),
    "driverinfo": Member(get=lambda d: d.driver_info()),
    "driverversion": Member(get=lambda d: d.driver_version()),
    "interfaceversion": Member(get=_static(4)),
    "name": Member(get=lambda d: d.name()),
    "supportedactions": Member(get=lambda d: d.supported_actions()),
    "action": Member(put=_action),
    "commandblind": Member(put=_not_implemented_put("CommandBlind", Command="text", Raw="bool")),
    "commandbool": Member(put=_not_implemented_put("CommandBool", Command="text", Raw="bool")),
    "commandstring": Member(put=_not_implemented_put("CommandString", Command="text", Raw="bool")),
    # -- ICameraV4 ----------------------------------------------------------------------------
    "abortexposure": Member(put=lambda d, _r: d.abort_exposure()),
    "bayeroffsetx": Member(get=lambda d: d.bayer_offset("x")),
    "bayeroffsety": Member(get=lambda d: d.bayer_offset("y")),
    "binx": Member(get=lambda d: d.get_setting("bin_x"), put=_put_int("BinX", lambda d, v: d.set_bin("x", v))),
    "biny": Member(get=lambda d: d.get_setting("bin_y"), put=_put_int("BinY", lambda d, v: d.set_bin("y", v))),
    "camerastate": Member(get=lambda d: d.camera_state()),
    "cameraxsize": Member(get=lambda d: d.camera_x_size()),
    "cameraysize": Member(get=lambda d: d.camera_y_size()),
    "canabortexposure": Member(get=_static(True)),
    "canasymmetricbin": Member(get=_static(False)),
    "canfastreadout": Member(get=_static(False)),
    "cangetcoolerpower": Member(get=_static(False)),
    "canpulseguide": Member(get=_static(False)),
    "cansetccdtemperature": Member(get=_static(False)),
    "canstopexposure": Member(get=_static(True)),
    "ccdtemperature": Member(get=_not_implemented("CCDTemperature")),
    "cooleron": Member(get=_not_implemented("CoolerOn"), put=_not_implemented_put("CoolerOn", CoolerOn="bool")),
    "coolerpower": Member(get=_not_implemented("CoolerPower")),
    "electronsperadu": Member(get=_not_implemented("ElectronsPerADU")),
    "exposuremax": Member(get=lambda d: d.exposure_max()),
    "exposuremin": Member(get=lambda d: d.exposure_min()),
    "exposureresolution": Member(get=_static(0.0)),
    "fastreadout": Member(get=_not_implemented("FastReadout"), put=_not_implemented_put("FastReadout", FastReadout="bool")),
    "fullwellcapacity": Member(get=_not_implemented("FullWellCapacity")),
    "gain": Member(get=lambda d: d.gain(), put=_put_int("Gain", lambda d, v: d.set_gain(v))),
    "gainmax": Member(get=_not_implemented("GainMax (the gains are ISO names)")),
    "gainmin": Member(get=_not_implemented("GainMin (the gains are ISO names)")),
    "gains": Member(get=lambda d: d.gains()),
    "hasshutter": Member(get=_static(True)),
    "heatsinktemperature": Member(get=_not_implemented("HeatSinkTemperature")),
    "imageready": Member(get=lambda d: d.image_ready()),
    "ispulseguiding": Member(get=_not_implemented("IsPulseGuiding")),
    "lastexposureduration": Member(get=lambda d: d.last_exposure_duration()),
    "lastexposurestarttime": Member(get=lambda d: d.last_exposure_start_time()),
    "maxadu": Member(get=lambda d: d.max_adu()),
    "maxbinx": Member(get=_static(MAX_BIN)),
    "maxbiny": Member(get=_static(MAX_BIN)),
    "numx": Member(get=lambda d: d.get_setting("num_x"), put=_put_int("NumX", lambda d, v: d.set_subframe("num_x", v))),
    "numy": Member(get=lambda d: d.get_setting("num_y"), put=_put_int("NumY", lambda d, v: d.set_subframe("num_y", v))),
    "offset": Member(get=_not_implemented("Offset"), put=_not_implemented_put("Offset", Offset="int")),
    "offsetmax": Member(get=_not_implemented("OffsetMax")),
    "offsetmin": Member(get=_not_implemented("OffsetMin")),
    "offsets": Member(get=_not_implemented("Offsets")),
    "percentcompleted": Member(get=lambda d: d.percent_completed()),
    "pixelsizex": Member(get=lambda d: d.pixel_size()),
    "pixelsizey": Member(get=lambda d: d.pixel_size()),
    "pulseguide": Member(put=_not_implemented_put("PulseGuide", Direction="int", Duration="int")),
    "readoutmode": Member(get=lambda d: d.readout_mode(), put=_put_int("ReadoutMode", lambda d, v: d.set_readout_mode(v))),
    "readoutmodes": Member(get=lambda d: d.readout_modes()),
    "sensorname": Member(get=lambda d: d.sensor_name()),
    "sensortype": Member(get=lambda d: d.sensor_type()),
    "setccdtemperature": Member(get=_not_implemented("SetCCDTemperature"), put=_not_implemented_put("SetCCDTemperature", SetCCDTemperature="number")),
    "startexposure": Member(put=_start_exposure),
    "startx": Member(get=lambda d: d.get_setting("start_x"), put=_put_int("StartX", lambda d, v: d.set_subframe("start_x", v))),
    "starty": Member(get=lambda d: d.get_setting("start_y"), put=_put_int("StartY", lambda d, v: d.set_subframe("start_y", v))),
    "stopexposure": Member(put=lambda d, _r: d.stop_exposure()),
    "subexposureduration": Member(get=_not_implemented("SubExposureDuration"), put=_subexposure_put),
}  # fmt: skip

IMAGE_MEMBERS = ("imagearray", "imagearrayvariant")
