"""The files a simulated shot produces: an ARW stamped with its shot number, and a JPEG.

One star field per (model, CFA pattern, seed) is generated once and cached; each shot copies it and
stamps its number, so tests can tell every frame apart without paying for a new sky each time.
"""

from __future__ import annotations

import functools
import io
import threading
from typing import Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from alpaca_sony.simulator.arw import stamp_sequence, star_field, write_arw
from alpaca_sony.simulator.bodies import SimulatedModel
from alpaca_sony.simulator.jpeg import render_jpeg
from alpaca_sony.simulator.ladders import ISO_AUTO
from alpaca_sony.simulator.shots import CapturedFile
from alpaca_sony.sony.codes import FORMAT_ARW

_cache_lock = threading.Lock()
_LIVE_VIEW_SIZE = (1024, 680)


class SkySettings(Protocol):
    """How a body's sky is set up (``body.BodySettings`` has these)."""

    @property
    def cfa_pattern(self) -> str: ...

    @property
    def star_seed(self) -> int: ...


class RenderedBody(Protocol):
    """What rendering needs from a body: its sensor and its sky (``body.SimulatedBody``)."""

    @property
    def model(self) -> SimulatedModel: ...

    @property
    def settings(self) -> SkySettings: ...


@functools.lru_cache(maxsize=4)
def _base_frame(model: SimulatedModel, pattern: str, seed: int) -> npt.NDArray[np.uint16]:
    frame = star_field(model, seed, pattern)  # type: ignore[arg-type]
    frame.setflags(write=False)
    return frame


def shot_mosaic(body: RenderedBody, shot_number: int) -> npt.NDArray[np.uint16]:
    """The raw array of one shot: the cached sky with the shot number stamped in."""
    with _cache_lock:
        base = _base_frame(body.model, body.settings.cfa_pattern, body.settings.star_seed)
    mosaic = base.copy()
    stamp_sequence(mosaic, shot_number)
    return mosaic


def render_file(body: RenderedBody, file: CapturedFile) -> bytes:
    """The bytes of one captured file (ARW or JPEG)."""
    shot = file.shot
    mosaic = shot_mosaic(body, shot.number)
    iso = shot.iso & ISO_AUTO  # the low 24 bits carry the number (top byte: range flags)
    iso = 800 if iso == ISO_AUTO else iso  # AUTO: the simulator writes ISO 800 (its own choice)
    if file.object_format == FORMAT_ARW:
        return write_arw(
            body.model,
            mosaic,
            exposure_s=max(shot.exposure_s, 1e-6),
            iso=iso,
            when=shot.when,
            pattern=body.settings.cfa_pattern,  # type: ignore[arg-type]
        )
    return render_jpeg(
        body.model,
        mosaic,
        exposure_s=max(shot.exposure_s, 1e-6),
        iso=iso,
        when=shot.when,
        pattern=body.settings.cfa_pattern,  # type: ignore[arg-type]
    )


@functools.lru_cache(maxsize=8)
def live_view_jpeg(model: SimulatedModel) -> bytes:
    """A live-view frame (the body's preview resolution, plain dark sky)."""
    image = Image.fromarray(np.full(_LIVE_VIEW_SIZE[::-1], 12, dtype=np.uint8), mode="L")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()
