"""Strict parsing of Alpaca request parameters (alpaca.md section 0, items 2, 3, 6 and 9).

GET query names match case-insensitively; PUT form names match exactly (a mis-cased required name
is missing: 400). Values are parsed strictly: no whitespace, no ``+`` or ``_``, no nan/inf, ASCII
digits only, booleans only ``true``/``false`` in any case. A value that parses but lies outside
its Alpaca type (an Int32 beyond 32 bits) is an ASCOM InvalidValue (0x401), not a 400.

Each PUT parameter is declared once as a :class:`Param`: its exact name, its Alpaca type and its
parser. :func:`parse_arguments` reads a member's parameters in order into :class:`Arguments`, which
hands each value back with its type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast
from urllib.parse import parse_qsl

from alpaca_sony.alpaca.errors import BadRequest, InvalidValue

T = TypeVar("T")

UINT32_MAX = 0xFFFFFFFF
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def parse_int32(name: str, text: str) -> int:
    """An Int32 value: unparseable -> 400; parseable but outside 32 bits -> 0x401."""
    if not _INT.fullmatch(text):
        raise BadRequest(f"{name}={text!r} is not an integer")
    value = int(text)
    if not INT32_MIN <= value <= INT32_MAX:
        raise InvalidValue(f"{name}={value} is out of range")
    return value


def parse_number(name: str, text: str) -> float:
    """A finite number, in fixed or exponent form (the .NET client writes ``1E-05``)."""
    if not _FLOAT.fullmatch(text):
        raise BadRequest(f"{name}={text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest(f"{name}={text!r} is not a finite number")
    return value


def parse_boolean(name: str, text: str) -> bool:
    """``true`` or ``false`` in any casing (.NET and alpyca send ``True``/``False``)."""
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise BadRequest(f"{name}={text!r} is not true or false")
    return lowered == "true"


def parse_text(_name: str, text: str) -> str:
    """Any text, as sent (an empty string included)."""
    return text


@dataclass(frozen=True)
class Param(Generic[T]):
    """One required PUT parameter."""

    name: str  # exactly as the spec spells it; a PUT must use this casing
    kind: str  # the spec's type: "boolean", "int32", "number" or "string"
    parse: Callable[[str, str], T]  # (name, text) -> value; raises BadRequest / InvalidValue
    aliases: tuple[str, ...] = ()  # other spellings real clients send, tried after ``name``


def boolean(name: str) -> Param[bool]:
    return Param(name, "boolean", parse_boolean)


def int32(name: str) -> Param[int]:
    return Param(name, "int32", parse_int32)


def number(name: str, aliases: tuple[str, ...] = ()) -> Param[float]:
    return Param(name, "number", parse_number, aliases)


def text(name: str) -> Param[str]:
    return Param(name, "string", parse_text)


class Arguments:
    """A member's parsed parameters; ``arguments[param]`` has the param's type."""

    def __init__(self, values: Mapping[str, object]):
        self._values = dict(values)

    def __getitem__(self, param: Param[T]) -> T:
        return cast(T, self._values[param.name])


@dataclass(frozen=True)
class AlpacaRequest:
    """The parameters of one request, names as matched for its verb."""

    client_id: int
    client_transaction_id: int
    values: dict[str, str]  # GET: lower-cased names; PUT: names exactly as sent
    is_put: bool

    def argument(self, param: Param[T]) -> T:
        """One declared parameter, parsed (its first spelling present wins).

        Raises:
            BadRequest: missing, mis-cased or unparseable.
            InvalidValue: parseable but outside its Alpaca type.
        """
        for name in (param.name, *param.aliases):
            key = name if self.is_put else name.lower()
            if key in self.values:
                return param.parse(param.name, self.values[key])
        raise BadRequest(f"missing parameter {param.name}")


def parse_arguments(request: AlpacaRequest, params: Sequence[Param[Any]]) -> Arguments:
    """Every declared parameter, in the declared order (the first problem found is the answer)."""
    return Arguments({param.name: request.argument(param) for param in params})


def _transaction_id(values: dict[str, str], name: str) -> int:
    text = values.get(name)
    if text is None:
        return 0
    if not text.isdigit() or not text.isascii() or int(text) > UINT32_MAX:
        raise BadRequest(f"{name}={text!r} is not a number from 0 to {UINT32_MAX}")
    return int(text)


def parse_query(query_string: str) -> AlpacaRequest:
    """A GET request: names case-insensitive (the first of duplicates wins).

    Raises:
        BadRequest: an ID is malformed.
    """
    values: dict[str, str] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        values.setdefault(key.lower(), value)
    return AlpacaRequest(
        _transaction_id(values, "clientid"),
        _transaction_id(values, "clienttransactionid"),
        values,
        is_put=False,
    )


def parse_form(body: bytes) -> AlpacaRequest:
    """A PUT request's url-encoded form: names case-sensitive (the first of duplicates wins).

    Raises:
        BadRequest: the body is not UTF-8, or an ID is malformed.
    """
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the form body is not UTF-8") from exc
    values: dict[str, str] = {}
    for key, value in parse_qsl(decoded, keep_blank_values=True):
        values.setdefault(key, value)
    return AlpacaRequest(
        _transaction_id(values, "ClientID"),
        _transaction_id(values, "ClientTransactionID"),
        values,
        is_put=True,
    )
