"""The fast RGB path: OpenCV demosaic and the colour pass, banded, straight into x-major frames.

The only module that imports OpenCV (cv2); it also makes the x-major copy of a y-major image
(:func:`to_x_major`, raw mode's one copy). Every function works in the array's own axes: the
caller hands over the mosaic already in Alpaca's x-major order (axis 0 = x) with its 2x2 pattern
transposed to match (:func:`transposed`), so the demosaic writes the x-major frame directly and no
RGB image is ever transposed (three 16-bit planes transpose 4x slower than the one-plane mosaic).

Bilinear interpolation is symmetric, so demosaicing the transposed mosaic gives exactly the
transposed result. OpenCV's edge-aware (EA) demosaic interpolates each missing green along the
smaller of the two green gradients; on the transposed mosaic a tie between them is broken the
other way (about one pixel in 10^5 of pure noise, none on smooth images): an equally valid result.

The mosaic is white-balanced in place first (:func:`balance`: LibRaw's order, see
:mod:`alpaca_sony.camera.colour`). A whole frame in camera primaries is demosaiced straight into
the output. Anything else goes in bands of rows (:data:`BAND_PIXELS` a band), each demosaiced
with :data:`PAD` extra rows on either side so it equals the demosaic of the whole image, then
colour-converted by ``cv2.transform`` (3x3 matrix, rounding and saturation to uint16 in the same
pass; never in place, which OpenCV does 10x slower) and binned into its rows of the output.
Either way peak memory is the mosaic, the output and at most one band, never a second full RGB
image.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from alpaca_sony.camera.binning import average_bins

# OpenCV's stubs lack the overloads that take a per-channel Scalar (a tuple) as an operand.
_opencv: Any = cv2

U16Array = npt.NDArray[np.uint16]
FloatMatrix = npt.NDArray[np.float64]

EDGE_AWARE = "EA"
BILINEAR = "BILINEAR"
FAST_ALGORITHMS = (EDGE_AWARE, BILINEAR)

# Rows of context either side of a band: OpenCV's Bayer kernels reach 2 pixels; 8 is ample and
# even, so a band always starts on the pattern's own phase.
PAD = 8
BAND_PIXELS = 1 << 22  # ~4 M pixels: a 25 MB RGB band, a few bands for any sensor


@dataclass(frozen=True)
class Window:
    """The pixels to output: rows [start0, stop0) and columns [start1, stop1) of the mosaic."""

    start0: int
    stop0: int
    start1: int
    stop1: int


def transposed(pattern: str) -> str:
    """The 2x2 pattern (row by row, e.g. "GRBG") of the transposed mosaic ("GBRG")."""
    return pattern[0] + pattern[2] + pattern[1] + pattern[3]


def to_x_major(image: U16Array, threads: int = 2) -> U16Array:
    """Copy a y-major (height, width[, 3]) image into x-major (width, height[, 3]) order.

    OpenCV's transpose (cache-blocked, vectorised: about 5x numpy's strided copy of a transposed
    view), in bands of columns on ``threads`` threads (OpenCV releases the GIL). A band of the
    source's columns is a block of the output's rows, so each thread writes its own contiguous
    part of the output.
    """
    height, width = image.shape[0], image.shape[1]
    out: U16Array = np.empty((width, height, *image.shape[2:]), dtype=np.uint16)
    band = -(-width // max(1, threads))
    starts = range(0, width, band)
    if len(starts) == 1:
        _transpose_into(image, out)
        return out
    # The first band runs on this thread, the others on helper threads.
    with ThreadPoolExecutor(max_workers=len(starts) - 1, thread_name_prefix="transpose") as pool:
        futures = [
            pool.submit(_transpose_into, image[:, x : x + band], out[x : x + band])
            for x in starts[1:]
        ]
        _transpose_into(image[:, :band], out[:band])
        for future in futures:
            future.result()
    return out


def _transpose_into(source: U16Array, target: U16Array) -> None:
    written = cv2.transpose(source, dst=target)
    if not np.shares_memory(written, target):  # OpenCV chose its own buffer: copy it over
        target[...] = written.reshape(target.shape)


# OpenCV names a Bayer code by the second row's second and third pixels (its documentation's
# figure), not by the top-left cell: an RGGB mosaic is COLOR_BayerBG2RGB. (Newer releases add
# COLOR_BayerRGGB2RGB for the same code; the old names work on every release.)
_OPENCV_NAME = {"RGGB": "BG", "GRBG": "GB", "GBRG": "GR", "BGGR": "RG"}


def _bayer_code(pattern: str, algorithm: str) -> int:
    """OpenCV's conversion code for a mosaic whose top-left 2x2 cell reads ``pattern``."""
    if pattern not in _OPENCV_NAME:
        raise ValueError(f"not a Bayer pattern: {pattern!r}")
    suffix = {EDGE_AWARE: "_EA", BILINEAR: ""}[algorithm]
    code: int = getattr(cv2, f"COLOR_Bayer{_OPENCV_NAME[pattern]}2RGB{suffix}")
    return code


