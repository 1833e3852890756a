"""Logging set-up: the only module that installs handlers."""

from __future__ import annotations

import logging
import time


class _UtcFormatter(logging.Formatter):
    """UTC ISO-8601 timestamps with milliseconds."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr at ``level``."""
    handler = logging.StreamHandler()
    handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
