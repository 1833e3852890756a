"""Originals on disk: every downloaded file written once, atomically, under a unique readable name.

Name: ``<UTC time>_<model>_<sequence>_<exposure>_ISO<iso>.<ext>``, e.g.
``20261121T221530Z_ILCE-7M3_000042_300s_ISO800.ARW``. Written to a temporary file, fsynced, then
linked into place so an existing file is never replaced (``.1``, ``.2`` ... are added instead), and
the folder is fsynced so the name survives a power cut.

What happens when the folder refuses an original (full, read-only, gone) is held_originals.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShotFacts:
    """What the file name says about the shot."""

    model: str
    sequence: int
    exposure_s: float
    iso: int | None
    when: dt.datetime


def exposure_label(seconds: float) -> str:
    """'300s', '2.5s', '1-8000s' (a slash cannot appear in a file name)."""
    if seconds >= 0.3:
        return f"{seconds:g}s"
    return f"1-{round(1 / seconds)}s" if seconds > 0 else "0s"


def file_stem(facts: ShotFacts) -> str:
    when = facts.when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    iso = f"ISO{facts.iso}" if facts.iso else "ISOauto"
    model = "".join(c if c.isalnum() or c in "-_" else "-" for c in facts.model)
    return f"{when}_{model}_{facts.sequence:06d}_{exposure_label(facts.exposure_s)}_{iso}"


class OriginalsFolder:
    """A folder that receives originals and refuses to overwrite anything in it."""

    def __init__(self, folder: Path, min_free_bytes: int = 1 << 30):
        self.folder = folder
        self.min_free_bytes = min_free_bytes

    def unusable_because(self) -> str | None:
        """Why no original could be saved here now (None: a file can be created and removed)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".probe-") as probe:
                probe.write(b"\0")
                probe.flush()
        except OSError as exc:
            return exc.strerror or str(exc)
        return None

    def free_bytes(self) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.folder).free

    def low_on_space(self) -> bool:
        """True when free space is below the floor (callers warn; saving still tries)."""
        return self.free_bytes() < self.min_free_bytes

    def stage(self, chunks: Iterable[memoryview | bytes]) -> Path:
        """Write the bytes to a hidden temporary file (page cache, no fsync yet).

        The frame can be decoded from it at once; :meth:`commit` makes it durable and visible.

        Raises:
            OSError: the disk is full or not writable (the temporary file is removed).
        """
        temp, fd = self.new_temporary()
        try:
            with os.fdopen(fd, "wb") as stream:
                for chunk in chunks:
                    stream.write(chunk)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp

    def new_temporary(self) -> tuple[Path, int]:
        """A new hidden temporary file for an incoming original, and its descriptor (write-only).

        Raises:
            OSError: the folder cannot be created or written.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = self.folder / f".incoming-{secrets.token_hex(8)}"
        # os.open with 0o666 honours the umask (mkstemp would force 0600).
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        return temp, os.open(temp, flags, 0o666)

    def commit(self, temp: Path, stem: str, extension: str) -> Path:
        """fsync a staged file and link it under its final, never-overwriting name.

        Raises:
            OSError: the file could not be made durable (the temporary file stays: its bytes
                are the user's picture, the caller keeps them before removing it).
        """
        fd = os.open(temp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        final = self._claim_name(temp, stem, extension.lstrip(".").upper())
        self.fsync_folder()
        log.info("saved %s", final)
        return final

    def _claim_name(self, temp: Path, stem: str, extension: str) -> Path:
        for attempt in range(10_000):
            suffix = f".{attempt}" if attempt else ""
            final = self.folder / f"{stem}{suffix}.{extension}"
            try:
                os.link(temp, final)  # fails if the name exists: never overwrites
            except FileExistsError:
                continue
            except OSError:
                # Filesystems without hard links (FAT, exFAT): check, then rename.
                if final.exists():
                    continue
                temp.rename(final)
                return final
            temp.unlink()
            return final
        raise FileExistsError(f"no free name for {stem}.{extension} in {self.folder}")

    def fsync_folder(self) -> None:
        try:
            fd = os.open(self.folder, os.O_RDONLY)
        except OSError:
            return  # Windows cannot open a folder; its rename is durable enough
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
