"""What the driver knows about each Sony body: its name, USB ids, what a client is told about the
sensor, and the fallback ladders for a body whose descriptors list none.

Identify a body by ``DeviceInfo.Model`` (never by USB product id alone, sony-ptp.md 1.3). Ladders
and ISO lists come from the real libgphoto2 reports in ``shared/samples/libgphoto2-sony/``; where
a report lacks a list the source is named beside it. The driver reads both from the body first
(``sony.capture``); these are used only when the body's descriptor lists nothing. Everything only
the simulator needs (raw layout, levels, protocol versions, formats, descriptor quirks) lives in
``simulator/bodies.py``, written from the camera's side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from alpaca_sony.sony.values import ISO_AUTO


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
class SensorFacts:
    """What a client is told about the sensor.

    ``visible_*`` is the frame LibRaw decodes from this body's ARW (``raw_image_visible``), the
    size CameraXSize/CameraYSize report. Both are 0 when no published source gives it
    (``sizes_published`` False): the driver then learns the size from the body's first frame
    (:mod:`alpaca_sony.camera.geometry`). ``pixel_size_um`` None: not published.
    """

    visible_width: int
    visible_height: int
    pixel_size_um: float | None
    sensor_name: str
    bits_per_sample: int = 14  # every Sony ARW the driver decodes is 14-bit

    @property
    def sizes_published(self) -> bool:
        return self.visible_width > 0 and self.visible_height > 0

    @property
    def max_adu(self) -> int:
        """Largest value a pixel can hold (MaxADU in raw readout)."""
        return (1 << self.bits_per_sample) - 1


@dataclass(frozen=True)
class CameraModel:
    """Everything model-specific the driver needs."""

    model: str
    display_name: str
    control_pids: tuple[int, ...]  # USB product ids in PC Remote mode
    mtp_pids: tuple[int, ...]  # in MTP / content-transfer mode (the driver says to switch)
    sensor: SensorFacts
    shutter_speeds: tuple[int, ...]  # fallback ladder, longest first, for a Range 0xD20D
    iso_values: tuple[int, ...]  # fallback ISO list, for an empty 0xD21E enumeration
    sources: str = ""

    @property
    def shortest_speed_s(self) -> float:
        """The shortest shutter speed, in seconds."""
        value = self.shutter_speeds[-1]
        return (value >> 16) / (value & 0xFFFF)


def _sensor(visible: tuple[int, int] | None, pitch: float | None, name: str) -> SensorFacts:
    """None for ``visible``: no published source gives the ARW size (learned at run time)."""
    width, height = visible or (0, 0)
    return SensorFacts(width, height, pitch, name)


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
            sensor=_sensor((6024, 4024), 5.95, "Sony IMX410"),
            shutter_speeds=_LADDER_TO_8000,
            iso_values=_iso_range(50, 128000),
            sources=(
                "no libgphoto2 report exists for this body: ladder and ISO list from the DLL table "
                "(sony-ptp.md 6.4, 9.1); visible size and pitch: DLL"
            ),
        ),
        CameraModel(
            model="ILCE-7RM4",
            display_name="Sony a7R IV",
            control_pids=(0x0CCC,),
            mtp_pids=(),
            sensor=_sensor((9568, 6376), 3.73, "Sony IMX455"),
            shutter_speeds=_A7RM4_LADDER,
            iso_values=_iso_range(50, 102400),
            sources="sony-a7r4.txt: 0xD226 ISO enum, 0xD229 ladder; LR 9600 crop (9568 visible)",
        ),
        CameraModel(
            model="ILCE-7M4",
            display_name="Sony a7 IV",
            control_pids=(0x0DA7,),
            mtp_pids=(0x0DA6,),
            sensor=_sensor((7028, 4688), 5.09, "Sony Exmor R 33 MP"),
            shutter_speeds=_LADDER_TO_8000,
            iso_values=_iso_range(50, 128000),
            sources=(
                'sony-a7m4.txt: 0xD20D range 1/8000..30"; ISO list: sony-ptp.md 9.1 (the report '
                "omits it); visible size: the bundled LibRaw's crop of its 7040-wide ARW"
            ),
        ),
        CameraModel(
            model="ILCE-6400",
            display_name="Sony a6400",
            control_pids=(0x0CAA,),
            mtp_pids=(),
            sensor=_sensor((6024, 4024), 3.91, "Sony Exmor APS-C 24 MP"),
            shutter_speeds=_LADDER_TO_4000,
            iso_values=_iso_range(100, 102400),
            sources=(
                "sony-a6400.txt: its 0xD21E enum is a firmware superset (25..409600, "
                "sony-ptp.md 8 #13), so the usable range is the DLL's learnt 100..102400 (9.1)"
            ),
        ),
        CameraModel(
            model="ILCE-7SM3",
            display_name="Sony a7S III",
            control_pids=(0x0D18,),
            mtp_pids=(0x0D17,),
            # 4256 x 2848 visible as the DLL's table (CameraManager.cpp) has it for every a7S.
            sensor=_sensor((4256, 2848), 8.31, "Sony IMX510"),
            shutter_speeds=_LADDER_TO_8000,
            iso_values=_A7SM3_ISO,
            sources=(
                "sony-a7sm3.txt 0x9209 dump: ISO and shutter enumerations; sizes and pitch: DLL "
                "table (sony-ptp.md 9.1)"
            ),
        ),
    )
}


def _sibling(base: str, model: str, display_name: str, **changes: Any) -> CameraModel:
    """A body built on the same sensor as ``base`` (same visible frame and pitch)."""
    return replace(MODELS[base], model=model, display_name=display_name, **changes)


_SIBLING_SOURCES = (
    "PIDs: sony-ptp.md 1.3; pixel size and ISO range: 9.1; visible size: the sensor sibling's "
    "(LibRaw decodes it from the sibling's raw width); ladders are read from the body at run time"
)

# Bodies sharing a sensor with a model above. The driver reads the ISO list and shutter ladder
# from the camera itself; these entries give sizes and identity.
MODELS.update(
    (m.model, m)
    for m in (
        _sibling("ILCE-7M3", "ILCE-7", "Sony a7", control_pids=(0x094C,), mtp_pids=(),
                 iso_values=_iso_range(100, 25600), sources=_SIBLING_SOURCES),
        _sibling("ILCE-7M3", "ILCE-7M2", "Sony a7 II", control_pids=(0x0A6A,), mtp_pids=(),
                 iso_values=_iso_range(50, 25600), sources=_SIBLING_SOURCES),
        _sibling("ILCE-7M3", "ILCE-7C", "Sony a7C", control_pids=(0x0D2B,), mtp_pids=(),
                 shutter_speeds=_LADDER_TO_4000, sources=_SIBLING_SOURCES),
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
                 mtp_pids=(0x0DE3,), iso_values=_iso_range(100, 51200),
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
#        the bundled LibRaw reports for an ARW of that body (tests/test_model_table.py decodes the
#        simulator's file of each body)
#   CRSDK bodies Sony's Camera Remote SDK supports (peers.md 1.7): the v3 ("300") generation
# Shutter ladders and ISO lists below are fallbacks: the driver reads both from the body.

_FF12 = (4256, 2848)  # DLL: 4256x2848 on 7S, 7SM2, 7SM3; LR 4288 rule
_FF24 = (6024, 4024)  # LR 6048 rule (its comment: ILCE-9, ILCA-77M2, 5100 ...)
_FF36 = (7362, 4920)  # LR 7392 rule (ILCE-7R); DLL 7362x4920
_FF42 = (7968, 5320)  # LR 8000 rule (7RM2, 7RM3, RX1RM2, A99M2); DLL 7968x5320
_FF61 = (9568, 6376)  # LR 9600 rule; DLL 9568x6376 for 7RM5 and ILX-LR1
_FF50 = (8660, 5784)  # DLL 8672x5784 for ILCE-1 (raw); LR ILCE-1 rule -12
_ONE_INCH = (5496, 3672)  # LR 5504 rule (RX100..M6, RX10..M4); DLL RX10M4 5496x3672
_APSC20 = (5472, 3656)  # DLL 5472x3656 for ILCE-5000, SLT-A58; LR 5504 rule


def _body(
    model: str,
    display_name: str,
    control_pids: tuple[int, ...],
    mtp_pids: tuple[int, ...],
    sensor: SensorFacts,
    sources: str,
    *,
    ladder: tuple[int, ...] = _LADDER_TO_8000,
    iso: tuple[int, ...] = _iso_range(100, 25600),
) -> CameraModel:
    return CameraModel(
        model=model,
        display_name=display_name,
        control_pids=control_pids,
        mtp_pids=mtp_pids,
        sensor=sensor,
        shutter_speeds=ladder,
        iso_values=iso,
        sources=sources,
    )


MODELS.update(
    (m.model, m)
    for m in (
        # Full frame, 50 MP
        _body("ILCE-1", "Sony a1", (0x0D1C,), (),
              _sensor(_FF50, 4.15, "Sony Exmor RS 50 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0D1C; DLL 8672x5784 raw, 4.15 um (IGO 4.16), ISO 50..102400; LR "
                      "ILCE-1 crop"),
        _body("ILCE-1M2", "Sony a1 II", (0x0EED,), (),
              _sensor(None, 4.15, "Sony Exmor RS 50 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0EED; pitch: the a1's (Sony: same 50.1 MP sensor); ARW size not "
                      "published (LibRaw's a1 crop keys on the a1's makernote id): learned from "
                      "the first frame"),
        # Full frame, 61 MP
        _body("ILCE-7RM5", "Sony a7R V", (0x0E0C,), (),
              _sensor(_FF61, 3.76, "Sony Exmor R 61 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0E0C; DLL 9568x6376, 3.76 um, ISO 50..102400 (IGO 9504x6336 3.76)"),
        _body("ILCE-7CR", "Sony a7CR", (), (),
              _sensor(_FF61, 3.76, "Sony Exmor R 61 MP"), iso=_iso_range(50, 102400),
              sources="USB id not published by GP/IGO/DLL; sensor, sizes, pitch: the a7R V's "
                      "(Sony: same 61 MP sensor)"),
        _body("ILX-LR1", "Sony ILX-LR1", (0x0E90,), (),
              _sensor(_FF61, 3.76, "Sony Exmor R 61 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0E90; DLL (workerThread) 9568x6376, 3.76 um"),
        # Full frame, 42 MP and 36 MP
        _body("ILCE-7RM2", "Sony a7R II", (0x0A6B,), (0x09E7,),
              _sensor(_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0A6B/0x09E7; DLL 7968x5320 (its 4.86 um is the a7R's, peers.md 4 "
                      "note 1: IGO 4.5, DLL 7RM3A 4.51)"),
        _body("ILCE-7RM3", "Sony a7R III", (0x0C33,), (0x0C00,),
              _sensor(_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0C33/0x0C00; DLL 7968x5320, ISO 50..102400 (pitch as 7RM2)"),
        _body("ILCE-7RM3A", "Sony a7R IIIA", (0x0D9B,), (),
              _sensor(_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0D9B; DLL 7968x5320, 4.51 um, ISO 50..102400"),
        _body("ILCE-7R", "Sony a7R", (0x094D,), (),
              _sensor(_FF36, 4.86, "Sony Exmor 36 MP"), iso=_iso_range(100, 25600),
              sources="GP 0x094D; DLL 7362x4920, 4.86 um (IGO 4.9), ISO 100..25600"),
        _body("DSC-RX1RM2", "Sony RX1R II", (0x0A70,), (),
              _sensor(_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(100, 25600),
              sources="GP 0x0A70 ('Alpha-RX1R II (Control)'); LR lists DSC-RX1RM2 under the 8000 "
                      "rule; pitch: the 42 MP sensor's (as 7RM3A); ISO: fallback"),
        # Full frame, 33 MP
        _body("ILCE-7CM2", "Sony a7C II", (0x0E8C,), (),
              _sensor(None, 5.09, "Sony Exmor R 33 MP"), iso=_iso_range(50, 102400),
              sources="USB id: GP issue #1304 (054c:0e8c, capture works); pitch: the a7 IV "
                      "sensor's 5.09 (the DLL's 5.95 um is a copy error); LibRaw's a7 IV crop "
                      "keys on its makernote id, so the ARW size is learned"),
        _body("ILCE-7M5", "Sony a7 V", (0x0F56,), (0x0F50,),
              _sensor(None, None, "Sony 33 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0F56/0x0F50; sony-a7m5.txt; ARW size and pitch not published"),
        # Full frame, 24 MP
        _body("ILCE-9", "Sony a9", (0x0C2A,), (),
              _sensor(_FF24, 5.91, "Sony Exmor RS 24 MP"), iso=_iso_range(50, 25600),
              sources="GP 0x0C2A; DLL 6024x4024, 5.91 um (IGO 5.98), ISO 50..25600; LR 6048"),
        _body("ILCE-9M2", "Sony a9 II", (0x0C43,), (),
              _sensor(_FF24, 5.98, "Sony Exmor RS 24 MP"), iso=_iso_range(50, 204800),
              sources="IGO 0x0C43, 6000x4000, 5.98 um (GP has no id); sensor: the a9's; "
                      "ISO: fallback"),
        _body("ILCE-9M3", "Sony a9 III", (0x0E80,), (),
              _sensor(None, None, "Sony global shutter 24.6 MP"), iso=_iso_range(125, 25600),
              sources="GP 0x0E80; new global-shutter sensor: ARW size and pitch not published"),
        _body("SLT-A99V", "Sony SLT-A99V", (0x0641, 0x0675), (),
              _sensor((6018, 4024), 5.93, "Sony Exmor 24 MP"), iso=_iso_range(50, 25600),
              sources="GP 0x0641 and 0x0675 (no capture flag there); size and pitch: Axlns "
                      "ASCOM.Sony.Camera cameramodels.json 6018x4024 5.93 um = LR 6048 rule with "
                      "its A99 -6; the DLL's A99V entry is garbled (peers.md 4 note 3)"),
        # Full frame, 12 MP
        _body("ILCE-7S", "Sony a7S", (0x0954,), (0x08E2,),
              _sensor(_FF12, 8.31, "Sony Exmor 12 MP"), iso=_iso_range(50, 128000),
              sources="GP 0x0954/0x08E2; DLL 4256x2848, 8.31 um (IGO 8.4), ISO 50..128000"),
        _body("ILCE-7SM2", "Sony a7S II", (0x0A71,), (),
              _sensor(_FF12, 8.31, "Sony Exmor 12 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x0A71; DLL 4256x2848, 8.31 um (IGO 8.39); ISO: fallback"),
        _body("ILME-FX3", "Sony FX3", (0x0DA3,), (),
              _sensor(_FF12, 8.31, "Sony Exmor R 12 MP"), iso=_iso_range(80, 102400),
              sources="GP 0x0DA3; sensor, sizes, pitch: the a7S III's (Sony: same sensor)"),
        _body("ZV-E1", "Sony ZV-E1", (), (),
              _sensor(_FF12, 8.31, "Sony Exmor R 12 MP"), iso=_iso_range(80, 102400),
              sources="USB id not published by GP/IGO/DLL; sensor, sizes, pitch: the a7S III's "
                      "(Sony: same sensor)"),
        # APS-C
        _body("ILCE-6700", "Sony a6700", (0x0E78,), (),
              _sensor((6272, 4168), 3.76, "Sony Exmor R APS-C 26 MP"),
              ladder=_LADDER_TO_4000, iso=_iso_range(100, 32000),
              sources="GP 0x0E78; DLL 6272x4168 visible, 3.76 um (IGO 6192x4128); LibRaw has no "
                      "crop rule for it; sony-a6700.txt 0xD20D Range 1/4000..30 (sony-ptp.md "
                      "14.4)"),
        _body("ILCE-5100", "Sony a5100", (0x0957,), (0x08E7,),
              _sensor(_FF24, 3.91, "Sony Exmor APS-C 24 MP"), ladder=_LADDER_TO_4000,
              sources="GP 0x0957/0x08E7; DLL 6024x4024, 3.91 um (IGO 3.92), ISO 100..25600"),
        _body("ILCE-5000", "Sony a5000", (0x07C6,), (),
              _sensor(_APSC20, 4.22, "Sony Exmor APS-C 20 MP"), ladder=_LADDER_TO_4000,
              iso=_iso_range(100, 16000),
              sources="GP 0x07C6; DLL 5472x3656, 4.22 um (IGO 5456x3632 4.25), ISO 100..16000"),
        _body("ILCA-77M2", "Sony a77 II", (0x0953,), (),
              _sensor(_FF24, 3.91, "Sony Exmor APS-C 24 MP"),
              sources="GP 0x0953; DLL 6024x4024, 3.91 um (IGO 3.92)"),
        _body("ILCA-68", "Sony a68", (0x079B,), (0x0779,),
              _sensor((6024, 4016), 3.90, "Sony Exmor APS-C 24 MP"),
              ladder=_LADDER_TO_4000,
              sources="GP 0x079B/0x0779; DLL 6024x4016, 3.90 um (its 'ILCA - 68' key: 3.91; IGO "
                      "3.92), ISO 100..25600; DeviceInfo may read 'ILCA - 68' (model_for "
                      "ignores spaces)"),
        _body("ILCA-99M2", "Sony a99 II", (0x079E,), (),
              _sensor(_FF42, 4.51, "Sony Exmor R 42 MP"), iso=_iso_range(50, 102400),
              sources="GP 0x079E; DLL 7968x5320, 4.51 um (IGO 7952x5304 4.51); ISO: fallback"),
        _body("SLT-A58", "Sony SLT-A58", (0x0737,), (0x0736,),
              _sensor(_APSC20, 4.27, "Sony Exmor APS-C 20 MP"), ladder=_LADDER_TO_4000,
              iso=_iso_range(100, 16000),
              sources="GP 0x0737 (Control)/0x0736; DLL 5472x3656, 4.27 um, ISO 100..16000"),
        # 1-inch compacts (20 MP stacked sensor) and the RX0
        *(
            _body(name, display, control, mtp,
                  _sensor(_ONE_INCH, 2.40, "Sony Exmor RS 1-inch 20 MP"),
                  ladder=_LADDER_TO_4000, iso=_iso_range(125, 12800),
                  sources=f"GP {source}; DLL RX10M3/RX10M4 5496x3672, 2.40 um (the same 1-inch "
                          "20 MP sensor on every RX100/RX10/ZV-1); LR 5504 rule names them; "
                          "ladder and ISO: fallbacks")
            for name, display, control, mtp, source in (
                ("DSC-RX100M4", "Sony RX100 IV", (0x0A6D,), (), "0x0A6D"),
                ("DSC-RX100M5", "Sony RX100 V", (0x07A3,), (), "0x07A3; sony-dsc-rx100m5.txt"),
                ("DSC-RX100M5A", "Sony RX100 VA", (0x0CB2,), (0x0CB1,), "0x0CB2/0x0CB1"),
                ("DSC-RX100M6", "Sony RX100 VI", (0x0C38,), (0x0830,), "0x0C38/0x0830"),
                ("DSC-RX100M7", "Sony RX100 VII", (0x0CAE,), (), "0x0CAE"),
                ("ZV-1", "Sony ZV-1", (0x0C44,), (0x0C1B,), "0x0C44/0x0C1B"),
                ("DSC-RX10M3", "Sony RX10 III", (0x079D,), (), "0x079D"),
                ("DSC-RX10M4", "Sony RX10 IV", (0x0C2F,), (), "0x0C2F"),
            )
        ),
        # Bodies without PC Remote: known so the driver names them and says to use another
        # body (their reports show "No vendor specific capture", Vendor Extension 0xffffffff).
        *(
            _body(name, display, (), mtp, _sensor(visible, pitch, sensor_name),
                  ladder=_LADDER_TO_4000, iso=_iso_range(100, 12800),
                  sources=f"no PC Remote USB id in GP; {source}")
            for name, display, mtp, visible, pitch, sensor_name, source in (
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
              _sensor(None, None, "Sony 1-inch 15 MP"),
              ladder=_LADDER_TO_4000, iso=_iso_range(125, 12800),
              sources="GP 0x0C32/0x0BFD; sony-dsc-rx0.txt; ARW size and pitch not published"),
        _body("DSC-RX0M2", "Sony RX0 II", (0x0CA6,), (),
              _sensor(None, None, "Sony 1-inch 15 MP"),
              ladder=_LADDER_TO_4000, iso=_iso_range(125, 12800),
              sources="GP 0x0CA6; ARW size and pitch not published"),
    )
)  # fmt: skip


def model_for(name: str) -> CameraModel | None:
    """The table entry for a ``DeviceInfo.Model`` string (spaces ignored: 'ZV - E10')."""
    return MODELS.get(name.replace(" ", ""))
