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
from alpaca_sony.sony.codes import SonyProp

log = logging.getLogger(__name__)

MAX_COUNT = 100
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


def _unplug_during_exposure(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    # The cable goes at the first command while the shutter is open (the driver's status poll).
    camera.faults.disconnect_when(lambda: camera.body.exposing)
    return "the cable will be pulled while the next exposure is open; simreplug plugs it back"


def _unplug_during_download(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    camera.faults.disconnect(OpCode.GET_OBJECT, 1, DOWNLOAD_CUT_BYTES)
    return "the cable will be pulled during the next image download; simreplug plugs it back"


def _replug(camera: SimulatedCamera, parameters: str) -> str:
    _no_parameters(parameters)
    camera.replug()
    return "the cable is plugged in"


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
        "pull the cable while the next exposure is open", _unplug_during_exposure
    ),
    "simunplugduringdownload": _Rehearsal(
        "pull the cable during the next image download", _unplug_during_download
    ),
    "simreplug": _Rehearsal("plug the cable back in", _replug),
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
