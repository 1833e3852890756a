"""pyusb transport: the driver's only module that talks to ``usb`` (the simulator's pyusb backend
stands in for libusb below it).

Finds Sony bodies (VID 0x054C) exposing a still-image interface (class 6/1/1), claims it and moves
bytes on its bulk and interrupt endpoints. The system libusb is used when present, else the copy
shipped in the ``libusb-package`` wheel, so a plain ``pip install`` works.
"""

from __future__ import annotations

import array
import errno
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import usb.backend.libusb1
import usb.core
import usb.util

from alpaca_sony.errors import (
    DeviceAccessDenied,
    DeviceDisconnected,
    DeviceNotFound,
    TransportError,
    TransportTimeout,
)
from alpaca_sony.transport.advice import PC_REMOTE_HOWTO, UDEV_FIX

log = logging.getLogger(__name__)

SONY_VENDOR_ID = 0x054C
STILL_IMAGE_CLASS = (6, 1, 1)
MASS_STORAGE_CLASS = 8
_ZERO = (0,)
_LIBUSB_NO_DEVICE = -4
_LIBUSB_BUSY = -6
_LIBUSB_PIPE = -9


class InterfaceKind(Enum):
    """What the body's USB configuration presents."""

    STILL_IMAGE = "still-image (PTP)"
    MASS_STORAGE = "mass storage"
    OTHER = "other"


@dataclass(frozen=True)
class UsbCameraInfo:
    """One Sony device on the bus, described without opening a session."""

    bus: int | None
    address: int | None
    vendor_id: int
    product_id: int
    product: str | None
    serial_number: str | None
    kind: InterfaceKind

    @property
    def location(self) -> str:
        """Bus and device address as ``lsusb`` prints them."""
        return f"bus {self.bus:03d} device {self.address:03d}" if self.bus is not None else "?"


def default_backend() -> Any:
    """The system libusb 1.0 if pyusb finds it, else the one bundled with libusb-package.

    Raises:
        DeviceNotFound: neither is loadable.
    """
    backend = usb.backend.libusb1.get_backend()
    if backend is not None:
        return backend
    import libusb_package

    backend = libusb_package.get_libusb1_backend()
    if backend is None:
        raise DeviceNotFound(
            "no libusb found: install libusb 1.0 (Debian: apt install libusb-1.0-0) "
            "or reinstall the libusb-package wheel"
        )
    return backend


def _still_image_interface(device: usb.core.Device) -> Any | None:
    for config in device:
        for interface in config:
            ident = (
                interface.bInterfaceClass,
                interface.bInterfaceSubClass,
                interface.bInterfaceProtocol,
            )
            if ident == STILL_IMAGE_CLASS:
                return interface
    return None


def _interface_kind(device: usb.core.Device) -> InterfaceKind:
    if _still_image_interface(device) is not None:
        return InterfaceKind.STILL_IMAGE
    for config in device:
        for interface in config:
            if interface.bInterfaceClass == MASS_STORAGE_CLASS:
                return InterfaceKind.MASS_STORAGE
    return InterfaceKind.OTHER


def _safe_string(device: usb.core.Device, attribute: str) -> str | None:
    """A string descriptor, or None when it cannot be read (no permission, device gone)."""
    try:
        value = getattr(device, attribute)
    except (usb.core.USBError, ValueError, NotImplementedError):
        return None
    return str(value) if value is not None else None


def find_sony_devices(backend: Any) -> Iterator[usb.core.Device]:
    """Every device with Sony's vendor id, in bus order."""
    devices = usb.core.find(find_all=True, idVendor=SONY_VENDOR_ID, backend=backend)
    yield from sorted(devices, key=lambda d: (d.bus or 0, d.address or 0))


def describe(device: usb.core.Device) -> UsbCameraInfo:
    """Identity and interface kind of one device (reads string descriptors when permitted)."""
    return UsbCameraInfo(
        bus=device.bus,
        address=device.address,
        vendor_id=device.idVendor,
        product_id=device.idProduct,
        product=_safe_string(device, "product"),
        serial_number=_safe_string(device, "serial_number"),
        kind=_interface_kind(device),
    )


def _is_gone(exc: usb.core.USBError) -> bool:
    return bool(exc.errno == errno.ENODEV or exc.backend_error_code == _LIBUSB_NO_DEVICE)


def _translate(exc: usb.core.USBError, action: str) -> TransportError:
    if isinstance(exc, usb.core.USBTimeoutError):
        return TransportTimeout(f"USB {action} timed out", exc.errno, exc.backend_error_code)
    if _is_gone(exc):
        return DeviceDisconnected(
            "the camera disconnected (cable pulled or camera switched off)",
            exc.errno,
            exc.backend_error_code,
        )
    return TransportError(f"USB {action} failed: {exc}", exc.errno, exc.backend_error_code)


