"""The simulated camera holds a file's bytes only while the file waits in its buffer (sony-ptp.md
6.5: each GetObject consumes one file), so a night of frames costs the memory of one."""

from __future__ import annotations

import tracemalloc

import pytest

from alpaca_sony.errors import DeviceDisconnected
from alpaca_sony.ptp.codes import OpCode
from alpaca_sony.sony.capture import ExposurePlan, plan_exposure, shutter_ladder
from tests.conftest import Rig


def _plan(rig: Rig) -> ExposurePlan:
    plan = plan_exposure(1 / 125, shutter_ladder(rig.capture.read_settings(), rig.sony.model))
    rig.capture.set_shutter(plan.shutter_raw)
    return plan


def test_downloaded_frames_leave_no_bytes_behind(rig: Rig) -> None:
    plan = _plan(rig)
    frame_bytes = len(rig.capture.expose(plan).files[0].data)  # warms the sky cache too
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            assert rig.capture.expose(plan).files  # each result dropped, as the host saves it
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < frame_bytes // 10, f"{grown} bytes kept after 3 frames of {frame_bytes}"
    assert rig.camera.held_file_bytes == 0
    # What tests read about each shot stays: its number and its one download.
    body = rig.camera.body
    assert [shot.number for shot in body.shots] == [1, 2, 3, 4]
    assert all(f.downloads == 1 for shot in body.shots for f in shot.files)


def test_a_file_keeps_its_bytes_while_it_waits_in_the_buffer(rig: Rig) -> None:
    plan = _plan(rig)
    rig.camera.faults.disconnect(OpCode.GET_OBJECT, after_bytes=5_000_000)
    with pytest.raises(DeviceDisconnected):
        rig.capture.expose(plan)
    waiting = rig.camera.body.buffer[0]
    held = rig.camera.held_file_bytes
    assert held > 5_000_000  # the whole file, across the unplug
    rig.reconnect()
    result = rig.capture.expose(plan)
    (stale,) = result.stale_files
    assert stale.info.filename == waiting.filename and len(stale.data) == held
    assert rig.camera.held_file_bytes == 0  # gone with the file once it went over the cable


def test_a_download_in_short_reads_costs_about_its_own_size(rig: Rig) -> None:
    # A USB stack that hands the data over in 1 MB pieces (FaultPlan.split_reads): each piece
    # must cost its own bytes, not the 8 MiB read buffer it arrived in.
    plan = _plan(rig)
    rig.camera.faults.split_reads(1_000_000)
    tracemalloc.start()
    try:
        frame_bytes = len(rig.capture.expose(plan).files[0].data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        rig.camera.faults.split_reads(None)
    assert peak < 3 * frame_bytes, f"peak {peak} bytes for a {frame_bytes}-byte file"
