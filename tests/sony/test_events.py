"""The driver reacts to the camera's events where the body sends them, and polls where it does not.

Counted and timed at the simulated camera: reads of 0x9209 by opcode, and the camera's own clock
readings of a shot (ShotTimes). The interrupt endpoint is polled every 10 ms of virtual time here,
so a driver that waits for an event sees it within 10 ms, while one that waits out a poll or an
event timeout is late by that wait.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from alpaca_sony.clock import FakeClock
from alpaca_sony.ptp.codes import EventCode, OpCode
from alpaca_sony.ptp.session import PtpSession
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.sony.capture import CaptureSequence, ExposurePlan
from alpaca_sony.sony.codes import ButtonState, SonyControl, SonyOp, SonyProp
from alpaca_sony.sony.protocol import SonyCamera
from alpaca_sony.transport.usb import UsbTransport, find_sony_devices
from tests.conftest import Rig

EVENT_POLL_S = 0.01
READ = SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO
_PRESS_AND_RELEASE = (
    (SonyControl.S1_BUTTON, ButtonState.DOWN),
    (SonyControl.S2_BUTTON, ButtonState.DOWN),
    (SonyControl.S2_BUTTON, ButtonState.UP),
    (SonyControl.S1_BUTTON, ButtonState.UP),
)


@pytest.fixture
def fine_rigs() -> Iterator[list[Rig]]:
    rigs: list[Rig] = []
    yield rigs
    for rig in rigs:
        rig.transport.close()


def _rig(rigs: list[Rig], **settings: object) -> Rig:
    clock = FakeClock()
    settings.setdefault("post_connect_settle_s", 0.0)
    camera = SimulatedCamera(clock, BodySettings(**settings))  # type: ignore[arg-type]
    backend = SimulatorBackend([camera], clock, poll_interval_s=EVENT_POLL_S)
    transport = UsbTransport.open(next(find_sony_devices(backend)))
    session = PtpSession(transport)
    sony = SonyCamera(session, clock)
    sony.connect()
    rig = Rig(clock, camera, backend, transport, session, sony, CaptureSequence(sony, clock))
    rigs.append(rig)
    return rig


def _plan(rig: Rig) -> ExposurePlan:
    shutter = rig.camera.body.value(SonyProp.SHUTTER_SPEED)
    assert isinstance(shutter, int)
    return ExposurePlan((shutter >> 16) / (shutter & 0xFFFF), shutter)


def _reads_while_waiting(rig: Rig, start: int) -> int:
    """0x9209 reads after S2 was released and before the first GetObjectInfo."""
    log = rig.camera.wire_log[start:]
    released = max(
        i
        for i, (op, params, data) in enumerate(log)
        if op == SonyOp.SDIO_CONTROL_DEVICE
        and params[:1] == (SonyControl.S2_BUTTON,)
        and data is not None
        and data[0] == 1
    )
    info = next(i for i, (op, _, _) in enumerate(log) if op == OpCode.GET_OBJECT_INFO)
    return sum(1 for op, _, _ in log[released:info] if op == READ)


def test_the_image_is_fetched_on_its_event_not_after_a_poll(fine_rigs: list[Rig]) -> None:
    rig = _rig(fine_rigs, processing_s=2.5)
    rig.capture.expose(_plan(rig))  # the first shot tells whether this body sends events
    start = len(rig.camera.wire_log)
    result = rig.capture.expose(_plan(rig))
    assert len(result.files) == 1
    shot = rig.camera.body.own_times()[-1]
    assert shot.ready_at is not None and shot.transfers
    fetched = shot.transfers[0][1]
    # Within two event polls of the files being ready, not a 100 ms poll or a 1 s event wait.
    assert fetched - shot.ready_at < 2 * EVENT_POLL_S + 0.005
    # A read per second of event wait (the safety net for a missed event) and the one on the
    # event: 3, where 100 ms polling reads 25 times.
    event_wait = rig.capture.timing.event_wait_s
    assert _reads_while_waiting(rig, start) == math.ceil(2.5 / event_wait)


def test_a_body_that_announces_no_image_is_polled(fine_rigs: list[Rig]) -> None:
    rig = _rig(fine_rigs, processing_s=2.5, sends_image_events=False)
    rig.capture.expose(_plan(rig))
    result = rig.capture.expose(_plan(rig))
    assert len(result.files) == 1
    shot = rig.camera.body.own_times()[-1]
    assert shot.ready_at is not None and shot.transfers
    # Found by the 100 ms poll (a driver waiting for an event would wait in vain).
    assert shot.transfers[0][1] - shot.ready_at <= rig.capture.timing.poll_interval_s + 0.03


def test_a_notch_is_read_back_on_its_event(fine_rigs: list[Rig]) -> None:
    rig = _rig(fine_rigs, iso=800)
    rig.capture.expose(_plan(rig))  # learn that the body sends events
    start = len(rig.camera.wire_log)
    before = rig.clock.monotonic()
    rig.capture.set_iso(1600)  # a v2 body: notches that land 0.3 s later
    assert rig.camera.body.value(SonyProp.ISO) == 1600
    reads = sum(1 for op, _, _ in rig.camera.wire_log[start:] if op == READ)
    # set_iso's own read, the read-back that still shows 800, and one on the 0xC203 naming
    # 0xD21E; polling every 50 ms reads six times more while the notch lands.
    assert reads == 3
    assert rig.clock.monotonic() - before < rig.camera.settings.notch_delay_s + 2 * EVENT_POLL_S


def test_a_stale_image_still_processing_is_drained_on_its_event(fine_rigs: list[Rig]) -> None:
    rig = _rig(fine_rigs, processing_s=2.5)
    rig.capture.expose(_plan(rig))
    # A shot nobody collected (a crashed host): still processing when the next drain starts.
    rig.capture.read_settings()
    for control, state in _PRESS_AND_RELEASE:
        rig.sony.press(control, state)
    start = len(rig.camera.wire_log)
    stale, _ = rig.capture.drain(rig.capture.read_settings())
    assert len(stale) == 1
    shot = rig.camera.body.own_times()[-1]
    assert shot.ready_at is not None and shot.transfers
    assert shot.transfers[0][1] - shot.ready_at < 2 * EVENT_POLL_S + 0.005
    reads = sum(1 for op, _, _ in rig.camera.wire_log[start:] if op == READ)
    # The caller's read, one on the last shot's leftover 0xC203, one per second of event wait,
    # one on the event, one that finds the buffer empty (polling: 25 more).
    assert reads <= 3 + math.ceil(2.5 / rig.capture.timing.event_wait_s)


def test_the_focus_result_is_announced(fine_rigs: list[Rig]) -> None:
    """libgphoto2 ends its autofocus wait on 0xC203 naming 0xD213: the body sends it."""
    rig = _rig(fine_rigs, focus="AF-S")
    rig.capture.read_settings()
    rig.sony.discard_events()
    rig.sony.press(SonyControl.S1_BUTTON, ButtonState.DOWN)
    seen = []
    deadline = rig.clock.monotonic() + 1.0
    while rig.clock.monotonic() < deadline:
        event = rig.session.read_event(0.1)
        if event is not None:
            seen.append((event.code, event.params[:1]))
    rig.sony.press(SonyControl.S1_BUTTON, ButtonState.UP)
    assert (EventCode.SONY_PROPERTY_CHANGED, (SonyProp.FOCUS_INDICATION,)) in seen
