"""The fast RGB path against LibRaw itself, on ARWs the simulator writes: colour (white balance,
black and white levels, the camera-to-sRGB matrix) agrees with rawpy's linear postprocess of the
same file, every Bayer layout demosaics in its own phase, the half-size superpixel is exact, and
subframes, binning and bands cut nothing wrong.

Tolerances, in steps of the 16-bit output (65535 = full scale):

* FLAT = 3 on a flat field, in every mode: LibRaw truncates twice (after white balance, after
  the matrix) where we round once, so it reads up to a step lower each time; a flat field has no
  interpolation error at all, so anything more is a colour or phase bug.
* STARS = 6 pixel for pixel, bilinear against LibRaw's LINEAR on a star field with saturated stars,
  hot pixels and noise (the outermost pixel row and column excluded: each library extrapolates
  its own way there), and the half-size superpixel in sRGB: the same rounding, spread by
  interpolation over up to four neighbours (or by the rounded green mean) and by the sRGB matrix
  (row sums of magnitude up to ~2).
* Stars, by aperture photometry (21x21 box, the same sky subtracted), on the brighter half of a
  grid of stars of five colours: bilinear's flux and colour (R/G, B/G) within 0.5 % of LibRaw's
  LINEAR. Edge-aware (EA) is another interpolation, held to no more than LibRaw's own AHD differs
  from LINEAR (both interpolate green along one edge direction, which keeps 2-5 % less of a
  star's green than bilinear: camera space 2.7 % of flux, 3.6 % of colour at worst, sRGB 4.6 % and
  9.1 %, against AHD's 4.7/5.3 and 7.6/9.8 %), and the frame's mean level per colour within 0.3 %.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import rawpy

from alpaca_sony.camera import demosaic as demosaic_module
from alpaca_sony.camera.binning import average_bins
from alpaca_sony.camera.decode import (
    DEMOSAIC_ALGORITHMS,
    ColourSpace,
    DecodeOptions,
    ReadoutMode,
    Subframe,
    decode,
    demosaic_algorithm,
)
from alpaca_sony.camera.demosaic import balance
from alpaca_sony.simulator.arw import CFA_PATTERNS, CHANNEL_RESPONSE, CfaPattern, write_arw
from alpaca_sony.simulator.arw import star_field as simulated_star_field
from alpaca_sony.simulator.bodies import BODIES, SimulatedModel

FLAT = 3
STARS = 6
MAX_ADU = 16383
FAST = ("EA", "BILINEAR")
SPACES = (ColourSpace.CAMERA, ColourSpace.SRGB)

Image = npt.NDArray[np.uint16]


def body(width: int, height: int) -> SimulatedModel:
    """A body LibRaw knows (Make SONY, Model ILCE-7SM3, its colour matrix), this small."""
    model = BODIES["ILCE-7SM3"]
    sensor = dataclasses.replace(
        model.sensor,
        raw_width=width,
        raw_height=height,
        visible_width=width,
        visible_height=height,
        left_margin=0,
        top_margin=0,
    )
    return dataclasses.replace(model, sensor=sensor)


def arw(mosaic: npt.NDArray[np.integer[Any]], pattern: CfaPattern = "RGGB") -> bytes:
    height, width = mosaic.shape
    return write_arw(
        body(width, height),
        mosaic,
        exposure_s=1.0,
        iso=800,
        when=dt.datetime.now(dt.UTC),
        pattern=pattern,
    )


def libraw(
    data: bytes,
    algorithm: str = "LINEAR",
    space: ColourSpace = ColourSpace.CAMERA,
    camera_wb: bool = True,
    half: bool = False,
) -> npt.NDArray[np.int64]:
    """rawpy's linear 16-bit postprocess, y-major (rows, columns, 3), as signed integers."""
    with rawpy.imread(io.BytesIO(data)) as raw:
        rgb = raw.postprocess(
            output_bps=16,
            gamma=(1, 1),
            no_auto_bright=True,
            adjust_maximum_thr=0.0,  # the sensor's white level, as ours
            use_camera_wb=camera_wb,
            output_color=rawpy.ColorSpace.raw
            if space == ColourSpace.CAMERA
            else rawpy.ColorSpace.sRGB,
            demosaic_algorithm=rawpy.DemosaicAlgorithm[algorithm],
            half_size=half,
            user_flip=0,
        )
    return np.asarray(rgb).astype(np.int64)


def fast(
    data: bytes,
    mode: ReadoutMode = ReadoutMode.RGB,
    algorithm: str = "EA",
    space: ColourSpace = ColourSpace.CAMERA,
    camera_wb: bool = True,
    subframe: Subframe | None = None,
) -> Image:
    """Our decode, x-major as stored."""
    options = DecodeOptions(colour_space=space, algorithm=algorithm, camera_white_balance=camera_wb)
    frame = decode(data, mode, subframe or Subframe(), MAX_ADU, options)
    assert frame.pixels.flags.c_contiguous
    return frame.pixels


