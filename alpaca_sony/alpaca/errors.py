"""ASCOM errors as Alpaca reports them (HTTP 200 + ErrorNumber), and requests refused with 400."""

from __future__ import annotations

from typing import ClassVar

from alpaca_sony.errors import AlpacaSonyError


class AlpacaError(AlpacaSonyError):
    """An ASCOM error: answered with HTTP 200 and this ErrorNumber."""

    error_number: ClassVar[int] = 0x500


class NotImplementedMember(AlpacaError):
    error_number = 0x400


class InvalidValue(AlpacaError):
    error_number = 0x401


class NotConnected(AlpacaError):
    error_number = 0x407


class InvalidOperation(AlpacaError):
    error_number = 0x40B


class ActionNotImplemented(AlpacaError):
    error_number = 0x40C


class DriverError(AlpacaError):
    """A camera or communication failure (driver-specific range 0x500-0xFFF)."""

    error_number = 0x500


class BadRequest(AlpacaSonyError):
    """A request the server cannot accept at all: HTTP 400 with a plain-text reason."""