class UsbTransport:
    """Bulk IN/OUT and interrupt IN pipes of a claimed still-image interface."""

    def __init__(self, device: usb.core.Device, interface: Any):
        self._device = device
        self._interface_number = interface.bInterfaceNumber
        self._bulk_in = self._endpoint(interface, usb.util.ENDPOINT_IN, usb.util.ENDPOINT_TYPE_BULK)
        self._bulk_out = self._endpoint(
            interface, usb.util.ENDPOINT_OUT, usb.util.ENDPOINT_TYPE_BULK
        )
        self._interrupt_in = self._endpoint(
            interface, usb.util.ENDPOINT_IN, usb.util.ENDPOINT_TYPE_INTR, required=False
        )
        self._max_packet_size = int(self._bulk_in.wMaxPacketSize) or 512
        self._closed = False

    @staticmethod
    def _endpoint(interface: Any, direction: int, kind: int, required: bool = True) -> Any:
        for endpoint in interface:
            address = endpoint.bEndpointAddress
            if (
                usb.util.endpoint_direction(address) == direction
                and usb.util.endpoint_type(endpoint.bmAttributes) == kind
            ):
                return endpoint
        if required:
            raise DeviceNotFound("the camera's still-image interface lacks a bulk endpoint")
        return None

    @classmethod
    def open(cls, device: usb.core.Device) -> UsbTransport:
        """Claim the still-image interface of ``device``.

        Raises:
            DeviceNotFound: the body is not in PC Remote/PTP mode (no still-image interface).
            DeviceAccessDenied: no permission on the device node, or another program holds it.
            DeviceDisconnected: the device vanished while opening.
        """
        interface = _still_image_interface(device)
        if interface is None:
            kind = _interface_kind(device)
            raise DeviceNotFound(
                f"the Sony device at bus {device.bus} address {device.address} is in "
                f"{kind.value} mode, not PC Remote: {PC_REMOTE_HOWTO}"
            )
        number = interface.bInterfaceNumber
        try:
            try:
                if device.is_kernel_driver_active(number):
                    device.detach_kernel_driver(number)
            except NotImplementedError:
                pass  # Windows and macOS backends have no kernel-driver calls
            try:
                device.get_active_configuration()
            except usb.core.USBError:
                device.set_configuration()
            usb.util.claim_interface(device, number)
        except usb.core.USBError as exc:
            if exc.errno == errno.EACCES:
                raise DeviceAccessDenied(
                    f"no permission to open the camera at bus {device.bus} address "
                    f"{device.address}: {UDEV_FIX}"
                ) from exc
            if exc.errno == errno.EBUSY or exc.backend_error_code == _LIBUSB_BUSY:
                raise DeviceAccessDenied(
                    "the camera is held by another program (gphoto2, gvfs-gphoto2-volume-monitor, "
                    "Imaging Edge, another alpaca-sony): close it and try again"
                ) from exc
            raise _translate(exc, "open") from exc
        transport = cls(device, interface)
        log.info(
            "claimed %04x:%04x interface %d (bulk in 0x%02x, out 0x%02x, packet %d bytes)",
            device.idVendor,
            device.idProduct,
            number,
            transport._bulk_in.bEndpointAddress,
            transport._bulk_out.bEndpointAddress,
            transport.max_packet_size,
        )
        return transport

    @property
    def max_packet_size(self) -> int:
        return self._max_packet_size

    def write(self, data: bytes, timeout_s: float) -> None:
        try:
            written = self._write_once_more_if_stalled(data, timeout_s)
            if len(data) % self._max_packet_size == 0:
                # A transfer that fills its last packet must end with a zero-length packet.
                self._bulk_out.write(b"", _ms(timeout_s))
        except usb.core.USBError as exc:
            raise _translate(exc, "write") from exc
        if written != len(data):
            raise TransportError(f"USB write sent {written} of {len(data)} bytes")

    def _write_once_more_if_stalled(self, data: bytes, timeout_s: float) -> int:
        try:
            return int(self._bulk_out.write(data, _ms(timeout_s)))
        except usb.core.USBError as exc:
            if exc.backend_error_code != _LIBUSB_PIPE and exc.errno != errno.EPIPE:
                raise
        # libgphoto2 usb.c ptp_usb_sendreq: "Clearing halt on OUT EP and retrying once."
        log.warning("bulk OUT endpoint stalled; clearing the halt and retrying once")
        self._bulk_out.clear_halt()
        return int(self._bulk_out.write(data, _ms(timeout_s)))

    def read(self, size: int, timeout_s: float) -> memoryview:
        buffer = array.array("B", _ZERO) * size  # repeat is a memset, not a copy
        try:
            count = self._read_into(buffer, timeout_s)
        except usb.core.USBError as exc:
            raise _translate(exc, "read") from exc
        data = memoryview(buffer)[:count]
        if count < size // 2:
            # A short read: keep only its bytes. A view would pin the whole buffer for as long as
            # the session holds the chunk (a download in 100 kB pieces would cost 80x its size).
            return memoryview(data.tobytes())
        return data

    def _read_into(self, buffer: array.array[int], timeout_s: float) -> int:
        try:
            return int(self._bulk_in.read(buffer, _ms(timeout_s)))
        except usb.core.USBError as exc:
            if exc.backend_error_code != _LIBUSB_PIPE and exc.errno != errno.EPIPE:
                raise
        # A stalled pipe: clear the halt and try once more (libgphoto2 does the same).
        log.warning("bulk IN endpoint stalled; clearing the halt and retrying once")
        self._bulk_in.clear_halt()
        return int(self._bulk_in.read(buffer, _ms(timeout_s)))

    def read_event(self, timeout_s: float) -> bytes | None:
        if self._interrupt_in is None:
            return None
        try:
            data = self._interrupt_in.read(64, _ms(timeout_s))
        except usb.core.USBTimeoutError:
            return None
        except usb.core.USBError as exc:
            raise _translate(exc, "event read") from exc
        return bytes(data)

    def device_reset(self) -> None:
        # PIMA 15740 USB still-image class: bmRequestType 0x21 (class, interface), bRequest 0x66.
        # libgphoto2 camlibs/ptp2/usb.c ptp_usb_control_device_reset_request sends the same.
        try:
            self._device.ctrl_transfer(0x21, 0x66, 0, self._interface_number, None)
        except usb.core.USBError as exc:
            raise _translate(exc, "device reset") from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            usb.util.release_interface(self._device, self._interface_number)
        except usb.core.USBError as exc:
            log.debug("release_interface failed while closing: %s", exc)
        usb.util.dispose_resources(self._device)


def _ms(timeout_s: float) -> int:
    return max(1, round(timeout_s * 1000))
