"""Strict parsing of Alpaca request parameters.

GET query names match case-insensitively; PUT form names match exactly (a mis-cased required name
is missing: 400). Values are parsed strictly: no whitespace, no ``_`` separators, no nan/inf,
booleans only ``true``/``false`` in any case.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from alpaca_sony.alpaca.errors import BadRequest

UINT32_MAX = 0xFFFFFFFF
_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


@dataclass(frozen=True)
class AlpacaRequest:
    """The parsed parameters of one request."""

    client_id: int
    client_transaction_id: int
    values: dict[str, str]  # GET: lower-cased names; PUT: names exactly as sent
    is_put: bool

    def raw(self, name: str) -> str:
        """A required parameter's text.

        Raises:
            BadRequest: missing (or, for PUT, named in another casing).
        """
        key = name if self.is_put else name.lower()
        if key not in self.values:
            raise BadRequest(f"missing parameter {name}")
        return self.values[key]

    def integer(self, name: str, low: int = -(2**31), high: int = 2**31 - 1) -> int:
        """A required integer. Unparseable -> 400; out of ``low..high`` is the caller's 0x401."""
        text = self.raw(name)
        if not _INT.fullmatch(text):
            raise BadRequest(f"{name}={text!r} is not an integer")
        return int(text)

    def number(self, name: str) -> float:
        """A required finite number."""
        text = self.raw(name)
        if not _FLOAT.fullmatch(text):
            raise BadRequest(f"{name}={text!r} is not a number")
        value = float(text)
        if not math.isfinite(value):
            raise BadRequest(f"{name}={text!r} is not a finite number")
        return value

    def boolean(self, name: str) -> bool:
        """A required boolean (true/false in any casing)."""
        text = self.raw(name).lower()
        if text not in ("true", "false"):
            raise BadRequest(f"{name}={self.raw(name)!r} is not true or false")
        return text == "true"


def _transaction_id(values: dict[str, str], name: str) -> int:
    text = values.get(name)
    if text is None:
        return 0
    if not text.isdigit() or not text.isascii() or int(text) > UINT32_MAX:
        raise BadRequest(f"{name}={text!r} is not a number from 0 to {UINT32_MAX}")
    return int(text)


def parse_query(query_string: str) -> AlpacaRequest:
    """A GET request: names case-insensitive (the first of duplicates wins)."""
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
    """A PUT request's url-encoded form: names case-sensitive.

    Raises:
        BadRequest: the body is not UTF-8, or an ID is malformed.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the form body is not UTF-8") from exc
    values: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        values.setdefault(key, value)
    return AlpacaRequest(
        _transaction_id(values, "ClientID"),
        _transaction_id(values, "ClientTransactionID"),
        values,
        is_put=True,
    )
