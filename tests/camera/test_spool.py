"""Originals written to disk while they download (camera/spool.py, issue 10 point 2): written
once, exactly the bytes that came, and a spool that fails never costs the picture."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpaca_sony.camera.exposure import (
    CaptureOptions,
    ExposureControl,
    ExposureOutcome,
    ExposureRequest,
    ExposureRunner,
)
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.spool import DiskSpool
from alpaca_sony.errors import TransportError
from alpaca_sony.ptp.codes import OpCode
from alpaca_sony.sony.protocol import DownloadedFile
from tests.conftest import Rig

SPOOL_THREAD = "original-spool"


class Downloads:
    """What the driver downloaded (the bytes as they came) and the paths staged from memory."""

    def __init__(self, rig: Rig, monkeypatch: pytest.MonkeyPatch):
        self.files: list[bytes] = []
        self.staged_from_memory: list[Path] = []
        download = rig.sony.download

        def recorded(*args: Any, **kwargs: Any) -> DownloadedFile | None:
            file = download(*args, **kwargs)
            if file is not None:
                self.files.append(file.data.tobytes())
            return file

        monkeypatch.setattr(rig.sony, "download", recorded)
        stage = OriginalsFolder.stage

        def recorded_stage(folder: OriginalsFolder, chunks: Any) -> Path:
            path = stage(folder, chunks)
            self.staged_from_memory.append(path)
            return path

        monkeypatch.setattr(OriginalsFolder, "stage", recorded_stage)


def _shoot(rig: Rig, runner: ExposureRunner) -> tuple[ExposureOutcome, list[Path]]:
    outcome = runner.run(rig.capture, ExposureRequest(1 / 125), ExposureControl(), lambda *_: None)
    return outcome, runner.commit(outcome.staged)


def test_the_raw_is_written_while_it_downloads_and_never_again(
    rig_factory: Callable[..., Rig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    downloads = Downloads(rig, monkeypatch)
    writers: set[str] = set()
    write = os.write

    def watched_write(fd: int, data: Any) -> int:
        writers.add(threading.current_thread().name)
        return write(fd, data)

    monkeypatch.setattr(os, "write", watched_write)
    runner = ExposureRunner(rig.clock, CaptureOptions(), OriginalsFolder(tmp_path, 0))
    outcome, (saved,) = _shoot(rig, runner)
    assert outcome.frame is not None
    assert downloads.staged_from_memory == []  # not written a second time after the transfer
    assert writers == {SPOOL_THREAD}  # never on the worker's (the USB reader's) thread
    assert saved.suffix == ".ARW" and saved.read_bytes() == downloads.files[-1]
    assert not list(tmp_path.glob(".incoming-*"))


def test_raw_and_jpeg_are_both_spooled_and_a_dropped_jpeg_is_never_written(
    rig_factory: Callable[..., Rig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    original_init = DiskSpool.__init__

    def watched_init(spool: DiskSpool, temp: Path, fd: int, name: str) -> None:
        opened.append(name.rsplit(".", 1)[-1])
        original_init(spool, temp, fd, name)

    monkeypatch.setattr(DiskSpool, "__init__", watched_init)
    rig = rig_factory(post_connect_settle_s=0.0, compression=0x13)  # RAW+JPEG (sony-ptp.md 5.1)
    downloads = Downloads(rig, monkeypatch)
    kept = ExposureRunner(
        rig.clock, CaptureOptions(keep_jpeg=True), OriginalsFolder(tmp_path / "kept", 0)
    )
    _, saved = _shoot(rig, kept)
    assert sorted(opened) == ["ARW", "JPG"] and downloads.staged_from_memory == []
    assert sorted(p.read_bytes() for p in saved) == sorted(downloads.files)
    assert len({p.stem for p in saved}) == 1
    opened.clear()
    dropped = ExposureRunner(rig.clock, CaptureOptions(), OriginalsFolder(tmp_path / "raw", 0))
    _, saved = _shoot(rig, dropped)
    assert opened == ["ARW"] and [p.suffix for p in saved] == [".ARW"]
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [saved[0].name]


def test_a_spool_the_disk_refuses_is_replaced_by_staging_from_memory(
    rig_factory: Callable[..., Rig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    downloads = Downloads(rig, monkeypatch)
    write = os.write
    refused: list[int] = []

    def full_for_the_spool(fd: int, data: Any) -> int:
        if threading.current_thread().name == SPOOL_THREAD and len(refused) < 1:
            refused.append(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(fd, data)

    monkeypatch.setattr(os, "write", full_for_the_spool)
    runner = ExposureRunner(rig.clock, CaptureOptions(), OriginalsFolder(tmp_path, 0))
    outcome, (saved,) = _shoot(rig, runner)
    assert refused and outcome.frame is not None
    assert len(downloads.staged_from_memory) == 1  # the refused spool was not used
    assert saved.read_bytes() == downloads.files[-1]
    assert not list(tmp_path.glob(".incoming-*")) and runner.disk_trouble() == ""


def test_a_spool_holding_other_bytes_than_the_download_is_not_used(
    rig_factory: Callable[..., Rig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    downloads = Downloads(rig, monkeypatch)
    write = DiskSpool.write
    pieces = 0

    def losing_the_second_piece(spool: DiskSpool, chunk: memoryview) -> None:
        nonlocal pieces
        pieces += 1
        if pieces != 2:
            write(spool, chunk)

    monkeypatch.setattr(DiskSpool, "write", losing_the_second_piece)
    runner = ExposureRunner(rig.clock, CaptureOptions(), OriginalsFolder(tmp_path, 0))
    _, (saved,) = _shoot(rig, runner)
    assert pieces > 2 and len(downloads.staged_from_memory) == 1
    assert saved.read_bytes() == downloads.files[-1]
    assert not list(tmp_path.glob(".incoming-*"))


def test_a_download_cut_off_midway_leaves_no_temporary_file(
    rig_factory: Callable[..., Rig], tmp_path: Path
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    rig.camera.faults.disconnect(OpCode.GET_OBJECT, 1, after_bytes=9_000_000)
    runner = ExposureRunner(rig.clock, CaptureOptions(), OriginalsFolder(tmp_path, 0))
    with pytest.raises(TransportError):
        _shoot(rig, runner)
    assert list(tmp_path.iterdir()) == []  # the worker recovers the image from the camera


def test_no_spool_while_saving_is_off(
    rig_factory: Callable[..., Rig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    spools: list[str] = []
    monkeypatch.setattr(DiskSpool, "__init__", lambda *args: spools.append("opened"))
    folder = tmp_path / "originals"
    runner = ExposureRunner(
        rig.clock, CaptureOptions(save_originals=False), OriginalsFolder(folder, 0)
    )
    outcome, saved = _shoot(rig, runner)
    assert outcome.frame is not None and saved == [] and spools == []
    assert not folder.exists()
