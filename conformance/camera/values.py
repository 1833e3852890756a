"""Value judgments shared by the camera check: each returns the problem, or '' when it is fine."""

from __future__ import annotations

import math
from typing import Any


def is_int(value: Any) -> bool:
    """A JSON integer (Python's bool is an int, JSON's true is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def bankers_round(value: float) -> int:
    """.NET Convert.ToInt32 (round half to even), which ConformU uses for sizes."""
    return round(value)


def show_value(value: Any) -> str:
    """A value as the log shows it: strings quoted, long values cut at 200 characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 200 else text[:200] + "..."


def int_problem(value: Any, low: float, high: float) -> str:
    if not is_int(value):
        return f"expected a JSON integer, got {value!r}"
    if not low <= value <= high:
        return f"invalid value: {value} (expected {low:g}..{high:g})"
    return ""


def float_problem(value: Any, low: float, high: float) -> str:
    if not is_number(value):
        return f"expected a number, got {value!r}"
    if not low <= value <= high:
        return f"invalid value: {value} (expected {low:g}..{high:g})"
    return ""


def bool_problem(value: Any) -> str:
    return "" if isinstance(value, bool) else f"expected true or false, got {value!r}"


def string_problem(value: Any, max_length: int = 0) -> str:
    if not isinstance(value, str):
        return f"expected a string, got {value!r}"
    if max_length and len(value) > max_length:
        return f"longer than {max_length} characters: {value!r}"
    return ""


def strings_problem(value: Any) -> str:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"expected an array of strings, got {show_value(value)}"
    return ""
