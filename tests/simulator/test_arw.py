"""The simulator's ARW and JPEG files, decoded by the real rawpy/LibRaw, Pillow and tifffile."""

from __future__ import annotations

import dataclasses
import io
import struct
from datetime import datetime, timedelta, timezone

import numpy as np
import numpy.typing as npt
import pytest
import rawpy
import tifffile
from PIL import Image

from alpaca_sony.simulator.arw import (
    CFA_PATTERNS,
    SONY_MODEL_IDS,
    STAMP_COL,
    STAMP_ROW,
    CfaPattern,
    exif_tiff,
    exposure_rational,
    read_sequence,
    stamp_sequence,
    star_field,
    write_arw,
)
from alpaca_sony.simulator.bodies import BODIES, SimulatedModel
from alpaca_sony.simulator.jpeg import JPEG_MAGIC, render_jpeg

WHEN = datetime(2024, 5, 1, 22, 30, 5, 250_000, tzinfo=timezone(timedelta(hours=-7)))
SMALLEST = "ILCE-7SM3"  # 12 MP: the cheapest full-size body for the heavier tests


def _tiny(
    model: SimulatedModel, width: int = 64, height: int = 48, margin: int = 0
) -> SimulatedModel:
    """``model`` with a small sensor, for tests that do not need LibRaw's crop for the body."""
    sensor = dataclasses.replace(
        model.sensor,
        raw_width=width,
        raw_height=height,
        visible_width=width - 2 * margin,
        visible_height=height - 2 * margin,
        left_margin=margin,
        top_margin=margin,
    )
    return dataclasses.replace(model, sensor=sensor)