def balance(
    mosaic: U16Array,
    site_black: tuple[int, int, int, int],
    site_scale: tuple[float, float, float, float],
) -> None:
    """Subtract each 2x2 site's black level, then scale it, in place, clipping to 0..65535.

    ``site_black`` and ``site_scale`` list the sites row by row, like a pattern string. Rounds to
    nearest (LibRaw truncates: half an output step lower, on average).
    """
    rows, columns = mosaic.shape
    paired = columns // 2 * 2
    # Each row as a two-channel image (its two sites), every other row: OpenCV subtracts and
    # scales both sites of a row in one saturating pass each, in place.
    pairs = mosaic[:, :paired].reshape(rows, paired // 2, 2)
    for parity in (0, 1):
        first, second = 2 * parity, 2 * parity + 1
        rows_of_parity = pairs[parity::2]
        _opencv.subtract(
            rows_of_parity, (site_black[first], site_black[second], 0, 0), dst=rows_of_parity
        )
        _opencv.multiply(
            rows_of_parity, (site_scale[first], site_scale[second], 0, 0), dst=rows_of_parity
        )
    if paired < columns:  # an odd last column holds sites 0 and 2 of the pattern
        for parity in (0, 1):
            column = mosaic[parity::2, -1]
            black, scale = site_black[2 * parity], site_scale[2 * parity]
            value = (column.astype(np.float64) - black).clip(0) * scale
            column[:] = np.rint(value).clip(0, 65535).astype(np.uint16)


def _band_rows(size1: int, multiple: int) -> int:
    rows = max(1, BAND_PIXELS // max(1, size1))
    return max(multiple, rows // multiple * multiple)


def demosaic(
    mosaic: U16Array,
    pattern: str,
    algorithm: str,
    matrix: FloatMatrix | None,
    window: Window,
    bin0: int = 1,
    bin1: int = 1,
) -> U16Array:
    """Demosaic, colour-convert and bin the ``window`` of a black-subtracted mosaic.

    Args:
        mosaic: a (rows, columns) uint16 CFA mosaic, already through :func:`balance`, whose
            top-left cell reads ``pattern``.
        pattern: the 2x2 cell row by row ("RGGB", "GRBG", "GBRG" or "BGGR").
        algorithm: :data:`EDGE_AWARE` or :data:`BILINEAR`.
        matrix: 3x3, camera R, G, B -> output R, G, B (see :mod:`alpaca_sony.camera.colour`);
            None: the demosaiced values are the output.
        window: the pixels to output; its sizes are multiples of the bins.
        bin0, bin1: average bins along each axis.

    Returns:
        uint16 (rows / bin0, columns / bin1, 3), C-contiguous.
    """
    code = _bayer_code(pattern, algorithm)
    transform = None if matrix is None else matrix.astype(np.float32)
    rows = window.stop0 - window.start0
    columns = window.stop1 - window.start1
    out: U16Array = np.empty((rows // bin0, columns // bin1, 3), dtype=np.uint16)
    whole = window == Window(0, mosaic.shape[0], 0, mosaic.shape[1]) and bin0 == bin1 == 1
    if whole and transform is None:
        # The whole frame in camera primaries (the default): demosaic straight into the output.
        cv2.cvtColor(mosaic, code, dst=out)
        return out
    step = _band_rows(mosaic.shape[1], 2 * bin0)
    for start in range(window.start0, window.stop0, step):
        stop = min(start + step, window.stop0)
        first = max(0, start - PAD) // 2 * 2  # even: the band keeps the mosaic's phase
        last = min(mosaic.shape[0], stop + PAD)
        rgb = cv2.cvtColor(mosaic[first:last], code)
        part = rgb[start - first : stop - first, window.start1 : window.stop1]
        at = (start - window.start0) // bin0
        rows_out = out[at : at + (stop - start) // bin0]
        if bin0 == 1 and bin1 == 1:
            if transform is None:
                rows_out[...] = part
            else:
                cv2.transform(part, transform, dst=rows_out)  # rounds and saturates
        else:
            converted = part if transform is None else cv2.transform(part, transform)
            rows_out[...] = average_bins(np.asarray(converted, dtype=np.uint16), bin0, bin1)
    return out


def _cells(mosaic: U16Array, sites: tuple[int, int, int, int], dst: U16Array) -> None:
    """Fill ``dst`` (cells, cells, 3) with R, the rounded mean of the greens, B of each cell."""

    def site(index: int) -> U16Array:
        return mosaic[index // 2 :: 2, index % 2 :: 2]

    red, green1, green2, blue = sites
    dst[..., 0] = site(red)
    greens = np.add(site(green1), site(green2), dtype=np.uint32)
    greens += 1
    greens >>= 1
    dst[..., 1] = greens
    dst[..., 2] = site(blue)


def superpixel(
    mosaic: U16Array, pattern: str, matrix: FloatMatrix | None, bin0: int = 1, bin1: int = 1
) -> U16Array:
    """One RGB pixel per 2x2 cell, no interpolation: R, the mean of the two greens, B.

    Args:
        mosaic: a (rows, columns) uint16 mosaic, already through :func:`balance`, both sizes
            even, whose top-left cell reads ``pattern``.
        pattern, matrix: as for :func:`demosaic`.
        bin0, bin1: average bins of cells along each axis (sizes in cells are multiples of them).

    Returns:
        uint16 (rows / 2 / bin0, columns / 2 / bin1, 3); the green mean rounded half up.
    """
    if pattern not in _OPENCV_NAME:
        raise ValueError(f"not a Bayer pattern: {pattern!r}")
    greens = [i for i, c in enumerate(pattern) if c == "G"]
    sites = (pattern.index("R"), greens[0], greens[1], pattern.index("B"))
    transform = None if matrix is None else matrix.astype(np.float32)
    cells0, cells1 = mosaic.shape[0] // 2, mosaic.shape[1] // 2
    out: U16Array = np.empty((cells0 // bin0, cells1 // bin1, 3), dtype=np.uint16)
    if bin0 == bin1 == 1 and transform is None:
        _cells(mosaic, sites, out)
        return out
    step = _band_rows(cells1, bin0)
    for start in range(0, cells0, step):
        stop = min(start + step, cells0)
        band: U16Array = np.empty((stop - start, cells1, 3), dtype=np.uint16)
        _cells(mosaic[2 * start : 2 * stop], sites, band)
        at = start // bin0
        rows_out = out[at : at + (stop - start) // bin0]
        if transform is not None and bin0 == bin1 == 1:
            cv2.transform(band, transform, dst=rows_out)
        else:
            converted = band if transform is None else cv2.transform(band, transform)
            rows_out[...] = average_bins(np.asarray(converted, dtype=np.uint16), bin0, bin1)
    return out
