"""Synthetic Sony ARW files that LibRaw (rawpy) decodes as a given body, bit-exactly.

The file is an uncompressed 14-bit ARW, laid out the way testing-without-hardware.md ("Raw files")
measured LibRaw to accept it::

    TIFF header (II*) -> IFD0 (Make SONY, Model, SubIFDs, ExifIFD)
                         raw IFD (CFA tags, Sony 0x7310 black, 0xC61D white, 0x7313 WB)
                         ExifIFD (ExposureTime, ISO, DateTimeOriginal, MakerNote)
                         MakerNote (headerless Sony IFD: 0xB000 FileFormat, 0xB001 SonyModelID)
    padding to 16 bytes, then the pixels: raw_height rows of raw_width little-endian uint16 words.

``StripByteCounts == raw_width * raw_height * 2`` is what makes LibRaw pick its Sony uncompressed
decoder. The makernote's SonyModelID is what gets newer bodies (ILCE-7M4) LibRaw's vendor crop.

:func:`star_field` makes a plausible night-sky mosaic for a model, and :func:`stamp_sequence` /
:func:`read_sequence` mark and recognise individual shots cheaply.
"""

from __future__ import annotations

import functools
import logging
import math
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from statistics import NormalDist
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from alpaca_sony.simulator.bodies import SimulatedModel

logger = logging.getLogger(__name__)

CfaPattern = Literal["RGGB", "GRBG", "GBRG", "BGGR"]
CFA_PATTERNS: tuple[CfaPattern, ...] = get_args(CfaPattern)

Mosaic = npt.NDArray[np.uint16]

# SonyModelID (makernote 0xB001) per body, as LibRaw's camera-id table and ExifTool list them.
SONY_MODEL_IDS: dict[str, int] = {
    "ILCE-7M2": 0x154,
    "ILCE-7SM2": 0x15E,
    "ILCE-7RM3": 0x16A,
    "ILCE-7M3": 0x16B,
    "ILCE-6400": 0x173,
    "ILCE-7RM4": 0x177,
    "ILCE-6600": 0x17A,
    "ILCE-6100": 0x17B,
    "ILCE-7C": 0x17D,
    "ZV-E10": 0x17E,
    "ILCE-7SM3": 0x17F,
    "ILCE-1": 0x180,
    "ILCE-7RM4A": 0x183,
    "ILCE-7M4": 0x184,
}

# Makernote 0xB000 FileFormat: ARW 4.0 for the a7S III generation on, ARW 2.3.5 before (plausible
# values, not checked per body; LibRaw's uncompressed decoding and crop do not depend on them).
_ARW_4_0 = bytes((4, 0, 0, 0))
_ARW_2_3_5 = bytes((3, 3, 5, 0))
_ARW_4_BODIES = frozenset({"ILCE-7SM3", "ILCE-1", "ILCE-7M4", "ILCE-7RM4A"})

# TIFF field types.
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED, _SSHORT = 1, 2, 3, 4, 5, 7, 8
_TYPE_SIZE = {_BYTE: 1, _ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1, _SSHORT: 2}

_CFA_CODE = {"R": 0, "G": 1, "B": 2}

# Relative raw response of the R, G, B sites to a neutral source: green sites collect the most
# light on a Sony sensor, blue the least. Distinct values let a test recover the CFA layout.
CHANNEL_RESPONSE: dict[str, float] = {"R": 0.70, "G": 1.0, "B": 0.50}

# The stamp written by stamp_sequence: a sync byte then 32 data bits, each a 2x2 cell.
_STAMP_SYNC = 0b10110010
_STAMP_BITS = 8 + 32
STAMP_ROW = 64
STAMP_COL = 64
_STAMP_LOW = 1024
_STAMP_HIGH = 4000


@dataclass(frozen=True)
class _Entry:
    tag: int
    type: int
    count: int
    payload: bytes  # packed little-endian; a pointer entry is resolved at layout time
    pointer_to: str | None = None


