"""camera/decode with the real LibRaw on small synthetic ARWs: raw frames are the visible mosaic in
Alpaca's x-major order, Bayer offsets follow the colour layout, subframes and binning follow
alpaca.md 3.2 (binned coordinates; averaging keeps MaxADU), RGB modes give three planes, and the
tiled, threaded transpose equals numpy's."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpaca_sony.camera.decode import (
    ColourSpace,
    DecodeOptions,
    ReadoutMode,
    Subframe,
    bayer_offsets,
    decode,
)
from alpaca_sony.camera.demosaic import to_x_major
from alpaca_sony.errors import CameraError
from alpaca_sony.simulator.arw import CfaPattern, write_arw
from alpaca_sony.simulator.bodies import BODIES

WIDTH, HEIGHT = 96, 64  # small enough to decode in milliseconds; LibRaw crops nothing off it
MAX_ADU = 16383  # 14-bit ARW
# A body LibRaw knows, with a sensor this small: write_arw makes Make SONY, Model ILCE-7SM3.
SMALL_BODY = dataclasses.replace(
    BODIES["ILCE-7SM3"],
    sensor=dataclasses.replace(
        BODIES["ILCE-7SM3"].sensor,
        raw_width=WIDTH,
        raw_height=HEIGHT,
        visible_width=WIDTH,
        visible_height=HEIGHT,
        left_margin=0,
        top_margin=0,
    ),
)


def arw(mosaic: npt.NDArray[np.uint16], pattern: CfaPattern = "RGGB") -> bytes:
    return write_arw(
        SMALL_BODY, mosaic, exposure_s=1.0, iso=800, when=dt.datetime.now(dt.UTC), pattern=pattern
    )


def ramp() -> npt.NDArray[np.uint16]:
    """Every pixel different, so any swap, shift or mirror shows."""
    return (np.arange(WIDTH * HEIGHT, dtype=np.uint32).reshape(HEIGHT, WIDTH) % 16000).astype(
        np.uint16
    )


def test_a_raw_frame_is_the_mosaic_in_x_major_order() -> None:
    mosaic = ramp()
    frame = decode(arw(mosaic), ReadoutMode.RAW, Subframe(), MAX_ADU)
    assert frame.pixels.dtype == np.uint16
    assert (frame.width, frame.height) == (WIDTH, HEIGHT)
    assert np.array_equal(frame.pixels, mosaic.T)  # Alpaca arrays are [x][y]
    assert frame.pixels.flags.c_contiguous  # stored once in transfer order: no transpose later
    assert (frame.sensor_width, frame.sensor_height, frame.max_adu) == (WIDTH, HEIGHT, MAX_ADU)


def test_decoding_a_saved_file_equals_decoding_its_bytes(tmp_path: Path) -> None:
    data = arw(ramp())
    path = tmp_path / "frame.ARW"
    path.write_bytes(data)
    from_file = decode(path, ReadoutMode.RAW, Subframe(), MAX_ADU)
    assert np.array_equal(
        from_file.pixels, decode(data, ReadoutMode.RAW, Subframe(), MAX_ADU).pixels
    )


# alpaca.md 3.6: BayerOffsetX/Y is the offset from sensor (0, 0) to the top-left corner of the
# RGGB table, i.e. where the first red site is.
@pytest.mark.parametrize(
    ("pattern", "offsets"),
    [("RGGB", (0, 0)), ("GRBG", (1, 0)), ("GBRG", (0, 1)), ("BGGR", (1, 1))],
)
def test_bayer_offsets_point_at_the_red_site(pattern: CfaPattern, offsets: tuple[int, int]) -> None:
    frame = decode(arw(ramp(), pattern), ReadoutMode.RAW, Subframe(), MAX_ADU)
    assert (frame.bayer_offset_x, frame.bayer_offset_y) == offsets


@pytest.mark.parametrize(
    ("colors", "desc"),
    [
        ([[0, 0], [1, 2]], b"RGBG"),  # two red sites in a cell
        ([[1, 3], [3, 2]], b"RGBG"),  # no red site
        ([[0, 1], [3, 2]], b"CMYG"),  # no red at all in the colour letters
    ],
)
def test_a_layout_that_is_not_bayer_is_refused(colors: list[list[int]], desc: bytes) -> None:
    with pytest.raises(CameraError, match="unsupported colour filter layout"):
        bayer_offsets(np.array(colors), desc)


def test_a_subframe_is_cut_in_binned_coordinates() -> None:
    mosaic = ramp()
    sub = Subframe(start_x=10, start_y=4, num_x=30, num_y=20)
    frame = decode(arw(mosaic), ReadoutMode.RAW, sub, MAX_ADU)
    assert np.array_equal(frame.pixels, mosaic[4:24, 10:40].T)
    # CameraXSize/YSize stay the whole sensor; Bayer offsets are not moved by subframes (3.6).
    assert (frame.sensor_width, frame.sensor_height) == (WIDTH, HEIGHT)
    assert (frame.bayer_offset_x, frame.bayer_offset_y) == (0, 0)


def test_binning_averages_each_bin_rounding_half_up() -> None:
    mosaic = np.zeros((HEIGHT, WIDTH), dtype=np.uint16)
    mosaic[0:2, 0:2] = [[1, 2], [3, 4]]  # mean 2.5: rounds to 3
    mosaic[0:2, 2:4] = [[1, 1], [1, 2]]  # mean 1.25: rounds to 1
    mosaic[2:4, 0:2] = MAX_ADU  # a saturated bin stays saturated
    frame = decode(arw(mosaic), ReadoutMode.RAW, Subframe(bin_x=2, bin_y=2), MAX_ADU)
    assert (frame.width, frame.height) == (WIDTH // 2, HEIGHT // 2)
    assert (frame.pixels[0, 0], frame.pixels[1, 0], frame.pixels[0, 1]) == (3, 1, MAX_ADU)
    assert frame.max_adu == MAX_ADU  # averaging keeps the sensor's range


def test_a_saturated_frame_binned_4x4_stays_saturated() -> None:
    # Sixteen 14-bit values sum past 16 bits: the sum must not wrap.
    saturated = np.full((HEIGHT, WIDTH), MAX_ADU, dtype=np.uint16)
    frame = decode(arw(saturated), ReadoutMode.RAW, Subframe(bin_x=4, bin_y=4), MAX_ADU)
    assert int(frame.pixels.min()) == int(frame.pixels.max()) == MAX_ADU


def test_asymmetric_binning_drops_the_partial_edge_bin() -> None:
    mosaic = ramp()
    frame = decode(arw(mosaic), ReadoutMode.RAW, Subframe(bin_x=5, bin_y=3), MAX_ADU)
    assert (frame.width, frame.height) == (WIDTH // 5, HEIGHT // 3)  # 19 x 21: 1 column, 1 row cut
    expected = (mosaic[:3, :5].astype(np.uint32).sum() + 7) // 15
    assert frame.pixels[0, 0] == expected


def test_binned_subframe_starts_in_binned_pixels() -> None:
    mosaic = ramp()
    frame = decode(
        arw(mosaic),
        ReadoutMode.RAW,
        Subframe(start_x=3, start_y=2, num_x=4, num_y=5, bin_x=2, bin_y=2),
        MAX_ADU,
    )
    binned = decode(arw(mosaic), ReadoutMode.RAW, Subframe(bin_x=2, bin_y=2), MAX_ADU)
    assert np.array_equal(frame.pixels, binned.pixels[3:7, 2:7])


@pytest.mark.parametrize(
    "sub",
    [
        Subframe(start_x=90, num_x=10),  # past the right edge
        Subframe(start_y=-1),
        Subframe(num_x=0),
        Subframe(start_x=40, num_x=10, bin_x=2),  # fits unbinned, not in binned pixels
    ],
)
def test_a_subframe_that_does_not_fit_says_so(sub: Subframe) -> None:
    with pytest.raises(CameraError, match=r"does not fit the \d+x\d+ image"):
        decode(arw(ramp()), ReadoutMode.RAW, sub, MAX_ADU)


def _red_heavy() -> npt.NDArray[np.uint16]:
    mosaic = np.full((HEIGHT, WIDTH), 1000, dtype=np.uint16)
    mosaic[0::2, 0::2] = 8000  # red sites of RGGB
    return mosaic


@pytest.mark.parametrize(
    ("mode", "size"),
    [(ReadoutMode.RGB, (WIDTH, HEIGHT)), (ReadoutMode.RGB_HALF, (WIDTH // 2, HEIGHT // 2))],
)
def test_rgb_modes_give_three_planes_in_x_major_order(
    mode: ReadoutMode, size: tuple[int, int]
) -> None:
    options = DecodeOptions(algorithm="LINEAR", camera_white_balance=False)
    frame = decode(arw(_red_heavy()), mode, Subframe(), MAX_ADU, options)
    assert frame.pixels.shape == (*size, 3) and frame.pixels.dtype == np.uint16
    assert (frame.bayer_offset_x, frame.bayer_offset_y) == (None, None)  # not a mosaic
    assert (frame.sensor_width, frame.sensor_height) == (WIDTH, HEIGHT)
    red, green, blue = (frame.pixels[..., c].mean() for c in range(3))
    assert red > green and red > blue


def test_srgb_output_differs_from_camera_primaries() -> None:
    camera = decode(arw(_red_heavy()), ReadoutMode.RGB_HALF, Subframe(), MAX_ADU)
    srgb = decode(
        arw(_red_heavy()),
        ReadoutMode.RGB_HALF,
        Subframe(),
        MAX_ADU,
        DecodeOptions(colour_space=ColourSpace.SRGB),
    )
    assert not np.array_equal(camera.pixels, srgb.pixels)


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    planes=st.sampled_from([(), (3,)]),
    threads=st.integers(1, 4),
    margin=st.integers(0, 24),
)
def test_the_x_major_copy_equals_numpys_transpose(
    height: int, width: int, planes: tuple[int, ...], threads: int, margin: int
) -> None:
    # Sizes across the per-thread bands; with a right margin cut off, as LibRaw's visible area
    # is a view with longer rows than it shows.
    image = np.random.default_rng(height * 1000 + width).integers(
        0, 65535, (height, width + margin, *planes), dtype=np.uint16
    )[:, :width]
    out = to_x_major(image, threads=threads)
    assert out.shape == (width, height, *planes) and out.flags.c_contiguous
    assert np.array_equal(out, image.swapaxes(0, 1))
