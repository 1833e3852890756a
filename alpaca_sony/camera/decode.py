"""RAW decoding: the only module that imports rawpy.

Two outputs, both stored once in the x-major order Alpaca transfers (``array[x, y]``), so requests
never transpose:

* raw Bayer: the visible CFA mosaic as uint16, with the Bayer offsets LibRaw's colour layout gives;
* RGB: linear 16-bit, camera-native or sRGB primaries. By default the fast path: OpenCV's demosaic
  (:mod:`alpaca_sony.camera.demosaic`, edge-aware or bilinear) and one colour pass built from the
  ARW's own white balance, levels and matrix (:mod:`alpaca_sony.camera.colour`), matching LibRaw's
  linear output; or LibRaw's own algorithms by name (AHD, DCB, ...: slower, for their quality).
  RGB half size is a 2x2 superpixel: one RGB pixel per CFA cell, nothing interpolated.

Subframes are cut after decoding; software binning **averages** each bin (rounded), so the values
keep the sensor's range and MaxADU does not change with binning: nothing clips that did not
already clip on the sensor. The fast path demosaics only the subframe (plus a few rows of context).

Honesty: a file LibRaw cannot decode, or one that is not a 2x2 Bayer mosaic (the S/M size
"Lossless Comp" RAW of newer bodies is demosaiced in the camera, LibRaw issue #493; sony-ptp.md
14.10), raises :class:`RawNotUsable` naming the body, the camera setting to change and the LibRaw
version, never a frame that silently means something else.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rawpy

from alpaca_sony.camera.binning import average_bins
from alpaca_sony.camera.colour import ColourPass, SensorColour, colour_pass
from alpaca_sony.camera.demosaic import (
    EDGE_AWARE,
    FAST_ALGORITHMS,
    PAD,
    Window,
    balance,
    demosaic,
    superpixel,
    to_x_major,
    transposed,
)
from alpaca_sony.errors import CameraError

log = logging.getLogger(__name__)

U16Array = npt.NDArray[np.uint16]


LIBRAW_VERSION = ".".join(str(part) for part in rawpy.libraw_version)

# Sony's menu path and values: help guide helpguide.sony.net/ilc/2040 "Image Quality Settings: RAW
# File Type" (Lossless Comp L/M/S); Sony support article 00024656 (ILCE-1 firmware adds M/S);
# LibRaw issue #493 (ILCE-7M4 after its firmware update).
_RAW_SETTING = (
    "set MENU > Shooting > Image Quality > RAW File Type to Uncompressed, Compressed or "
    "Lossless Comp (L)"
)


class RawNotUsable(CameraError):
    """The camera's RAW file cannot be turned into a Bayer frame; the message says what to do."""


def _undecodable(body: str, reason: object) -> RawNotUsable:
    return RawNotUsable(
        f"LibRaw {LIBRAW_VERSION} (bundled with rawpy) could not decode the {body} RAW file "
        f"({reason}): {_RAW_SETTING} on the camera, or update rawpy if the file opens elsewhere"
    )


def _not_bayer(body: str, layout: str) -> RawNotUsable:
    return RawNotUsable(
        f"the {body} sent a RAW file that is not Bayer sensor data (LibRaw {LIBRAW_VERSION} reads "
        f"{layout}); S and M size RAW are like that: {_RAW_SETTING}"
    )


def _reason(exc: Exception) -> str:
    text = exc.args[0] if exc.args else exc
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


class ReadoutMode(Enum):
    """What an exposure is turned into."""

    RAW = "raw"
    RGB = "rgb"
    RGB_HALF = "rgb-half"


# LibRaw's algorithms this rawpy build has (AMaZE, LMMSE, ... need GPL packs rawpy leaves out).
LIBRAW_ALGORITHMS = tuple(a.name for a in rawpy.DemosaicAlgorithm if a.isSupported)
DEMOSAIC_ALGORITHMS = FAST_ALGORITHMS + LIBRAW_ALGORITHMS
# The fast path, edge-aware: why, in the README ("Capture pipeline").
DEFAULT_ALGORITHM = EDGE_AWARE


