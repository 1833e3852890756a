"""Every fault of the simulator's fault plan at every phase of an exposure, through the device
worker: the worker thread survives, state and message say what happened, and every image the
simulated camera took ends up on disk exactly once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from alpaca_sony.camera.exposure import ExposureRequest
from alpaca_sony.camera.state import CameraState
from alpaca_sony.ptp.codes import OpCode
from alpaca_sony.simulator.faults import FaultPlan
from alpaca_sony.sony.codes import SonyOp, SonyProp
from tests.camera.conftest import WorkerRig

GET_ALL = SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO
CONTROL = SonyOp.SDIO_CONTROL_DEVICE


@dataclass(frozen=True)
class Case:
    name: str
    arm: Callable[[FaultPlan], object]
    lost: bool  # the connection drops (unplug or a timeout): expect Error, then recovery
    focus: str = "MF"


# 0x9209 occurrences during one exposure (MF, shutter already right): 1 read, 2 drain check,
# 3-4 shutter set and verified, 5 before S1, 6.. polling. 0x9207: 1 the shutter notch, 2 S1 down,
# 3 S2 down, 4 S2 up, 5 S1 up.
CASES = [
    Case("unplug at first settings read", lambda f: f.disconnect(GET_ALL, 1), lost=True),
    Case("unplug at the shutter notch", lambda f: f.disconnect(CONTROL, 1), lost=True),
    Case("unplug at S1 press", lambda f: f.disconnect(CONTROL, 2), lost=True),
    Case("unplug at S2 press", lambda f: f.disconnect(CONTROL, 3), lost=True),
    Case("unplug at S2 release", lambda f: f.disconnect(CONTROL, 4), lost=True),
    Case("unplug while polling", lambda f: f.disconnect(GET_ALL, 6), lost=True),
    Case("unplug at ObjectInfo", lambda f: f.disconnect(OpCode.GET_OBJECT_INFO, 1), lost=True),
    Case("unplug mid download", lambda f: f.disconnect(OpCode.GET_OBJECT, 1, 9_000_000), lost=True),
    Case("timeout at S1 press", lambda f: f.stall(CONTROL, after=1), lost=True),
    Case("timeout at S2 press", lambda f: f.stall(CONTROL, after=2), lost=True),
    Case("timeout while polling", lambda f: f.stall(GET_ALL, after=5), lost=True),
    Case("timeout at download", lambda f: f.stall(OpCode.GET_OBJECT), lost=True),
    Case("busy burst", lambda f: f.busy(5), lost=False),
    Case("busy on download", lambda f: f.busy(3, OpCode.GET_OBJECT), lost=False),
    Case("split reads", lambda f: f.split_reads(100_000), lost=False),
    Case("stray zero-length packets", lambda f: f.stray_zero_length_packets(4), lost=False),
    Case("endpoint stall", lambda f: f.stall_bulk_in(), lost=False),
    Case("autofocus miss", lambda f: f.autofocus_miss(1), lost=False, focus="AF-S"),
]


def _sequence_numbers(names: list[str]) -> Counter[int]:
    return Counter(int(re.split(r"_", n)[2]) for n in names if n.endswith(".ARW"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault(worker_factory: Callable[..., WorkerRig], case: Case) -> None:
    rig = worker_factory(focus=case.focus)
    rig.camera.body.preload_stale_images(1)
    rig.worker.connect()
    rig.wait_for(lambda s: len(s.saved_files) == 1)
    case.arm(rig.camera.faults)
    rig.worker.start_exposure(ExposureRequest(2.0))
    snap = rig.wait_for(lambda s: s.state in (CameraState.IDLE, CameraState.ERROR))
    if case.lost:
        assert snap.state == CameraState.ERROR, snap
        assert "connection was lost" in snap.message
        if not rig.camera.attached:
            rig.camera.replug()
    else:
        assert snap.state == CameraState.IDLE and snap.image_ready, snap.message
    # The worker reconnects by itself and takes whatever the camera still holds.
    # (value() lets the body catch up with its clock: a fixed-speed shot may still be running.)
    rig.wait_for(lambda s: s.online and rig.camera.body.value(SonyProp.SHOOTING_FILE_INFO) == 0)
    rig.wait_for(lambda s: len(_sequence_numbers(rig.files())) == len(rig.camera.body.shots))
    assert rig.worker.alive
    on_disk = _sequence_numbers(rig.files())
    taken = {shot.sequence for shot in rig.camera.body.shots}
    assert set(on_disk) == taken and all(count == 1 for count in on_disk.values())
    # And the camera still works afterwards.
    rig.worker.start_exposure(ExposureRequest(1.0))
    snap = rig.wait_idle()
    assert snap.state == CameraState.IDLE and snap.image_ready, snap.message


def test_a_lost_exposure_stays_failed_until_the_next_one(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    """A client polling every few seconds must still see why its exposure failed: the cause
    survives the reconnect attempts (camera unplugged) and the reconnect itself."""
    rig = worker_factory()
    rig.worker.connect()
    rig.camera.faults.disconnect(CONTROL, 2)  # unplugged at the S1 press
    rig.worker.start_exposure(ExposureRequest(2.0))
    rig.wait_for(lambda s: "waiting for the camera" in s.message)  # a reconnect attempt failed
    snap = rig.worker.snapshot()
    assert snap.state == CameraState.ERROR
    assert "connection was lost" in snap.message
    rig.camera.replug()
    snap = rig.wait_for(lambda s: s.online)
    assert snap.state == CameraState.ERROR
    assert "connection was lost" in snap.message
    assert "waiting for the camera" not in snap.message  # no longer waiting
    rig.worker.start_exposure(ExposureRequest(1.0))
    snap = rig.wait_idle()
    assert snap.state == CameraState.IDLE and snap.image_ready, snap.message
    assert snap.message == ""
