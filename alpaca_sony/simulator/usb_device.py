"""The device side of the USB cable: what a simulated camera offers to a USB seam.

Two seams put a :class:`UsbFunction` behind the real USB stack: ``pyusb_backend`` (a pyusb
``IBackend``) and ``umockdev`` (usbdevfs ioctls under umockdev, so the real libusb runs).
The function never blocks: ``read_bulk`` returns ``None`` when the device has nothing to send yet,
and the seam decides how long to wait (that is where USB timeouts live).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# libusb error codes, used by both seams to report faults the way the real stack does.
LIBUSB_ERROR_IO = -1
LIBUSB_ERROR_ACCESS = -3
LIBUSB_ERROR_NO_DEVICE = -4
LIBUSB_ERROR_TIMEOUT = -7
LIBUSB_ERROR_OVERFLOW = -8
LIBUSB_ERROR_PIPE = -9


class UsbFault(Exception):
    """A transfer failure the device side reports; ``libusb_code`` says which."""

    libusb_code = LIBUSB_ERROR_IO


class UsbNoDevice(UsbFault):
    """The device is gone (cable pulled)."""

    libusb_code = LIBUSB_ERROR_NO_DEVICE


class UsbOverflow(UsbFault):
    """The device sent a full packet into a buffer too small for it."""

    libusb_code = LIBUSB_ERROR_OVERFLOW


class UsbPipe(UsbFault):
    """The endpoint stalled; the host must clear the halt."""

    libusb_code = LIBUSB_ERROR_PIPE


class UsbStuck(UsbFault):
    """The device will not answer this transfer: the host sees a timeout."""

    libusb_code = LIBUSB_ERROR_TIMEOUT


@dataclass(frozen=True)
class UsbIdentity:
    """Descriptor facts of a simulated device with one still-image (or other) interface."""

    vendor_id: int
    product_id: int
    serial_number: str
    manufacturer: str = "Sony"
    product: str = "ILCE-7M3"
    bcd_device: int = 0x0100
    interface_class: int = 6
    interface_subclass: int = 1
    interface_protocol: int = 1
    bulk_in_endpoint: int = 0x81
    bulk_out_endpoint: int = 0x02
    interrupt_in_endpoint: int = 0x83
    max_packet_size: int = 512
    bus: int = 1
    address: int = 2


class UsbFunction(Protocol):
    """A USB device as seen from the cable. Methods are called from the host's threads."""

    @property
    def identity(self) -> UsbIdentity:
        """Descriptor facts."""
        ...

    @property
    def attached(self) -> bool:
        """False after the cable was pulled (the device no longer enumerates)."""
        ...

    def write_bulk(self, data: bytes) -> None:
        """Bytes the host sent on bulk OUT (one transfer, possibly a partial container)."""
        ...

    def read_bulk(self, size: int) -> bytes | None:
        """Up to ``size`` bytes of bulk IN as one transfer, or None when nothing is ready.

        A transfer ends at the end of a container (short packet or zero-length packet), so the
        result may be shorter than ``size``; ``b""`` is a zero-length packet.
        """
        ...

    def read_interrupt(self, size: int) -> bytes | None:
        """One event container, or None when there is none."""
        ...

    def clear_halt(self, endpoint: int) -> None:
        """The host cleared a halt on ``endpoint``."""
        ...

    def reset(self) -> None:
        """The host reset the device (PTP class request 0x66 or a USB port reset)."""
        ...


@runtime_checkable
class SlowLink(Protocol):
    """A device whose link is slower than the bus: the seam paces its bulk IN transfers."""

    def bulk_in_seconds(self, count: int) -> float:
        """How long ``count`` bytes of bulk IN take to cross the link (0: no limit)."""
        ...
