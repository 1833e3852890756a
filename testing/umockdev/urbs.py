"""URB bookkeeping of the usbfs emulation: submitted URBs, open clients, counters, fault codes.

A :class:`UsbFault` from the function reaches libusb the way the kernel reports it: as a URB
status when it ends a transfer, as an ioctl errno when it fails a request.
"""

from __future__ import annotations

import collections
import errno
from dataclasses import dataclass, field
from typing import Final

from alpaca_sony.simulator.usb_device import (
    LIBUSB_ERROR_NO_DEVICE,
    LIBUSB_ERROR_OVERFLOW,
    LIBUSB_ERROR_PIPE,
    LIBUSB_ERROR_TIMEOUT,
    UsbFault,
)

# How URB completion reports each UsbFault, as the kernel would (None: never completes).
_URB_STATUS_FOR_FAULT: Final[dict[int, int | None]] = {
    LIBUSB_ERROR_NO_DEVICE: -errno.ESHUTDOWN,  # what the HCD reports for URBs killed by unplug
    LIBUSB_ERROR_OVERFLOW: -errno.EOVERFLOW,
    LIBUSB_ERROR_PIPE: -errno.EPIPE,
    LIBUSB_ERROR_TIMEOUT: None,
}
IO_ERROR_STATUS: Final = -errno.EPROTO  # libusb maps it to LIBUSB_TRANSFER_ERROR

_ERRNO_FOR_FAULT: Final = {
    LIBUSB_ERROR_NO_DEVICE: errno.ENODEV,
    LIBUSB_ERROR_PIPE: errno.EPIPE,
    LIBUSB_ERROR_TIMEOUT: errno.ETIMEDOUT,
    LIBUSB_ERROR_OVERFLOW: errno.EOVERFLOW,
}


def urb_status_for_fault(fault: UsbFault) -> int | None:
    """The (negative) URB status ``fault`` completes a URB with; None: the URB never completes."""
    return _URB_STATUS_FOR_FAULT.get(fault.libusb_code, IO_ERROR_STATUS)


def errno_for_fault(fault: UsbFault) -> int:
    """The errno an ioctl fails with when the function raises ``fault``."""
    return _ERRNO_FOR_FAULT.get(fault.libusb_code, errno.EIO)


class IoctlError(Exception):
    """Raised inside request handlers to end an ioctl with ``-1`` and an errno."""

    def __init__(self, error: int) -> None:
        """Fail the ioctl with ``error``.

        Args:
            error: the errno value.
        """
        super().__init__(errno.errorcode.get(error, str(error)))
        self.error = error


@dataclass(eq=False)
class Urb:
    """One submitted URB, known by its address in the client; the result waits here for reaping."""

    owner: ClientState
    address: int
    type: int
    endpoint: int
    flags: int
    buffer_length: int
    status: int = 0
    actual_length: int = 0
    payload: bytes = b""  # IN data to write into the client's buffer at reap time
    stuck: bool = False  # the function will never answer: only a discard completes it

    @property
    def is_in(self) -> bool:
        """True for an IN endpoint."""
        return bool(self.endpoint & 0x80)


@dataclass(eq=False)
class ClientState:
    """Per open file descriptor, as the kernel's ``usb_dev_state``."""

    name: str
    claimed: set[int] = field(default_factory=set)
    in_flight: dict[int, Urb] = field(default_factory=dict)  # by client address
    completed: collections.deque[Urb] = field(default_factory=collections.deque)
    disabled_bulk_endpoints: set[int] = field(default_factory=set)
    disconnected: bool = False
    last_activity: float = 0.0  # time.monotonic() of the last submit or reap


@dataclass
class UrbStats:
    """Counters of what libusb did, for tests and benchmarks."""

    submitted: int = 0
    reaped: int = 0
    discarded: int = 0
    bulk_in_urbs: int = 0
    bulk_out_urbs: int = 0
    largest_bulk_urb: int = 0
    bulk_in_bytes: int = 0
    bulk_out_bytes: int = 0