def y_major(pixels: Image) -> npt.NDArray[np.int64]:
    return pixels.swapaxes(0, 1).astype(np.int64)


def flat_field(pattern: CfaPattern, width: int = 96, height: int = 64) -> Image:
    """A grey card: each colour's sites at its own level (distinct, so any swap shows)."""
    level = {"R": 3000, "G": 6000, "B": 2000}
    mosaic = np.empty((height, width), dtype=np.uint16)
    for index, colour in enumerate(pattern):
        mosaic[index // 2 :: 2, index % 2 :: 2] = level[colour]
    return mosaic


def star_field(pattern: CfaPattern = "RGGB") -> Image:
    """The simulator's night sky (sky gradient, noise, stars up to saturation, hot pixels)."""
    return simulated_star_field(body(192, 128), 11, pattern, stars=40)


# -- colour and phase --------------------------------------------------------------------------


@pytest.mark.parametrize("camera_wb", [True, False], ids=["camera-wb", "daylight-wb"])
@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.value)
@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize("pattern", CFA_PATTERNS)
def test_a_flat_field_matches_libraw_in_every_layout(
    pattern: CfaPattern, algorithm: str, space: ColourSpace, camera_wb: bool
) -> None:
    data = arw(flat_field(pattern), pattern)
    ours = y_major(fast(data, algorithm=algorithm, space=space, camera_wb=camera_wb))
    reference = libraw(data, space=space, camera_wb=camera_wb)
    assert ours.shape == reference.shape
    assert int(np.abs(ours - reference).max()) <= FLAT
    # Not trivially flat: the colours are told apart (a swapped phase would swap them).
    assert len({int(v) for v in reference[10, 10]}) == 3


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.value)
@pytest.mark.parametrize("pattern", CFA_PATTERNS)
def test_bilinear_matches_libraw_linear_on_a_star_field(
    pattern: CfaPattern, space: ColourSpace
) -> None:
    data = arw(star_field(pattern), pattern)
    ours = y_major(fast(data, algorithm="BILINEAR", space=space))
    reference = libraw(data, space=space)
    assert int(reference.max()) == 65535  # saturated stars are part of the test
    difference = np.abs(ours - reference)[1:-1, 1:-1]
    assert int(difference.max()) <= STARS


def _star_grid() -> tuple[Image, list[tuple[int, int]]]:
    """Stars of five colours and a range of brightness on a grid, at known places, with noise."""
    height, width, sigma = 384, 512, 2.5
    rng = np.random.default_rng(7)
    rows, columns = np.mgrid[0:height, 0:width]
    colour_of_site = np.array([[0, 1], [1, 2]])[rows % 2, columns % 2]  # RGGB
    response = np.array([CHANNEL_RESPONSE[c] for c in "RGB"])
    colours = np.array(
        [(0.65, 0.8, 1.0), (1, 1, 1), (1, 0.75, 0.5), (0.85, 0.92, 1), (1, 0.9, 0.7)]
    )
    signal = 600.0 * response[colour_of_site]
    centres = []
    for number, (y, x) in enumerate((y, x) for y in range(32, 368, 48) for x in range(32, 496, 48)):
        peak = float(np.exp(rng.uniform(np.log(300), np.log(12000))))
        dy, dx = rng.uniform(-0.5, 0.5, 2)
        profile = np.exp(
            -0.5 * (((rows - y - dy) / sigma) ** 2 + ((columns - x - dx) / sigma) ** 2)
        )
        signal += profile * peak * (colours[number % 5] * response)[colour_of_site]
        centres.append((y, x))
    noisy = rng.normal(512 + signal, np.sqrt(36 + signal))
    return np.clip(np.rint(noisy), 0, MAX_ADU).astype(np.uint16), centres


def _photometry(
    image: npt.NDArray[np.int64], reference: npt.NDArray[np.int64], y: int, x: int
) -> npt.NDArray[np.float64]:
    """R, G, B flux in a 21x21 box, less the reference's sky around it (the same for both)."""
    box, ring = 10, 20
    sky = reference[y - ring : y + ring + 1, x - ring : x + ring + 1].astype(np.float64)
    inside = np.zeros(sky.shape[:2], dtype=bool)
    inside[ring - box : ring + box + 1, ring - box : ring + box + 1] = True
    background = sky[~inside].mean(axis=0)
    star = image[y - box : y + box + 1, x - box : x + box + 1].astype(np.float64)
    flux: npt.NDArray[np.float64] = star.sum(axis=(0, 1)) - background * (2 * box + 1) ** 2
    return flux


