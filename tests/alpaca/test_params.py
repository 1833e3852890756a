"""Strict parsing of Alpaca parameters (alpaca.md 0.2, 0.3, 0.6, 0.9, 1.3, 1.4 and 10).

Python's own parsers are too lenient for Alpaca: ``int`` takes " 1", "+1", "1_000" and
Arabic-Indic digits, ``float`` takes "nan" and "inf". Each rule here is one the server keeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from alpaca_sony.alpaca.errors import BadRequest, InvalidValue
from alpaca_sony.alpaca.params import (
    INT32_MAX,
    INT32_MIN,
    UINT32_MAX,
    boolean,
    int32,
    number,
    parse_arguments,
    parse_boolean,
    parse_form,
    parse_int32,
    parse_number,
    parse_query,
    text,
)

# Texts Python's int() or float() accepts that an Alpaca server must refuse.
LENIENT_INTEGERS = [" 1", "1 ", "+1", "1_000", "\u0661\u0662", "\uff11", "0x10", "", "-"]
LENIENT_NUMBERS = ["nan", "NaN", "inf", "-Infinity", " 1.5", "1.5 ", "+1", "1_0.5", "1e400", ""]


# -- GET query: names in any casing ----------------------------------------------------------


def _casings(word: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    return flips.map(
        lambda f: "".join(c.swapcase() if u else c for c, u in zip(word, f, strict=True))
    )


@given(_casings("ClientID"), _casings("ClientTransactionID"), _casings("Duration"))
def test_get_names_match_in_any_casing(client: str, transaction: str, duration: str) -> None:
    request = parse_query(f"{client}=7&{transaction}=9&{duration}=2")
    assert (request.client_id, request.client_transaction_id) == (7, 9)
    assert request.argument(number("Duration")) == 2.0


def test_get_first_duplicate_wins_and_blank_values_stay() -> None:
    request = parse_query("Duration=1&duration=2&Light=")
    assert request.argument(number("Duration")) == 1.0
    with pytest.raises(BadRequest, match="Light=''"):
        request.argument(boolean("Light"))


# -- PUT form: names exactly as the spec spells them ---------------------------------------------


def test_put_name_in_another_casing_is_missing() -> None:
    request = parse_form(b"bINx=1")
    with pytest.raises(BadRequest, match="missing parameter BinX"):
        request.argument(int32("BinX"))
    assert parse_form(b"BinX=2").argument(int32("BinX")) == 2


def test_put_alias_is_a_second_spelling_the_name_wins() -> None:
    param = number("SubExposureDuration", aliases=("SubexposureDuration",))
    assert parse_form(b"SubexposureDuration=1.5").argument(param) == 1.5
    assert parse_form(b"SubexposureDuration=1&SubExposureDuration=2").argument(param) == 2.0
    with pytest.raises(BadRequest):
        parse_form(b"sUBeXPOSUREdURATION=1.5").argument(param)


def test_put_miscased_ids_are_ignored_not_refused() -> None:
    request = parse_form(b"clientid=5&clienttransactionid=67890")
    assert (request.client_id, request.client_transaction_id) == (0, 0)


def test_put_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(BadRequest, match="UTF-8"):
        parse_form(b"Action=\xff")


def test_put_parameters_are_checked_in_declared_order() -> None:
    request = parse_form(b"Duration=abc&Light=maybe")
    with pytest.raises(BadRequest, match="Duration"):
        parse_arguments(request, (number("Duration"), boolean("Light")))
    arguments = parse_arguments(
        parse_form(b"Light=TRUE&Duration=2.5&Extra=1"), (number("Duration"), boolean("Light"))
    )
    assert arguments[number("Duration")] == 2.5 and arguments[boolean("Light")] is True


# -- ClientID / ClientTransactionID: uint32 or a 400 ---------------------------------------------


@given(st.integers(0, UINT32_MAX))
def test_ids_in_uint32_are_echoed(value: int) -> None:
    request = parse_query(f"ClientID={value}&ClientTransactionID={value}")
    assert request.client_id == value and request.client_transaction_id == value


def test_absent_ids_are_zero() -> None:
    request = parse_query("")
    assert (request.client_id, request.client_transaction_id) == (0, 0)


@pytest.mark.parametrize("bad", [*LENIENT_INTEGERS, "-1", "4294967296", "1.0"])
def test_malformed_ids_are_refused(bad: str) -> None:
    builds: list[Callable[[], object]] = [
        lambda: parse_query(f"ClientTransactionID={bad}"),
        lambda: parse_form(f"ClientID={bad}".encode()),
    ]
    for build in builds:
        with pytest.raises(BadRequest, match="is not a number from 0 to 4294967295"):
            build()


# -- Int32 ----------------------------------------------------------------------------------------


@given(st.integers(INT32_MIN, INT32_MAX))
def test_int32_round_trips(value: int) -> None:
    assert parse_int32("BinX", str(value)) == value


@given(st.one_of(st.integers(max_value=INT32_MIN - 1), st.integers(min_value=INT32_MAX + 1)))
def test_int32_beyond_32_bits_is_invalid_value_not_400(value: int) -> None:
    with pytest.raises(InvalidValue, match="out of range"):
        parse_int32("Gain", str(value))


@pytest.mark.parametrize("bad", LENIENT_INTEGERS)
def test_int32_refuses_what_python_int_would_take(bad: str) -> None:
    with pytest.raises(BadRequest, match="is not an integer"):
        parse_int32("NumX", bad)


@given(st.text(max_size=12))
@example("007")
@example("-0")
def test_int32_accepts_only_ascii_digits_with_a_minus(candidate: str) -> None:
    try:
        value = parse_int32("StartX", candidate)
    except (BadRequest, InvalidValue):
        return
    digits = candidate.removeprefix("-")
    assert digits.isascii() and digits.isdigit() and int(candidate) == value


# -- Number ---------------------------------------------------------------------------------------


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_numbers_round_trip_exactly(value: float) -> None:
    assert parse_number("Duration", repr(value)) == value


@pytest.mark.parametrize(
    ("sent", "value"), [("1E-05", 1e-05), ("2", 2.0), ("-0.5", -0.5), (".5", 0.5), ("5.", 5.0)]
)
def test_numbers_as_real_clients_write_them(sent: str, value: float) -> None:
    assert parse_number("Duration", sent) == value


@pytest.mark.parametrize("bad", LENIENT_NUMBERS)
def test_numbers_refuse_what_python_float_would_take(bad: str) -> None:
    with pytest.raises(BadRequest, match="Duration="):
        parse_number("Duration", bad)


@given(st.text(max_size=12))
def test_an_accepted_number_is_plain_decimal_and_finite(candidate: str) -> None:
    try:
        value = parse_number("Duration", candidate)
    except BadRequest:
        return
    assert set(candidate) <= set("0123456789.-+eE") and math.isfinite(value)
    assert float(candidate) == value


# -- Boolean and text -----------------------------------------------------------------------------


@given(st.one_of(_casings("true"), _casings("false")))
def test_booleans_in_any_casing(sent: str) -> None:
    assert parse_boolean("Light", sent) is (sent.lower() == "true")


@pytest.mark.parametrize("bad", ["", "123456", "asdqwe", "1", "0", "yes", " true", "true "])
def test_booleans_refuse_anything_else(bad: str) -> None:
    with pytest.raises(BadRequest, match="is not true or false"):
        parse_boolean("Connected", bad)


def test_text_is_taken_as_sent_even_empty() -> None:
    assert parse_form(b"Parameters=").argument(text("Parameters")) == ""
    assert parse_form(b"Action=a%20b").argument(text("Action")) == "a b"
