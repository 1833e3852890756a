"""The capture pipeline through the device worker, on a fast clock (300 s BULB in milliseconds)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from alpaca_sony.camera.decode import ReadoutMode, Subframe
from alpaca_sony.camera.exposure import CaptureOptions, ExposureRequest
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.state import CameraState
from alpaca_sony.errors import CameraError
from alpaca_sony.simulator.arw import read_sequence
from alpaca_sony.simulator.images import shot_mosaic
from alpaca_sony.sony.codes import SonyProp
from tests.camera.conftest import WorkerRig


def _expose(rig: WorkerRig, seconds: float, **kwargs: object):  # type: ignore[no-untyped-def]
    rig.worker.start_exposure(ExposureRequest(seconds, **kwargs))  # type: ignore[arg-type]
    return rig.wait_idle()


@pytest.mark.parametrize(
    ("seconds", "bulb"), [(1 / 8000, False), (2.5, False), (30, False), (300, True), (7.3, True)]
)
def test_exposures_last_as_requested(
    worker_factory: Callable[..., WorkerRig], seconds: float, bulb: bool
) -> None:
    rig = worker_factory()
    rig.worker.connect()
    snap = _expose(rig, seconds)
    assert snap.state == CameraState.IDLE and snap.image_ready, snap.message
    shot = rig.camera.body.shots[-1]
    assert shot.exposure_s == pytest.approx(seconds, rel=1e-6)
    assert (shot.shutter == 0) == bulb
    assert snap.exposure is not None and snap.exposure.bulb == bulb
    assert snap.exposure.actual_s == pytest.approx(seconds, rel=1e-6)
    frame = rig.frame()
    assert frame is not None and frame.pixels.shape == (6024, 4024)
    assert read_sequence(frame.pixels.T) == shot.number
    assert len(rig.files()) == 1 and rig.files()[0].endswith(".ARW")


def test_prefer_builtin_speeds_avoids_bulb(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(CaptureOptions(prefer_builtin_speeds=True))
    rig.worker.connect()
    _expose(rig, 7.3)
    assert rig.camera.body.shots[-1].exposure_s == pytest.approx(8.0)  # nearest: 8"
    assert rig.worker.snapshot().exposure.planned_s == pytest.approx(8.0)  # type: ignore[union-attr]


def test_bulb_outside_manual_mode_is_refused_clearly(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(program="A")
    rig.worker.connect()
    snap = _expose(rig, 120)
    assert snap.state == CameraState.ERROR and "mode dial on M" in snap.message
    assert rig.camera.body.shots == []


def test_a_speed_that_does_not_stick_is_caught(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(program="A")  # in A mode the body picks the speed itself
    rig.worker.connect()
    snap = _expose(rig, 1 / 500)
    assert snap.state == CameraState.ERROR
    assert (
        "kept shutter speed" in snap.message and "set the camera's mode dial to M" in snap.message
    )
    assert rig.camera.body.shots == []


def test_iso_is_set_and_verified(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory()
    rig.worker.connect()
    _expose(rig, 1.0, iso=6400)
    assert rig.camera.body.value(SonyProp.ISO) == 6400
    assert rig.files()[0].endswith("_1s_ISO6400.ARW")


def test_stale_images_are_saved_and_never_the_new_frame(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory()
    rig.camera.body.preload_stale_images(2)
    rig.worker.connect()
    snap = rig.wait_for(lambda s: len(s.saved_files) == 2)
    assert all(name.endswith("_recovered.ARW") for name in snap.saved_files)
    snap = _expose(rig, 2.0)
    frame = rig.frame()
    assert frame is not None and read_sequence(frame.pixels.T) == 3
    assert len(rig.files()) == 3


def test_raw_jpeg_pairs_stay_paired(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(CaptureOptions(keep_jpeg=True), compression=0x13)
    rig.worker.connect()
    for _ in range(2):
        _expose(rig, 0.5)
    files = rig.files()
    assert len(files) == 4
    stems = {name.rsplit(".", 1)[0] for name in files}
    assert len(stems) == 2 and {name.rsplit(".", 1)[1] for name in files} == {"ARW", "JPG"}


def test_jpeg_dropped_by_default(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(compression=0x13)
    rig.worker.connect()
    snap = _expose(rig, 0.5)
    assert snap.image_ready and [n[-3:] for n in rig.files()] == ["ARW"]
    assert not rig.camera.body.buffer  # the JPEG was still taken off the camera


def test_a_jpeg_only_camera_gets_a_clear_error_and_its_jpeg_is_kept(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    # 0x03: JPEG Fine alone (sony-ptp.md 5.1); the frame cannot be decoded, the picture is kept.
    rig = worker_factory(CaptureOptions(keep_jpeg=True), compression=0x03)
    rig.worker.connect()
    snap = _expose(rig, 0.5)
    assert snap.state == CameraState.ERROR and not snap.image_ready
    assert "sent no RAW file: set its file format to RAW or RAW+JPEG" in snap.message
    files = rig.files()
    assert [name.rsplit(".", 1)[1] for name in files] == ["JPG"]
    assert files[0] in snap.message and not rig._incoming()


def _start_bulb_and_wait_for_hold(rig: WorkerRig, seconds: float) -> None:
    rig.worker.connect()
    rig.worker.start_exposure(ExposureRequest(seconds))
    rig.wait_for(lambda s: s.state == CameraState.EXPOSING)
    assert rig.clock.waiting.wait(10)


def test_abort_ends_bulb_at_once_and_still_downloads(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(real_wait_s=10.0)
    _start_bulb_and_wait_for_hold(rig, 600)
    rig.worker.abort_exposure()
    snap = rig.wait_idle()
    assert not snap.image_ready and rig.frame() is None
    assert snap.exposure is not None and snap.exposure.aborted
    shot = rig.camera.body.shots[-1]
    assert shot.exposure_s < 5  # ended at once, not after 600 s
    assert not rig.camera.body.buffer and len(rig.files()) == 1  # downloaded and saved


def test_stop_ends_bulb_early_and_keeps_the_image(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(real_wait_s=10.0)
    _start_bulb_and_wait_for_hold(rig, 600)
    rig.worker.stop_exposure()
    snap = rig.wait_idle()
    assert snap.image_ready and rig.frame() is not None
    assert snap.exposure is not None and snap.exposure.stopped and not snap.exposure.aborted
    assert snap.exposure.actual_s is not None and snap.exposure.actual_s < 5


def test_second_exposure_while_busy_is_refused(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(real_wait_s=10.0)
    _start_bulb_and_wait_for_hold(rig, 600)
    with pytest.raises(CameraError, match="already in progress"):
        rig.worker.start_exposure(ExposureRequest(1))
    rig.worker.abort_exposure()
    rig.wait_idle()


def test_status_reads_never_wait_on_usb(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(real_wait_s=10.0)
    _start_bulb_and_wait_for_hold(rig, 600)
    done = threading.Event()

    def poll() -> None:
        for _ in range(1000):
            rig.worker.snapshot()
        done.set()

    threading.Thread(target=poll).start()
    assert done.wait(2)  # the worker is blocked in the exposure; snapshots still answer
    rig.worker.abort_exposure()
    rig.wait_idle()


def test_autofocus_miss_is_retried_once_with_a_longer_pause(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(focus="AF-S")
    rig.worker.connect()
    rig.camera.faults.autofocus_miss(1)
    snap = _expose(rig, 0.5)
    assert snap.image_ready and len(rig.camera.body.shots) == 1


def test_autofocus_that_keeps_missing_suggests_manual_focus(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(focus="AF-S")
    rig.worker.connect()
    rig.camera.faults.autofocus_miss(2)
    snap = _expose(rig, 0.5)
    assert snap.state == CameraState.ERROR and "manual focus" in snap.message
    snap = _expose(rig, 0.5)  # the worker is still alive and the next one works
    assert snap.image_ready


@pytest.mark.parametrize("readout", list(ReadoutMode))
def test_readout_modes_subframes_and_binning(
    worker_factory: Callable[..., WorkerRig], readout: ReadoutMode
) -> None:
    rig = worker_factory()
    rig.worker.connect()
    sub = Subframe(start_x=100, start_y=50, num_x=400, num_y=300, bin_x=2, bin_y=2)
    snap = _expose(rig, 1.0, readout=readout, subframe=sub)
    frame = rig.frame()
    assert snap.image_ready and frame is not None
    expected_shape = (400, 300) if readout == ReadoutMode.RAW else (400, 300, 3)
    assert frame.pixels.shape == expected_shape
    if readout == ReadoutMode.RAW:
        mosaic = shot_mosaic(rig.camera.body, rig.camera.body.shots[-1].number)[:, :6024]
        block = mosaic[100:700, 200:1000].astype(np.uint32)
        binned = (block.reshape(300, 2, 400, 2).sum(axis=(1, 3)) + 2) // 4
        assert np.array_equal(frame.pixels.T, binned)
        assert (frame.bayer_offset_x, frame.bayer_offset_y) == (0, 0)


@pytest.mark.parametrize(
    ("pattern", "offsets"),
    [("RGGB", (0, 0)), ("GRBG", (1, 0)), ("GBRG", (0, 1)), ("BGGR", (1, 1))],
)
def test_bayer_offsets_follow_the_true_colour_layout(
    worker_factory: Callable[..., WorkerRig], pattern: str, offsets: tuple[int, int]
) -> None:
    rig = worker_factory(cfa_pattern=pattern)
    rig.worker.connect()
    _expose(rig, 1.0)
    frame = rig.frame()
    assert frame is not None and (frame.bayer_offset_x, frame.bayer_offset_y) == offsets
    # The red sites the offsets point at really are red: the simulated sky is brightest in red.
    mosaic = frame.pixels.T.astype(np.float64)
    x, y = offsets
    red = np.median(mosaic[y::2, x::2])
    blue = np.median(mosaic[1 - y :: 2, 1 - x :: 2])
    assert red > blue


def test_low_disk_space_warns_and_keeps_serving(
    worker_factory: Callable[..., WorkerRig], caplog: pytest.LogCaptureFixture
) -> None:
    rig = worker_factory()
    rig.worker._runner.originals.min_free_bytes = 1 << 62  # type: ignore[union-attr]
    rig.worker.connect()
    snap = _expose(rig, 1.0)
    assert snap.image_ready and len(rig.files()) == 1
    assert any("originals may not fit" in r.message for r in caplog.records)


def test_unwritable_folder_keeps_serving(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory()
    rig.folder.parent.mkdir(parents=True, exist_ok=True)
    rig.folder.write_text("not a folder")  # saving fails: the frame must still arrive
    rig.worker.connect()
    snap = _expose(rig, 1.0)
    assert snap.image_ready and rig.frame() is not None


def test_a_shutter_button_held_on_the_camera_is_refused_clearly(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(controls_in_prop_list=True)
    rig.worker.connect()
    rig.camera.body.hold_shutter_button(True)
    snap = _expose(rig, 1.0)
    # The read-back cannot show it (sony-ptp.md 14.2): no picture, and a message that says why.
    assert snap.state == CameraState.ERROR and "holds its shutter button" in snap.message
    assert rig.camera.body.shots == []
    rig.camera.body.hold_shutter_button(False)
    assert _expose(rig, 1.0).image_ready


@pytest.mark.parametrize(("also_card", "expected"), [(False, 0x0001), (True, 0x0011)])
def test_save_destination_is_the_host_with_an_optional_card_copy(
    worker_factory: Callable[..., WorkerRig], also_card: bool, expected: int
) -> None:
    rig = worker_factory(CaptureOptions(also_save_to_card=also_card))
    rig.camera.body.props[SonyProp.SAVE_DESTINATION].current = 0x0010  # left on "card only"
    rig.worker.connect()
    assert rig.camera.body.value(SonyProp.SAVE_DESTINATION) == expected


def test_v3_bodies_give_the_host_priority(worker_factory: Callable[..., WorkerRig]) -> None:
    rig = worker_factory(model="ILCE-7SM3")  # v3 by the 0x9202 dump in sony-a7sm3.txt
    rig.worker.connect()
    assert rig.camera.body.value(SonyProp.POSITION_KEY) == 1
    assert _expose(rig, 1.0).image_ready


def test_stopping_the_server_mid_exposure_keeps_the_image(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(real_wait_s=10.0)
    _start_bulb_and_wait_for_hold(rig, 600)
    rig.worker.stop()  # what SIGTERM does: the BULB ends, the file still comes off and is saved
    assert not rig.worker.alive
    assert not rig.camera.body.buffer
    assert len(rig.files()) == 1 and rig.files()[0].endswith(".ARW")


def test_an_image_shot_with_the_cameras_own_button_while_idle_is_recovered(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory()
    rig.worker.connect()
    rig.wait_for(lambda s: s.state == CameraState.IDLE)
    # The DLL's idle loop downloads images that arrive without a host capture (sony-ptp.md 6.3).
    rig.camera.body.preload_stale_images(1)
    snap = rig.wait_for(lambda s: len(s.saved_files) == 1, timeout_s=20)
    assert snap.saved_files[0].endswith("_recovered.ARW") and not rig.camera.body.buffer


def test_saving_never_overwrites_an_existing_original(tmp_path: Path) -> None:
    folder = OriginalsFolder(tmp_path, 0)
    first = folder.commit(folder.stage([b"first"]), "frame", "ARW")
    second = folder.commit(folder.stage([b"second"]), "frame", "ARW")
    assert first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")


def test_an_image_that_comes_late_is_never_shot_again(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    # sony-ptp.md 14.3: a body still processing must never be re-triggered (a second shot).
    rig = worker_factory(focus="AF-S", processing_s=8.0)
    rig.camera.faults.hide_processing()
    rig.worker.connect()
    snap = _expose(rig, 0.5)
    assert snap.state == CameraState.ERROR and "did not take a picture" in snap.message
    assert len(rig.camera.body.shots) == 1
    # The image arrives after all: the idle poll saves it, nothing is lost.
    rig.clock.advance(10)
    snap = rig.wait_for(lambda s: len(s.saved_files) == 1, timeout_s=20)
    assert snap.saved_files[0].endswith("_recovered.ARW") and len(rig.camera.body.shots) == 1


@pytest.mark.parametrize("drive", [0x0002, 0x8004], ids=["continuous-hi", "self-timer-10s"])
def test_drive_mode_is_set_to_single_shot(
    worker_factory: Callable[..., WorkerRig], drive: int
) -> None:
    # Sony's sample code sets 0x5013 to single shot; with continuous drive one press would
    # shoot a burst, with a self-timer the shot comes 10 s late (sony-ptp.md 14.8).
    rig = worker_factory()
    rig.camera.body.props[SonyProp.STILL_CAPTURE_MODE].current = drive
    rig.worker.connect()
    snap = _expose(rig, 1 / 125)
    assert snap.image_ready and len(rig.camera.body.shots) == 1
    assert rig.camera.body.value(SonyProp.STILL_CAPTURE_MODE) == 0x0001
    started = snap.exposure.started_monotonic
    assert started is not None and rig.camera.body.shots[0].started_at - started < 0.5


def test_a_card_only_destination_is_named_not_blamed_on_autofocus(
    worker_factory: Callable[..., WorkerRig],
) -> None:
    rig = worker_factory(focus="AF-S")
    prop = rig.camera.body.props[SonyProp.SAVE_DESTINATION]
    prop.current, prop.get_set = 0x0010, 0x00  # "camera only", read-only over USB (v2)
    rig.worker.connect()
    snap = _expose(rig, 1 / 125)
    assert snap.state == CameraState.ERROR and "Still Img. Save Dest." in snap.message
    assert "focus" not in snap.message and rig.camera.body.shots == []
