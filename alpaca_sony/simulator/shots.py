"""What a simulated shot leaves in the camera: the shot, and its files waiting in the buffer.

Shared by the body (which takes and queues them) and the renderer (which turns them into bytes).
Both are metadata only (a few hundred bytes a shot): a file's bytes are rendered when the host
first asks for it and held by the camera's USB side only until it went over the cable
(``camera.SimulatedCamera``), so a night of frames costs no more memory than one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class CapturedFile:
    """One file waiting in (or taken from) the camera's transfer buffer; holds no bytes."""

    shot: Shot
    object_format: int
    filename: str
    downloads: int = 0
    empty: bool = False  # described with size 0: nothing to fetch (libgphoto2 comment)


@dataclass
class Shot:
    """A photo the body took."""

    number: int
    sequence: int
    started_at: float
    exposure_s: float
    iso: int
    shutter: int
    stale: bool = False
    when: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    files: list[CapturedFile] = field(default_factory=list, repr=False)
