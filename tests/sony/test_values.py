"""Value codecs of the properties the driver uses."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpaca_sony.sony.models import MODELS
from alpaca_sony.sony.values import (
    FileFormat,
    Iso,
    ShootingFileInfo,
    ShutterSpeed,
    battery_indicator,
    battery_percent,
    f_number,
    file_format_from,
    is_autofocus,
    is_manual_program,
    shutter_raw,
)


@given(st.integers(1, 0xFFFF), st.integers(1, 0xFFFF))
def test_shutter_round_trip(numerator: int, denominator: int) -> None:
    if numerator == denominator == 0xFFFF:
        with pytest.raises(ValueError, match="reserved"):
            shutter_raw(numerator, denominator)
        return
    speed = ShutterSpeed(shutter_raw(numerator, denominator))
    assert speed.duration == Fraction(numerator, denominator)


@pytest.mark.parametrize(
    ("raw", "text", "seconds"),
    [(0x012C000A, '30"', 30.0), (0x000103E8, "1/1000", 0.001), (0x0004000A, '0.4"', 0.4),
     (0, "BULB", None), (0xFFFFFFFF, "--", None), (0x0019000A, '2.5"', 2.5)],
)  # fmt: skip
def test_shutter_examples(raw: int, text: str, seconds: float | None) -> None:
    assert str(ShutterSpeed(raw)) == text
    assert ShutterSpeed(raw).seconds == seconds


def test_every_model_ladder_runs_longest_to_shortest() -> None:
    for model in MODELS.values():
        seconds = [ShutterSpeed(r).seconds for r in model.shutter_speeds]
        assert seconds == sorted(seconds, reverse=True)  # type: ignore[type-var]
        assert seconds[0] == 30.0


@pytest.mark.parametrize(
    ("raw", "text", "plain"),
    [(0x00FFFFFF, "AUTO", False), (0x64, "100", True), (0x19000, "102400", True),
     (0x01000064, "100 MFNR", False), (0x10000028, "40", True)],
)  # fmt: skip
def test_iso_examples(raw: int, text: str, plain: bool) -> None:
    assert str(Iso(raw)) == text
    assert Iso(raw).is_plain == plain


def test_shooting_file_info() -> None:
    assert ShootingFileInfo(0).idle
    assert ShootingFileInfo(1).processing and not ShootingFileInfo(1).ready
    assert ShootingFileInfo(0x8001).ready_count == 1
    assert ShootingFileInfo(0x8002).ready_count == 2
    assert ShootingFileInfo(0x8000).ready_count == 1  # bit 15 alone still means one file


def test_file_formats() -> None:
    assert FileFormat(0x10).files_per_shot == 1 and FileFormat(0x10).includes_raw
    assert FileFormat(0x13).files_per_shot == 2 and str(FileFormat(0x13)) == "RAW+JPEG"
    assert not FileFormat(0x03).includes_raw
    assert str(file_format_from(None, 2)) == "RAW+JPEG"  # a7S III reports 0xD253 only
    assert file_format_from(None, None) is None


def test_small_codecs() -> None:
    assert f_number(0x0118) == 2.8 and f_number(0xFFFF) is None
    assert battery_percent(-1) is None and battery_percent(71) == 71
    assert battery_indicator(0x07) == "4/4" and battery_indicator(0x10) == "USB power"
    assert is_manual_program(0x0001) and is_manual_program(0x00000001)
    assert not is_manual_program(0x00020003)
    assert not is_autofocus(0x0001) and is_autofocus(0x0002) and is_autofocus(None)
