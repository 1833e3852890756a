"""The colour of the fast RGB path, from an ARW's own colour metadata.

Two steps, in LibRaw's order, so the result reproduces LibRaw's linear ``dcraw_process`` (gamma 1,
no auto brightness, output_bps 16, ``highlight`` 0) as LibRaw's own sources lay it out:

* ``scale_colors``, on the mosaic before the demosaic: black subtracted, then each site times its
  colour's white-balance multiplier divided by the smallest one, times 65535 / (white level -
  black), clipped at 65535: a saturated site of the least-amplified colour is 65535 and the others
  clip there (no highlight reconstruction), so a saturated star is white in every colour space;
* ``cam_xyz_coeff``: camera-from-sRGB = camera-from-XYZ (the ARW's ``rgb_xyz_matrix``) times
  XYZ-from-sRGB (D65), each row normalised to sum 1 (so a white-balanced white stays white); the
  output matrix is its inverse; without a camera white balance LibRaw's daylight one is used;
* ``convert_to_rgb``, after the demosaic: the 3x3 matrix, once per pixel; camera primaries ("raw"
  colour) skip it entirely.

No rawpy here: :mod:`alpaca_sony.camera.decode` reads the numbers and hands them over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float64]

# XYZ from linear sRGB, D65 white (IEC 61966-2-1; the table LibRaw and dcraw name xyz_rgb).
XYZ_FROM_SRGB: Matrix = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)

OUTPUT_FULL_SCALE = 65535


@dataclass(frozen=True)
class SensorColour:
    """What an ARW says about its colour, per colour R, G, B (the second green folded into G).

    ``camera_from_xyz`` is all zeros when LibRaw knows no matrix for the body; ``camera_wb`` is
    all zeros (or negative) when the file carries no usable white balance.
    """

    black: int  # the smallest site black level: LibRaw's common black
    white: int
    camera_wb: tuple[float, float, float]
    daylight_wb: tuple[float, float, float]  # LibRaw's pre_mul: from the matrix
    camera_from_xyz: Matrix  # 3x3, rows R, G, B


def camera_from_srgb(colour: SensorColour) -> Matrix | None:
    """The row-normalised camera-from-sRGB matrix, or None when the body has no matrix."""
    if not np.any(colour.camera_from_xyz):
        return None
    matrix = colour.camera_from_xyz @ XYZ_FROM_SRGB
    sums = matrix.sum(axis=1, keepdims=True)
    if np.any(sums == 0):
        return None
    normalised: Matrix = matrix / sums
    return normalised


def white_balance(colour: SensorColour, use_camera_wb: bool) -> tuple[float, float, float]:
    """The multipliers applied: the camera's as shot, else (or when it has none) daylight."""
    if use_camera_wb:
        if all(m > 0 for m in colour.camera_wb):
            return colour.camera_wb
        log.info("the RAW file has no usable white balance: using the daylight balance instead")
    if all(m > 0 for m in colour.daylight_wb):
        return colour.daylight_wb
    return (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class ColourPass:
    """LibRaw's order: each CFA site times its colour's ``scale`` (after black, clipped to 65535)
    before the demosaic, then ``matrix`` (None: camera primaries, nothing to convert)."""

    scale: tuple[float, float, float]  # R, G, B
    matrix: Matrix | None  # 3x3, camera R, G, B -> sRGB R, G, B


def colour_pass(colour: SensorColour, srgb: bool, use_camera_wb: bool) -> ColourPass:
    """How black-subtracted camera values become linear 16-bit output.

    Args:
        colour: the file's colour metadata.
        srgb: sRGB primaries; False keeps the camera's own (white-balanced) primaries.
        use_camera_wb: the white balance the camera recorded; False: daylight.
    """
    wb = np.array(white_balance(colour, use_camera_wb))
    span = colour.white - colour.black
    scale = wb / wb.min() * OUTPUT_FULL_SCALE / span
    scales = (float(scale[0]), float(scale[1]), float(scale[2]))
    if not srgb:
        return ColourPass(scales, None)
    to_camera = camera_from_srgb(colour)
    if to_camera is None:
        log.info("no colour matrix is known for this body: sRGB output keeps camera primaries")
        return ColourPass(scales, None)
    srgb_from_camera = np.asarray(np.linalg.inv(to_camera), dtype=np.float64)
    return ColourPass(scales, srgb_from_camera)
