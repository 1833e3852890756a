"""Codecs for the property values the driver uses (sony-ptp.md 5.1-5.2). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction

from alpaca_sony.errors import MalformedData

# -- shutter speed 0xD20D -----------------------------------------------------------------------

SHUTTER_BULB = 0x00000000
SHUTTER_NONE = 0xFFFFFFFF


@dataclass(frozen=True, order=True)
class ShutterSpeed:
    """A shutter speed; ``None`` seconds means BULB."""

    raw: int

    @property
    def is_bulb(self) -> bool:
        return self.raw == SHUTTER_BULB

    @property
    def seconds(self) -> float | None:
        """Exposure time in seconds, None for BULB or 'nothing to display'."""
        return None if self.duration is None else float(self.duration)

    @property
    def duration(self) -> Fraction | None:
        if self.raw in (SHUTTER_BULB, SHUTTER_NONE):
            return None
        numerator, denominator = self.raw >> 16, self.raw & 0xFFFF
        if denominator == 0:
            raise MalformedData(f"shutter speed 0x{self.raw:08X} has a zero denominator")
        return Fraction(numerator, denominator)

    def __str__(self) -> str:
        if self.raw == SHUTTER_BULB:
            return "BULB"
        if self.raw == SHUTTER_NONE:
            return "--"
        numerator, denominator = self.raw >> 16, self.raw & 0xFFFF
        if numerator == 1 and denominator > 1:
            return f"1/{denominator}"
        seconds = numerator / denominator if denominator else 0.0
        return f'{seconds:g}"'


def shutter_raw(numerator: int, denominator: int) -> int:
    """Encode ``numerator/denominator`` seconds as the camera does."""
    if not (0 < numerator <= 0xFFFF and 0 < denominator <= 0xFFFF):
        raise ValueError("shutter speed parts must be 1..65535")
    raw = (numerator << 16) | denominator
    if raw == SHUTTER_NONE:
        raise ValueError("0xFFFFFFFF is reserved for 'no shutter speed'")
    return raw


def _standard_ladder() -> tuple[int, ...]:
    # libgphoto2 camlibs/ptp2/config.c sony_shuttertable, 30 s ... 1/8000 in third stops (the A7
    # series' end), longest first. Speeds of 0.4 s and longer are written n*10/10 as real bodies
    # and libgphoto2's mode-3 setter send them (config.c _put_Sony_ShutterSpeed).
    tenths = (300, 250, 200, 150, 130, 100, 80, 60, 50, 40, 32, 25, 20, 16, 13, 10, 8, 6, 5, 4)
    denominators = (3, 4, 5, 6, 8, 10, 13, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 160, 200,
                    250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500, 3200, 4000, 5000,
                    6400, 8000)  # fmt: skip
    return tuple((t << 16) | 10 for t in tenths) + tuple((1 << 16) | d for d in denominators)


# The ladder for a body that reports its shutter speed as a Range (or not at all) and is not in
# the model table (sony-ptp.md 14.4); BULB is offered too.
STANDARD_SHUTTER_SPEEDS = _standard_ladder()


def same_shutter_speed(a: int | None, b: int | None) -> bool:
    """True when two raw values mean the same speed (30/1 and 300/10 are both 30 s)."""
    if a is None or b is None:
        return a == b
    if a == b:
        return True
    if SHUTTER_BULB in (a, b) or SHUTTER_NONE in (a, b) or not a & 0xFFFF or not b & 0xFFFF:
        return False
    return ShutterSpeed(a).duration == ShutterSpeed(b).duration


# -- ISO 0xD21E -------------------------------------------------------------------------------

ISO_AUTO = 0x00FFFFFF


class IsoMode(IntEnum):
    """The top byte of an ISO value."""

    NORMAL = 0x00
    MULTI_FRAME_NR = 0x01
    MULTI_FRAME_NR_HIGH = 0x02
    EXTENDED = 0x10


@dataclass(frozen=True)
class Iso:
    """An ISO setting: AUTO, or a number with a mode."""

    raw: int

    @property
    def is_auto(self) -> bool:
        return self.raw & 0x00FFFFFF == ISO_AUTO

    @property
    def number(self) -> int | None:
        return None if self.is_auto else self.raw & 0x00FFFFFF

    @property
    def mode(self) -> int:
        return self.raw >> 24

    @property
    def is_plain(self) -> bool:
        """A normal or extended-range ISO a still capture can use (not AUTO, not multi-frame NR)."""
        return not self.is_auto and self.mode in (IsoMode.NORMAL, IsoMode.EXTENDED)

    def __str__(self) -> str:
        if self.is_auto:
            return "AUTO"
        suffix = {IsoMode.MULTI_FRAME_NR: " MFNR", IsoMode.MULTI_FRAME_NR_HIGH: " MFNR High"}
        return f"{self.number}{suffix.get(self.mode, '')}"  # type: ignore[call-overload]


# -- F-number 0x5007 ---------------------------------------------------------------------------

F_NUMBER_CLOSED = 0xFFFD
F_NUMBER_DASHES = 0xFFFE
F_NUMBER_NONE = 0xFFFF


def f_number(raw: int) -> float | None:
    """The f-number, or None for no lens / a manual lens (typical on a telescope)."""
    if raw in (F_NUMBER_CLOSED, F_NUMBER_DASHES, F_NUMBER_NONE) or raw == 0:
        return None
    return raw / 100.0


# -- exposure program 0x500E ---------------------------------------------------------------------


class ExposureProgram(IntEnum):
    """Exposure program; v3 bodies send a UINT32 whose low 16 bits are these codes."""

    MANUAL = 0x0001
    PROGRAM = 0x0002
    APERTURE = 0x0003
    SHUTTER = 0x0004
    AUTO = 0x8000
    AUTO_PLUS = 0x8001


def exposure_program(raw: int) -> int:
    """The v2 code of an exposure-program value of either width."""
    return raw & 0xFFFF


def is_manual_program(raw: int) -> bool:
    """True in M mode, the only mode with BULB."""
    return exposure_program(raw) == ExposureProgram.MANUAL


# -- focus mode 0x500A -----------------------------------------------------------------------------


class FocusMode(IntEnum):
    """Focus mode codes."""

    MANUAL = 0x0001
    AF_SINGLE = 0x0002
    MACRO = 0x0003
    AF_CONTINUOUS = 0x8004
    AF_AUTOMATIC = 0x8005
    DIRECT_MANUAL = 0x8006
    MANUAL_R = 0x8007
    AF_D = 0x8008
    PRESET = 0x8009


def is_autofocus(raw: int | None) -> bool:
    """Whether pressing S1 starts autofocus (MF and MF-R do not; unknown counts as AF)."""
    return raw not in (FocusMode.MANUAL, FocusMode.MANUAL_R)


class FocusIndication(IntEnum):
    """0xD213 values."""

    UNLOCKED = 1
    FOCUSED = 2
    NOT_FOCUSED = 3
    TRACKING = 5
    TRACKING_FOCUSED = 6
    TRACKING_NOT_FOCUSED = 7


# -- file format 0x5004 ---------------------------------------------------------------------------

_RAW_ONLY = {0x10, 0x20}
_RAW_AND_JPEG = {0x11, 0x12, 0x13, 0x14, 0x21, 0x22, 0x23, 0x24}
_RAW_AND_HEIF = {0x41, 0x42, 0x43, 0x44}
COMPRESSION_RAW = 0x10
COMPRESSION_RAW_JPEG_FINE = 0x13


@dataclass(frozen=True)
class FileFormat:
    """What one shot produces, from the Compression Setting value."""

    raw: int

    @property
    def includes_raw(self) -> bool:
        return self.raw in _RAW_ONLY | _RAW_AND_JPEG | _RAW_AND_HEIF

    @property
    def files_per_shot(self) -> int:
        return 2 if self.raw in _RAW_AND_JPEG | _RAW_AND_HEIF else 1

    def __str__(self) -> str:
        if self.raw in _RAW_ONLY:
            return "RAW" if self.raw == 0x10 else "compressed RAW"
        if self.raw in _RAW_AND_JPEG:
            return "RAW+JPEG"
        if self.raw in _RAW_AND_HEIF:
            return "RAW+HEIF"
        return "JPEG" if self.raw <= 0x04 else "HEIF"


STILL_FORMAT_TO_COMPRESSION = {1: 0x10, 2: 0x13, 3: 0x03, 4: 0x43, 5: 0x33}


def file_format_from(compression: int | None, still_format: int | None) -> FileFormat | None:
    """The file format from 0x5004, or from 0xD253 on bodies that report only that (a7S III)."""
    if compression is not None:
        return FileFormat(compression)
    if still_format is not None and still_format in STILL_FORMAT_TO_COMPRESSION:
        return FileFormat(STILL_FORMAT_TO_COMPRESSION[still_format])
    return None


# -- shooting file info 0xD215 --------------------------------------------------------------------


@dataclass(frozen=True)
class ShootingFileInfo:
    """The photo-buffer status: images being produced or ready at 0xFFFFC001."""

    raw: int

    @property
    def ready(self) -> bool:
        """Bit 15: at least one file may be downloaded."""
        return bool(self.raw & 0x8000)

    @property
    def ready_count(self) -> int:
        """Files waiting (low bits; at least one when ready)."""
        return max(1, self.raw & 0x7FFF) if self.ready else 0

    @property
    def processing(self) -> bool:
        """An image is being produced but cannot be downloaded yet."""
        return not self.ready and self.raw != 0

    @property
    def idle(self) -> bool:
        return self.raw == 0


# -- battery and live view ----------------------------------------------------------------------


def battery_percent(raw: int | None) -> int | None:
    """Battery remaining 0xD218 (INT8 percent); None when unknown."""
    if raw is None or raw < 0 or raw > 100:
        return None
    return raw


_BATTERY_INDICATOR = {
    0x01: "fake battery",
    0x02: "unusable",
    0x03: "pre-end",
    0x04: "1/4",
    0x05: "2/4",
    0x06: "3/4",
    0x07: "4/4",
    0x08: "1/3",
    0x09: "2/3",
    0x0A: "3/3",
    0x10: "USB power",
    0xFF: "no battery",
}


def battery_indicator(raw: int | None) -> str | None:
    """Battery level indicator 0xD20E as text ('3/4', 'USB power', ...)."""
    if raw is None:
        return None
    if 0x0B <= raw <= 0x0F:
        return f"{_BATTERY_INDICATOR.get(raw - 7, '?')} (USB powered)"
    return _BATTERY_INDICATOR.get(raw, f"unknown 0x{raw:02X}")


class LiveViewStatus(IntEnum):
    """0xD221 values."""

    DISABLED = 0
    ENABLED = 1
    UNSUPPORTED = 2
