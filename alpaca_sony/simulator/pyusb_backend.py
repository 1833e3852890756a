"""A pyusb backend (``usb.backend.IBackend``) over simulated devices.

The driver passes this backend to ``usb.core.find`` and from then on runs its unchanged production
code: pyusb's Device/Configuration/Interface/Endpoint objects, ``usb.util`` and every read and
write go through the real pyusb API. Only libusb itself is replaced. Used by the unit tests and by
the product's ``--simulator`` mode.
"""

from __future__ import annotations

import array
import errno
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import usb.backend
import usb.core

from alpaca_sony.clock import Clock, SystemClock
from alpaca_sony.simulator.usb_device import (
    LIBUSB_ERROR_ACCESS,
    LIBUSB_ERROR_IO,
    LIBUSB_ERROR_NO_DEVICE,
    LIBUSB_ERROR_OVERFLOW,
    LIBUSB_ERROR_PIPE,
    LIBUSB_ERROR_TIMEOUT,
    SlowLink,
    UsbFault,
    UsbFunction,
    UsbIdentity,
    UsbStuck,
)

log = logging.getLogger(__name__)

_ERRNO = {
    LIBUSB_ERROR_IO: errno.EIO,
    LIBUSB_ERROR_ACCESS: errno.EACCES,
    LIBUSB_ERROR_NO_DEVICE: errno.ENODEV,
    LIBUSB_ERROR_TIMEOUT: errno.ETIMEDOUT,
    LIBUSB_ERROR_OVERFLOW: errno.EOVERFLOW,
    LIBUSB_ERROR_PIPE: errno.EPIPE,
}
_MESSAGES = {
    LIBUSB_ERROR_IO: "Input/Output Error",
    LIBUSB_ERROR_ACCESS: "Access denied (insufficient permissions)",
    LIBUSB_ERROR_NO_DEVICE: "No such device (it may have been disconnected)",
    LIBUSB_ERROR_TIMEOUT: "Operation timed out",
    LIBUSB_ERROR_OVERFLOW: "Overflow",
    LIBUSB_ERROR_PIPE: "Pipe error",
}

_DT_DEVICE, _DT_CONFIG, _DT_STRING, _DT_INTERFACE, _DT_ENDPOINT = 1, 2, 3, 4, 5
_GET_DESCRIPTOR = 6
_STRING_MANUFACTURER, _STRING_PRODUCT, _STRING_SERIAL = 1, 2, 3


def usb_error(code: int) -> usb.core.USBError:
    """The exception pyusb's libusb1 backend raises for a libusb error code."""
    cls = usb.core.USBTimeoutError if code == LIBUSB_ERROR_TIMEOUT else usb.core.USBError
    return cls(_MESSAGES.get(code, "Other error"), code, _ERRNO.get(code, errno.EIO))


@dataclass
class _Descriptor:
    """An attribute bag standing in for libusb's descriptor structs."""

    fields: dict[str, Any]
    extra_descriptors: list[int] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None


class _Handle:
    def __init__(self, device: _SimulatedDevice):
        self.device = device
        self.claimed: set[int] = set()


class _SimulatedDevice:
    def __init__(self, function: UsbFunction):
        self.function = function

    @property
    def identity(self) -> UsbIdentity:
        return self.function.identity


