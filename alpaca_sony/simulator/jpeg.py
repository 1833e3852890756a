"""The JPEG a simulated camera sends alongside the ARW in RAW+JPEG mode.

Small but real: a downscaled 8-bit colour rendering of the mosaic's visible window, encoded by
Pillow. Like a Sony JPEG it starts ``FF D8 FF E1`` (SOI, then APP1 Exif, no JFIF segment): drivers
tell the two files apart by these magic bytes.
"""

from __future__ import annotations

import functools
import io
import logging
import math
from datetime import datetime

import numpy as np
import numpy.typing as npt
from PIL import Image

from alpaca_sony.simulator.arw import CHANNEL_RESPONSE, CfaPattern, exif_tiff, site_colours
from alpaca_sony.simulator.bodies import SimulatedModel

logger = logging.getLogger(__name__)

JPEG_MAGIC = b"\xff\xd8\xff\xe1"

# asinh stretch strength: faint sky lifts to a dark grey, stars stay unsaturated longer.
_STRETCH = 200.0


def render_jpeg(
    model: SimulatedModel,
    mosaic: npt.NDArray[np.integer],
    *,
    exposure_s: float,
    iso: int,
    when: datetime,
    pattern: CfaPattern = "RGGB",
    max_side: int = 1600,
    quality: int = 85,
) -> bytes:
    """Render the visible window of ``mosaic`` as a small JPEG with the camera's EXIF.

    Each output pixel is one 2x2 CFA cell (R, mean of the greens, B), taking every n-th cell so the
    long side is at most ``max_side``: decimation, not averaging, because it costs a few ms where
    binning a 24 MP frame costs tens. Colours are white-balanced with the simulator's channel
    response and given an asinh stretch above the sky level, as a night-sky JPEG would look.

    Args:
        model: The body (sensor geometry, black/white levels, EXIF Make/Model).
        mosaic: The raw CFA array, shape ``(raw_height, raw_width)``.
        exposure_s: Exposure time in seconds (EXIF).
        iso: ISO speed (EXIF).
        when: Capture time (EXIF).
        pattern: The CFA layout at the raw array's top-left.
        max_side: Upper bound on the JPEG's longer side, in pixels.
        quality: Pillow JPEG quality.

    Returns:
        The JPEG file, starting with ``FF D8 FF E1``.
    """
    sensor = model.sensor
    top, left = sensor.top_margin, sensor.left_margin
    visible = mosaic[top : top + sensor.visible_height, left : left + sensor.visible_width]
    step = 2 * max(1, math.ceil(max(visible.shape) / 2 / max(1, max_side)))
    rows, cols = visible.shape[0] // step, visible.shape[1] // step
    black = float(sensor.black_level)
    # Site colours as seen from the visible window's origin (odd margins shift the phase).
    tiles = site_colours(pattern)
    planes: dict[str, list[npt.NDArray[np.float32]]] = {"R": [], "G": [], "B": []}
    for dy in (0, 1):
        for dx in (0, 1):
            plane = visible[dy::step, dx::step][:rows, :cols].astype(np.float32)
            planes[tiles[(top + dy) % 2][(left + dx) % 2]].append(plane)

    stretch = _stretch_lut(float(sensor.white_level) - black)
    rgb = np.empty((rows, cols, 3), dtype=np.uint8)
    for i, colour in enumerate("RGB"):
        level, *others = planes[colour]
        for other in others:
            level += other
        level *= 1.0 / (len(others) + 1)
        level -= black
        level *= 1.0 / CHANNEL_RESPONSE[colour]
        # Subtracting each channel's sky level neutralises the sky and keeps it dark.
        level -= float(np.percentile(level[::4, ::4], 5.0))
        np.clip(level, 0, len(stretch) - 1, out=level)
        rgb[..., i] = stretch[level.astype(np.uint16)]
    image = Image.fromarray(rgb, "RGB")

    app1 = b"Exif\0\0" + exif_tiff(model, exposure_s=exposure_s, iso=iso, when=when)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=app1)
    data = _drop_jfif(out.getvalue())
    logger.debug("rendered %dx%d JPEG, %d bytes", cols, rows, len(data))
    return data


@functools.lru_cache(maxsize=8)
def _stretch_lut(span: float) -> npt.NDArray[np.uint8]:
    """uint8 display value for each ADU above the sky: an asinh curve reaching 255 at ``span``."""
    adu = np.arange(int(span) + 1, dtype=np.float64)
    curve = np.arcsinh(_STRETCH * adu / span) * (255.0 / math.asinh(_STRETCH))
    return np.rint(curve).astype(np.uint8)


def _drop_jfif(data: bytes) -> bytes:
    """Remove the JFIF APP0 segment libjpeg always writes, so APP1 Exif follows SOI as on a Sony."""
    if data[2:4] != b"\xff\xe0":
        return data
    length = int.from_bytes(data[4:6], "big")
    return data[:2] + data[4 + length :]
