"""Disk trouble never loses an original silently (issue 9 point 7).

A save folder that fills up, turns read-only or disappears: the exposure still completes and the
client gets its image, the original waits in memory (bounded) until the folder takes it, the
snapshot and the log say so, nothing already saved is touched, and saving resumes on its own.

How the faults are made: tests run as root in CI, where chmod does not stop a write, and no tmpfs
is available. So :class:`FolderFault` makes the OS calls OriginalsFolder uses (os.open with
O_CREAT, os.link, os.rename) raise the OSError a full or read-only filesystem raises, for paths
inside the folder only; everything else, including reads, runs for real. A vanishing folder is a
real ``shutil.rmtree``.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpaca_sony.camera.decode import DecodeOptions, ReadoutMode, Subframe, decode
from alpaca_sony.camera.exposure import CaptureOptions, ExposureRequest, ExposureRunner
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.state import CameraSnapshot
from alpaca_sony.clock import FakeClock
from alpaca_sony.simulator.arw import read_sequence
from tests.camera.conftest import WorkerRig
from tests.camera.test_originals import ARW, downloaded, runner, visible


class FolderFault:
    """Makes writes inside one folder fail with ``error`` while ``on``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path, error: int):
        self.folder = str(folder)
        self.error = error
        self.on = True
        real_open, real_link, real_rename = os.open, os.link, os.rename

        def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if flags & os.O_CREAT:
                self._check(path)
            return real_open(path, flags, *args, **kwargs)

        def refusing_link(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            self._check(dst)
            real_link(src, dst, *args, **kwargs)

        def refusing_rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            self._check(dst)
            real_rename(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)
        monkeypatch.setattr(os, "link", refusing_link)
        monkeypatch.setattr(os, "rename", refusing_rename)

    def _check(self, path: Any) -> None:
        if self.on and os.fspath(path).startswith(self.folder):
            raise OSError(self.error, os.strerror(self.error), os.fspath(path))


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, int], FolderFault]:
    return lambda folder, error: FolderFault(monkeypatch, folder, error)


def limited_runner(folder: Path, limit_bytes: int) -> ExposureRunner:
    options = CaptureOptions(pending_limit_bytes=limit_bytes)
    return ExposureRunner(FakeClock(), options, OriginalsFolder(folder, 0))


def _expose(rig: WorkerRig, seconds: float) -> CameraSnapshot:
    rig.worker.start_exposure(ExposureRequest(seconds))
    return rig.wait_idle()


def _sequence_in(path: Path) -> int | None:
    frame = decode(path, ReadoutMode.RAW, Subframe(), 16383, DecodeOptions(), "ILCE-7M3")
    return read_sequence(frame.pixels.T)


def test_a_full_disk_keeps_the_image_says_so_and_saves_when_space_returns(
    worker_factory: Callable[..., WorkerRig],
    fault: Callable[[Path, int], FolderFault],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = worker_factory()
    rig.worker.connect()
    _expose(rig, 1.0)
    (first,) = rig.files()
    first_bytes = (rig.folder / first).read_bytes()

    disk = fault(rig.folder, errno.ENOSPC)
    snap = _expose(rig, 2.0)
    assert snap.image_ready and rig.frame() is not None  # the client still gets its image
    assert read_sequence(rig.frame().pixels.T) == rig.camera.body.shots[-1].number  # type: ignore[union-attr]
    snap = rig.wait_for(lambda s: "held in memory" in s.disk_trouble)
    assert "No space left on device" in snap.disk_trouble
    assert snap.message == snap.disk_trouble  # where the API already shows the camera's state
    assert any("holding it in memory" in r.message for r in caplog.records)
    assert rig.files() == [first]
    assert (rig.folder / first).read_bytes() == first_bytes  # nothing saved is touched

    disk.on = False  # space returns: the idle loop writes the held original
    snap = rig.wait_for(lambda s: s.disk_trouble == "")
    assert snap.message == ""
    (held,) = set(rig.files()) - {first}
    assert _sequence_in(rig.folder / held) == rig.camera.body.shots[-1].number
    assert str(rig.folder / held) in snap.saved_files
    assert (rig.folder / first).read_bytes() == first_bytes


def test_a_folder_turned_read_only_between_stage_and_commit_keeps_the_exact_bytes(
    tmp_path: Path, fault: Callable[[Path, int], FolderFault]
) -> None:
    run = runner(tmp_path)
    staged = run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None)
    disk = fault(tmp_path, errno.EROFS)
    assert run.commit(staged) == []
    assert [item.data for item in run.pending.items] == [ARW]
    assert "Read-only file system" in run.disk_trouble()
    assert run.flush_pending() == []  # still refused: still held, nothing half-written left
    assert list(tmp_path.iterdir()) == [] and len(run.pending.items) == 1

    disk.on = False
    (saved,) = run.flush_pending()
    assert saved.read_bytes() == ARW and visible(tmp_path) == [saved.name]
    assert run.disk_trouble() == "" and run.pending.items == []


