"""The byte-level seam between the PTP layer and a USB implementation."""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    """Bulk and interrupt pipes of one still-image interface.

    Reads return one USB transfer: it ends at the container's end (a short or zero-length packet),
    so a read may return fewer bytes than asked; ``size`` should be a multiple of
    ``max_packet_size``.
    """

    @property
    def max_packet_size(self) -> int:
        """wMaxPacketSize of the bulk endpoints (512 on USB 2, 1024 on USB 3)."""
        ...

    def write(self, data: bytes, timeout_s: float) -> None:
        """Send one bulk OUT transfer (plus a zero-length packet when its length needs one)."""
        ...

    def read(self, size: int, timeout_s: float) -> memoryview:
        """One bulk IN transfer of at most ``size`` bytes."""
        ...

    def read_event(self, timeout_s: float) -> bytes | None:
        """One interrupt IN transfer, or None if none arrived within ``timeout_s``."""
        ...

    def device_reset(self) -> None:
        """Send the still-image class request Device Reset (0x66) to the interface."""
        ...

    def close(self) -> None:
        """Release the interface; the transport is unusable afterwards."""
        ...