def _visible(model: SimulatedModel, mosaic: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
    s = model.sensor
    top, left = s.top_margin, s.left_margin
    return mosaic[top : top + s.visible_height, left : left + s.visible_width]


def _visible_pattern(model: SimulatedModel, pattern: CfaPattern) -> str:
    """The 2x2 layout seen from the visible window's origin: the raw one shifted by the margins."""
    dy, dx = model.sensor.top_margin % 2, model.sensor.left_margin % 2
    return "".join(pattern[2 * ((dy + r) % 2) + (dx + c) % 2] for r in (0, 1) for c in (0, 1))


def _rawpy_pattern(raw: rawpy.RawPy) -> str:
    desc = raw.color_desc.decode()
    pattern = raw.raw_pattern
    assert pattern is not None
    return "".join(desc[i] for i in pattern.flatten())


@pytest.mark.parametrize("name", list(BODIES))
def test_every_model_decodes_bit_exactly(name: str) -> None:
    model = BODIES[name]
    s = model.sensor
    rng = np.random.default_rng(7)
    # Every 14-bit value the sensor can produce, not just a plausible sky.
    mosaic = rng.integers(0, s.white_level + 1, (s.raw_height, s.raw_width), dtype=np.uint16)
    data = write_arw(model, mosaic, exposure_s=30.0, iso=800, when=WHEN)

    with rawpy.imread(io.BytesIO(data)) as raw:
        assert raw.raw_image.shape == (s.raw_height, s.raw_width)
        assert np.array_equal(raw.raw_image, mosaic)
        sizes = raw.sizes
        assert (sizes.width, sizes.height) == (s.visible_width, s.visible_height)
        assert (sizes.left_margin, sizes.top_margin) == (s.left_margin, s.top_margin)
        assert raw.raw_image_visible.shape == (s.visible_height, s.visible_width)
        assert np.array_equal(raw.raw_image_visible, _visible(model, mosaic))
        assert _rawpy_pattern(raw) == _visible_pattern(model, "RGGB")
        assert list(raw.black_level_per_channel) == [s.black_level] * 4
        assert raw.white_level == s.white_level
        assert np.any(raw.rgb_xyz_matrix[:3] != 0)  # LibRaw knows the body's colour matrix

    jpeg = render_jpeg(model, mosaic, exposure_s=30.0, iso=800, when=WHEN)
    assert jpeg.startswith(JPEG_MAGIC)
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        exif = image.getexif()
    assert (exif[0x010F], exif[0x0110]) == ("SONY", name)


def test_each_sensor_family_gets_its_own_colour_matrix() -> None:
    # Bodies on one sensor may share LibRaw's matrix; the five reference bodies must not.
    families = ("ILCE-7M3", "ILCE-7RM4", "ILCE-7M4", "ILCE-6400", "ILCE-7SM3")
    matrices = {}
    for name in families:
        model = BODIES[name]
        s = model.sensor
        zeros = np.zeros((s.raw_height, s.raw_width), dtype=np.uint16)
        data = write_arw(model, zeros, exposure_s=1.0, iso=100, when=WHEN)
        with rawpy.imread(io.BytesIO(data)) as raw:
            matrices[name] = raw.rgb_xyz_matrix[:3].round(4).tobytes()
    assert len(set(matrices.values())) == len(families)


@pytest.mark.parametrize("pattern", CFA_PATTERNS)
def test_cfa_phase_reaches_libraw_and_the_pixels(pattern: CfaPattern) -> None:
    model = BODIES[SMALLEST]
    mosaic = star_field(model, seed=3, pattern=pattern)
    data = write_arw(model, mosaic, exposure_s=60.0, iso=1600, when=WHEN, pattern=pattern)

    with rawpy.imread(io.BytesIO(data)) as raw:
        assert raw.color_desc == b"RGBG"
        assert _rawpy_pattern(raw) == _visible_pattern(model, pattern)
        visible = raw.raw_image_visible.copy()
    np.testing.assert_array_equal(visible, _visible(model, mosaic))

    # The colour layout is recoverable from the data: green sites brightest, then red, then blue.
    means = {(r, c): float(np.median(visible[r::2, c::2])) for r in (0, 1) for c in (0, 1)}
    ranked = sorted(means, key=means.__getitem__)
    recovered = dict(zip(ranked, "BRGG", strict=True))
    layout = "".join(recovered[(r, c)] for r in (0, 1) for c in (0, 1))
    assert layout == _visible_pattern(model, pattern)


def test_star_field_levels_and_determinism() -> None:
    model = _tiny(BODIES["ILCE-7M3"], width=400, height=300, margin=4)
    s = model.sensor
    a = star_field(model, seed=1, stars=50)
    assert a.dtype == np.uint16
    assert a.shape == (s.raw_height, s.raw_width)
    np.testing.assert_array_equal(a, star_field(model, seed=1, stars=50))
    b = star_field(model, seed=2, stars=50)
    assert not np.array_equal(a, b)
    assert int(a.max()) <= s.white_level

    # Optical-black margins: black level plus read noise only.
    margin = np.concatenate([a[:4].ravel(), a[-4:].ravel(), a[:, :4].ravel(), a[:, -4:].ravel()])
    assert abs(float(margin.mean()) - s.black_level) < 1.0
    assert 4.0 < float(margin.std()) < 8.0
    # Sky sits well above black; the brightest stars saturate.
    assert float(np.median(_visible(model, a))) > s.black_level + 200
    big = star_field(BODIES[SMALLEST], seed=4)
    assert int(big.max()) == BODIES[SMALLEST].sensor.white_level

    # Hot pixels sit at the same places whatever the seed, like a real sensor's defects.
    hot_floor = s.black_level + 0.1 * (s.white_level - s.black_level)
    both = (a >= hot_floor) & (b >= hot_floor)
    assert int(both.sum()) >= (s.visible_width * s.visible_height) // 100_000


def test_sequence_stamp_survives_the_file() -> None:
    model = BODIES[SMALLEST]
    base = star_field(model, seed=9)
    assert read_sequence(base) is None
    frame = base.copy()
    stamp_sequence(frame, 0xDEADBEEF)
    assert read_sequence(frame) == 0xDEADBEEF
    changed = np.argwhere(frame != base)
    assert changed[:, 0].min() >= STAMP_ROW
    assert changed[:, 0].max() <= STAMP_ROW + 1
    assert changed[:, 1].min() >= STAMP_COL
    assert changed[:, 1].max() < STAMP_COL + 80

    data = write_arw(model, frame, exposure_s=1.0, iso=100, when=WHEN)
    s = model.sensor
    with rawpy.imread(io.BytesIO(data)) as raw:
        visible = raw.raw_image_visible.copy()
    assert read_sequence(visible, row=STAMP_ROW - s.top_margin, col=STAMP_COL - s.left_margin) == (
        0xDEADBEEF
    )


@pytest.mark.parametrize("number", [0, 1, 2**32 - 1])
def test_sequence_stamp_round_trips(number: int) -> None:
    frame = np.full((100, 200), 700, dtype=np.uint16)
    stamp_sequence(frame, number)
    assert read_sequence(frame) == number
    assert read_sequence(frame, row=STAMP_ROW + 1) is None


def test_sequence_stamp_rejects_bad_input() -> None:
    frame = np.zeros((100, 200), dtype=np.uint16)
    with pytest.raises(ValueError, match="32 bits"):
        stamp_sequence(frame, 2**32)
    with pytest.raises(ValueError, match="does not fit"):
        stamp_sequence(frame, 1, col=150)


def _exif_of(data: bytes) -> tuple[dict[str, object], dict[str, object]]:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        ifd0 = {tag.name: tag.value for tag in tif.pages.first.tags.values()}
    exif = ifd0.pop("ExifTag")
    assert isinstance(exif, dict)
    return ifd0, exif


def _makernote(exif: dict[str, object]) -> dict[int, bytes]:
    note = exif["MakerNote"]
    assert isinstance(note, bytes)
    (count,) = struct.unpack_from("<H", note)
    entries = (struct.unpack_from("<HHI4s", note, 2 + 12 * i) for i in range(count))
    return {tag: value for tag, _type, _count, value in entries}


def test_arw_metadata() -> None:
    model = _tiny(BODIES["ILCE-7M4"])
    data = write_arw(
        model,
        np.zeros((48, 64), dtype=np.uint16),
        exposure_s=1 / 8000,
        iso=409600,
        when=WHEN,
        pattern="GBRG",
    )
    assert data.startswith(b"II*\0")
    assert len(data) % 2 == 0
    assert data.endswith(bytes(48 * 64 * 2))
    ifd0, exif = _exif_of(data)
    assert (ifd0["Make"], ifd0["Model"]) == ("SONY", "ILCE-7M4")
    assert ifd0["DateTime"] == "2024:05:01 22:30:05"
    assert exif["ExposureTime"] == (1, 8000)
    assert exif["ISOSpeedRatings"] == 65535  # too big for the SHORT: the real value is below
    assert exif["RecommendedExposureIndex"] == 409600
    assert exif["DateTimeOriginal"] == "2024:05:01 22:30:05"
    assert exif["OffsetTimeOriginal"] == "-07:00"
    assert exif["SubsecTimeOriginal"] == "250"
    note = _makernote(exif)
    assert note[0xB001][:2] == struct.pack("<H", SONY_MODEL_IDS["ILCE-7M4"])
    assert note[0xB000] == bytes((4, 0, 0, 0))

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        subifds = tif.pages.first.pages
        assert subifds is not None
        raw_ifd = {tag.code: tag.value for tag in subifds.first.tags.values()}
    assert raw_ifd[0x828E] == bytes((1, 2, 0, 1))  # G B / R G
    assert raw_ifd[0x7310] == (512, 512, 512, 512)
    assert raw_ifd[0x0117] == (48 * 64 * 2,)  # w*h*2 selects LibRaw's uncompressed Sony decoder


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(1 / 8000, (1, 8000)), (1 / 3, (1, 3)), (0.4, (2, 5)), (2.5, (5, 2)), (30.0, (30, 1))],
)
def test_exposure_rational(seconds: float, expected: tuple[int, int]) -> None:
    assert exposure_rational(seconds) == expected


