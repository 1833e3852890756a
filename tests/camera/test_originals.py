"""Originals on disk, through the path an exposure takes (ExposureRunner.stage, then commit):
staged files stay hidden until they are durable, nothing existing is ever replaced, same-named
shots get numbered names, and a failed write leaves nothing half-written behind."""

from __future__ import annotations

import datetime as dt
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alpaca_sony.camera.exposure import CaptureOptions, ExposureRunner
from alpaca_sony.camera.originals import OriginalsFolder, ShotFacts, exposure_label, file_stem
from alpaca_sony.clock import FakeClock
from alpaca_sony.ptp.datasets import ObjectInfo
from alpaca_sony.ptp.session import Payload
from alpaca_sony.sony.protocol import DownloadedFile

FORMAT_ARW, FORMAT_JPEG = 0xB101, 0x3801  # Sony's ARW format code (sony-ptp.md 7), EXIF/JPEG
TIFF_MAGIC = b"II*\x00"  # an ARW is a little-endian TIFF


def downloaded(filename: str, data: bytes, sequence: int = 42) -> DownloadedFile:
    object_format = FORMAT_ARW if filename.endswith(".ARW") else FORMAT_JPEG
    info = ObjectInfo(
        0x00010001, object_format, 0, len(data), 0, 0, 0, 0, 6000, 4000, 14, 0, 0, 0,
        sequence, filename, "20261121T221530", "", "",
    )  # fmt: skip
    # Two chunks, as a data phase arrives: the file on disk must be their concatenation.
    half = len(data) // 2
    return DownloadedFile(info, Payload([memoryview(data[:half]), memoryview(data[half:])]))


def runner(folder: Path, **options: bool) -> ExposureRunner:
    choices = CaptureOptions(**options)  # type: ignore[arg-type]  # only its bool fields
    return ExposureRunner(FakeClock(), choices, OriginalsFolder(folder, 0))


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


ARW = TIFF_MAGIC + bytes(range(256)) * 40


def test_a_staged_original_is_hidden_until_committed_then_exact(tmp_path: Path) -> None:
    run = runner(tmp_path / "originals")
    staged = run.stage("ILCE-7M3", [downloaded("DSC00042.ARW", ARW)], 300.0, 800)
    folder = tmp_path / "originals"
    assert visible(folder) == []  # a client listing the folder never sees a partial file
    assert [p.name.startswith(".incoming-") for p in folder.iterdir()] == [True]
    assert staged[0].temp.read_bytes() == ARW  # the decoder reads the staged file at once
    (saved,) = run.commit(staged)
    assert saved.read_bytes() == ARW
    assert hidden(folder) == []
    # 2026-... UTC time, model, sequence, exposure and ISO in the name (originals.py docstring).
    assert saved.name.endswith("_ILCE-7M3_000042_300s_ISO800.ARW")


def test_committing_never_replaces_an_existing_file(tmp_path: Path) -> None:
    # The user's own file and an earlier shot under the names this shot would take stay intact.
    (tmp_path / "frame.ARW").write_bytes(b"the user's file")
    (tmp_path / "frame.1.ARW").write_bytes(b"an earlier shot")
    folder = OriginalsFolder(tmp_path, 0)
    saved = folder.commit(folder.stage([b"new"]), "frame", "ARW")
    assert saved.name == "frame.2.ARW" and saved.read_bytes() == b"new"
    assert (tmp_path / "frame.ARW").read_bytes() == b"the user's file"
    assert (tmp_path / "frame.1.ARW").read_bytes() == b"an earlier shot"
    assert hidden(tmp_path) == []


def test_shots_with_the_same_name_get_numbered_names(tmp_path: Path) -> None:
    folder = OriginalsFolder(tmp_path, 0)
    saved = [folder.commit(folder.stage([bytes([n])]), "frame", "arw") for n in range(3)]
    assert [p.name for p in saved] == ["frame.ARW", "frame.1.ARW", "frame.2.ARW"]
    assert [p.read_bytes() for p in saved] == [b"\x00", b"\x01", b"\x02"]


def test_without_hard_links_a_free_name_is_taken_by_rename_and_a_used_one_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FAT and exFAT cards have no hard links: link() fails with EPERM there.
    def no_links(source: object, target: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    folder = OriginalsFolder(tmp_path, 0)
    (tmp_path / "frame.ARW").write_bytes(b"kept")
    monkeypatch.setattr(os, "link", no_links)
    saved = folder.commit(folder.stage([b"new"]), "frame", "ARW")
    assert saved.name == "frame.1.ARW" and saved.read_bytes() == b"new"
    assert (tmp_path / "frame.ARW").read_bytes() == b"kept"
    assert hidden(tmp_path) == []


def test_a_write_that_fails_midway_leaves_nothing_behind(tmp_path: Path) -> None:
    def chunks_then_disk_full() -> Iterator[bytes]:
        yield b"first half"
        raise OSError(errno.ENOSPC, "No space left on device")

    folder = OriginalsFolder(tmp_path, 0)
    with pytest.raises(OSError, match="No space left"):
        folder.stage(chunks_then_disk_full())
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written_keeps_the_exposure_going(tmp_path: Path) -> None:
    blocker = tmp_path / "originals"
    blocker.write_text("a file where the folder should be")
    run = runner(blocker)
    assert run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None) == []
    assert blocker.read_text() == "a file where the folder should be"


def test_the_jpeg_of_a_raw_jpeg_pair_is_kept_only_when_asked(tmp_path: Path) -> None:
    pair = [downloaded("DSC1.JPG", b"\xff\xd8jpeg"), downloaded("DSC1.ARW", ARW)]
    raw_only = runner(tmp_path / "a").save("ILCE-7M3", pair, 2.5, 100)
    both = runner(tmp_path / "b", keep_jpeg=True).save("ILCE-7M3", pair, 2.5, 100)
    assert [p.suffix for p in raw_only] == [".ARW"]
    assert sorted(p.suffix for p in both) == [".ARW", ".JPG"]
    assert both[0].stem == both[1].stem  # one shot, one stem


def test_saving_off_writes_nothing(tmp_path: Path) -> None:
    run = runner(tmp_path / "originals", save_originals=False)
    assert run.save("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None) == []
    assert not (tmp_path / "originals").exists()


def test_an_image_recovered_outside_an_exposure_says_so_in_its_name(tmp_path: Path) -> None:
    (saved,) = runner(tmp_path).save("ILCE-7M3", [downloaded("DSC7.ARW", ARW, 7)], None, None)
    assert saved.name.endswith("_ILCE-7M3_000007_0s_ISOauto_recovered.ARW")


def test_a_saved_original_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        (saved,) = runner(tmp_path).save("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None)
    finally:
        os.umask(old)
    assert saved.stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600: others in the group read


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(300.0, "300s"), (2.5, "2.5s"), (0.3, "0.3s"), (1 / 8000, "1-8000s"), (1 / 3, "0.333333s")],
)
def test_exposure_labels_have_no_slash(seconds: float, label: str) -> None:
    assert exposure_label(seconds) == label


def test_the_stem_is_utc_time_model_sequence_exposure_iso() -> None:
    when = dt.datetime(2026, 11, 22, 0, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    facts = ShotFacts("DSC-RX100M5/A", 42, 300.0, 800, when)
    assert file_stem(facts) == "20261121T221530Z_DSC-RX100M5-A_000042_300s_ISO800"
