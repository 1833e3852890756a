"""Where an exposure no longer waits for itself: the camera is set up during the wait after
connecting, and the original is written to disk while the frame decodes (issue 10 point 2)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import alpaca_sony.camera.exposure as exposure_module
from alpaca_sony.camera.exposure import (
    CaptureOptions,
    ExposureControl,
    ExposureRequest,
    ExposureRunner,
)
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.simulator.arw import read_sequence
from alpaca_sony.sony.codes import SonyProp
from tests.conftest import Rig

# The spool's writer fsyncs what it wrote while downloading; originals staged from memory get a
# write-back thread of their own.
WRITE_BACK_THREADS = {"original-spool", "originals-write-back"}


def test_the_first_exposure_is_set_up_while_the_camera_settles(
    rig_factory: Callable[..., Rig],
) -> None:
    # Default settle (3 s from the handshake); ISO and shutter both need notches (0.3 s each).
    rig = rig_factory(iso=800)
    runner = ExposureRunner(rig.clock, CaptureOptions(save_originals=False), None)
    request = ExposureRequest(1 / 60, iso=6400)
    outcome = runner.run(rig.capture, request, ExposureControl(), lambda *_: None)
    assert outcome.frame is not None
    body = rig.camera.body
    assert body.value(SonyProp.ISO) == 6400 and body.refusals == []
    settled = body.settled_at()
    shot = body.own_times()[-1]
    assert settled is not None
    assert shot.started_at >= settled  # never shot before the camera settled (sony-ptp.md 14.6)
    # The notches landed inside the window: S2 follows its end by one read and two presses.
    assert shot.started_at - settled < 2 * rig.camera.settings.notch_delay_s


def test_the_original_is_written_back_while_the_frame_decodes(
    rig_factory: Callable[..., Rig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    runner = ExposureRunner(rig.clock, CaptureOptions(), OriginalsFolder(tmp_path, 0))
    written_back = threading.Event()
    fsync = os.fsync

    def watched_fsync(fd: int) -> None:
        fsync(fd)
        if threading.current_thread().name in WRITE_BACK_THREADS:
            written_back.set()

    decode = vars(exposure_module)["decode"]
    during_decode: list[bool] = []

    def watched_decode(*args: Any, **kwargs: Any) -> Any:
        frame = decode(*args, **kwargs)
        # Bounded: the write-back started before decoding, so it ends long before this.
        during_decode.append(written_back.wait(10))
        return frame

    monkeypatch.setattr(os, "fsync", watched_fsync)
    monkeypatch.setitem(vars(exposure_module), "decode", watched_decode)
    outcome = runner.run(rig.capture, ExposureRequest(1 / 125), ExposureControl(), lambda *_: None)
    assert during_decode == [True]
    (saved,) = runner.commit(outcome.staged)
    assert outcome.frame is not None
    assert read_sequence(outcome.frame.pixels.T) == rig.camera.body.shots[-1].sequence
    assert saved.suffix == ".ARW" and saved.stat().st_size > 0


def test_a_failed_write_back_still_saves_the_original(
    rig_factory: Callable[..., Rig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    runner = ExposureRunner(rig.clock, CaptureOptions(), OriginalsFolder(tmp_path, 0))
    fsync = os.fsync
    refused: list[int] = []

    def failing_on_write_back(fd: int) -> None:
        if threading.current_thread().name in WRITE_BACK_THREADS:
            refused.append(fd)
            raise OSError(5, "Input/output error")
        fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_on_write_back)
    outcome = runner.run(rig.capture, ExposureRequest(1 / 125), ExposureControl(), lambda *_: None)
    (saved,) = runner.commit(outcome.staged)
    assert refused, "the write-back never ran: the test did not test it"
    assert saved.exists() and runner.disk_trouble() == ""
    assert not list(tmp_path.glob(".incoming-*"))
