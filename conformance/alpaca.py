"""Alpaca device calls at the ASCOM level: a value or an error number, like a client library sees.

Used by the camera conformance check. A reply counts as an ASCOM error when ErrorNumber is not 0
or the HTTP status is not 200 (the .NET client raises a DriverException for the latter).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.wire import Reply, Wire

NOT_IMPLEMENTED = 0x400
INVALID_VALUE = 0x401
VALUE_NOT_SET = 0x402
NOT_CONNECTED = 0x407
INVALID_OPERATION = 0x40B
ACTION_NOT_IMPLEMENTED = 0x40C
HTTP_FAILURE = -1  # not an ASCOM number: the server answered with a non-200 status

ERROR_NAMES = {
    NOT_IMPLEMENTED: "NotImplemented",
    INVALID_VALUE: "InvalidValue",
    VALUE_NOT_SET: "ValueNotSet",
    NOT_CONNECTED: "NotConnected",
    0x408: "Parked",
    0x409: "Slaved",
    INVALID_OPERATION: "InvalidOperation",
    ACTION_NOT_IMPLEMENTED: "ActionNotImplemented",
    0x40E: "OperationCancelled",
    0x4FF: "UnspecifiedError",
}


def error_name(number: int) -> str:
    if number == HTTP_FAILURE:
        return "HTTP error"
    if number in ERROR_NAMES:
        return f"0x{number:X} {ERROR_NAMES[number]}"
    if 0x500 <= number <= 0xFFF:
        return f"0x{number:X} driver error"
    return f"0x{number:X}"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (RFC 8259 has no NaN or Infinity)")


def loads(data: bytes | str) -> Any:
    """``json.loads`` that refuses the NaN/Infinity extensions Python would accept."""
    return json.loads(data, parse_constant=_no_constants)


class ProtocolFailure(Exception):
    """A 200 reply that is not the JSON object every Alpaca reply must be."""


Scalar = bool | int | float | str


def format_value(value: Scalar) -> str:
    """Invariant formatting as the .NET client sends it (booleans capitalised)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class Result:
    member: str
    value: Any
    error: int
    message: str
    reply: Reply

    @property
    def ok(self) -> bool:
        return self.error == 0

    @property
    def elapsed(self) -> float:
        return self.reply.elapsed

    def describe(self) -> str:
        if self.ok:
            return f"value {self.value!r}"
        return f"{error_name(self.error)}: {self.message}"


def result_from(member: str, reply: Reply) -> Result:
    """Interpret a reply. Raises ProtocolFailure when a 200 reply is not a usable JSON object."""
    if reply.status != 200:
        return Result(member, None, HTTP_FAILURE, f"HTTP {reply.status}: {reply.snippet()}", reply)
    try:
        body = loads(reply.body)
    except ValueError as exc:
        raise ProtocolFailure(
            f"{member}: the reply is not JSON ({exc}): {reply.snippet()}"
        ) from exc
    if not isinstance(body, dict):
        raise ProtocolFailure(f"{member}: the reply is not a JSON object: {reply.snippet()}")
    number = body.get("ErrorNumber")
    if not isinstance(number, int) or isinstance(number, bool):
        raise ProtocolFailure(f"{member}: no integer ErrorNumber: {reply.snippet()}")
    message = body.get("ErrorMessage")
    return Result(
        member, body.get("Value"), number, message if isinstance(message, str) else "", reply
    )


class AlpacaDevice:
    """``/api/v1/{device_type}/{number}/{member}`` with fresh ClientTransactionIDs."""

    def __init__(self, wire: Wire, device_type: str = "camera", number: int = 0) -> None:
        self.wire = wire
        self.device_type = device_type
        self.number = number
        self.client_id = 4321
        self._transactions = itertools.count(1)
        self.last_transaction = 0

    def path(self, member: str) -> str:
        return f"/api/v1/{self.device_type}/{self.number}/{member.lower()}"

    def ids(self) -> list[tuple[str, str]]:
        self.last_transaction = next(self._transactions)
        return [
            ("ClientID", str(self.client_id)),
            ("ClientTransactionID", str(self.last_transaction)),
        ]

    def get_reply(self, member: str, headers: Mapping[str, str] | None = None) -> Reply:
        return self.wire.request("GET", self.path(member), query=self.ids(), headers=headers)

    def get(self, member: str) -> Result:
        return result_from(member, self.get_reply(member))

    def put(self, member: str, **params: Scalar) -> Result:
        form = [(name, format_value(value)) for name, value in params.items()] + self.ids()
        return result_from(member, self.wire.request("PUT", self.path(member), form=form))