def demosaic_algorithm(name: str) -> str:
    """The algorithm ``name`` means (in any case).

    Raises:
        ValueError: no such algorithm (the message lists them).
    """
    if name.upper() in DEMOSAIC_ALGORITHMS:
        return name.upper()
    raise ValueError(f"must be one of {', '.join(DEMOSAIC_ALGORITHMS)}, not {name!r}")


class ColourSpace(Enum):
    """Primaries of the RGB output."""

    CAMERA = "camera"
    SRGB = "srgb"


@dataclass(frozen=True)
class DecodeOptions:
    """How to build the RGB image (ignored in raw mode)."""

    colour_space: ColourSpace = ColourSpace.CAMERA
    # One of DEMOSAIC_ALGORITHMS: EA or BILINEAR (OpenCV, fast), or LibRaw's LINEAR, AHD, DCB, ...
    algorithm: str = DEFAULT_ALGORITHM
    camera_white_balance: bool = True


def demosaic_algorithms() -> tuple[str, ...]:
    """Every demosaic name a setting may give: the fast path's and this LibRaw build's."""
    return DEMOSAIC_ALGORITHMS


@dataclass(frozen=True)
class Subframe:
    """A region of the (unbinned) output and its binning: start and size in binned pixels."""

    start_x: int = 0
    start_y: int = 0
    num_x: int | None = None
    num_y: int | None = None
    bin_x: int = 1
    bin_y: int = 1


@dataclass(frozen=True)
class DecodedFrame:
    """An image ready for Alpaca: ``pixels`` is x-major, (width, height) or (width, height, 3)."""

    pixels: U16Array
    bayer_offset_x: int | None
    bayer_offset_y: int | None
    max_adu: int
    # The whole visible frame LibRaw decoded, before subframe and binning (what CameraXSize/Y mean).
    sensor_width: int | None = None
    sensor_height: int | None = None

    @property
    def width(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[1])


def bayer_offsets(colors: npt.NDArray[np.integer], color_desc: bytes) -> tuple[int, int]:
    """(x, y) of the red site in the top-left 2x2 cell: Alpaca's BayerOffsetX/Y for RGGB.

    Args:
        colors: LibRaw's colour indices at the visible area's top left: ``raw_pattern``
            (LibRaw's COLOR(y, x) takes visible-area coordinates, margins already applied).
        color_desc: LibRaw's colour letters, e.g. b"RGBG".

    Raises:
        CameraError: the layout is not a 2x2 Bayer pattern with one red site per cell.
    """
    red = color_desc.decode("ascii").find("R")
    cell = np.asarray(colors[:2, :2])
    positions = np.argwhere(cell == red)
    if red < 0 or cell.shape != (2, 2) or len(positions) != 1:
        raise CameraError(f"unsupported colour filter layout {cell.tolist()} ({color_desc!r})")
    y, x = (int(v) for v in positions[0])
    return x, y


def _open(source: bytes | Path, body: str) -> rawpy.RawPy:
    try:
        if isinstance(source, Path):
            return rawpy.imread(str(source))
        return rawpy.imread(io.BytesIO(source))
    except (rawpy.LibRawError, OSError) as exc:
        raise _undecodable(body, _reason(exc)) from exc


def _check_bayer(raw: rawpy.RawPy, body: str) -> tuple[int, int]:
    """The Bayer offsets, or RawNotUsable when the file holds anything but a 2x2 CFA mosaic."""
    pattern = raw.raw_pattern
    if raw.raw_type != rawpy.RawType.Flat or pattern is None:
        samples = raw.raw_image.shape[2] if raw.raw_image.ndim == 3 else 1
        raise _not_bayer(body, f"{samples} values per pixel, no colour filter pattern")
    try:
        return bayer_offsets(pattern, raw.color_desc)
    except CameraError as exc:
        raise _not_bayer(body, str(exc)) from exc