def test_exposure_rational_long_bulb_fits_32_bits() -> None:
    numerator, denominator = exposure_rational(123456.789)
    assert numerator < 2**32
    assert abs(numerator / denominator - 123456.789) < 1e-3


def test_write_arw_rejects_bad_input() -> None:
    model = _tiny(BODIES["ILCE-7M3"])
    good = np.zeros((48, 64), dtype=np.uint16)
    with pytest.raises(ValueError, match="shape"):
        write_arw(model, good[:, :60], exposure_s=1.0, iso=100, when=WHEN)
    with pytest.raises(ValueError, match="above"):
        write_arw(model, good + 16384, exposure_s=1.0, iso=100, when=WHEN)
    with pytest.raises(ValueError, match="negative"):
        write_arw(model, good.astype(np.int32) - 1, exposure_s=1.0, iso=100, when=WHEN)
    with pytest.raises(ValueError, match="integers"):
        write_arw(model, good.astype(np.float32), exposure_s=1.0, iso=100, when=WHEN)
    with pytest.raises(ValueError, match="CFA pattern"):
        write_arw(model, good, exposure_s=1.0, iso=100, when=WHEN, pattern="RGBG")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ISO"):
        write_arw(model, good, exposure_s=1.0, iso=0, when=WHEN)
    with pytest.raises(ValueError, match="exposure"):
        write_arw(model, good, exposure_s=0.0, iso=100, when=WHEN)


def test_jpeg_is_a_small_rendering_with_the_camera_exif() -> None:
    model = BODIES[SMALLEST]
    mosaic = star_field(model, seed=5)
    data = render_jpeg(model, mosaic, exposure_s=0.5, iso=6400, when=WHEN, max_side=800)
    assert data[:4] == b"\xff\xd8\xff\xe1"
    assert data[6:12] == b"Exif\0\0"
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB"
        assert max(image.size) <= 800
        pixels = np.asarray(image)
        exif = image.getexif()
    assert exif[0x010F] == "SONY"
    assert exif[0x0110] == SMALLEST
    details = exif.get_ifd(0x8769)
    assert float(details[0x829A]) == 0.5
    assert details[0x8827] == 6400
    assert details[0x9003] == "2024:05:01 22:30:05"
    # Dark sky with stars on it.
    assert float(np.median(pixels)) < 80
    assert int(pixels.max()) > 200


def test_exif_tiff_is_little_endian_like_sony() -> None:
    block = exif_tiff(BODIES["ILCE-7M3"], exposure_s=2.0, iso=100, when=WHEN)
    assert block.startswith(b"II*\0")
    assert b"ILCE-7M3\0" in block
