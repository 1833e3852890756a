"""Time source shared by the driver and the simulator (a leaf module).

Injecting the clock lets a 300 s BULB exposure run in milliseconds in tests: the driver's sleeps
and the simulated camera's timers both read the same :class:`FakeClock`.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic time plus the two ways the code waits."""

    def monotonic(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait for ``seconds``."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or ``seconds`` pass; True if the event was set."""
        ...


class SystemClock:
    """Wall-clock time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


class FakeClock:
    """Virtual time: sleeping advances the clock at once.

    Thread-safe, so a simulator callback thread and the driver thread can share it. ``wait`` returns
    immediately when the event is already set, else advances by the full timeout.
    """

    def __init__(self, start: float = 1000.0):
        self._now = start
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (negative values are ignored)."""
        if seconds > 0:
            with self._lock:
                self._now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        self.advance(seconds)
        return event.is_set()
