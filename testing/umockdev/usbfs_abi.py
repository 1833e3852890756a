"""The usbdevfs kernel interface libusb speaks (linux/usbdevice_fs.h, 64-bit little-endian).

Ioctl request numbers, capability bits, URB types and flags, and the layout of
``struct usbdevfs_urb`` in the client's memory.
"""

from __future__ import annotations

import struct
from typing import Final

USBDEVFS_IOCTL_TYPE: Final = ord("U")


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (USBDEVFS_IOCTL_TYPE << 8) | nr


_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2
USBDEVFS_RESETEP: Final = _ioc(_IOC_READ, 3, 4)
USBDEVFS_SETINTERFACE: Final = _ioc(_IOC_READ, 4, 8)
USBDEVFS_SETCONFIGURATION: Final = _ioc(_IOC_READ, 5, 4)
USBDEVFS_GETDRIVER: Final = _ioc(_IOC_WRITE, 8, 260)
USBDEVFS_SUBMITURB: Final = _ioc(_IOC_READ, 10, 56)
USBDEVFS_DISCARDURB: Final = _ioc(_IOC_NONE, 11, 0)
USBDEVFS_REAPURB: Final = _ioc(_IOC_WRITE, 12, 8)
USBDEVFS_REAPURBNDELAY: Final = _ioc(_IOC_WRITE, 13, 8)
USBDEVFS_CLAIMINTERFACE: Final = _ioc(_IOC_READ, 15, 4)
USBDEVFS_RELEASEINTERFACE: Final = _ioc(_IOC_READ, 16, 4)
USBDEVFS_CONNECTINFO: Final = _ioc(_IOC_WRITE, 17, 8)
USBDEVFS_IOCTL: Final = _ioc(_IOC_READ | _IOC_WRITE, 18, 16)
USBDEVFS_RESET: Final = _ioc(_IOC_NONE, 20, 0)
USBDEVFS_CLEAR_HALT: Final = _ioc(_IOC_READ, 21, 4)
USBDEVFS_GET_CAPABILITIES: Final = _ioc(_IOC_READ, 26, 4)
USBDEVFS_DISCONNECT_CLAIM: Final = _ioc(_IOC_READ, 27, 264)
USBDEVFS_DROP_PRIVILEGES: Final = _ioc(_IOC_WRITE, 30, 4)
USBDEVFS_GET_SPEED: Final = _ioc(_IOC_NONE, 31, 0)
USBDEVFS_CONNINFO_EX_NR: Final = 32  # its size is the caller's buffer: match type and number only
USBDEVFS_FORBID_SUSPEND: Final = _ioc(_IOC_NONE, 33, 0)
USBDEVFS_ALLOW_SUSPEND: Final = _ioc(_IOC_NONE, 34, 0)

USBDEVFS_CAP_ZERO_PACKET: Final = 0x01
USBDEVFS_CAP_BULK_CONTINUATION: Final = 0x02
USBDEVFS_CAP_NO_PACKET_SIZE_LIM: Final = 0x04
USBDEVFS_CAP_BULK_SCATTER_GATHER: Final = 0x08
USBDEVFS_CAP_REAP_AFTER_DISCONNECT: Final = 0x10
# Scatter-gather makes libusb submit a whole bulk transfer as one URB (fast); the others keep the
# split path (16 KiB URBs with BULK_CONTINUATION) correct when a caller removes it.
DEFAULT_CAPABILITIES: Final = (
    USBDEVFS_CAP_ZERO_PACKET
    | USBDEVFS_CAP_BULK_CONTINUATION
    | USBDEVFS_CAP_NO_PACKET_SIZE_LIM
    | USBDEVFS_CAP_BULK_SCATTER_GATHER
    | USBDEVFS_CAP_REAP_AFTER_DISCONNECT
)

USBDEVFS_URB_TYPE_INTERRUPT: Final = 1
USBDEVFS_URB_TYPE_CONTROL: Final = 2
USBDEVFS_URB_TYPE_BULK: Final = 3
USBDEVFS_URB_SHORT_NOT_OK: Final = 0x01
USBDEVFS_URB_BULK_CONTINUATION: Final = 0x04
USBDEVFS_URB_ZERO_PACKET: Final = 0x40

URB_FORMAT: Final = "<BBxxiI4xQiiiiiIQ"  # struct usbdevfs_urb without iso descriptors
URB_SIZE: Final = struct.calcsize(URB_FORMAT)
URB_STATUS_OFFSET: Final = 4
URB_BUFFER_OFFSET: Final = 16
URB_ACTUAL_LENGTH_OFFSET: Final = 28
SETUP_SIZE: Final = 8  # a control URB's buffer starts with the setup packet

# enum usb_device_speed, as USBDEVFS_GET_SPEED and CONNINFO_EX report it
USB_SPEED_FULL, USB_SPEED_HIGH, USB_SPEED_SUPER = 2, 3, 5
