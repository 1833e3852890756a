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
    # The camera's own clock readings, for benchmarks (ShotTimes): GetObject received, last byte
    # of it served.
    transfer_started: float | None = None
    transfer_ended: float | None = None
    render_s: float = 0.0  # building the file's bytes (the simulator's cost, not a real body's)


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
    ended_at: float | None = None  # the shutter closed
    ready_at: float | None = None  # processing (and any dark frame) done: the files are waiting
    dark_frame_s: float = 0.0

    def times(self) -> ShotTimes:
        """Plain numbers (picklable across a process boundary) for what the camera spent."""
        return ShotTimes(
            self.number,
            self.started_at,
            self.ended_at,
            self.ready_at,
            self.dark_frame_s,
            sum(f.render_s for f in self.files),
            tuple(
                (f.filename, f.transfer_started, f.transfer_ended)
                for f in self.files
                if f.transfer_started is not None and f.transfer_ended is not None
            ),
        )


@dataclass(frozen=True)
class ShotTimes:
    """When one shot's steps happened on the camera's clock: the camera's own share of a frame.

    Exposure (S2 to shutter closed), processing with any dark frame (closed to files waiting),
    each file's transfer (GetObject received to its last byte served) and the simulator's own
    rendering of the files; the rest of a frame's wall time is the host's.
    """

    number: int
    started_at: float
    ended_at: float | None
    ready_at: float | None
    dark_frame_s: float
    render_s: float
    transfers: tuple[tuple[str, float, float], ...]

    @property
    def transfer_s(self) -> float:
        return sum(end - start for _, start, end in self.transfers)