class SimulatorBackend(usb.backend.IBackend):  # type: ignore[misc]
    """pyusb backend serving a list of :class:`UsbFunction` devices.

    Args:
        functions: the simulated devices on the "bus".
        clock: time source for transfer timeouts (a FakeClock makes a timeout instant).
        poll_interval_s: how often a pending read re-asks the device while it waits.
        deny_access: make ``open`` fail as it does without permission on the device node.
    """

    def __init__(
        self,
        functions: Sequence[UsbFunction],
        clock: Clock | None = None,
        poll_interval_s: float = 0.002,
        deny_access: bool = False,
    ):
        self._devices = [_SimulatedDevice(f) for f in functions]
        self._clock = clock or SystemClock()
        self._poll_interval_s = poll_interval_s
        self._deny_access = deny_access
        self._lock = threading.Lock()

    def add(self, function: UsbFunction) -> None:
        """Plug another device in."""
        with self._lock:
            self._devices.append(_SimulatedDevice(function))

    # -- enumeration and descriptors ---------------------------------------------------------

    def enumerate_devices(self) -> Iterator[_SimulatedDevice]:
        with self._lock:
            devices = list(self._devices)
        return iter([d for d in devices if d.function.attached])

    def get_device_descriptor(self, dev: _SimulatedDevice) -> _Descriptor:
        ident = dev.identity
        return _Descriptor(
            {
                "bLength": 18,
                "bDescriptorType": _DT_DEVICE,
                "bcdUSB": 0x0300 if ident.max_packet_size >= 1024 else 0x0200,
                "bDeviceClass": 0,
                "bDeviceSubClass": 0,
                "bDeviceProtocol": 0,
                "bMaxPacketSize0": 9 if ident.max_packet_size >= 1024 else 64,
                "idVendor": ident.vendor_id,
                "idProduct": ident.product_id,
                "bcdDevice": ident.bcd_device,
                "iManufacturer": _STRING_MANUFACTURER,
                "iProduct": _STRING_PRODUCT,
                "iSerialNumber": _STRING_SERIAL,
                "bNumConfigurations": 1,
                "address": ident.address,
                "bus": ident.bus,
                "port_number": 1,
                "port_numbers": (1,),
                "speed": 5 if ident.max_packet_size >= 1024 else 3,
            }
        )

    def get_configuration_descriptor(self, dev: _SimulatedDevice, config: int) -> _Descriptor:
        if config != 0:
            raise usb_error(LIBUSB_ERROR_IO)
        return _Descriptor(
            {
                "bLength": 9,
                "bDescriptorType": _DT_CONFIG,
                "wTotalLength": 9 + 9 + 3 * 7,
                "bNumInterfaces": 1,
                "bConfigurationValue": 1,
                "iConfiguration": 0,
                "bmAttributes": 0xC0,
                "bMaxPower": 1,
            }
        )

    def get_interface_descriptor(
        self, dev: _SimulatedDevice, intf: int, alt: int, config: int
    ) -> _Descriptor:
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError("no such interface")
        ident = dev.identity
        return _Descriptor(
            {
                "bLength": 9,
                "bDescriptorType": _DT_INTERFACE,
                "bInterfaceNumber": 0,
                "bAlternateSetting": 0,
                "bNumEndpoints": 3,
                "bInterfaceClass": ident.interface_class,
                "bInterfaceSubClass": ident.interface_subclass,
                "bInterfaceProtocol": ident.interface_protocol,
                "iInterface": 0,
            }
        )

    def get_endpoint_descriptor(
        self, dev: _SimulatedDevice, ep: int, intf: int, alt: int, config: int
    ) -> _Descriptor:
        ident = dev.identity
        endpoints = (
            (ident.bulk_in_endpoint, 0x02, ident.max_packet_size, 0),
            (ident.bulk_out_endpoint, 0x02, ident.max_packet_size, 0),
            (ident.interrupt_in_endpoint, 0x03, 64, 8),
        )
        if (intf, alt, config) != (0, 0, 0) or not 0 <= ep < len(endpoints):
            raise IndexError("no such endpoint")
        address, attributes, packet, interval = endpoints[ep]
        return _Descriptor(
            {
                "bLength": 7,
                "bDescriptorType": _DT_ENDPOINT,
                "bEndpointAddress": address,
                "bmAttributes": attributes,
                "wMaxPacketSize": packet,
                "bInterval": interval,
                "bRefresh": 0,
                "bSynchAddress": 0,
            }
        )

    # -- device handles ------------------------------------------------------------------------

    def open_device(self, dev: _SimulatedDevice) -> _Handle:
        if self._deny_access:
            raise usb_error(LIBUSB_ERROR_ACCESS)
        if not dev.function.attached:
            raise usb_error(LIBUSB_ERROR_NO_DEVICE)
        return _Handle(dev)

    def close_device(self, dev_handle: _Handle) -> None:
        dev_handle.claimed.clear()

    def set_configuration(self, dev_handle: _Handle, config_value: int) -> None:
        self._check(dev_handle)

    def get_configuration(self, dev_handle: _Handle) -> int:
        self._check(dev_handle)
        return 1

    def set_interface_altsetting(self, dev_handle: _Handle, intf: int, altsetting: int) -> None:
        self._check(dev_handle)

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._check(dev_handle)
        dev_handle.claimed.add(intf)

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        dev_handle.claimed.discard(intf)

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        return False

    def detach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        return None

    def attach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        return None

    def clear_halt(self, dev_handle: _Handle, ep: int) -> None:
        self._check(dev_handle)
        dev_handle.device.function.clear_halt(ep)

    def reset_device(self, dev_handle: _Handle) -> None:
        self._check(dev_handle)
        dev_handle.device.function.reset()

    # -- transfers -----------------------------------------------------------------------------

    def bulk_write(
        self, dev_handle: _Handle, ep: int, intf: int, data: array.array[int], timeout: int
    ) -> int:
        function = self._check(dev_handle)
        payload = data.tobytes()
        try:
            function.write_bulk(payload)
        except UsbStuck:
            self._clock.sleep(self._timeout_s(timeout))
            raise usb_error(LIBUSB_ERROR_TIMEOUT) from None
        except UsbFault as fault:
            raise usb_error(fault.libusb_code) from None
        return len(payload)

    def bulk_read(
        self, dev_handle: _Handle, ep: int, intf: int, buff: array.array[int], timeout: int
    ) -> int:
        function = self._check(dev_handle)
        pace = function.bulk_in_seconds if isinstance(function, SlowLink) else None
        return self._read(function.read_bulk, buff, timeout, pace)

    def intr_read(
        self, dev_handle: _Handle, ep: int, intf: int, buff: array.array[int], timeout: int
    ) -> int:
        function = self._check(dev_handle)
        return self._read(function.read_interrupt, buff, timeout)

    def ctrl_transfer(
        self,
        dev_handle: _Handle,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: array.array[int],
        timeout: int,
    ) -> int:
        function = self._check(dev_handle)
        is_in = bool(bmRequestType & 0x80)
        if is_in and bRequest == _GET_DESCRIPTOR and (wValue >> 8) == _DT_STRING:
            reply = self._string_descriptor(function.identity, wValue & 0xFF)
            count = min(len(reply), len(data))
            memoryview(data).cast("B")[:count] = reply[:count]
            return count
        if bmRequestType == 0x21 and bRequest == 0x66:  # still-image class Device Reset
            function.reset()
            return 0
        if bmRequestType == 0xA1 and bRequest == 0x67:  # still-image class Get Device Status
            reply = bytes((4, 0, 0x01, 0x20))  # length 4, code 0x2001 OK
            count = min(len(reply), len(data))
            memoryview(data).cast("B")[:count] = reply[:count]
            return count
        raise usb_error(LIBUSB_ERROR_PIPE)

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _check(dev_handle: _Handle) -> UsbFunction:
        function = dev_handle.device.function
        if not function.attached:
            raise usb_error(LIBUSB_ERROR_NO_DEVICE)
        return function

    @staticmethod
    def _timeout_s(timeout_ms: int) -> float:
        return timeout_ms / 1000.0 if timeout_ms > 0 else 3600.0

    def _read(
        self,
        source: Any,
        buff: array.array[int],
        timeout: int,
        pace: Callable[[int], float] | None = None,
    ) -> int:
        asked_at = self._clock.monotonic()
        deadline = asked_at + self._timeout_s(timeout)
        view = memoryview(buff).cast("B")
        while True:
            try:
                chunk = source(len(view))
            except UsbStuck:
                chunk = None
            except UsbFault as fault:
                raise usb_error(fault.libusb_code) from None
            if chunk is not None:
                count = len(chunk)
                if pace is not None:
                    self._cross_slow_link(asked_at + pace(count), deadline)
                view[:count] = chunk
                return count
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise usb_error(LIBUSB_ERROR_TIMEOUT)
            self._clock.sleep(min(remaining, self._poll_interval_s))

    def _cross_slow_link(self, due: float, deadline: float) -> None:
        """Wait until a paced transfer's last byte arrived; past the deadline it times out.

        As with libusb, a transfer that times out is cancelled with its bytes: they left the
        device, so the rest of the container follows in the next read.
        """
        now = self._clock.monotonic()
        if due > deadline:
            self._clock.sleep(max(0.0, deadline - now))
            raise usb_error(LIBUSB_ERROR_TIMEOUT)
        if due > now:
            self._clock.sleep(due - now)

    @staticmethod
    def _string_descriptor(identity: UsbIdentity, index: int) -> bytes:
        if index == 0:
            return bytes((4, _DT_STRING, 0x09, 0x04))  # LANGID en-US
        text = {
            _STRING_MANUFACTURER: identity.manufacturer,
            _STRING_PRODUCT: identity.product,
            _STRING_SERIAL: identity.serial_number,
        }.get(index, "")
        encoded = text.encode("utf-16-le")
        return bytes((2 + len(encoded), _DT_STRING)) + encoded