def decode(
    source: bytes | Path,
    mode: ReadoutMode,
    subframe: Subframe,
    max_adu: int,
    options: DecodeOptions | None = None,
    body: str = "camera",
) -> DecodedFrame:
    """Decode an ARW into an x-major frame: binned, cut to the subframe, copied exactly once.

    Decoding from a saved file (a ``Path``) keeps the ARW out of this process's memory; bytes are
    read in place (no copy). ``body`` names the camera in error messages (a DeviceInfo model).

    Raises:
        RawNotUsable: LibRaw cannot decode the file, or it is not Bayer data (in every mode: an
            RGB frame from an S/M RAW would be smaller than CameraXSize x CameraYSize).
        CameraError: the subframe does not fit.
    """
    options = options or DecodeOptions()
    fast = mode == ReadoutMode.RGB_HALF or options.algorithm in FAST_ALGORITHMS
    with _open(source, body) as raw:
        try:
            offsets = _check_bayer(raw, body)
            size = (int(raw.sizes.width), int(raw.sizes.height))
            if mode == ReadoutMode.RAW:
                # A view into LibRaw's buffer: the only copy is the x-major one made by _frame.
                return _frame(raw.raw_image_visible, offsets, subframe, max_adu, size)
            if fast:
                # The mosaic is copied out, so LibRaw's buffers are freed before the RGB frame
                # is built.
                job = _fast_job(raw, mode, subframe, options, size, body)
            else:
                rgb = _libraw_rgb(raw, options)
        except rawpy.LibRawError as exc:
            raise _undecodable(body, _reason(exc)) from exc
    if fast:
        return _render(job, max_adu, size)
    return _frame(np.asarray(rgb, dtype=np.uint16), (None, None), subframe, max_adu, size)


def _libraw_rgb(raw: rawpy.RawPy, options: DecodeOptions) -> U16Array:
    """LibRaw's own demosaic (a named algorithm), linear 16-bit, full size."""
    rgb = raw.postprocess(
        output_bps=16,
        gamma=(1, 1),
        no_auto_bright=True,
        # The sensor's white level, never the frame's brightest pixel: every frame on one scale
        # (LibRaw's default takes the data maximum when it is within 25 % of white).
        adjust_maximum_thr=0.0,
        use_camera_wb=options.camera_white_balance,
        output_color=(
            rawpy.ColorSpace.raw
            if options.colour_space == ColourSpace.CAMERA
            else rawpy.ColorSpace.sRGB
        ),
        demosaic_algorithm=rawpy.DemosaicAlgorithm[options.algorithm],
        user_flip=0,
    )
    return np.asarray(rgb, dtype=np.uint16)  # output_bps 16: already uint16, not copied


@dataclass(frozen=True)
class _FastJob:
    """What the fast path needs once LibRaw is closed: an x-major mosaic and its colour."""

    mode: ReadoutMode
    algorithm: str  # one of FAST_ALGORITHMS (RGB only)
    mosaic: U16Array  # x-major, black not yet subtracted; a cut with PAD context (RGB)
    pattern: str  # the mosaic's own 2x2 cell, row by row (already transposed)
    site_black: tuple[int, int, int, int]  # in the same order
    window: Window  # the pixels to output, in mosaic coordinates (unbinned; RGB only)
    bins: tuple[int, int]  # (x, y)
    colour: ColourPass


def _pattern(raw: rawpy.RawPy) -> tuple[str, tuple[int, int, int, int]]:
    """The visible area's top-left 2x2 cell ("RGGB", ...) and each site's black level."""
    cell = np.asarray(raw.raw_pattern)[:2, :2].ravel()
    letters = "".join(raw.color_desc.decode("ascii")[int(i)] for i in cell)
    black = raw.black_level_per_channel
    site_black = (int(black[cell[0]]), int(black[cell[1]]), int(black[cell[2]]),
                  int(black[cell[3]]))  # fmt: skip
    return letters, site_black


def _sensor_colour(raw: rawpy.RawPy, site_black: tuple[int, ...]) -> SensorColour:
    camera_wb, daylight_wb = raw.camera_whitebalance, raw.daylight_whitebalance
    return SensorColour(
        black=min(site_black),
        white=int(raw.white_level),
        camera_wb=(float(camera_wb[0]), float(camera_wb[1]), float(camera_wb[2])),
        daylight_wb=(float(daylight_wb[0]), float(daylight_wb[1]), float(daylight_wb[2])),
        camera_from_xyz=np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3, :3],
    )


