"""The shutter-speed ladder a Sony body steps through, written from the camera's side.

A body whose 0xD20D descriptor is a Range (v2 reports: ``[0 - 4294967295]``; ILCE-7M4, 6700, 7RM5:
``[73536 - 1966081]``, i.e. 1/8000 .. 30/1) still moves in the standard Sony steps when notched
(sony-ptp.md 14.4). The steps are libgphoto2's ``camlibs/ptp2/config.c`` ``sony_shuttertable``
(commit 813de344, "taken from Sony A58", extended for the A7 series and the A9/RX bodies): 30" down
to 1/32000 in third stops. The wire encoding is the camera's: speeds of 0.4 s and longer travel
as tenths, ``(n << 16) | 10`` (30" = 300/10), shorter ones as ``(1 << 16) | d``, as the real lists
show (0xD229 in sony-a7r4.txt, 0xD20D in sony-a7m5.txt). BULB is 0.
"""

from __future__ import annotations

BULB = 0

# sony_shuttertable, longest first: (dividend, divisor) exactly as libgphoto2 lists them.
SONY_SHUTTER_TABLE: tuple[tuple[int, int], ...] = (
    (30, 1), (25, 1), (20, 1), (15, 1), (13, 1), (10, 1), (8, 1), (6, 1), (5, 1), (4, 1),
    (32, 10), (25, 10), (2, 1), (16, 10), (13, 10), (1, 1), (8, 10), (6, 10), (5, 10), (4, 10),
    (1, 3), (1, 4), (1, 5), (1, 6), (1, 8), (1, 10), (1, 13), (1, 15), (1, 20), (1, 25),
    (1, 30), (1, 40), (1, 50), (1, 60), (1, 80), (1, 100), (1, 125), (1, 160), (1, 200),
    (1, 250), (1, 320), (1, 400), (1, 500), (1, 640), (1, 800), (1, 1000), (1, 1250),
    (1, 1600), (1, 2000), (1, 2500), (1, 3200), (1, 4000),
    (1, 5000), (1, 6400), (1, 8000),  # "A7 series"
    (1, 10000), (1, 12500), (1, 16000), (1, 20000), (1, 25000), (1, 32000),  # "A9, some RX"
)  # fmt: skip


def camera_encoding(dividend: int, divisor: int) -> int:
    """The 0xD20D value a body sends for ``dividend/divisor`` seconds."""
    if divisor == 1:  # whole seconds travel as tenths: 30" = 300/10 (sony-a7r4.txt 0xD229)
        return (dividend * 10 << 16) | 10
    return (dividend << 16) | divisor


def seconds(value: int) -> float:
    """The exposure time a non-BULB 0xD20D value stands for."""
    return (value >> 16) / (value & 0xFFFF)


STANDARD_LADDER: tuple[int, ...] = tuple(camera_encoding(a, b) for a, b in SONY_SHUTTER_TABLE)


def ladder_within(minimum: int, maximum: int) -> tuple[int, ...]:
    """The standard steps a Range descriptor ``[minimum - maximum]`` admits, longest first.

    The full UINT32 range of the v2 reports (``[0 - 4294967295]``) admits the whole table, as
    libgphoto2 assumes; bounds that are real speeds (1/8000 .. 30/1) cut it.
    """
    if minimum == 0 or maximum in (0, 0xFFFFFFFF) or not (minimum & 0xFFFF and maximum & 0xFFFF):
        return STANDARD_LADDER
    low, high = sorted((seconds(minimum), seconds(maximum)))
    steps = tuple(v for v in STANDARD_LADDER if low - 1e-9 <= seconds(v) <= high + 1e-9)
    return steps or STANDARD_LADDER


# ISO steps for a body whose 0xD21E enumeration is empty and that sends no 0xD226 beside it
# (sony-a7m4.txt, sony-a6700.txt): AUTO (0xFFFFFF), then third stops 50 .. 102400, exactly the
# 0xD226 list the ILCE-7RM4 sends in sony-a7r4.txt.
ISO_AUTO = 0x00FFFFFF
STANDARD_ISO_STEPS: tuple[int, ...] = (
    ISO_AUTO, 50, 64, 80, 100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600,
    2000, 2500, 3200, 4000, 5000, 6400, 8000, 10000, 12800, 16000, 20000, 25600, 32000, 40000,
    51200, 64000, 80000, 102400,
)  # fmt: skip
# Above 102400 the third stops go on as the ILCE-7SM3's 0xD21E enumeration lists them
# (sony-a7sm3.txt 0x9209 dump; there with the extended-range flag 0x10 in the top byte).
_HIGH_ISO_STEPS = (128000, 160000, 204800, 256000, 320000, 409600)
# The extended-range flag: top byte 0x10 (sony-a7sm3.txt: 0x10000028 = extended ISO 40).
ISO_EXTENDED = 0x10000000


def iso_steps(low: int, high: int) -> tuple[int, ...]:
    """AUTO, then the third stops ``low`` .. ``high``: the 0xD21E list of a body built from the
    table (no report), as an enumeration like sony-a7r4.txt's 0xD226."""
    steps = (*STANDARD_ISO_STEPS[1:], *_HIGH_ISO_STEPS)
    return (ISO_AUTO, *(v for v in steps if low <= v <= high))


def ladder_to(fastest_denominator: int) -> tuple[int, ...]:
    """The standard steps from 30" down to 1/``fastest_denominator`` s, longest first."""
    return tuple(v for v in STANDARD_LADDER if seconds(v) >= 1 / fastest_denominator - 1e-12)
