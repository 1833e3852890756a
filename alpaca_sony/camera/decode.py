"""RAW decoding: the only module that imports rawpy.

Two outputs, both stored once in the x-major order Alpaca transfers (``array[x, y]``), so requests
never transpose:

* raw Bayer: the visible CFA mosaic as uint16, with the Bayer offsets LibRaw's colour layout gives;
* RGB: a linear 16-bit demosaic (camera-native or sRGB primaries, a choice of algorithm, or the fast
  half-size mode that makes one RGB pixel of each 2x2 CFA cell).

Subframes are cut after decoding; software binning **averages** each bin (rounded), so the values
keep the sensor's range and MaxADU does not change with binning: nothing clips that did not
already clip on the sensor.

Honesty: a file LibRaw cannot decode, or one that is not a 2x2 Bayer mosaic (the S/M size
"Lossless Comp" RAW of newer bodies is demosaiced in the camera, LibRaw issue #493; sony-ptp.md
14.10), raises :class:`RawNotUsable` naming the body, the camera setting to change and the LibRaw
version, never a frame that silently means something else.
"""

from __future__ import annotations

import io
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rawpy

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


class ColourSpace(Enum):
    """Primaries of the RGB output."""

    CAMERA = "camera"
    SRGB = "srgb"


@dataclass(frozen=True)
class DecodeOptions:
    """How to build the RGB image (ignored in raw mode)."""

    colour_space: ColourSpace = ColourSpace.CAMERA
    algorithm: str = "AHD"  # any rawpy.DemosaicAlgorithm name: LINEAR, VNG, PPG, AHD, DCB, ...
    camera_white_balance: bool = True


def demosaic_algorithms() -> tuple[str, ...]:
    """The demosaic algorithm names this LibRaw build runs (the GPL packs' ones often not)."""
    return tuple(a.name for a in rawpy.DemosaicAlgorithm if a.isSupported)


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
    with _open(source, body) as raw:
        try:
            offsets = _check_bayer(raw, body)
            size = (int(raw.sizes.width), int(raw.sizes.height))
            if mode == ReadoutMode.RAW:
                # A view into LibRaw's buffer: the only copy is the x-major one made by _frame.
                return _frame(raw.raw_image_visible, offsets, subframe, max_adu, size)
            rgb = raw.postprocess(
                output_bps=16,
                gamma=(1, 1),
                no_auto_bright=True,
                use_camera_wb=options.camera_white_balance,
                half_size=mode == ReadoutMode.RGB_HALF,
                output_color=(
                    rawpy.ColorSpace.raw
                    if options.colour_space == ColourSpace.CAMERA
                    else rawpy.ColorSpace.sRGB
                ),
                demosaic_algorithm=rawpy.DemosaicAlgorithm[options.algorithm],
                user_flip=0,
            )
        except rawpy.LibRawError as exc:
            raise _undecodable(body, _reason(exc)) from exc
    return _frame(np.asarray(rgb, dtype=np.uint16), (None, None), subframe, max_adu, size)


def _bin(image: npt.NDArray[np.uint16], bin_x: int, bin_y: int) -> npt.NDArray[np.uint16]:
    """Average bin_y x bin_x blocks (y-major input; a partial edge bin is dropped)."""
    if bin_x == 1 and bin_y == 1:
        return image
    height = image.shape[0] // bin_y * bin_y
    width = image.shape[1] // bin_x * bin_x
    trimmed = image[:height, :width]
    shape = (height // bin_y, bin_y, width // bin_x, bin_x, *image.shape[2:])
    sums = trimmed.reshape(shape).sum(axis=(1, 3), dtype=np.uint32)
    count = bin_x * bin_y
    averaged: npt.NDArray[np.uint16] = ((sums + count // 2) // count).astype(np.uint16)
    return averaged


def _frame(
    image: npt.NDArray[np.uint16],
    offsets: tuple[int | None, int | None],
    subframe: Subframe,
    max_adu: int,
    sensor_size: tuple[int, int] | None = None,
) -> DecodedFrame:
    binned = _bin(image, subframe.bin_x, subframe.bin_y)
    height, width = binned.shape[0], binned.shape[1]
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
    cut = binned[
        subframe.start_y : subframe.start_y + num_y, subframe.start_x : subframe.start_x + num_x
    ]
    width_all, height_all = sensor_size or (None, None)
    return DecodedFrame(to_x_major(cut), offsets[0], offsets[1], max_adu, width_all, height_all)


_TILE = 128


def _transpose_rows(image: U16Array, out: U16Array, y_start: int, y_end: int) -> None:
    width = image.shape[1]
    for y in range(y_start, y_end, _TILE):
        y_stop = min(y + _TILE, y_end)
        for x in range(0, width, _TILE):
            out[x : x + _TILE, y:y_stop] = image[y:y_stop, x : x + _TILE].swapaxes(0, 1)


def to_x_major(image: U16Array, threads: int = 2) -> U16Array:
    """Copy a y-major (height, width[, 3]) image into x-major (width, height[, 3]) order.

    Tile by tile, so each block fits the cache (about 5x faster than numpy's strided copy of a
    transposed view), and in bands on ``threads`` threads (numpy releases the GIL for the copies).
    """
    height, width = image.shape[0], image.shape[1]
    out: U16Array = np.empty((width, height, *image.shape[2:]), dtype=np.uint16)
    band = -(-height // threads)
    band = -(-band // _TILE) * _TILE
    starts = range(0, height, band)
    if len(starts) == 1:
        _transpose_rows(image, out, 0, height)
        return out
    # The first band runs on this thread, the others on helper threads.
    with ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="transpose") as pool:
        futures = [
            pool.submit(_transpose_rows, image, out, y, min(y + band, height)) for y in starts[1:]
        ]
        _transpose_rows(image, out, 0, min(band, height))
        for future in futures:
            future.result()
    return out
