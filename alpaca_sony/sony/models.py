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

    ``sizes_published`` False: no source gives this body's ARW size; the numbers are a sensor
    sibling's, used by the simulator only, and the driver learns the real size from the body's
    first frame (:mod:`alpaca_sony.camera.geometry`). ``pixel_size_um`` None: not published.
    """

    raw_width: int
    raw_height: int
    visible_width: int
    visible_height: int
    left_margin: int
    top_margin: int
    pixel_size_um: float | None
    sensor_name: str
    bits_per_sample: int = 14
    black_level: int = 512
    white_level: int = 16383
    sizes_published: bool = True

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
            # 4256 x 2848 visible as the DLL's table (CameraManager.cpp) has it for every a7S.
            sensor=SensorGeometry(4288, 2848, 4256, 2848, 0, 0, 8.31, "Sony IMX510"),
            shutter_speeds=_LADDER_TO_8000,
            iso_values=_A7SM3_ISO,
            compression_values=(1, 2, 3),
            file_format_property=0xD253,
            max_packet_size=1024,
            quirks=Quirks(controls_missing_from_prop_list=True, two_enum_lists=True),
            sources=(
                "sony-a7sm3.txt 0x9209 dump: ISO and shutter enumerations, file format 0xD253 "
                "(no 0x5004), S1/S2 absent from 0x9209; sizes and pitch: DLL table (sony-ptp.md "
                "9.1), raw width 4288 as LibRaw's crop rule for the 7S family"
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

# -- every other Sony body the peers and reports name ---------------------------------------------
#
# Citations, shortened below:
#   GP   libgphoto2 camlibs/ptp2/library.c model list (commit 813de344; sony-ptp.md 1.3), or the
#        libgphoto2 issue named
#   DLL  dougforpres/SonyCamera SonyMTPCamera/CameraManager.cpp registry defaults (sony-ptp.md 9.1;
#        peers.md 4): its "Sensor Resolution" is the visible frame as its LibRaw decoded it
#   IGO  INDIGO indigo_drivers/ccd_ptp/ptp_camera_model.h (sony-ptp.md 9.2)
#   LR   LibRaw's Sony crop rules by raw width (identify.cpp: 4288 -> -32, 5504 -> -8 or -32, 6048
#        -> -24 and -6 more for RX1/A99, 7392 -> -30, 8000 -> -32, 9600 -> -32, ILCE-1 8672 -> -12),
#        whose comments also name the bodies with each raw width; every visible size here is what
#        the bundled LibRaw reports for the simulator's ARW of that raw size
#        (tests/test_model_table.py and tests/simulator/test_arw.py decode each entry)
#   CRSDK bodies Sony's Camera Remote SDK supports (peers.md 1.7): the v3 ("300") generation
# Shutter ladders and ISO lists below are fallbacks: the driver reads both from the body.
# Protocol versions are the simulator's: the driver reads the body's own from SDIO_GetExtDeviceInfo.

_V2_FORMATS = (0x02, 0x03, 0x04, 0x10, 0x13)  # RAW, RAW+JPEG etc. as sony-a7r.txt/a77m2.txt list
_V3_FORMATS = (0x10, 0x14, 0x13, 0x12, 0x11, 0x04, 0x03, 0x02, 0x01)  # sony-a6700/a7r5/a7m4.txt
_V3 = Quirks(two_enum_lists=True)


def _geometry(
    raw: tuple[int, int],
    visible: tuple[int, int],
    pitch: float | None,
    name: str,
    *,
    published: bool = True,
) -> SensorGeometry:
    return SensorGeometry(
        raw[0], raw[1], visible[0], visible[1], 0, 0, pitch, name, sizes_published=published
    )


# Sensor families: one raw layout each (the bodies on a family share the sensor, per Sony's specs).
_FF12 = ((4288, 2848), (4256, 2848))  # DLL: 4256x2848 on 7S, 7SM2, 7SM3; LR 4288 rule
_FF24 = ((6048, 4024), (6024, 4024))  # LR 6048 rule (its comment: ILCE-9, ILCA-77M2, 5100 ...)
_FF36 = ((7392, 4920), (7362, 4920))  # LR 7392 rule (ILCE-7R); DLL 7362x4920
_FF42 = ((8000, 5320), (7968, 5320))  # LR 8000 rule (7RM2, 7RM3, RX1RM2, A99M2); DLL 7968x5320
_FF61 = ((9600, 6376), (9568, 6376))  # LR 9600 rule; DLL 9568x6376 for 7RM5 and ILX-LR1
_FF50 = ((8672, 5784), (8660, 5784))  # DLL 8672x5784 for ILCE-1 (raw); LR ILCE-1 rule -12
_ONE_INCH = ((5504, 3672), (5496, 3672))  # LR 5504 rule (RX100..M6, RX10..M4); DLL RX10M4 5496x3672
_APSC20 = ((5504, 3656), (5472, 3656))  # DLL 5472x3656 for ILCE-5000, SLT-A58; LR 5504 rule


def _body(
    model: str,
    display_name: str,
    control_pids: tuple[int, ...],
    mtp_pids: tuple[int, ...],
    sensor: SensorGeometry,
    sources: str,
    *,
    v3: bool = False,
    ladder: tuple[int, ...] = _LADDER_TO_8000,
    iso: tuple[int, ...] = _iso_range(100, 25600),
    formats: tuple[int, ...] | None = None,
    file_format_property: int = 0x5004,
    quirks: Quirks | None = None,
) -> CameraModel:
    return CameraModel(
        model=model,
        display_name=display_name,
        control_pids=control_pids,
        mtp_pids=mtp_pids,
        protocol_version=PROTOCOL_V3 if v3 else PROTOCOL_V2,
        sensor=sensor,
        shutter_speeds=ladder,
        iso_values=iso,
        compression_values=formats or (_V3_FORMATS if v3 else _V2_FORMATS),
        file_format_property=file_format_property,
        quirks=quirks or (_V3 if v3 else Quirks()),
        sources=sources,
    )


MODELS.update(
    (m.model, m)
    for m in (
        # Full frame, 50 MP
        _body("ILCE-1", "Sony a1", (0x0D1C,), (),
              _geometry(*_FF50, 4.15, "Sony Exmor RS 50 MP"), v3=True,
              iso=_iso_range(50, 102400), quirks=_V3,
              sources="GP 0x0D1C; DLL 8672x5784 raw, 4.15 um (IGO 4.16), ISO 50..102400; LR "
                      "ILCE-1 crop; CRSDK"),
        _body("ILCE-1M2", "Sony a1 II", (0x0EED,), (),
              _geometry(*_FF50[:1], (8672, 5784), 4.15, "Sony Exmor RS 50 MP", published=False),
              v3=True, iso=_iso_range(50, 102400), file_format_property=0xD253,
              formats=(1, 2, 3),
              sources="GP 0x0EED; sony-a1m2.txt (v3 props 0xD253, 0xD25A); sensor and pitch: "
                      "the a1's (Sony: same 50.1 MP sensor); ARW size not published (LibRaw's a1 "
                      "crop keys on the a1's makernote id): learned from the first frame"),
        # Full frame, 61 MP
        _body("ILCE-7RM5", "Sony a7R V", (0x0E0C,), (),
              _geometry(*_FF61, 3.76, "Sony Exmor R 61 MP"), v3=True,
              iso=_iso_range(50, 102400),
              sources="GP 0x0E0C; DLL 9568x6376, 3.76 um, ISO 50..102400 (IGO 9504x6336 3.76); "
                      "sony-a7r5.txt formats; CRSDK"),
        _body("ILCE-7CR", "Sony a7CR", (), (),
              _geometry(*_FF61, 3.76, "Sony Exmor R 61 MP"), v3=True,
              iso=_iso_range(50, 102400),
              sources="USB id not published by GP/IGO/DLL; sensor, sizes, pitch: the a7R V's "
                      "(Sony: same 61 MP sensor); protocol v3 assumed (a7R V generation)"),
        _body("ILX-LR1", "Sony ILX-LR1", (0x0E90,), (),
              _geometry(*_FF61, 3.76, "Sony Exmor R 61 MP"), v3=True,
              iso=_iso_range(50, 102400),
              sources="GP 0x0E90; DLL (workerThread) 9568x6376, 3.76 um; protocol v3 assumed"),
        # Full frame, 42 MP and 36 MP
        _body("ILCE-7RM2", "Sony a7R II", (0x0A6B,), (0x09E7,),
              _geometry(*_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(50, 102400),
              formats=(0x02, 0x03, 0x04, 0x10, 0x13),
              sources="GP 0x0A6B/0x09E7; DLL 7968x5320 (its 4.86 um is the a7R's, peers.md 4 "
                      "note 1: IGO 4.5, DLL 7RM3A 4.51); sony-a7r2.txt, sony-a7mr2.txt formats"),
        _body("ILCE-7RM3", "Sony a7R III", (0x0C33,), (0x0C00,),
              _geometry(*_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(50, 102400),
              formats=(0x02, 0x03, 0x04, 0x10, 0x13, 0x14, 0x12),
              sources="GP 0x0C33/0x0C00; DLL 7968x5320, ISO 50..102400 (pitch as 7RM2); "
                      "sony-a7r3.txt formats"),
        _body("ILCE-7RM3A", "Sony a7R IIIA", (0x0D9B,), (),
              _geometry(*_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(50, 102400),
              formats=(0x02, 0x03, 0x04, 0x10, 0x13, 0x14, 0x12),
              sources="GP 0x0D9B; DLL 7968x5320, 4.51 um, ISO 50..102400; sony-a7r3a.txt formats"),
        _body("ILCE-7R", "Sony a7R", (0x094D,), (),
              _geometry(*_FF36, 4.86, "Sony Exmor 36 MP"), iso=_iso_range(100, 25600),
              sources="GP 0x094D; DLL 7362x4920, 4.86 um (IGO 4.9), ISO 100..25600; "
                      "sony-a7r.txt formats"),
        _body("DSC-RX1RM2", "Sony RX1R II", (0x0A70,), (),
              _geometry(*_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(100, 25600),
              sources="GP 0x0A70 ('Alpha-RX1R II (Control)'); LR lists DSC-RX1RM2 under the 8000 "
                      "rule; pitch: the 42 MP sensor's (as 7RM3A); ISO: fallback"),
        # Full frame, 33 MP
        _body("ILCE-7CM2", "Sony a7C II", (0x0E8C,), (),
              _geometry((7040, 4688), (7040, 4688), 5.09, "Sony Exmor R 33 MP", published=False),
              v3=True, iso=_iso_range(50, 102400),
              sources="USB id: GP issue #1304 (054c:0e8c, capture works); DLL (workerThread) "
                      "7040x4688 (its 5.95 um is a copy error: the a7 IV sensor is 5.09); LibRaw's "
                      "a7 IV crop keys on its makernote id, so the ARW size is learned"),
        _body("ILCE-7M5", "Sony a7 V", (0x0F56,), (0x0F50,),
              _geometry((7040, 4688), (7040, 4688), None, "Sony 33 MP", published=False),
              v3=True, iso=_iso_range(50, 102400), file_format_property=0xD253,
              formats=(1, 2, 3),
              quirks=Quirks(two_enum_lists=True, controls_missing_from_prop_list=True),
              sources="GP 0x0F56/0x0F50; sony-a7m5.txt (v3 props 0xD253, 0xD25A; no S1 0xD2C1 "
                      "in its list); ARW size and pitch not published "
                      "(a7 IV's used by the simulator only)"),
        # Full frame, 24 MP
        _body("ILCE-9", "Sony a9", (0x0C2A,), (),
              _geometry(*_FF24, 5.91, "Sony Exmor RS 24 MP"), iso=_iso_range(50, 25600),
              sources="GP 0x0C2A; DLL 6024x4024, 5.91 um (IGO 5.98), ISO 50..25600; LR 6048"),
        _body("ILCE-9M2", "Sony a9 II", (0x0C43,), (),
              _geometry(*_FF24, 5.98, "Sony Exmor RS 24 MP"), v3=True,
              iso=_iso_range(50, 204800), quirks=_V3,
              sources="IGO 0x0C43, 6000x4000, 5.98 um (GP has no id); sensor: the a9's; CRSDK; "
                      "ISO: fallback"),
        _body("ILCE-9M3", "Sony a9 III", (0x0E80,), (),
              _geometry(*_FF24, None, "Sony global shutter 24.6 MP", published=False), v3=True,
              iso=_iso_range(125, 25600),
              sources="GP 0x0E80; CRSDK; new global-shutter sensor: ARW size and pitch not "
                      "published (the a9's used by the simulator only)"),
        _body("SLT-A99V", "Sony SLT-A99V", (0x0641, 0x0675), (),
              _geometry((6048, 4024), (6018, 4024), 5.93, "Sony Exmor 24 MP"),
              iso=_iso_range(50, 25600),
              sources="GP 0x0641 and 0x0675 (no capture flag there); size and pitch: Axlns "
                      "ASCOM.Sony.Camera cameramodels.json 6018x4024 5.93 um = LR 6048 rule with "
                      "its A99 -6; the DLL's A99V entry is garbled (peers.md 4 note 3)"),
        # Full frame, 12 MP
        _body("ILCE-7S", "Sony a7S", (0x0954,), (0x08E2,),
              _geometry(*_FF12, 8.31, "Sony Exmor 12 MP"), iso=_iso_range(50, 128000),
              sources="GP 0x0954/0x08E2; DLL 4256x2848, 8.31 um (IGO 8.4), ISO 50..128000"),
        _body("ILCE-7SM2", "Sony a7S II", (0x0A71,), (),
              _geometry(*_FF12, 8.31, "Sony Exmor 12 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0A71; DLL 4256x2848, 8.31 um (IGO 8.39); ISO: fallback"),
        _body("ILME-FX3", "Sony FX3", (0x0DA3,), (),
              _geometry(*_FF12, 8.31, "Sony Exmor R 12 MP"), v3=True,
              iso=_iso_range(80, 102400),
              sources="GP 0x0DA3; CRSDK; sensor, sizes, pitch: the a7S III's (Sony: same sensor)"),
        _body("ZV-E1", "Sony ZV-E1", (), (),
              _geometry(*_FF12, 8.31, "Sony Exmor R 12 MP"), v3=True,
              iso=_iso_range(80, 102400),
              sources="USB id not published by GP/IGO/DLL; sensor, sizes, pitch: the a7S III's "
                      "(Sony: same sensor); protocol v3 assumed (FX3 generation)"),
        # APS-C
        _body("ILCE-6700", "Sony a6700", (0x0E78,), (),
              _geometry((6272, 4168), (6272, 4168), 3.76, "Sony Exmor R APS-C 26 MP"), v3=True,
              ladder=_LADDER_TO_4000, iso=_iso_range(100, 32000),
              sources="GP 0x0E78; DLL 6272x4168 visible, 3.76 um (IGO 6192x4128); LibRaw has no "
                      "crop rule for it, so the raw array is taken as that size; sony-a6700.txt "
                      "formats and 0xD20D Range 1/4000..30 (sony-ptp.md 14.4)"),
        _body("ILCE-5100", "Sony a5100", (0x0957,), (0x08E7,),
              _geometry(*_FF24, 3.91, "Sony Exmor APS-C 24 MP"), ladder=_LADDER_TO_4000,
              sources="GP 0x0957/0x08E7; DLL 6024x4024, 3.91 um (IGO 3.92), ISO 100..25600"),
        _body("ILCE-5000", "Sony a5000", (0x07C6,), (),
              _geometry(*_APSC20, 4.22, "Sony Exmor APS-C 20 MP"), ladder=_LADDER_TO_4000,
              iso=_iso_range(100, 16000),
              sources="GP 0x07C6; DLL 5472x3656, 4.22 um (IGO 5456x3632 4.25), ISO 100..16000"),
        _body("ILCA-77M2", "Sony a77 II", (0x0953,), (),
              _geometry(*_FF24, 3.91, "Sony Exmor APS-C 24 MP"),
              sources="GP 0x0953; DLL 6024x4024, 3.91 um (IGO 3.92); sony-a77m2.txt formats"),
        _body("ILCA-68", "Sony a68", (0x079B,), (0x0779,),
              _geometry((6048, 4016), (6024, 4016), 3.90, "Sony Exmor APS-C 24 MP"),
              ladder=_LADDER_TO_4000,
              sources="GP 0x079B/0x0779; DLL 6024x4016, 3.90 um (its 'ILCA - 68' key: 3.91; IGO "
                      "3.92), ISO 100..25600; DeviceInfo may read 'ILCA - 68' (model_for "
                      "ignores spaces)"),
        _body("ILCA-99M2", "Sony a99 II", (0x079E,), (),
              _geometry(*_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x079E; DLL 7968x5320, 4.51 um (IGO 7952x5304 4.51); ISO: fallback"),
        _body("SLT-A58", "Sony SLT-A58", (0x0737,), (0x0736,),
              _geometry(*_APSC20, 4.27, "Sony Exmor APS-C 20 MP"), ladder=_LADDER_TO_4000,
              iso=_iso_range(100, 16000),
              sources="GP 0x0737 (Control)/0x0736; DLL 5472x3656, 4.27 um, ISO 100..16000"),
        # 1-inch compacts (20 MP stacked sensor) and the RX0
        *(
            _body(name, display, control, mtp,
                  _geometry(*_ONE_INCH, 2.40, "Sony Exmor RS 1-inch 20 MP"),
                  ladder=_LADDER_TO_4000, iso=_iso_range(125, 12800), quirks=quirks,
                  sources=f"GP {source}; DLL RX10M3/RX10M4 5496x3672, 2.40 um (the same 1-inch "
                          "20 MP sensor on every RX100/RX10/ZV-1); LR 5504 rule names them; "
                          "ladder and ISO: fallbacks")
            for name, display, control, mtp, quirks, source in (
                ("DSC-RX100M4", "Sony RX100 IV", (0x0A6D,), (), None, "0x0A6D"),
                ("DSC-RX100M5", "Sony RX100 V", (0x07A3,), (), None,
                 "0x07A3; sony-dsc-rx100m5.txt"),
                ("DSC-RX100M5A", "Sony RX100 VA", (0x0CB2,), (0x0CB1,), None, "0x0CB2/0x0CB1"),
                ("DSC-RX100M6", "Sony RX100 VI", (0x0C38,), (0x0830,), None, "0x0C38/0x0830"),
                ("DSC-RX100M7", "Sony RX100 VII", (0x0CAE,), (), None,
                 "0x0CAE"),
                ("ZV-1", "Sony ZV-1", (0x0C44,), (0x0C1B,), None,
                 "0x0C44/0x0C1B"),
                ("DSC-RX10M3", "Sony RX10 III", (0x079D,), (), None, "0x079D"),
                ("DSC-RX10M4", "Sony RX10 IV", (0x0C2F,), (), None, "0x0C2F"),
            )
        ),
        # Bodies without PC Remote: known so the driver names them and says to use another
        # body (their reports show "No vendor specific capture", Vendor Extension 0xffffffff).
        *(
            _body(name, display, (), mtp, _geometry(*layout, pitch, sensor_name),
                  ladder=_LADDER_TO_4000, iso=_iso_range(100, 12800),
                  sources=f"no PC Remote USB id in GP; {source}")
            for name, display, mtp, layout, pitch, sensor_name, source in (
                ("DSC-RX100", "Sony RX100", (0x052A,), _ONE_INCH, 2.40,
                 "Sony Exmor 1-inch 20 MP",
                 "GP 0x052A (PTP mode); sony-dsc-rx100.txt; LR 5504 rule names it"),
                ("DSC-RX100M2", "Sony RX100 II", (0x074B,), _ONE_INCH, 2.40,
                 "Sony Exmor R 1-inch 20 MP",
                 "GP 0x074B; sony-dsc-rx100m2.txt; LR 5504 rule names it"),
                ("DSC-RX100M3", "Sony RX100 III", (0x08E3,), _ONE_INCH, 2.40,
                 "Sony Exmor R 1-inch 20 MP", "GP 0x08E3 (MTP); LR 5504 rule names it"),
                ("DSC-RX10", "Sony RX10", (), _ONE_INCH, 2.40, "Sony Exmor R 1-inch 20 MP",
                 "no USB id in GP; LR 5504 rule names it"),
                ("DSC-RX10M2", "Sony RX10 II", (), _ONE_INCH, 2.40, "Sony Exmor RS 1-inch 20 MP",
                 "no USB id in GP; LR 5504 rule names it"),
                ("ILCE-3000", "Sony a3000", (0x074E,), _APSC20, 4.22, "Sony Exmor APS-C 20 MP",
                 "GP 0x074E; sony-a3000.txt; LR 5504 rule names it; pitch: the a5000's"),
            )
        ),
        _body("DSC-RX0", "Sony RX0", (0x0C32,), (0x0BFD,),
              _geometry((4800, 3200), (4800, 3200), None, "Sony 1-inch 15 MP", published=False),
              ladder=_LADDER_TO_4000, iso=_iso_range(125, 12800),
              sources="GP 0x0C32/0x0BFD; sony-dsc-rx0.txt; ARW size and pitch not published "
                      "(the simulator uses the 4800x3200 JPEG size)"),
        _body("DSC-RX0M2", "Sony RX0 II", (0x0CA6,), (),
              _geometry((4800, 3200), (4800, 3200), None, "Sony 1-inch 15 MP", published=False),
              ladder=_LADDER_TO_4000, iso=_iso_range(125, 12800), quirks=None,
              sources="GP 0x0CA6; ARW size and pitch not published"),
    )
)  # fmt: skip

DEFAULT_MODEL = "ILCE-7M3"


def model_for(name: str) -> CameraModel | None:
    """The table entry for a ``DeviceInfo.Model`` string (spaces ignored: 'ZV - E10')."""
    return MODELS.get(name.replace(" ", ""))
