"""What a simulated shot leaves in the camera: the shot, and its files waiting in the buffer.

Shared by the body (which takes and queues them) and the renderer (which turns them into bytes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CapturedFile:
    """One file waiting in (or taken from) the camera's transfer buffer."""

    shot: Shot
    object_format: int
    filename: str
    _data: bytes | None = field(default=None, repr=False)
    downloads: int = 0
    empty: bool = False  # described with size 0: nothing to fetch (libgphoto2 comment)

    def data(self, render: Callable[[CapturedFile], bytes]) -> bytes:
        if self._data is None:
            self._data = render(self)
        return self._data


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
