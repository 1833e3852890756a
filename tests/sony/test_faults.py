"""Faults from the simulator's fault plan: the driver reports each clearly, loses no image, and
the next session recovers what the camera still holds."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alpaca_sony.errors import (
    DeviceDisconnected,
    MalformedData,
    PtpResponseError,
    TransportError,
    TransportTimeout,
)
from alpaca_sony.ptp.codes import OpCode, ResponseCode
from alpaca_sony.sony.capture import ExposurePlan, plan_exposure, shutter_ladder
from alpaca_sony.sony.codes import SonyOp
from alpaca_sony.sony.values import SHUTTER_BULB
from tests.conftest import Rig


def _plan(rig: Rig, seconds: float = 1 / 125) -> ExposurePlan:
    plan = plan_exposure(seconds, shutter_ladder(rig.capture.read_settings(), rig.sony.model))
    rig.capture.set_shutter(plan.shutter_raw)
    return plan


def test_cable_pulled_mid_download_then_image_recovered(rig: Rig) -> None:
    plan = _plan(rig)
    rig.camera.faults.disconnect(OpCode.GET_OBJECT, after_bytes=5_000_000)
    with pytest.raises(DeviceDisconnected, match="disconnected"):
        rig.capture.expose(plan)
    body = rig.camera.body
    assert len(body.shots) == 1 and len(body.buffer) == 1  # still in the camera
    rig.reconnect()
    result = rig.capture.expose(plan)
    assert [f.info.sequence_number for f in result.stale_files] == [1]
    assert len(result.stale_files[0].data) == result.stale_files[0].info.compressed_size
    assert [f.info.sequence_number for f in result.files] == [2]
    assert all(f.downloads == 1 for s in body.shots for f in s.files)


@pytest.mark.parametrize(
    "operation",
    [SonyOp.SDIO_CONTROL_DEVICE, SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO, OpCode.GET_OBJECT_INFO],
)
def test_cable_pulled_at_an_operation(rig: Rig, operation: int) -> None:
    rig.capture.set_shutter(SHUTTER_BULB)
    occurrence = 3 if operation == SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO else 1
    rig.camera.faults.disconnect(operation, occurrence=occurrence)
    with pytest.raises(DeviceDisconnected):
        rig.capture.expose(plan_exposure(120, []))
    rig.reconnect()
    result = rig.capture.expose(plan_exposure(120, []))
    body = rig.camera.body
    # Whatever was shot before the drop comes off the camera in the next session, exactly once.
    taken = [f for s in body.shots for f in s.files]
    assert len(result.stale_files) + len(result.files) == len(taken)
    assert all(f.downloads == 1 for f in taken)


def test_busy_answers_are_retried(rig: Rig) -> None:
    plan = _plan(rig)
    rig.camera.faults.busy(times=4)
    result = rig.capture.expose(plan)
    assert len(result.files) == 1


def test_endless_busy_gives_a_typed_error(rig: Rig) -> None:
    rig.camera.faults.busy(times=100, operation=SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO)
    with pytest.raises(PtpResponseError) as info:
        rig.capture.read_settings()
    assert info.value.code == ResponseCode.DEVICE_BUSY
    assert "DEVICE_BUSY" in str(info.value)


def test_silent_camera_times_out_and_the_session_resynchronises(rig: Rig) -> None:
    rig.camera.faults.stall(SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO)
    with pytest.raises(TransportTimeout):
        rig.capture.read_settings()
    # The next transaction works: no stale reply is waiting to be mistaken for its answer.
    assert len(rig.capture.read_settings()) > 10


def test_split_reads_and_stray_zero_length_packets_keep_data_intact(rig: Rig) -> None:
    plan = _plan(rig)
    reference = rig.capture.expose(plan).files[0]
    rig.camera.faults.split_reads(70_000).stray_zero_length_packets(3)
    again = rig.capture.expose(plan).files[0]
    assert len(again.data) == len(reference.data)
    # Same sky, different stamped shot number: only the stamp's bytes differ.
    differing = sum(
        a != b for a, b in zip(reference.data.tobytes(), again.data.tobytes(), strict=True)
    )
    assert 0 < differing < 200


def test_stale_reply_of_an_abandoned_transaction_is_discarded(rig: Rig) -> None:
    # A reply the driver gave up on must not be taken as the answer to the next operation.
    rig.camera.faults.stall(SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO)
    with pytest.raises(TransportTimeout):
        rig.capture.read_settings()
    rig.camera.queue_raw_transfer(
        bytes.fromhex("0C000000 0300 0120 FFFF0000")  # a response for transaction 0xFFFF
    )
    assert len(rig.capture.read_settings()) > 10


def test_garbage_from_the_camera_is_a_typed_error(rig: Rig) -> None:
    rig.camera.queue_raw_transfer(bytes.fromhex("0C000000 0900 0120 00000000"))
    with pytest.raises(MalformedData):
        rig.capture.read_settings()


def test_autofocus_miss_is_detected_within_a_bounded_time(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(focus="AF-S")
    plan = _plan(rig)
    rig.camera.faults.autofocus_miss()
    start = rig.clock.monotonic()
    with pytest.raises(Exception, match="could not focus"):
        rig.capture.expose(plan)
    assert rig.clock.monotonic() - start < 10
    assert rig.capture.expose(plan).files  # the next attempt focuses and shoots


def test_a_stalled_endpoint_is_cleared_and_the_read_retried(rig: Rig) -> None:
    rig.camera.faults.stall_bulk_in()
    assert len(rig.capture.read_settings()) > 10
    rig.camera.faults.stall_bulk_in(2)  # stalls again after the retry: a typed error
    with pytest.raises(TransportError, match="Pipe"):
        rig.capture.read_settings()


def test_a_file_shorter_than_its_object_info_is_an_error_not_a_saved_frame(rig: Rig) -> None:
    plan = _plan(rig)
    rig.camera.faults.short_object()
    with pytest.raises(MalformedData, match="ObjectInfo said"):
        rig.capture.expose(plan)


def test_a_stalled_out_endpoint_is_cleared_and_the_write_retried(rig: Rig) -> None:
    # libgphoto2 usb.c: "Clearing halt on OUT EP and retrying once" (sony-ptp.md 14.7).
    rig.camera.faults.stall_bulk_out()
    assert len(rig.capture.read_settings()) > 10
    rig.camera.faults.stall_bulk_out(2)
    with pytest.raises(TransportError, match="Pipe"):
        rig.capture.read_settings()


def test_open_session_that_times_out_after_a_host_crash_gets_a_device_reset(
    rig_factory: Callable[..., Rig],
) -> None:
    # libgphoto2 library.c camera_init: an I/O error from OpenSession -> class request 0x66.
    rig = rig_factory(connect=False)
    rig.camera.faults.stall(OpCode.OPEN_SESSION)
    rig.sony.connect()
    assert rig.camera.device_resets == 1
    assert rig.capture.read_settings()
