"""Answers to the control requests a simulated device receives on endpoint 0.

Standard requests (descriptors, status, configuration, CLEAR_FEATURE(HALT)) are answered from the
function's :class:`UsbIdentity`. Class and vendor requests go to ``function.control_transfer``
when the function implements :class:`ControlFunction`; otherwise the PTP still-image class
requests get defaults (USB Still Image Capture Device Definition, 5.2).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from alpaca_sony.simulator.usb_device import UsbFunction
from testing.umockdev.descriptors import (
    configuration_descriptor,
    device_descriptor,
    string_descriptor,
)

PTP_CANCEL_REQUEST: Final = 0x64
PTP_DEVICE_RESET_REQUEST: Final = 0x66
PTP_GET_DEVICE_STATUS: Final = 0x67
_PTP_RC_OK: Final = 0x2001
_PTP_RC_TRANSACTION_CANCELLED: Final = 0x201F


@runtime_checkable
class ControlFunction(Protocol):
    """Optional extension of :class:`UsbFunction` for class and vendor control requests.

    When the function has this method, the harness passes every class or vendor request to it;
    otherwise it answers the PTP still-image class requests itself (see :class:`UmockdevHarness`).
    """

    def control_transfer(
        self, request_type: int, request: int, value: int, index: int, data_or_length: bytes | int
    ) -> bytes | int:
        """Answer one request like pyusb's ``ctrl_transfer``.

        Args:
            request_type: ``bmRequestType``.
            request: ``bRequest``.
            value: ``wValue``.
            index: ``wIndex``.
            data_or_length: OUT data, or ``wLength`` for an IN request.

        Returns:
            The IN data (truncated to ``wLength`` by the harness), or the count of OUT bytes taken.

        Raises:
            UsbFault: ``UsbPipe`` stalls the request; others fail it.
        """
        ...


class ControlRequests:
    """The endpoint 0 side of one simulated device."""

    def __init__(
        self, function: UsbFunction, halted: set[int], clear_halt: Callable[[int], None]
    ) -> None:
        """Answer for ``function``.

        Args:
            function: the simulated device.
            halted: the stalled endpoints, shared with (and updated in place by) the device.
            clear_halt: the device's CLEAR_HALT, used for CLEAR_FEATURE(ENDPOINT_HALT).
        """
        self._function = function
        self._identity = function.identity
        self._halted = halted
        self._clear_halt = clear_halt
        self._custom = function if isinstance(function, ControlFunction) else None

    def answer(
        self, request_type: int, request: int, value: int, index: int, data_or_length: bytes | int
    ) -> bytes | int | None:
        """Answer one control request.

        Args:
            request_type: ``bmRequestType``.
            request: ``bRequest``.
            value: ``wValue``.
            index: ``wIndex``.
            data_or_length: OUT data, or ``wLength`` for an IN request.

        Returns:
            The IN data, the count of OUT bytes taken, or None for a stall (not supported).

        Raises:
            UsbFault: the function failed the request.
        """
        if request_type & 0x60:  # class or vendor
            if self._custom is not None:
                return self._custom.control_transfer(
                    request_type, request, value, index, data_or_length
                )
            return self._ptp_class_request(request_type, request, data_or_length)
        return self._standard_request(request_type, request, value, index, data_or_length)

    def _standard_request(
        self, request_type: int, request: int, value: int, index: int, data_or_length: bytes | int
    ) -> bytes | int | None:
        recipient = request_type & 0x1F
        out_count = 0 if isinstance(data_or_length, int) else len(data_or_length)
        if request_type == 0x80 and request == 0x06:  # GET_DESCRIPTOR
            descriptor_type, descriptor_index = value >> 8, value & 0xFF
            if descriptor_type == 1:
                return device_descriptor(self._identity)
            if descriptor_type == 2 and descriptor_index == 0:
                return configuration_descriptor(self._identity)
            if descriptor_type == 3:
                return string_descriptor(self._identity, descriptor_index)
            return None
        if request_type & 0x80 and request == 0x00:  # GET_STATUS
            if recipient == 2:
                return struct.pack("<H", 1 if (index & 0xFF) in self._halted else 0)
            return struct.pack("<H", 1 if recipient == 0 else 0)  # device: self-powered
        if request_type == 0x80 and request == 0x08:  # GET_CONFIGURATION
            return b"\x01"
        if request_type == 0x81 and request == 0x0A:  # GET_INTERFACE
            return b"\x00"
        if request_type == 0x02 and request == 0x01 and value == 0:  # CLEAR_FEATURE(HALT)
            self._clear_halt(index & 0xFF)
            return out_count
        if request_type in (0x00, 0x01, 0x02) and request in (0x03, 0x09, 0x0B):
            return out_count  # SET_FEATURE, SET_CONFIGURATION, SET_INTERFACE
        return None

    def _ptp_class_request(
        self, request_type: int, request: int, data_or_length: bytes | int
    ) -> bytes | int | None:
        """Default answers to the still-image class requests when the function has none."""
        if request_type == 0x21 and request == PTP_DEVICE_RESET_REQUEST:
            self._function.reset()
            self._halted.clear()
            return 0
        if request_type == 0x21 and request == PTP_CANCEL_REQUEST:
            return len(data_or_length) if isinstance(data_or_length, bytes) else 0
        if request_type == 0xA1 and request == PTP_GET_DEVICE_STATUS:
            # OK, or Transaction_Cancelled listing the stalled endpoints the host must clear.
            halted = sorted(self._halted)
            code = _PTP_RC_TRANSACTION_CANCELLED if halted else _PTP_RC_OK
            body = b"".join(struct.pack("<I", ep) for ep in halted)
            return struct.pack("<HH", 4 + len(body), code) + body
        return None