def test_held_originals_are_written_oldest_first_and_keep_their_names(
    tmp_path: Path, fault: Callable[[Path, int], FolderFault]
) -> None:
    run = runner(tmp_path)
    disk = fault(tmp_path, errno.ENOSPC)
    for n in (1, 2):
        run.stage("ILCE-7M3", [downloaded(f"DSC{n}.ARW", ARW + bytes([n]), n)], 1.0, None)
    disk.on = False
    saved = run.flush_pending()
    assert [p.read_bytes()[-1] for p in saved] == [1, 2]
    assert ["_000001_" in saved[0].name, "_000002_" in saved[1].name] == [True, True]


def test_beyond_the_memory_bound_a_loss_is_loud_and_stays_in_the_message(
    tmp_path: Path, fault: Callable[[Path, int], FolderFault], caplog: pytest.LogCaptureFixture
) -> None:
    run = limited_runner(tmp_path, len(ARW) + 10)
    fault(tmp_path, errno.ENOSPC)
    run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW, 1)], 1.0, None)
    run.stage("ILCE-7M3", [downloaded("DSC2.ARW", ARW, 2)], 1.0, None)
    assert len(run.pending.items) == 1
    trouble = run.disk_trouble()
    assert "1 original(s) could not be saved or held and are lost" in trouble
    assert "_000002_" in trouble  # which one, so the user can still take it off the card
    assert any(
        r.levelno == logging.ERROR and r.message.startswith("LOST original") for r in caplog.records
    )


def test_a_folder_that_disappears_after_staging_is_a_loud_loss_not_a_silent_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "originals"
    run = runner(folder)
    staged = run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None)
    shutil.rmtree(folder)  # unplugged with the staged file in it
    assert run.commit(staged) == []
    assert "are lost" in run.disk_trouble()


def test_a_folder_that_disappears_between_shots_is_made_again(tmp_path: Path) -> None:
    folder = tmp_path / "originals"
    run = runner(folder)
    run.save("ILCE-7M3", [downloaded("DSC1.ARW", ARW, 1)], 1.0, None)
    shutil.rmtree(folder)
    (saved,) = run.save("ILCE-7M3", [downloaded("DSC2.ARW", ARW, 2)], 1.0, None)
    assert saved.read_bytes() == ARW and run.disk_trouble() == ""


def test_originals_still_held_when_the_server_stops_are_logged_as_lost(
    worker_factory: Callable[..., WorkerRig],
    fault: Callable[[Path, int], FolderFault],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = worker_factory()
    rig.worker.connect()
    fault(rig.folder, errno.ENOSPC)
    _expose(rig, 1.0)
    rig.wait_for(lambda s: "held in memory" in s.disk_trouble)
    rig.worker.stop()
    lost = [r for r in caplog.records if r.message.startswith("LOST original")]
    assert len(lost) == 1 and "the server stopped" in lost[0].message
