"""Sensor sizes learned from a body's own ARW files, for bodies the model table does not know.

A body outside :data:`alpaca_sony.sony.models.MODELS` still connects and shoots; the size of its
first frame as LibRaw decodes it (``raw_image_visible``) is its CameraXSize/CameraYSize from then
on. It is kept in ``learned-geometry.json`` under the user's configuration folder
(``$XDG_CONFIG_HOME/alpaca-sony/`` or ``~/.config/alpaca-sony/``), keyed by the DeviceInfo model
string, so the next connect -- in a new server process too -- reports it before any exposure.

The pixel pitch cannot be learned: Sony ARWs carry no FocalPlaneXResolution (checked on the real
ZV-E10 header in ``shared/samples/``), so it is left unknown rather than guessed.

The file is written atomically (temporary file, fsync, rename); a file that cannot be read or
parsed is ignored with a warning and replaced on the next store.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "learned-geometry.json"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class LearnedGeometry:
    """A body's visible raw frame as LibRaw decoded it, and where that fact came from."""

    width: int
    height: int
    libraw_version: str = ""
    learned_utc: str = ""


def default_folder() -> Path:
    """The user's configuration folder for alpaca-sony (XDG base directory rules)."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "alpaca-sony"


def _parse(text: str) -> dict[str, LearnedGeometry]:
    """The bodies in a cache file; raises ValueError on anything that is not one."""
    data: Any = json.loads(text)
    if not isinstance(data, dict) or data.get("version") != _FORMAT_VERSION:
        raise ValueError("not a version 1 learned-geometry file")
    bodies = data.get("bodies")
    if not isinstance(bodies, dict):
        raise ValueError("no 'bodies' table")
    result: dict[str, LearnedGeometry] = {}
    for model, entry in bodies.items():
        if not isinstance(entry, dict):
            raise ValueError(f"entry for {model!r} is not a table")
        width, height = entry.get("width"), entry.get("height")
        if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
            raise ValueError(f"entry for {model!r} has no positive width and height")
        result[str(model)] = LearnedGeometry(
            width, height, str(entry.get("libraw", "")), str(entry.get("learned_utc", ""))
        )
    return result


class GeometryCache:
    """The learned sizes of unknown bodies, in one JSON file (thread-safe)."""

    def __init__(self, folder: Path | None = None):
        self.path = (folder or default_folder()) / FILE_NAME
        self._lock = threading.Lock()
        self._bodies: dict[str, LearnedGeometry] | None = None

    def _load(self) -> dict[str, LearnedGeometry]:
        if self._bodies is None:
            try:
                self._bodies = _parse(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                self._bodies = {}
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                log.warning(
                    "ignoring the learned sensor sizes in %s (%s); they are learned again from "
                    "the next exposure",
                    self.path,
                    exc,
                )
                self._bodies = {}
        return self._bodies

    def get(self, model: str) -> LearnedGeometry | None:
        """The learned geometry of ``model`` (a DeviceInfo model string), if any."""
        with self._lock:
            return self._load().get(model)

    def store(self, model: str, width: int, height: int, libraw_version: str) -> LearnedGeometry:
        """Remember ``model``'s frame size; the file is replaced atomically.

        A failure to write is logged, not raised: the size stays known for this process.
        """
        when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        learned = LearnedGeometry(width, height, libraw_version, when)
        with self._lock:
            bodies = self._load()
            previous = bodies.get(model)
            bodies[model] = learned
            try:
                self._write(bodies)
            except OSError as exc:
                log.error("could not remember the sensor size in %s: %s", self.path, exc)
        if previous is None:
            log.info("learned the %s sensor size from a frame: %d x %d", model, width, height)
        else:
            log.info(
                "the %s frame size changed from %d x %d to %d x %d (a crop or image-size "
                "setting on the camera?); remembering the new one",
                model,
                previous.width,
                previous.height,
                width,
                height,
            )
        return learned

    def _write(self, bodies: dict[str, LearnedGeometry]) -> None:
        document = {
            "version": _FORMAT_VERSION,
            "comment": "Sensor sizes alpaca-sony learned from bodies its model table lacks.",
            "bodies": {
                name: {
                    "width": g.width,
                    "height": g.height,
                    "libraw": g.libraw_version,
                    "learned_utc": g.learned_utc,
                }
                for name, g in sorted(bodies.items())
            },
        }
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".learned-geometry.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            Path(temp).replace(self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        try:
            dir_fd = os.open(folder, os.O_RDONLY)
        except OSError:
            return  # a folder that cannot be opened (some platforms): the rename is still done
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
