"""Originals the save folder refuses (full, read-only, gone): kept until it takes them, never lost
silently (issue 9 point 7).

They wait in memory first (bounded) and are written when the folder takes files again. Beyond the
bound, and when the server stops, they are written to a fallback folder instead, and move from
there into the save folder once it takes files again (also after a restart). Only when the fallback
refuses too is an original lost, and then loudly: an error line in the log and its name in the
message clients read.

The default fallback folder is ``$XDG_STATE_HOME/alpaca-sony/held-originals`` (state, not cache:
these files must survive a restart and no cache cleaner may delete them), or a private folder in
``/var/tmp`` (kept across reboots) when only that one lies on another filesystem than the save
folder: a full disk then does not refuse the fallback too.
"""

from __future__ import annotations

import filecmp
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from alpaca_sony.camera.originals import OriginalsFolder

log = logging.getLogger(__name__)

# Names file_stem() gives (time first); nothing else in a fallback folder is ever moved.
_OUR_NAME = re.compile(r"^\d{8}T\d{6}Z_.+\.[A-Za-z0-9]{1,5}$")
_CLAIM_SUFFIX = re.compile(r"\.\d+$")  # the ".1", ".2" OriginalsFolder adds to a taken name
_COPY_CHUNK = 1 << 20


def file_name(stem: str, extension: str) -> str:
    return f"{stem}.{extension.lstrip('.').upper()}"


def _split_name(name: str) -> tuple[str, str]:
    """("stem", "ARW") from "stem.ARW" or "stem.2.ARW" (the stem the file was saved under)."""
    base, extension = name.rsplit(".", 1)
    return _CLAIM_SUFFIX.sub("", base), extension


def _device_of(path: Path) -> int | None:
    """The filesystem ``path`` is (or would be created) on."""
    for candidate in (path, *path.parents):
        try:
            return candidate.stat().st_dev
        except OSError:
            continue
    return None


class FallbackFolder:
    """Where held originals go when memory is full or the server stops; moved back later.

    Cameras of one server share it: one lock per folder, so a file moves back once.
    """

    _locks: ClassVar[dict[Path, threading.Lock]] = {}
    _locks_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, folder: Path, private: bool = False):
        self.folder = folder
        # A folder under a shared /var/tmp must be this user's own, not one planted there.
        self.private = private
        self._files = OriginalsFolder(folder, 0)
        with self._locks_guard:
            self._lock = self._locks.setdefault(folder.absolute(), threading.Lock())

    def put(self, stem: str, extension: str, data: bytes) -> Path:
        """Write one original durably, under a name no other file has.

        Raises:
            OSError: the fallback refuses it too (nothing is left behind).
        """
        self._check_owner()
        temp = self._files.stage([data])
        try:
            return self._files.commit(temp, stem, extension)
        except OSError:
            temp.unlink(missing_ok=True)
            raise

    def _check_owner(self) -> None:
        if not self.private or not hasattr(os, "getuid"):
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stat = self.folder.lstat()
        if self.folder.is_symlink() or stat.st_uid != os.getuid():
            raise PermissionError(f"{self.folder} is not this user's own folder")

    def unusable_because(self) -> str | None:
        """Why no original could be written here now (None: it can). Creates nothing: the
        folder is made only when an original needs it."""
        if not self.folder.exists():
            parent = next((p for p in self.folder.parents if p.exists()), None)
            if parent is None or not os.access(parent, os.W_OK | os.X_OK):
                return f"{parent or self.folder} is not writable"
            return None
        try:
            self._check_owner()
        except PermissionError as exc:
            return str(exc)
        return self._files.unusable_because()

    def waiting(self) -> list[Path]:
        """Our originals in the folder, by name (time first: oldest first)."""
        try:
            names = sorted(p.name for p in self.folder.iterdir() if p.is_file())
        except OSError:
            return []  # no folder yet, or unreadable: nothing we could move either
        return [self.folder / name for name in names if _OUR_NAME.match(name)]

    def move_one_into(self, target: OriginalsFolder) -> Path | None:
        """Move the oldest waiting original into ``target``; its path there (None: none waited).

        Exactly once: the copy is durable under a new name before the fallback's file goes, and
        a copy already there (a move cut short before the removal) is recognised by its bytes.

        Raises:
            OSError: ``target`` refused it (the original stays here).
        """
        with self._lock:
            for source in self.waiting():
                stem, extension = _split_name(source.name)
                final = self._copy_in(target, source, stem, extension)
                if final is None:
                    continue  # moved by another camera's worker meanwhile
                source.unlink(missing_ok=True)
                self._files.fsync_folder()
                log.info("moved %s from the fallback folder into %s", source.name, final)
                return final
        return None

    @staticmethod
    def _copy_in(target: OriginalsFolder, source: Path, stem: str, extension: str) -> Path | None:
        try:
            size = source.stat().st_size
        except FileNotFoundError:
            return None
        for attempt in range(10_000):
            existing = target.folder / file_name(
                f"{stem}.{attempt}" if attempt else stem, extension
            )
            if not existing.exists():
                break
            if existing.stat().st_size == size and filecmp.cmp(existing, source, shallow=False):
                return existing  # copied before an interruption: only the removal was missing
        temp = target.stage(_chunks_of(source))
        try:
            return target.commit(temp, stem, extension)
        except OSError:
            temp.unlink(missing_ok=True)
            raise