class _Ifd:
    """One IFD being assembled: entries plus the out-of-line data that follows it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: list[_Entry] = []

    def add(self, tag: int, type_: int, values: bytes, count: int) -> None:
        self.entries.append(_Entry(tag, type_, count, values))

    def ascii(self, tag: int, text: str) -> None:
        data = text.encode("ascii") + b"\0"
        self.add(tag, _ASCII, data, len(data))

    def short(self, tag: int, *values: int) -> None:
        self.add(tag, _SHORT, struct.pack(f"<{len(values)}H", *values), len(values))

    def sshort(self, tag: int, *values: int) -> None:
        self.add(tag, _SSHORT, struct.pack(f"<{len(values)}h", *values), len(values))

    def long(self, tag: int, *values: int) -> None:
        self.add(tag, _LONG, struct.pack(f"<{len(values)}I", *values), len(values))

    def rational(self, tag: int, numerator: int, denominator: int) -> None:
        self.add(tag, _RATIONAL, struct.pack("<II", numerator, denominator), 1)

    def raw(self, tag: int, type_: int, data: bytes) -> None:
        self.add(tag, type_, data, len(data) // _TYPE_SIZE[type_])

    def pointer(self, tag: int, target: str) -> None:
        """A LONG holding the file offset of another IFD, blob or the pixel data."""
        self.entries.append(_Entry(tag, _LONG, 1, b"", target))

    def size(self) -> int:
        """Bytes this IFD plus its out-of-line values take (each value word-aligned)."""
        data = sum(_aligned(len(e.payload)) for e in self.entries if len(e.payload) > 4)
        return 2 + 12 * len(self.entries) + 4 + data

    def pack(self, offset: int, offsets: dict[str, int]) -> bytes:
        """Serialise at file offset ``offset``, resolving pointers from ``offsets``."""
        entries = sorted(self.entries, key=lambda e: e.tag)  # TIFF requires ascending tags
        head = bytearray(struct.pack("<H", len(entries)))
        data = bytearray()
        data_at = offset + 2 + 12 * len(entries) + 4
        for e in entries:
            payload = (
                e.payload if e.pointer_to is None else struct.pack("<I", offsets[e.pointer_to])
            )
            if len(payload) <= 4:
                head += struct.pack("<HHI", e.tag, e.type, e.count) + payload.ljust(4, b"\0")
            else:
                head += struct.pack("<HHII", e.tag, e.type, e.count, data_at + len(data))
                data += payload.ljust(_aligned(len(payload)), b"\0")
        head += b"\0\0\0\0"  # no next IFD
        return bytes(head + data)


def _aligned(n: int) -> int:
    return (n + 1) & ~1


def _exif_datetime(when: datetime) -> str:
    return when.strftime("%Y:%m:%d %H:%M:%S")


def _exif_offset(when: datetime) -> str | None:
    delta = when.utcoffset()
    if delta is None:
        return None
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def exposure_rational(exposure_s: float) -> tuple[int, int]:
    """ExposureTime as the (numerator, denominator) pair a Sony body writes (1/8000, 30/1, 5/2).

    Args:
        exposure_s: Exposure time in seconds, > 0.

    Returns:
        A reduced fraction whose terms fit an unsigned 32-bit TIFF RATIONAL.
    """
    if not (exposure_s > 0 and math.isfinite(exposure_s)):
        raise ValueError(f"exposure time must be positive and finite, got {exposure_s}")
    limit = max(1, min(1_000_000, (2**32 - 1) // (math.ceil(exposure_s) + 1)))
    frac = Fraction(exposure_s).limit_denominator(limit)
    if frac == 0:
        frac = Fraction(1, limit)
    return frac.numerator, frac.denominator


def _check_pattern(pattern: str) -> CfaPattern:
    if pattern not in CFA_PATTERNS:
        raise ValueError(f"CFA pattern must be one of {CFA_PATTERNS}, got {pattern!r}")
    return pattern  # narrowed to CfaPattern by the membership test


def _makernote(model: SimulatedModel) -> bytes:
    """A headerless Sony makernote IFD, as ILCE bodies write it; all values are inline."""
    note = _Ifd("makernote")
    note.raw(0xB000, _BYTE, _ARW_4_0 if model.model in _ARW_4_BODIES else _ARW_2_3_5)
    model_id = SONY_MODEL_IDS.get(model.model)
    if model_id is None:
        logger.debug("no SonyModelID known for %s; LibRaw may not apply its crop", model.model)
    else:
        note.short(0xB001, model_id)
    return note.pack(0, {})


def _wb_levels() -> tuple[int, int, int, int]:
    """WB_RGGBLevels that neutralise CHANNEL_RESPONSE (green = 1024)."""
    r, g, b = (round(1024 * CHANNEL_RESPONSE["G"] / CHANNEL_RESPONSE[c]) for c in "RGB")
    return r, g, g, b


def write_arw(
    model: SimulatedModel,
    mosaic: npt.NDArray[np.integer],
    *,
    exposure_s: float,
    iso: int,
    when: datetime,
    pattern: CfaPattern = "RGGB",
) -> bytes:
    """Build a complete uncompressed 14-bit ARW file for ``model``.

    rawpy decodes it with ``raw_image == mosaic`` and ``raw_image_visible`` equal to the model's
    visible window of it. The header is built with struct; the pixels are copied once.

    Args:
        model: The body to pose as (Make SONY, Model ``model.model``, its black/white levels).
        mosaic: The CFA values, shape ``(raw_height, raw_width)``, each <= ``sensor.max_adu``.
        exposure_s: Exposure time in seconds (ExposureTime).
        iso: ISO speed (RecommendedExposureIndex; ISOSpeedRatings too, 65535 above that, as
            Sony bodies write it).
        when: Capture time (DateTime, DateTimeOriginal; its UTC offset too if it has one).
        pattern: The 2x2 CFA layout at the top-left of the raw array.

    Returns:
        The file's bytes.

    Raises:
        ValueError: On a wrong shape, non-integer, negative or over-range values, an unknown
            pattern, or a non-positive ISO or exposure time.
    """
    pattern = _check_pattern(pattern)
    sensor = model.sensor
    shape = (sensor.raw_height, sensor.raw_width)
    if mosaic.shape != shape:
        raise ValueError(f"{model.model} mosaic must have shape {shape}, got {mosaic.shape}")
    if mosaic.dtype.kind not in "ui":
        raise ValueError(f"mosaic must hold integers, got {mosaic.dtype}")
    if mosaic.dtype.kind == "i" and mosaic.size and int(mosaic.min()) < 0:
        raise ValueError("mosaic holds negative values")
    if mosaic.size and int(mosaic.max()) > sensor.max_adu:
        raise ValueError(
            f"mosaic holds values above {sensor.max_adu} ({sensor.bits_per_sample} bit)"
        )
    # No copy when the caller already hands a C-contiguous little-endian uint16 array.
    pixels = np.ascontiguousarray(mosaic, dtype="<u2")

    ifd0, exif = _camera_ifds(model, exposure_s=exposure_s, iso=iso, when=when)
    ifd0.long(0x00FE, 1)  # NewSubfileType: IFD0 is the (absent) preview, the raw is a SubIFD
    ifd0.pointer(0x014A, "raw")

    raw = _Ifd("raw")
    raw.long(0x00FE, 0)
    raw.long(0x0100, sensor.raw_width)
    raw.long(0x0101, sensor.raw_height)
    raw.short(0x0102, sensor.bits_per_sample)
    raw.short(0x0103, 1)  # uncompressed
    raw.short(0x0106, 32803)  # CFA
    raw.pointer(0x0111, "pixels")
    raw.short(0x0115, 1)
    raw.long(0x0116, sensor.raw_height)
    raw.long(0x0117, pixels.nbytes)
    raw.short(0x011C, 1)
    raw.short(0x7000, 0)  # SonyRawFileType: uncompressed 14-bit
    raw.short(0x7310, *(sensor.black_level,) * 4)
    raw.sshort(0x7313, *_wb_levels())
    raw.short(0x828D, 2, 2)
    raw.raw(0x828E, _BYTE, bytes(_CFA_CODE[c] for c in pattern))
    raw.short(0xC61D, sensor.white_level)

    head = _pack_tiff((ifd0, raw, exif), tail="pixels")
    # join takes the array through the buffer protocol: the pixels are copied exactly once.
    return b"".join((head, pixels.data))


def exif_tiff(model: SimulatedModel, *, exposure_s: float, iso: int, when: datetime) -> bytes:
    """The camera's EXIF block as a little-endian TIFF (IFD0 + ExifIFD + Sony makernote).

    This is what goes into a JPEG's APP1 segment after ``b"Exif\\0\\0"``; it carries the same
    tags as the ARW's IFD0 and ExifIFD.

    Args:
        model: The body (Make SONY, Model ``model.model``).
        exposure_s: Exposure time in seconds.
        iso: ISO speed.
        when: Capture time.

    Returns:
        The TIFF bytes, offsets relative to its own start.
    """
    ifd0, exif = _camera_ifds(model, exposure_s=exposure_s, iso=iso, when=when)
    return _pack_tiff((ifd0, exif))


def _camera_ifds(
    model: SimulatedModel, *, exposure_s: float, iso: int, when: datetime
) -> tuple[_Ifd, _Ifd]:
    """IFD0 (identity, time, ExifIFD pointer) and the ExifIFD, shared by ARW and JPEG."""
    if iso <= 0:
        raise ValueError(f"ISO must be positive, got {iso}")
    stamp = _exif_datetime(when)
    ifd0 = _Ifd("ifd0")
    ifd0.ascii(0x010F, "SONY")
    ifd0.ascii(0x0110, model.model)
    ifd0.short(0x0112, 1)
    ifd0.ascii(0x0131, f"{model.model} simulated")
    ifd0.ascii(0x0132, stamp)
    ifd0.pointer(0x8769, "exif")

    exif = _Ifd("exif")
    exif.rational(0x829A, *exposure_rational(exposure_s))
    exif.short(0x8827, min(iso, 0xFFFF))  # Sony writes 65535 here above that, like the spec says
    exif.short(0x8830, 2)  # SensitivityType: recommended exposure index
    exif.long(0x8832, iso)
    exif.raw(0x9000, _UNDEFINED, b"0231")
    exif.ascii(0x9003, stamp)
    exif.ascii(0x9004, stamp)
    offset = _exif_offset(when)
    if offset is not None:
        for tag in (0x9010, 0x9011, 0x9012):
            exif.ascii(tag, offset)
    subsec = f"{when.microsecond // 1000:03d}"
    for tag in (0x9290, 0x9291, 0x9292):
        exif.ascii(tag, subsec)
    exif.raw(0x927C, _UNDEFINED, _makernote(model))
    return ifd0, exif


def _pack_tiff(ifds: tuple[_Ifd, ...], tail: str | None = None) -> bytes:
    """Header plus ``ifds`` laid out back to back; ``tail`` names the 16-aligned end offset."""
    offsets: dict[str, int] = {}
    at = 8
    for ifd in ifds:
        offsets[ifd.name] = at
        at += ifd.size()
    end = at
    if tail is not None:
        end = (at + 15) & ~15
        offsets[tail] = end
    parts = [b"II*\0" + struct.pack("<I", offsets[ifds[0].name])]
    parts += [ifd.pack(offsets[ifd.name], offsets) for ifd in ifds]
    return b"".join(parts).ljust(end, b"\0")


# ---------------------------------------------------------------------------------------------
# Synthetic sky


def site_colours(pattern: CfaPattern) -> tuple[tuple[str, str], tuple[str, str]]:
    """The colour letter of each site of the 2x2 tile: ``[row % 2][col % 2]``.

    Args:
        pattern: One of :data:`CFA_PATTERNS`.

    Returns:
        ``((top-left, top-right), (bottom-left, bottom-right))``, e.g. ``(("R","G"),("G","B"))``.
    """
    p = _check_pattern(pattern)
    return (p[0], p[1]), (p[2], p[3])


# Star colours as relative (R, G, B) flux, from hot blue to cool red stars.
_STAR_COLOURS = np.array(
    [(0.65, 0.80, 1.00), (0.85, 0.92, 1.00), (1.0, 1.0, 1.0), (1.0, 0.90, 0.72), (1.0, 0.75, 0.50)]
)


@functools.cache
def _normal_quantiles() -> npt.NDArray[np.float64]:
    """The 65536 mid-point quantiles of the standard normal distribution.

    Indexing this table with uniform random uint16 values is inverse-transform sampling of a
    Gaussian (exact to 1/65536 in probability, tails cut at 4.3 sigma), about three times faster
    than ``Generator.standard_normal`` for a full frame.
    """
    dist = NormalDist()
    return np.array([dist.inv_cdf((i + 0.5) / 65536) for i in range(65536)], dtype=np.float64)


def _level_lut(base: float, sigma: float, ceiling: float) -> Mosaic:
    """uint16 values ``base + sigma * z`` for each of the 65536 normal quantiles ``z``."""
    return np.clip(np.rint(base + sigma * _normal_quantiles()), 0, ceiling).astype(np.uint16)


def star_field(
    model: SimulatedModel,
    seed: int,
    pattern: CfaPattern = "RGGB",
    *,
    stars: int = 400,
    sky_adu: float = 600.0,
    read_noise_adu: float = 6.0,
) -> Mosaic:
    """A raw night-sky mosaic for ``model``: what the sensor would record, before any crop.

    Black pedestal, a sky background rising 20 % from left to right (light pollution), Gaussian
    read noise and shot noise (one draw per pixel: the Gaussian limit of the sky's Poisson noise at
    1 e-/ADU), ``stars`` Gaussian stars (one seeing-limited width per frame, coloured, Poisson
    noise, the brightest saturated) and a fixed set of hot pixels per model (the same positions for
    every seed, as on a real sensor). Each CFA site is scaled by :data:`CHANNEL_RESPONSE` of its
    colour under ``pattern``, so green sites are brightest, then red, then blue. Pixels outside the
    model's visible window (the optical-black margins) hold only black level plus read noise.
    Every value is within ``[0, white_level]``.

    Args:
        model: The body whose sensor geometry and levels to use.
        seed: Seed for numpy's default_rng; the same seed gives the same frame.
        pattern: CFA layout at the raw array's top-left.
        stars: How many stars to draw.
        sky_adu: Mean sky level above black on green sites, in ADU.
        read_noise_adu: Read noise sigma, in ADU.

    Returns:
        uint16 array of shape ``(raw_height, raw_width)``.

    Raises:
        ValueError: On an unknown pattern or a negative count, level or noise.
    """
    pattern = _check_pattern(pattern)
    if stars < 0 or sky_adu < 0 or read_noise_adu < 0:
        raise ValueError("stars, sky_adu and read_noise_adu must not be negative")
    sensor = model.sensor
    height, width = sensor.raw_height, sensor.raw_width
    black, white = float(sensor.black_level), float(sensor.white_level)
    rng = np.random.default_rng(seed)

    # Uniform indices into per-site lookup tables: the whole frame's noise in one integer pass.
    noise = rng.integers(0, 65536, (height, width), dtype=np.uint16)
    img = np.empty((height, width), dtype=np.uint16)
    gradient = np.linspace(0.0, 0.2, width)
    for dy, tile_row in enumerate(site_colours(pattern)):
        for dx, colour in enumerate(tile_row):
            sky = sky_adu * CHANNEL_RESPONSE[colour]
            sigma = math.sqrt(read_noise_adu**2 + sky)
            lut = _level_lut(black + 0.9 * sky, sigma, white - 0.2 * sky)
            np.take(lut, noise[dy::2, dx::2], out=img[dy::2, dx::2], mode="clip")
            img[dy::2, dx::2] += np.rint(gradient[dx::2] * sky).astype(np.uint16)

    top, left = sensor.top_margin, sensor.left_margin
    bottom, right = top + sensor.visible_height, left + sensor.visible_width
    dark = _level_lut(black, read_noise_adu, white)
    for band in (
        np.s_[:top, :],
        np.s_[bottom:, :],
        np.s_[top:bottom, :left],
        np.s_[top:bottom, right:],
    ):
        img[band] = dark[noise[band]]

    window = (top, left, bottom, right)
    _add_stars(img, rng, pattern, window, stars, int(white))
    _add_hot_pixels(img, model, window, black, white)
    return img


def _add_stars(
    img: Mosaic,
    rng: np.random.Generator,
    pattern: CfaPattern,
    window: tuple[int, int, int, int],
    count: int,
    white: int,
) -> None:
    """Add ``count`` small Gaussian stars as stamps, in place, inside ``window``."""
    top, left, bottom, right = window
    psf_sigma = float(rng.uniform(1.1, 1.8))  # one seeing for the whole frame
    radius = math.ceil(4 * psf_sigma)
    if bottom - top <= 2 * radius + 2 or right - left <= 2 * radius + 2:
        return
    ys = rng.uniform(top + radius + 1, bottom - radius - 2, count)
    xs = rng.uniform(left + radius + 1, right - radius - 2, count)
    # Log-uniform peaks: mostly faint stars, a few bright enough to saturate.
    peaks = np.exp(rng.uniform(math.log(40.0), math.log(4.0 * white), count))
    colours = _STAR_COLOURS[rng.integers(0, len(_STAR_COLOURS), count)]
    response = np.array([CHANNEL_RESPONSE[c] for c in "RGB"])
    rgb_index = {"R": 0, "G": 1, "B": 2}
    tile = np.array([[rgb_index[c] for c in row] for row in site_colours(pattern)])
    span = np.arange(-radius, radius + 1)
    for y, x, peak, colour in zip(ys, xs, peaks, colours, strict=True):
        rows, cols = int(y) + span, int(x) + span
        gy = np.exp(-0.5 * ((rows - y) / psf_sigma) ** 2)
        gx = np.exp(-0.5 * ((cols - x) / psf_sigma) ** 2)
        site_gain = (colour * response)[tile[rows[:, None] % 2, cols[None, :] % 2]]
        # Capped so Poisson stays cheap; anything that high is clipped to white anyway.
        expected = np.minimum(np.outer(gy, gx) * site_gain * peak, 4.0 * white)
        region = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        region[...] = np.minimum(region + rng.poisson(expected), white)


def _add_hot_pixels(
    img: Mosaic,
    model: SimulatedModel,
    window: tuple[int, int, int, int],
    black: float,
    white: float,
) -> None:
    """Hot pixels at positions fixed per model, like a real sensor's defects; some saturated."""
    top, left, bottom, right = window
    if bottom <= top or right <= left:
        return
    rng = np.random.default_rng(zlib.crc32(model.model.encode()))
    count = max(1, (bottom - top) * (right - left) // 100_000)
    ys = rng.integers(top, bottom, count)
    xs = rng.integers(left, right, count)
    levels = black + rng.uniform(0.1, 1.2, count) * (white - black)
    img[ys, xs] = np.minimum(levels, white).astype(np.uint16)


def stamp_sequence(
    mosaic: npt.NDArray[np.integer],
    sequence_number: int,
    *,
    row: int = STAMP_ROW,
    col: int = STAMP_COL,
) -> None:
    """Write a recognisable shot number into ``mosaic`` in place.

    The stamp is 2 rows high and 80 columns wide, starting at raw ``(row, col)`` (default 64, 64,
    inside the visible window of every Sony body): 40 cells of 2x2 pixels, so every CFA colour sees
    each bit. The first 8 cells hold the sync byte 0b10110010, then 32 bits of the number, most
    significant first; a one is 4000 ADU, a zero 1024 ADU (both inside any 12/14-bit range and above
    the black level). Cache one base frame, then ``frame = base.copy(); stamp_sequence(frame, n)``.

    Args:
        mosaic: The raw array to mark (modified).
        sequence_number: 0 <= n < 2**32.
        row: Raw row of the stamp's top edge.
        col: Raw column of the stamp's left edge.

    Raises:
        ValueError: If the number does not fit 32 bits or the stamp does not fit the array.
    """
    if not 0 <= sequence_number < 2**32:
        raise ValueError(f"sequence number must fit 32 bits, got {sequence_number}")
    if row < 0 or col < 0 or row + 2 > mosaic.shape[0] or col + 2 * _STAMP_BITS > mosaic.shape[1]:
        raise ValueError(f"stamp at ({row}, {col}) does not fit a {mosaic.shape} array")
    word = (_STAMP_SYNC << 32) | sequence_number
    bits = np.array([(word >> (_STAMP_BITS - 1 - i)) & 1 for i in range(_STAMP_BITS)])
    cells = np.where(bits == 1, _STAMP_HIGH, _STAMP_LOW).astype(mosaic.dtype)
    mosaic[row : row + 2, col : col + 2 * _STAMP_BITS] = np.repeat(cells, 2)[None, :]


def read_sequence(
    mosaic: npt.NDArray[np.integer], *, row: int = STAMP_ROW, col: int = STAMP_COL
) -> int | None:
    """The number :func:`stamp_sequence` wrote at ``(row, col)``, or None if there is no stamp.

    Args:
        mosaic: A raw array, or a visible window of one (then shift ``row``/``col`` by the margins).
        row: Row of the stamp's top edge in ``mosaic``.
        col: Column of the stamp's left edge in ``mosaic``.

    Returns:
        The sequence number, or None when the sync byte or the cell levels do not match.
    """
    if row < 0 or col < 0 or row + 2 > mosaic.shape[0] or col + 2 * _STAMP_BITS > mosaic.shape[1]:
        return None
    block = np.asarray(mosaic[row : row + 2, col : col + 2 * _STAMP_BITS], dtype=np.int64)
    cells = block.reshape(2, _STAMP_BITS, 2).transpose(1, 0, 2).reshape(_STAMP_BITS, 4)
    if not np.all((cells == _STAMP_HIGH) | (cells == _STAMP_LOW)):
        return None
    if not np.all(cells == cells[:, :1]):
        return None
    word = 0
    for bit in cells[:, 0] == _STAMP_HIGH:
        word = (word << 1) | int(bit)
    if word >> 32 != _STAMP_SYNC:
        return None
    return word & 0xFFFFFFFF
