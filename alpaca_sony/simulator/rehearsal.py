"""Fault rehearsal: Alpaca actions that arm the simulated camera's faults from any client.

A user rehearses an imaging sequence's failure handling (NINA, ...) by calling these through the
Alpaca Action endpoint; the tests drive faults over HTTP with them. Each action parses its one
parameter and arms :class:`FaultPlan` or the body; a bad parameter raises ``ValueError`` with a
sentence saying what to give (the Alpaca layer answers it as InvalidValue). Only the runtime wires
these in, and only in simulator mode: a real camera never offers them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson

from alpaca_sony.ptp.codes import OpCode
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.faults import CORRUPT_BYTES, CORRUPTIONS
from alpaca_sony.sony.codes import SonyProp

log = logging.getLogger(__name__)

MAX_COUNT = 100
MAX_REPLUG_S = 3600.0
# A USB 1.1 full-speed port moves at most about 1.2 MB/s; USB 2 high speed about 40 MB/s.
MIN_USB_MB_S, MAX_USB_MB_S = 0.01, 1000.0
# Into GetObject's data phase before the cable goes: well inside any ARW, past the first packets.
DOWNLOAD_CUT_BYTES = 65_536
LENR_ON, LENR_OFF = 2, 1  # 0xD15B enumeration [2,1] (sony-a1m2.txt, sony-a7m5.txt)


@dataclass(frozen=True)
class _Rehearsal:
    summary: str
    arm: Callable[[SimulatedCamera, str], str]


def _count(parameters: str, default: int, what: str) -> int:
    text = parameters.strip()
    if not text:
        return default
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"give the number of {what} as a whole number from 1 to {MAX_COUNT}")
    return count


def _no_parameters(parameters: str) -> None:
    if parameters.strip():
        raise ValueError("this action takes no parameters: leave Parameters empty")


def _seconds(parameters: str) -> float | None:
    text = parameters.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_REPLUG_S:
        raise ValueError(
            f"give the seconds until the cable goes back in (more than 0, at most {MAX_REPLUG_S:g})"
            ", or nothing to leave it out until simreplug"
        )
    return seconds


def _unplug_during_exposure(camera: SimulatedCamera, parameters: str) -> str:
    replug_after = _seconds(parameters)
    # The cable goes at the first command while the shutter is open (the driver's status poll).
    camera.faults.disconnect_when(lambda: camera.body.exposing)
    camera.replug_after_s = replug_after
    if replug_after is None:
        return "the cable will be pulled while the next exposure is open; simreplug plugs it back"
    return (
        "the cable will be pulled while the next exposure is open and plugged back "
        f"{replug_after:g} s later"
    )


def _unplug_during_download(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    camera.faults.disconnect(OpCode.GET_OBJECT, 1, DOWNLOAD_CUT_BYTES)
    return "the cable will be pulled during the next image download; simreplug plugs it back"


def _replug(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    camera.replug()
    if not camera.powered:
        return "the cable is plugged in, but the camera is switched off: simpoweron switches it on"
    return "the cable is plugged in"


def _power_off(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    camera.power_off()
    waiting = len(camera.body.buffer)
    return (
        f"the camera is switched off with {waiting} image file(s) in its buffer, which it keeps; "
        "simpoweron switches it back on"
    )


def _power_on(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    camera.power_on()
    return "the camera is switched on: the server reconnects and downloads what it holds"


def _buffer_full(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    added = camera.body.fill_buffer()
    capacity = camera.settings.buffer_capacity_shots
    return (
        f"{added} old image(s) now fill the camera's buffer ({capacity} shots): it takes no "
        "picture until they are downloaded"
    )


def _corrupt_download(camera: SimulatedCamera, parameters: str) -> str:
    kind = parameters.strip().lower() or CORRUPT_BYTES
    if kind not in CORRUPTIONS:
        raise ValueError(f"give one of {', '.join(sorted(CORRUPTIONS))} (or nothing: bytes)")
    camera.faults.corrupt_download(kind)
    return f"the next image download arrives {CORRUPTIONS[kind]}, and the camera drops its copy"


def _slow_usb(camera: SimulatedCamera, parameters: str) -> str:
    text = parameters.strip().lower()
    try:
        rate = 0.0 if text == "off" else float(text)
    except ValueError:
        rate = -1.0
    if not (rate == 0 or MIN_USB_MB_S <= rate <= MAX_USB_MB_S):
        raise ValueError(
            f"give the link speed in MB/s ({MIN_USB_MB_S:g} to {MAX_USB_MB_S:g}), or 0 or off "
            "for full speed"
        )
    camera.faults.slow_usb(rate * 1e6 if rate else None)
    if not rate:
        return "the USB link runs at full speed again"
    return f"the USB link now carries {rate:g} MB/s from the camera"


def _busy(camera: SimulatedCamera, parameters: str) -> str:
    count = _count(parameters, 3, "operations to answer busy")
    camera.faults.busy(count)
    return f"the camera will answer busy to the next {count} operations"


def _autofocus_miss(camera: SimulatedCamera, parameters: str) -> str:
    count = _count(parameters, 1, "autofocus attempts to miss")
    camera.faults.autofocus_miss(count)
    return f"the next {count} autofocus attempts will fail"


def _stall_download(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    camera.faults.stall(OpCode.GET_OBJECT)
    return "the camera will not answer the next image download (the read times out)"


def _stale_image(camera: SimulatedCamera, parameters: str) -> str:
    count = _count(parameters, 1, "stale images")
    camera.body.preload_stale_images(count)
    return f"{count} image(s) from an earlier session now wait in the camera's buffer"


def _long_exposure_nr(camera: SimulatedCamera, parameters: str) -> str:
    text = parameters.strip().lower()
    if text not in ("on", "off"):
        raise ValueError('give "on" or "off" as the parameter')
    on = text == "on"
    body = camera.body
    setting = body.props.get(SonyProp.LONG_EXPOSURE_NR)
    if setting is not None:  # the body reports 0xD15B: the menu setting is that property
        setting.current = LENR_ON if on else LENR_OFF
    else:  # v2 bodies do not report it; their menu setting decides (sony-ptp.md 14.3)
        body.settings.long_exposure_nr = on
    return f"long exposure noise reduction is {text}: exposures of 1 s or more add a dark frame"


REHEARSALS: Mapping[str, _Rehearsal] = {
    "simunplugduringexposure": _Rehearsal(
        "pull the cable while the next exposure is open (plug back after N s if given)",
        _unplug_during_exposure,
    ),
    "simunplugduringdownload": _Rehearsal(
        "pull the cable during the next image download", _unplug_during_download
    ),
    "simreplug": _Rehearsal("plug the cable back in", _replug),
    "simpoweroff": _Rehearsal("switch the camera off (its buffer keeps its images)", _power_off),
    "simpoweron": _Rehearsal("switch the camera back on", _power_on),
    "simbufferfull": _Rehearsal("old images fill the camera's buffer", _buffer_full),
    "simcorruptdownload": _Rehearsal(
        "the next download arrives damaged: bytes (default), type or short", _corrupt_download
    ),
    "simslowusb": _Rehearsal("limit the USB link to N MB/s (0 or off: full speed)", _slow_usb),
    "simbusy": _Rehearsal("answer busy to the next N operations (default 3)", _busy),
    "simautofocusmiss": _Rehearsal("the next N autofocus attempts fail", _autofocus_miss),
    "simstalldownload": _Rehearsal("the next download is never answered", _stall_download),
    "simstaleimage": _Rehearsal("N old images wait in the buffer (default 1)", _stale_image),
    "simlongexposurenr": _Rehearsal("long exposure NR on or off", _long_exposure_nr),
}


def rehearsal_actions(camera: SimulatedCamera) -> dict[str, Callable[[str], str]]:
    """The fault actions for one simulated camera: lower-case name -> run(parameters) -> JSON."""

    def bind(name: str, rehearsal: _Rehearsal) -> Callable[[str], str]:
        def run(parameters: str) -> str:
            message = rehearsal.arm(camera, parameters)
            log.info("fault rehearsal %s: %s", name, message)
            return orjson.dumps({"action": name, "message": message}).decode()

        return run

    return {name: bind(name, rehearsal) for name, rehearsal in REHEARSALS.items()}