def _worst_deviation(
    image: npt.NDArray[np.int64], reference: npt.NDArray[np.int64], stars: list[tuple[int, int]]
) -> tuple[float, float]:
    """Largest (flux error / green flux, colour-ratio error) over the stars."""
    flux_error, colour_error = 0.0, 0.0
    for y, x in stars:
        ours, theirs = _photometry(image, reference, y, x), _photometry(reference, reference, y, x)
        flux_error = max(flux_error, float(np.abs(ours - theirs).max() / theirs[1]))
        colour_error = max(colour_error, float(np.abs(ours / ours[1] - theirs / theirs[1]).max()))
    return flux_error, colour_error


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.value)
def test_star_photometry_agrees_with_libraw(space: ColourSpace) -> None:
    mosaic, stars = _star_grid()
    data = arw(mosaic)
    linear = libraw(data, "LINEAR", space)
    # The brighter half: on the faint ones, sky noise, not the demosaic, decides the error.
    green = [_photometry(linear, linear, y, x)[1] for y, x in stars]
    bright = [star for star, flux in zip(stars, green, strict=True) if flux >= np.median(green)]
    bilinear_flux, bilinear_colour = _worst_deviation(
        y_major(fast(data, algorithm="BILINEAR", space=space)), linear, bright
    )
    assert bilinear_flux <= 0.005 and bilinear_colour <= 0.005
    edge_aware = y_major(fast(data, algorithm="EA", space=space))
    ea_flux, ea_colour = _worst_deviation(edge_aware, linear, bright)
    ahd_flux, ahd_colour = _worst_deviation(libraw(data, "AHD", space), linear, bright)
    assert ea_flux <= ahd_flux and ea_colour <= ahd_colour
    mean, reference_mean = edge_aware.mean(axis=(0, 1)), linear.mean(axis=(0, 1))
    assert np.all(np.abs(mean - reference_mean) <= 0.003 * reference_mean)


# -- half size: a superpixel -------------------------------------------------------------------


def _levels(data: bytes) -> tuple[dict[str, float], int, int]:
    """LibRaw's per-colour multipliers, black and white, as LibRaw itself reports them."""
    with rawpy.imread(io.BytesIO(data)) as raw:
        wb = dict(zip("RGB", raw.camera_whitebalance[:3], strict=True))
        black, white = int(min(raw.black_level_per_channel)), int(raw.white_level)
    smallest = min(wb.values())
    return {c: wb[c] / smallest * 65535 / (white - black) for c in "RGB"}, black, white


