"""Per-model facts: identity, sensor geometry, exposure ladders, protocol version and quirks.

Identify a body by ``DeviceInfo.Model`` (never by USB product id alone, sony-ptp.md 1.3). Property
lists (ISO, shutter speeds, formats) come from the real libgphoto2 reports in
``shared/samples/libgphoto2-sony/``; where a report lacks a list the source is named beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from alpaca_sony.sony.codes import PROTOCOL_V2, PROTOCOL_V3

ISO_AUTO = 0x00FFFFFF


def _tenths(*values: int) -> tuple[int, ...]:
    """Shutter values the camera shows as decimals: n/10 s, encoded (n << 16) | 10."""
    return tuple((v << 16) | 10 for v in values)


def _fractions(*denominators: int) -> tuple[int, ...]:
    """Shutter values the camera shows as fractions: 1/d s, encoded (1 << 16) | d."""
    return tuple((1 << 16) | d for d in denominators)


# The standard ladder, longest first (sony-ptp.md 6.4), ending at 1/4000.
_LADDER_TO_4000 = _tenths(
    300, 250, 200, 150, 130, 100, 80, 60, 50, 40, 32, 25, 20, 16, 13, 10, 8, 6, 5, 4
) + _fractions(
    3,
    4,
    5,
    6,
    8,
    10,
    13,
    15,
    20,
    25,
    30,
    40,
    50,
    60,
    80,
    100,
    125,
    160,
    200,
    250,
    320,
    400,
    500,
    640,
    800,
    1000,
    1250,
    1600,
    2000,
    2500,
    3200,
    4000,
)
_LADDER_TO_8000 = _LADDER_TO_4000 + _fractions(5000, 6400, 8000)

# Third-stop ISO steps from 50 up; each model takes the slice it offers.
_ISO_THIRDS = (
    50,
    64,
    80,
    100,
    125,
    160,
    200,
    250,
    320,
    400,
    500,
    640,
    800,
    1000,
    1250,
    1600,
    2000,
    2500,
    3200,
    4000,
    5000,
    6400,
    8000,
    10000,
    12800,
    16000,
    20000,
    25600,
    32000,
    40000,
    51200,
    64000,
    80000,
    102400,
    128000,
    160000,
    204800,
    256000,
    320000,
    409600,
)


def _iso_range(low: int, high: int) -> tuple[int, ...]:
    return (ISO_AUTO, *(v for v in _ISO_THIRDS if low <= v <= high))


@dataclass(frozen=True)
class SensorGeometry:
    """How the sensor appears in the ARW and after LibRaw's crop.

    ``raw_*`` is the full array stored in the file; ``visible_*`` and the margins are what LibRaw
    reports as the visible area (``raw_image_visible``) for that model.
    """

    raw_width: int
    raw_height: int
    visible_width: int
    visible_height: int
    left_margin: int
    top_margin: int
    pixel_size_um: float
    sensor_name: str
    bits_per_sample: int = 14
    black_level: int = 512
    white_level: int = 16383

    @property
    def max_adu(self) -> int:
        """Largest value a 14-bit pixel can hold."""
        return (1 << self.bits_per_sample) - 1


@dataclass(frozen=True)
class Quirks:
    """Behaviour that differs between bodies (sony-ptp.md 3.2, 5.3, 8)."""

    # Controls S1/S2 advertised in 0x9202 but absent from 0x9209 (a7 III, a7 IV in v3 mode).
    controls_missing_from_prop_list: bool = False
    # No button-inversion or settle-time quirks: every body presses with 2 and gets the same
    # startup wait (sony-ptp.md 14.1, 14.6), so the simulator cannot share a settle table with us.
    # Descriptors carry the second ("get/set") enumeration list.
    two_enum_lists: bool = False


@dataclass(frozen=True)
class CameraModel:
    """Everything model-specific the driver and the simulator need."""

    model: str
    display_name: str
    control_pids: tuple[int, ...]
    mtp_pids: tuple[int, ...]
    protocol_version: int
    sensor: SensorGeometry
    shutter_speeds: tuple[int, ...]
    iso_values: tuple[int, ...]
    compression_values: tuple[int, ...]
    file_format_property: int = 0x5004  # v3 bodies such as the a7S III use 0xD253
    max_packet_size: int = 512
    quirks: Quirks = field(default_factory=Quirks)
    sources: str = ""

    @property
    def max_iso(self) -> int:
        """Highest ISO the body offers, extended range included (AUTO and multi-frame NR not)."""
        return max(
            v & 0xFFFFFF for v in self.iso_values if v != ISO_AUTO and v >> 24 in (0x00, 0x10)
        )

    @property
    def longest_fixed_speed_s(self) -> float:
        """The longest non-BULB shutter speed, in seconds."""
        value = self.shutter_speeds[0]
        return (value >> 16) / (value & 0xFFFF)

    @property
    def shortest_speed_s(self) -> float:
        """The shortest shutter speed, in seconds."""
        value = self.shutter_speeds[-1]
        return (value >> 16) / (value & 0xFFFF)


_EXTENDED = 0x10000000  # ISO top byte 0x10: extended range


# ILCE-7SM3: the 0x9209 enumerations in sony-a7sm3.txt (the real USB dump), verbatim.
_A7SM3_ISO = (
    ISO_AUTO,
    _EXTENDED | 40,
    _EXTENDED | 50,
    _EXTENDED | 64,
    *(v for v in _ISO_THIRDS if 80 <= v <= 102400),
    *(_EXTENDED | v for v in (128000, 160000, 204800, 256000, 320000, 409600)),
)
# ILCE-7RM4: 0xD229 (ShutterSpeed2) enumeration in sony-a7r4.txt: 30" ... 1/8000, as sent.
_A7RM4_LADDER = (
    19660810,
    16384010,
    13107210,
    9830410,
    8519690,
    6553610,
    5242890,
    3932170,
    3276810,
    2621450,
    2097162,
    1638410,
    1310730,
    1048586,
    851978,
    655370,
    524298,
    393226,
    327690,
    262154,
    65539,
    65540,
    65541,
    65542,
    65544,
    65546,
    65549,
    65551,
    65556,
    65561,
    65566,
    65576,
    65586,
    65596,
    65616,
    65636,
    65661,
    65696,
    65736,
    65786,
    65856,
    65936,
    66036,
    66176,
    66336,
    66536,
    66786,
    67136,
    67536,
    68036,
    68736,
    69536,
    70536,
    71936,
    73536,
)

MODELS: dict[str, CameraModel] = {
    m.model: m
    for m in (
        CameraModel(
            model="ILCE-7M3",
            display_name="Sony a7 III",
            control_pids=(0x096F, 0x0C34),
            mtp_pids=(0x0C03,),
            protocol_version=PROTOCOL_V2,
            sensor=SensorGeometry(6048, 4024, 6024, 4024, 0, 0, 5.95, "Sony IMX410"),
            shutter_speeds=_LADDER_TO_8000,
            iso_values=_iso_range(50, 128000),
            compression_values=(0x02, 0x03, 0x04, 0x10, 0x12, 0x13, 0x14),
            quirks=Quirks(controls_missing_from_prop_list=True),
            sources=(
                "no libgphoto2 report exists for this body: ladder and ISO list from the DLL table "
                "(sony-ptp.md 6.4, 9.1), formats as on its sibling ILCE-7RM4; settle and missing "
                "controls: sony-ptp.md 3.2, 5.3"
            ),
        ),
        CameraModel(
            model="ILCE-7RM4",
            display_name="Sony a7R IV",
            control_pids=(0x0CCC,),
            mtp_pids=(),
            protocol_version=PROTOCOL_V2,
            sensor=SensorGeometry(9600, 6376, 9568, 6376, 0, 0, 3.73, "Sony IMX455"),
            shutter_speeds=_A7RM4_LADDER,
            iso_values=_iso_range(50, 102400),
            compression_values=(0x10, 0x14, 0x13, 0x12, 0x04, 0x03, 0x02),
            max_packet_size=1024,
            sources=(
                "sony-a7r4.txt: 0x5004 enum, 0xD226 ISO enum, 0xD229 ladder (its S1/S2 read 2 "
                "at idle, a reserved field: sony-ptp.md 14.2)"
            ),
        ),
        CameraModel(
            model="ILCE-7M4",
            display_name="Sony a7 IV",
            control_pids=(0x0DA7,),
            mtp_pids=(0x0DA6,),
            protocol_version=PROTOCOL_V3,
            sensor=SensorGeometry(7040, 4688, 7028, 4688, 0, 0, 5.09, "Sony Exmor R 33 MP"),
            shutter_speeds=_LADDER_TO_8000,
            iso_values=_iso_range(50, 128000),
            compression_values=(0x10, 0x14, 0x13, 0x12, 0x11, 0x04, 0x03, 0x02, 0x01),
            max_packet_size=1024,
            quirks=Quirks(controls_missing_from_prop_list=True, two_enum_lists=True),
            sources=(
                'sony-a7m4.txt: 0x5004 enum, 0xD20D range 1/8000..30", S1/S2 missing from 0x9209; '
                "ISO list: sony-ptp.md 9.1 (the report omits it)"
            ),
        ),
        CameraModel(
            model="ILCE-6400",
            display_name="Sony a6400",
            control_pids=(0x0CAA,),
            mtp_pids=(),
            protocol_version=PROTOCOL_V2,
            sensor=SensorGeometry(6048, 4024, 6024, 4024, 0, 0, 3.91, "Sony Exmor APS-C 24 MP"),
            shutter_speeds=_LADDER_TO_4000,
            iso_values=_iso_range(100, 102400),
            compression_values=(0x02, 0x03, 0x04, 0x10, 0x13, 0x14, 0x12),
            sources=(
                "sony-a6400.txt: 0x5004 enum; its 0xD21E enum is a firmware superset (25..409600, "
                "sony-ptp.md 8 #13), so the usable range is the DLL's learnt 100..102400 (9.1)"
            ),
        ),
        CameraModel(
            model="ILCE-7SM3",
            display_name="Sony a7S III",
            control_pids=(0x0D18,),
            mtp_pids=(0x0D17,),
            protocol_version=PROTOCOL_V3,
            sensor=SensorGeometry(4288, 2856, 4256, 2856, 0, 0, 8.31, "Sony IMX510"),
            shutter_speeds=_LADDER_TO_8000,
            iso_values=_A7SM3_ISO,
            compression_values=(1, 2, 3),
            file_format_property=0xD253,
            max_packet_size=1024,
            quirks=Quirks(controls_missing_from_prop_list=True, two_enum_lists=True),
            sources=(
                "sony-a7sm3.txt 0x9209 dump: ISO and shutter enumerations, file format 0xD253 "
                "(no 0x5004), S1/S2 absent from 0x9209"
            ),
        ),
    )
}


def _sibling(base: str, model: str, display_name: str, **changes: Any) -> CameraModel:
    """A body built on the same sensor as ``base`` (same raw geometry in its ARW files)."""
    return replace(MODELS[base], model=model, display_name=display_name, **changes)


_SIBLING_SOURCES = (
    "PIDs: sony-ptp.md 1.3; pixel size and ISO range: 9.1; raw geometry: the sensor sibling's "
    "(decoded by LibRaw in tests/simulator/test_arw.py); ladders are read from the body at run time"
)

# Bodies sharing a sensor (and so the ARW raw geometry) with a model above. The driver reads the
# ISO list and shutter ladder from the camera itself; these entries give sizes and identity.
MODELS.update(
    (m.model, m)
    for m in (
        _sibling("ILCE-7M3", "ILCE-7", "Sony a7", control_pids=(0x094C,), mtp_pids=(),
                 iso_values=_iso_range(100, 25600), quirks=Quirks(), sources=_SIBLING_SOURCES),
        _sibling("ILCE-7M3", "ILCE-7M2", "Sony a7 II", control_pids=(0x0A6A,), mtp_pids=(),
                 iso_values=_iso_range(50, 25600), quirks=Quirks(), sources=_SIBLING_SOURCES),
        _sibling("ILCE-7M3", "ILCE-7C", "Sony a7C", control_pids=(0x0D2B,), mtp_pids=(),
                 shutter_speeds=_LADDER_TO_4000, quirks=Quirks(), sources=_SIBLING_SOURCES),
        _sibling("ILCE-6400", "ILCE-6000", "Sony a6000", control_pids=(0x094E,),
                 mtp_pids=(0x08B7,), iso_values=_iso_range(100, 25600),
                 sources=_SIBLING_SOURCES),
        _sibling("ILCE-6400", "ILCE-6100", "Sony a6100", control_pids=(0x0D14,),
                 mtp_pids=(0x0D13,), iso_values=_iso_range(100, 51200),
                 sources=_SIBLING_SOURCES),
        _sibling("ILCE-6400", "ILCE-6300", "Sony a6300", control_pids=(0x079C,),
                 mtp_pids=(0x077A,), iso_values=_iso_range(100, 51200),
                 sources=_SIBLING_SOURCES),
        _sibling("ILCE-6400", "ILCE-6500", "Sony a6500", control_pids=(0x07A4,),
                 mtp_pids=(0x0784,), iso_values=_iso_range(100, 51200),
                 sources=_SIBLING_SOURCES),
        _sibling("ILCE-6400", "ILCE-6600", "Sony a6600", control_pids=(0x0D10,),
                 mtp_pids=(0x0D0F,), sources=_SIBLING_SOURCES),
        _sibling("ILCE-6400", "ZV-E10", "Sony ZV-E10", control_pids=(0x0D97,),
                 mtp_pids=(0x0DE3,), iso_values=_iso_range(100, 51200), quirks=Quirks(),
                 sources=_SIBLING_SOURCES),
        _sibling("ILCE-7RM4", "ILCE-7RM4A", "Sony a7R IVA", control_pids=(0x0D9F,),
                 sources=_SIBLING_SOURCES),
    )
)  # fmt: skip

DEFAULT_MODEL = "ILCE-7M3"


def model_for(name: str) -> CameraModel | None:
    """The table entry for a ``DeviceInfo.Model`` string (spaces ignored: 'ZV - E10')."""
    return MODELS.get(name.replace(" ", ""))
