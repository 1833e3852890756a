"""Capture options changed while the server runs (the setup page's form, issue 9 point 8): turning
saving off never drops an original already shot: those held in memory or staged still reach the
folder, and the loss warning stays until they do."""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.camera.test_disk_trouble import FolderFault
from tests.camera.test_originals import ARW, downloaded, runner, visible


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, int], FolderFault]:
    return lambda folder, error: FolderFault(monkeypatch, folder, error)


def test_saving_turned_off_still_writes_the_originals_held_in_memory(
    tmp_path: Path, fault: Callable[[Path, int], FolderFault]
) -> None:
    run = runner(tmp_path)
    disk = fault(tmp_path, errno.ENOSPC)
    assert run.save("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None) == []
    run.options = dataclasses.replace(run.options, save_originals=False)
    assert run.originals is None  # the next shot is not saved...
    assert "held in memory" in run.disk_trouble()  # ...but the held one is still owed
    disk.on = False
    (saved,) = run.flush_pending()
    assert saved.read_bytes() == ARW and visible(tmp_path) == [saved.name]
    assert run.disk_trouble() == ""


def test_a_staged_original_is_committed_even_if_saving_was_turned_off_since(
    tmp_path: Path,
) -> None:
    run = runner(tmp_path)
    staged = run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None)
    run.options = dataclasses.replace(run.options, save_originals=False)
    (saved,) = run.commit(staged)
    assert saved.read_bytes() == ARW and visible(tmp_path) == [saved.name]


def test_saving_turned_on_later_saves_into_the_configured_folder(tmp_path: Path) -> None:
    run = runner(tmp_path, save_originals=False)
    assert run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None) == []
    assert run.folder_refusal() is None
    run.options = dataclasses.replace(run.options, save_originals=True)
    (saved,) = run.save("ILCE-7M3", [downloaded("DSC2.ARW", ARW)], 1.0, None)
    assert saved.parent == tmp_path and visible(tmp_path) == [saved.name]
