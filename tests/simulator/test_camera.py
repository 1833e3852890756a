"""The simulated body from the camera's side: session rules, handshake, quirks, buffer, events."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alpaca_sony.clock import FakeClock
from alpaca_sony.ptp.codes import EventCode, OpCode, ResponseCode
from alpaca_sony.ptp.session import PtpSession
from alpaca_sony.simulator.body import BodySettings, SimulatedBody
from alpaca_sony.simulator.report import load_report
from alpaca_sony.sony.codes import (
    CAPTURED_IMAGE_HANDLE,
    LIVE_VIEW_HANDLE,
    PROTOCOL_V2,
    ButtonState,
    SonyControl,
    SonyOp,
    SonyProp,
)
from alpaca_sony.sony.values import SHUTTER_BULB
from tests.conftest import Rig
from tests.samples import GPHOTO_REPORTS


def _code(
    session: PtpSession, op: int, params: tuple[int, ...] = (), data: bytes | None = None
) -> int:
    response, _ = session.transaction(op, params, data, check=False)
    return response.code


def test_session_rules(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(connect=False)
    session = rig.session
    assert _code(session, SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO) == ResponseCode.SESSION_NOT_OPEN
    assert _code(session, OpCode.GET_DEVICE_INFO) == ResponseCode.OK
    session.open()
    assert _code(session, OpCode.OPEN_SESSION, (1,)) == ResponseCode.SESSION_ALREADY_OPEN
    # That second OpenSession carried id 1, not 0: recorded, and cleared as made on purpose.
    assert rig.camera.body.protocol_violations == ["OpenSession with transaction id 1, not 0"]
    rig.camera.body.protocol_violations.clear()
    session.open()  # the driver closes the stale session and opens a fresh one
    assert session.is_open


def test_handshake_order_is_enforced(rig_factory: Callable[..., Rig]) -> None:
    session = rig_factory(connect=False).session
    session.open()
    assert _code(session, SonyOp.SDIO_CONTROL_DEVICE, (0xD2C1,), b"\x02\x00") == (
        ResponseCode.OPERATION_NOT_SUPPORTED
    )
    assert _code(session, SonyOp.SDIO_CONNECT, (3, 0, 0)) == ResponseCode.GENERAL_ERROR
    assert _code(session, SonyOp.SDIO_CONNECT, (1, 0, 0)) == ResponseCode.OK
    assert _code(session, SonyOp.SDIO_CONNECT, (2, 0, 0)) == ResponseCode.OK
    assert _code(session, SonyOp.SDIO_GET_EXT_DEVICE_INFO, (PROTOCOL_V2,)) == ResponseCode.OK


def test_v3_body_refuses_a_v2_initiator(rig_factory: Callable[..., Rig]) -> None:
    session = rig_factory(model="ILCE-7SM3", connect=False).session
    session.open()
    session.transaction(SonyOp.SDIO_CONNECT, (1, 0, 0))
    session.transaction(SonyOp.SDIO_CONNECT, (2, 0, 0))
    assert _code(session, SonyOp.SDIO_GET_EXT_DEVICE_INFO, (PROTOCOL_V2,)) == (
        ResponseCode.SONY_AUTHENTICATION_FAILED
    )


def test_absolute_sets_are_validated(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(model="ILCE-7SM3")  # a v3 body (sony-a7sm3.txt): settable shutter list
    session = rig.session
    shutter = SonyOp.SDIO_SET_EXT_DEVICE_PROP_VALUE
    assert _code(
        session, shutter, (SonyProp.SHUTTER_SPEED,), (0x00011234).to_bytes(4, "little")
    ) == (ResponseCode.INVALID_DEVICE_PROP_VALUE)
    assert (
        _code(session, shutter, (SonyProp.SHOOTING_FILE_INFO,), b"\x00\x00")
        == ResponseCode.ACCESS_DENIED
    )
    assert _code(session, shutter, (0xD999,), b"\x00") == ResponseCode.DEVICE_PROP_NOT_SUPPORTED


@pytest.mark.parametrize("width", [1, 2, 4])
def test_notches_land_later_and_clamp(rig: Rig, width: int) -> None:
    body = rig.camera.body
    ladder = body.props[SonyProp.SHUTTER_SPEED].values
    start = body.value(SonyProp.SHUTTER_SPEED)
    rig.sony.call(
        SonyOp.SDIO_CONTROL_DEVICE,
        (SonyProp.SHUTTER_SPEED,),
        (-1).to_bytes(width, "little", signed=True),
    )
    assert body.value(SonyProp.SHUTTER_SPEED) == start  # applied asynchronously
    rig.clock.advance(rig.camera.settings.notch_delay_s)
    assert body.value(SonyProp.SHUTTER_SPEED) == ladder[ladder.index(start) - 1]
    rig.sony.call(
        SonyOp.SDIO_CONTROL_DEVICE,
        (SonyProp.SHUTTER_SPEED,),
        (-100).to_bytes(width, "little", signed=True),
    )
    rig.clock.advance(1)
    assert body.value(SonyProp.SHUTTER_SPEED) == SHUTTER_BULB  # clamped at the long end


def test_bulb_needs_manual_mode(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(program="S")
    rig.sony.notch(SonyProp.SHUTTER_SPEED, -127)
    rig.clock.advance(1)
    assert rig.camera.body.value(SonyProp.SHUTTER_SPEED) == 0x012C000A  # 30", not BULB
    rig = rig_factory(program="A")
    before = rig.camera.body.value(SonyProp.SHUTTER_SPEED)
    rig.sony.notch(SonyProp.SHUTTER_SPEED, 3)
    rig.clock.advance(1)
    assert rig.camera.body.value(SonyProp.SHUTTER_SPEED) == before  # A mode: the body picks


def _press_release(rig: Rig) -> None:
    rig.sony.read_properties()
    rig.sony.press(SonyControl.S1_BUTTON, ButtonState.DOWN)
    rig.sony.press(SonyControl.S2_BUTTON, ButtonState.DOWN)
    rig.sony.press(SonyControl.S2_BUTTON, ButtonState.UP)
    rig.sony.press(SonyControl.S1_BUTTON, ButtonState.UP)
    rig.clock.advance(2)


def test_buffer_full_refuses_shots(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(buffer_capacity_shots=2, post_connect_settle_s=0.0)
    for _ in range(3):
        _press_release(rig)
    body = rig.camera.body
    assert len(body.shots) == 2
    assert body.refusals == ["the camera's buffer is full of images nobody downloaded"]


def test_no_photo_right_after_connecting(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(model="ILCE-7M4")
    _press_release(rig)
    assert rig.camera.body.refusals == [
        "shutter pressed within the camera's settle time after connecting"
    ]


def test_downloading_before_ready_is_refused_and_recorded(rig: Rig) -> None:
    response, _ = rig.session.transaction(
        OpCode.GET_OBJECT_INFO, (CAPTURED_IMAGE_HANDLE,), check=False
    )
    assert response.code == ResponseCode.INVALID_OBJECT_HANDLE
    assert rig.camera.body.protocol_violations == ["0xFFFFC001 accessed while 0xD215 < 0x8000"]
    rig.camera.body.protocol_violations.clear()  # broken on purpose


def test_events_announce_the_image_and_its_removal(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    _press_release(rig)
    events = []
    while (event := rig.session.read_event(0.01)) is not None:
        events.append((event.code, event.params))
    assert (EventCode.SONY_OBJECT_ADDED, (CAPTURED_IMAGE_HANDLE,)) in events
    assert (EventCode.SONY_PROPERTY_CHANGED, (SonyProp.SHOOTING_FILE_INFO,)) in events
    rig.sony.download()
    assert rig.session.read_event(0.01) is not None


def test_images_survive_a_disconnect(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    _press_release(rig)
    rig.camera.unplug()
    rig.reconnect()
    table = rig.sony.read_properties()
    assert table.value(SonyProp.SHOOTING_FILE_INFO) == 0x8001


def test_the_7rm4_reads_2_at_idle_and_shoots_with_press_2(rig_factory: Callable[..., Rig]) -> None:
    # sony-a7r4.txt: 0xD2C1/0xD2C2 read 2 at idle; press 2, release 1 (sony-ptp.md 14.1, 14.2).
    rig = rig_factory(model="ILCE-7RM4", controls_in_prop_list=True, post_connect_settle_s=0.0)
    _press_release(rig)
    table = rig.sony.read_properties()
    assert table.value(SonyControl.S1_BUTTON) == 2  # a reserved field, not the button state
    assert len(rig.camera.body.shots) == 1


def test_live_view_frames_and_rate_limit(rig: Rig) -> None:
    response, payload = rig.session.transaction(OpCode.GET_OBJECT, (LIVE_VIEW_HANDLE,))
    data = payload.tobytes()
    offset, size = int.from_bytes(data[:4], "little"), int.from_bytes(data[4:8], "little")
    assert data[offset : offset + 2] == b"\xff\xd8" and len(data) == offset + size
    response, payload = rig.session.transaction(OpCode.GET_OBJECT, (LIVE_VIEW_HANDLE,), check=False)
    assert (
        response.code == ResponseCode.ACCESS_DENIED
        and int.from_bytes(payload.tobytes()[4:8], "little") == 0
    )
    rig.clock.advance(0.05)
    assert (
        rig.session.transaction(OpCode.GET_OBJECT, (LIVE_VIEW_HANDLE,))[0].code == ResponseCode.OK
    )


@pytest.mark.parametrize(
    ("still_format", "files"),
    [(1, ["ARW"]), (2, ["JPG", "ARW"]), (3, ["JPG"]), (4, ["ARW"]), (9, ["ARW"])],
)
def test_a_body_without_0x5004_leaves_the_files_its_0xd253_names(
    still_format: int, files: list[str]
) -> None:
    # sony-a7sm3.txt: the a7S III has File Format (Still) 0xD253 and no 0x5004 (sony-ptp.md 5.1:
    # 1 RAW, 2 RAW+JPEG, 3 JPEG, 4 RAW+HEIF; the simulator renders no HEIF, unknown means RAW).
    body = SimulatedBody(
        FakeClock(), BodySettings(report=load_report(GPHOTO_REPORTS / "sony-a7sm3.txt"))
    )
    assert SonyProp.COMPRESSION not in body.props
    body.props[SonyProp.STILL_FILE_FORMAT].current = still_format
    body.preload_stale_images()
    assert [f.filename[-3:] for f in body.buffer] == files