@pytest.mark.parametrize("pattern", CFA_PATTERNS)
def test_half_size_is_an_exact_superpixel(pattern: CfaPattern) -> None:
    rng = np.random.default_rng(5)
    mosaic = rng.integers(0, MAX_ADU + 1, (64, 96), dtype=np.uint16)  # some below black, some clip
    data = arw(mosaic, pattern)
    scale, black, _ = _levels(data)

    def site(index: int) -> npt.NDArray[np.float64]:
        values = mosaic[index // 2 :: 2, index % 2 :: 2].astype(np.float64)
        balanced = np.rint(np.maximum(values - black, 0) * scale[pattern[index]])
        return np.clip(balanced, 0, 65535)

    red, blue = site(pattern.index("R")), site(pattern.index("B"))
    first, second = (i for i, c in enumerate(pattern) if c == "G")
    green = np.floor((site(first) + site(second)) / 2 + 0.5)
    expected = np.stack([red, green, blue], axis=-1)
    ours = y_major(fast(data, ReadoutMode.RGB_HALF))
    assert ours.shape == (32, 48, 3)
    assert np.array_equal(ours, expected)
    # LibRaw's own half size is the same superpixel, truncated where we round.
    assert int(np.abs(ours - libraw(data, half=True)).max()) <= FLAT


def test_half_size_in_srgb_matches_libraw() -> None:
    data = arw(star_field())
    ours = y_major(fast(data, ReadoutMode.RGB_HALF, space=ColourSpace.SRGB))
    # Three roundings before the matrix's (sites, green mean) against LibRaw's truncations.
    assert int(np.abs(ours - libraw(data, space=ColourSpace.SRGB, half=True)).max()) <= STARS


# -- layout, subframes, binning, bands ---------------------------------------------------------


def test_the_rgb_frame_is_x_major() -> None:
    mosaic = flat_field("RGGB")
    mosaic[20:24, 60:64] = 12000  # a bright patch at x 60..63, y 20..23
    pixels = fast(arw(mosaic), algorithm="BILINEAR")
    assert pixels.shape == (96, 64, 3)
    assert int(pixels[61, 21, 1]) > 2 * int(pixels[21, 61, 1])
    assert int(pixels[61, 21, 1]) > 2 * int(pixels[10, 40, 1])


@pytest.mark.parametrize(
    "subframe",
    [
        Subframe(start_x=3, start_y=5, num_x=41, num_y=27),  # odd starts: the other phases
        Subframe(start_x=0, start_y=0, num_x=96, num_y=1),  # one row at the top edge
        Subframe(start_x=90, start_y=40, num_x=6, num_y=24),  # the bottom-right corner
    ],
)
@pytest.mark.parametrize("algorithm", FAST)
def test_a_subframe_is_the_crop_of_the_whole_frame(subframe: Subframe, algorithm: str) -> None:
    data = arw(star_field()[:64, :96].copy())
    whole = fast(data, algorithm=algorithm)
    cut = fast(data, algorithm=algorithm, subframe=subframe)
    assert subframe.num_x is not None and subframe.num_y is not None
    x, y = subframe.start_x, subframe.start_y
    assert np.array_equal(cut, whole[x : x + subframe.num_x, y : y + subframe.num_y])


@pytest.mark.parametrize("mode", [ReadoutMode.RGB, ReadoutMode.RGB_HALF])
def test_binning_averages_the_demosaiced_frame(mode: ReadoutMode) -> None:
    data = arw(star_field()[:64, :96].copy())
    whole = fast(data, mode)
    binned = fast(data, mode, subframe=Subframe(bin_x=2, bin_y=2))
    assert np.array_equal(binned, average_bins(whole, 2, 2))
    part = fast(
        data, mode, subframe=Subframe(start_x=1, start_y=2, num_x=5, num_y=3, bin_x=2, bin_y=2)
    )
    assert np.array_equal(part, binned[1:6, 2:5])


@pytest.mark.parametrize("mode", [ReadoutMode.RGB, ReadoutMode.RGB_HALF])
@pytest.mark.parametrize("algorithm", FAST)
def test_bands_join_without_a_seam(
    monkeypatch: pytest.MonkeyPatch, mode: ReadoutMode, algorithm: str
) -> None:
    data = arw(star_field())
    whole = fast(data, mode, algorithm)  # RGB: in one piece, straight into the output
    monkeypatch.setattr(demosaic_module, "BAND_PIXELS", 128 * 6)  # bands of 6 rows
    # All but the last column: the banded path, as for any subframe.
    size = (192, 128) if mode == ReadoutMode.RGB else (96, 64)
    banded = fast(data, mode, algorithm, subframe=Subframe(num_x=size[0] - 1, num_y=size[1]))
    assert np.array_equal(banded, whole[:-1])


def test_balance_handles_an_odd_last_column() -> None:
    mosaic = np.array([[100, 600, 1000], [600, 1200, 5000]], dtype=np.uint16)
    balance(mosaic, (500, 510, 520, 530), (2.0, 3.0, 4.0, 5.0))
    assert mosaic.tolist() == [[0, 270, 1000], [320, 3350, 17920]]


# -- LibRaw by name, the setting's choices -----------------------------------------------------


@pytest.mark.parametrize("algorithm", ["AHD", "DCB", "LINEAR"])
def test_libraws_algorithms_stay_available_by_name(algorithm: str) -> None:
    data = arw(star_field()[:64, :96].copy())
    ours = y_major(fast(data, algorithm=algorithm, space=ColourSpace.SRGB))
    assert np.array_equal(ours, libraw(data, algorithm, ColourSpace.SRGB))


def test_libraws_algorithms_scale_by_the_sensors_white_level_too() -> None:
    # The brightest pixel at 80 % of white: LibRaw's default would take it as white instead.
    mosaic = flat_field("RGGB")
    mosaic[0:2, 0:2] = 13000
    data = arw(mosaic)
    libraw_ahd = y_major(fast(data, algorithm="AHD"))[16:48, 24:72]
    assert int(np.abs(libraw_ahd - y_major(fast(data))[16:48, 24:72]).max()) <= FLAT


def test_the_default_is_the_fast_edge_aware_demosaic() -> None:
    assert DecodeOptions().algorithm == "EA"
    assert DEMOSAIC_ALGORITHMS[:2] == ("EA", "BILINEAR")
    assert {"LINEAR", "AHD", "DCB"} <= set(DEMOSAIC_ALGORITHMS)


def test_an_algorithm_name_is_read_in_any_case_and_checked() -> None:
    assert demosaic_algorithm("bilinear") == "BILINEAR"
    assert demosaic_algorithm("Ahd") == "AHD"
    with pytest.raises(ValueError, match=r"must be one of EA, BILINEAR, .*AHD.*, not 'AMAZING'"):
        demosaic_algorithm("AMAZING")