def _fast_job(
    raw: rawpy.RawPy,
    mode: ReadoutMode,
    subframe: Subframe,
    options: DecodeOptions,
    size: tuple[int, int],
    body: str,
) -> _FastJob:
    pattern, site_black = _pattern(raw)
    if sorted(pattern) != ["B", "G", "G", "R"]:
        raise _not_bayer(body, f"the colour filter cell {pattern}")
    colour = colour_pass(
        _sensor_colour(raw, site_black),
        srgb=options.colour_space == ColourSpace.SRGB,
        use_camera_wb=options.camera_white_balance,
    )
    width, height = size
    visible = raw.raw_image_visible
    x_major_black = (site_black[0], site_black[2], site_black[1], site_black[3])
    bins = (subframe.bin_x, subframe.bin_y)
    if mode == ReadoutMode.RGB_HALF:
        x0, y0, x1, y1 = _unbinned_window(subframe, width // 2, height // 2)
        mosaic = to_x_major(visible[2 * y0 : 2 * y1, 2 * x0 : 2 * x1])
        window = Window(0, x1 - x0, 0, y1 - y0)
    else:
        x0, y0, x1, y1 = _unbinned_window(subframe, width, height)
        # Context for the demosaic, from an even row and column: the cut keeps the phase.
        cut_x, cut_y = max(0, x0 - PAD) // 2 * 2, max(0, y0 - PAD) // 2 * 2
        mosaic = to_x_major(visible[cut_y : min(height, y1 + PAD), cut_x : min(width, x1 + PAD)])
        window = Window(x0 - cut_x, x1 - cut_x, y0 - cut_y, y1 - cut_y)
    return _FastJob(
        mode, options.algorithm, mosaic, transposed(pattern), x_major_black, window, bins, colour
    )


def _render(job: _FastJob, max_adu: int, size: tuple[int, int]) -> DecodedFrame:
    scale = dict(zip("RGB", job.colour.scale, strict=True))
    site_scale = (scale[job.pattern[0]], scale[job.pattern[1]], scale[job.pattern[2]],
                  scale[job.pattern[3]])  # fmt: skip
    balance(job.mosaic, job.site_black, site_scale)
    bin_x, bin_y = job.bins
    matrix = job.colour.matrix
    if job.mode == ReadoutMode.RGB_HALF:
        pixels = superpixel(job.mosaic, job.pattern, matrix, bin_x, bin_y)
    else:
        pixels = demosaic(job.mosaic, job.pattern, job.algorithm, matrix, job.window, bin_x, bin_y)
    return DecodedFrame(pixels, None, None, max_adu, *size)


def _fit(subframe: Subframe, width: int, height: int) -> tuple[int, int, int, int]:
    """(start x, start y, num x, num y) of the subframe in a width x height (binned) image.

    Raises:
        CameraError: it does not fit.
    """
    num_x = width - subframe.start_x if subframe.num_x is None else subframe.num_x
    num_y = height - subframe.start_y if subframe.num_y is None else subframe.num_y
    fits = (
        subframe.start_x >= 0
        and subframe.start_y >= 0
        and num_x > 0
        and num_y > 0
        and subframe.start_x + num_x <= width
        and subframe.start_y + num_y <= height
    )
    if not fits:
        raise CameraError(
            f"subframe {subframe.start_x},{subframe.start_y} {num_x}x{num_y} does not fit the "
            f"{width}x{height} image"
        )
    return subframe.start_x, subframe.start_y, num_x, num_y


def _unbinned_window(subframe: Subframe, width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the unbinned pixels of a width x height image the subframe covers."""
    bin_x, bin_y = subframe.bin_x, subframe.bin_y
    start_x, start_y, num_x, num_y = _fit(subframe, width // bin_x, height // bin_y)
    return (start_x * bin_x, start_y * bin_y, (start_x + num_x) * bin_x,
            (start_y + num_y) * bin_y)  # fmt: skip


def _frame(
    image: npt.NDArray[np.uint16],
    offsets: tuple[int | None, int | None],
    subframe: Subframe,
    max_adu: int,
    sensor_size: tuple[int, int] | None = None,
) -> DecodedFrame:
    binned = average_bins(image, subframe.bin_y, subframe.bin_x)  # y-major: rows first
    height, width = binned.shape[0], binned.shape[1]
    start_x, start_y, num_x, num_y = _fit(subframe, width, height)
    cut = binned[start_y : start_y + num_y, start_x : start_x + num_x]
    width_all, height_all = sensor_size or (None, None)
    return DecodedFrame(to_x_major(cut), offsets[0], offsets[1], max_adu, width_all, height_all)