def _chunks_of(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(_COPY_CHUNK):
            yield chunk


def default_fallback_folder(
    save_folder: Path,
    environ: Mapping[str, str] = os.environ,
    device_of: Callable[[Path], int | None] = _device_of,
) -> FallbackFolder:
    """XDG state, or the private /var/tmp folder when only that one is on another filesystem."""
    state_home = Path(environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    state = FallbackFolder(state_home / "alpaca-sony" / "held-originals")
    if not hasattr(os, "getuid"):
        return state
    # Checked before each use: this user's own folder, not a symlink (FallbackFolder.private).
    shared_tmp = Path("/var/tmp")  # noqa: S108
    shared = FallbackFolder(shared_tmp / f"alpaca-sony-{os.getuid()}", private=True)
    save_device = device_of(save_folder)
    for candidate in (state, shared):
        if device_of(candidate.folder) != save_device:
            return candidate
    return state


@dataclass(frozen=True)
class PendingOriginal:
    """An original the folder refused, waiting in memory."""

    stem: str
    extension: str
    data: bytes

    @property
    def name(self) -> str:
        return file_name(self.stem, self.extension)


class PendingOriginals:
    """Originals held in memory, oldest first, up to ``limit_bytes``, until the folder takes them;
    beyond the limit (and on :meth:`evacuate`) written to the fallback folder.

    Only what the fallback refuses too is lost; every loss is counted and logged, never silent.
    """

    def __init__(self, limit_bytes: int, fallback: FallbackFolder | None = None):
        self.limit_bytes = limit_bytes
        self.fallback = fallback
        self.items: list[PendingOriginal] = []
        self.lost: list[str] = []
        self.placed: dict[str, Path] = {}  # name -> where in the fallback this process put it
        self.last_error = ""

    @property
    def held_bytes(self) -> int:
        return sum(len(item.data) for item in self.items)

    def keep(self, stem: str, extension: str, data: bytes, error: OSError) -> None:
        self.last_error = error.strerror or str(error)
        name = file_name(stem, extension)
        if self.held_bytes + len(data) > self.limit_bytes:
            held = self.held_bytes // 1_000_000
            why = f"the folder refused it ({self.last_error}) and {held} MB are held in memory"
            self._to_fallback(PendingOriginal(stem, extension, data), why)
            return
        self.items.append(PendingOriginal(stem, extension, data))
        log.error(
            "could not save %s (%s): holding it in memory until the folder takes it", name, error
        )

    def lose(self, name: str, reason: str) -> None:
        """Count an original that could not be kept at all (it stays in :meth:`trouble`)."""
        self.lost.append(name)
        log.error("LOST original %s: %s", name, reason)

    def evacuate(self, reason: str) -> None:
        """Before the process ends: every original held in memory to the fallback folder."""
        while self.items:
            self._to_fallback(self.items.pop(0), reason)

    def _to_fallback(self, item: PendingOriginal, why: str) -> None:
        if self.fallback is None:
            self.lose(item.name, f"{why}, and there is no fallback folder")
            return
        try:
            path = self.fallback.put(item.stem, item.extension, item.data)
        except OSError as exc:
            self.lose(
                item.name, f"{why}, and the fallback folder {self.fallback.folder} refused it too "
                f"({exc.strerror or exc})",
            )  # fmt: skip
            return
        self.placed[item.name] = path
        log.warning(
            "wrote %s to the fallback folder (%s): it moves into the save folder once that "
            "takes files again",
            path,
            why,
        )

    def write_to(self, folder: OriginalsFolder) -> list[Path]:
        """Write held originals in order; the first refusal stops (the rest stay held)."""
        saved: list[Path] = []
        while self.items:
            item = self.items[0]
            temp: Path | None = None
            try:
                temp = folder.stage([item.data])
                saved.append(folder.commit(temp, item.stem, item.extension))
            except OSError as exc:
                self.last_error = exc.strerror or str(exc)
                if temp is not None:
                    temp.unlink(missing_ok=True)
                break
            self.items.pop(0)
            log.info("saved %s, held in memory while the folder refused it", saved[-1])
        return saved

    def move_back(self, folder: OriginalsFolder) -> Path | None:
        """Move one original from the fallback into ``folder`` once nothing waits in memory
        (one per call: the worker's idle loop stays responsive); None if none moved."""
        if self.items or self.fallback is None:
            return None
        try:
            return self.fallback.move_one_into(folder)
        except OSError as exc:
            self.last_error = exc.strerror or str(exc)
            return None

    def whereabouts(self, name: str, folder: Path) -> str | None:
        """Where the original ``name`` is, for a message about its shot (None: not ours)."""
        if any(item.name == name for item in self.items):
            return (
                f"the original is not saved yet: {folder} refused it ({self.last_error}), so it "
                "is held in memory until the folder takes it"
            )
        if name in self.placed:
            return (
                f"the original is not saved in {folder} yet: it was written to "
                f"{self.placed[name]} and moves into the folder once it takes files again"
            )
        if name in self.lost:
            return "the original could not be saved or held and is LOST (see the server log)"
        return None

    def trouble(self, folder: Path) -> str:
        """What the user must know, or "" when all is written and nothing was lost."""
        parts = []
        if self.items:
            parts.append(
                f"{len(self.items)} original(s) ({self.held_bytes / 1e6:.0f} MB) could not be "
                f"saved in {folder} ({self.last_error}) and are held in memory until it takes "
                "them: free space or fix the folder, and keep the server running until they "
                "are saved"
            )
        waiting = self.fallback.waiting() if self.fallback is not None else []
        if waiting:
            parts.append(
                f"{len(waiting)} original(s) could not be saved in {folder} and were written to "
                f"the fallback folder {waiting[0].parent} instead: they move into {folder} once "
                "it takes files again"
            )
        if self.lost:
            parts.append(
                f"{len(self.lost)} original(s) could not be saved or held and are lost "
                f"(see the server log): {', '.join(self.lost[-5:])}"
            )
        return "; ".join(parts)
