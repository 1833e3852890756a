"""JSON envelopes (orjson) and the server transaction counter."""

from __future__ import annotations

import threading
from typing import Any

import orjson

from alpaca_sony.alpaca.errors import AlpacaError


class TransactionCounter:
    """ServerTransactionID: 1, 2, ... 4294967295, 1, ... taken under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last = 1 if self._last >= 0xFFFFFFFF else self._last + 1
            return self._last


def envelope(
    client_transaction_id: int,
    server_transaction_id: int,
    error: AlpacaError | None = None,
    *,
    value: Any = None,
    has_value: bool = False,
) -> dict[str, Any]:
    """The standard keys (and Value for GETs, present also on errors, as null)."""
    body: dict[str, Any] = {}
    if has_value:
        body["Value"] = None if error is not None else value
    body["ClientTransactionID"] = client_transaction_id
    body["ServerTransactionID"] = server_transaction_id
    body["ErrorNumber"] = error.error_number if error is not None else 0
    body["ErrorMessage"] = str(error) if error is not None else ""
    return body


def dumps(body: dict[str, Any]) -> bytes:
    """JSON bytes; orjson refuses NaN/Infinity by writing null, never invalid JSON."""
    return orjson.dumps(body)
