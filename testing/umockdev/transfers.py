"""The URBs of one simulated device: submission, data to and from the function, completion.

OUT data goes to the function at submission. IN URBs wait in per-endpoint queues until the
function has data for them. Completed URBs wait in their client's queue until libusb reaps them,
and reaping writes the result into the client's memory. Control URBs are answered at once.
"""

from __future__ import annotations

import collections
import errno
import logging
import struct
import time
from typing import Any, Protocol

from alpaca_sony.simulator.usb_device import UsbFault, UsbFunction
from testing.umockdev.control import ControlRequests
from testing.umockdev.urbs import (
    IO_ERROR_STATUS,
    ClientState,
    IoctlError,
    Urb,
    UrbStats,
    errno_for_fault,
    urb_status_for_fault,
)
from testing.umockdev.usbfs_abi import (
    SETUP_SIZE,
    URB_ACTUAL_LENGTH_OFFSET,
    URB_BUFFER_OFFSET,
    URB_FORMAT,
    URB_SIZE,
    URB_STATUS_OFFSET,
    USBDEVFS_URB_BULK_CONTINUATION,
    USBDEVFS_URB_SHORT_NOT_OK,
    USBDEVFS_URB_TYPE_BULK,
    USBDEVFS_URB_TYPE_CONTROL,
    USBDEVFS_URB_TYPE_INTERRUPT,
    USBDEVFS_URB_ZERO_PACKET,
)

logger = logging.getLogger(__name__)


class DeviceHooks(Protocol):
    """What the URBs need from the device that owns the clients."""

    @property
    def gone(self) -> bool:
        """True once the device was seen detached."""
        ...

    def prune_clients(self) -> None:
        """Forget the clients whose fd was closed, with their URBs."""
        ...

    def disconnect(self) -> None:
        """The cable was pulled: kill every URB in flight; every open fd is dead."""
        ...


class UrbTransfers:
    """Submits, completes, discards and reaps the URBs of one device (caller holds its lock)."""

    def __init__(self, function: UsbFunction, device: DeviceHooks) -> None:
        """Carry the URBs of ``function``.

        Args:
            function: the simulated device.
            device: the owner of the clients, told about closed fds and unplugs.
        """
        self.function = function
        self.identity = function.identity
        self.stats = UrbStats()
        self.halted: set[int] = set()  # stalled endpoints, until cleared or reset
        self._device = device
        self._pending_in: dict[int, collections.deque[Urb]] = collections.defaultdict(
            collections.deque
        )
        self._endpoint_types = {
            self.identity.bulk_in_endpoint: USBDEVFS_URB_TYPE_BULK,
            self.identity.bulk_out_endpoint: USBDEVFS_URB_TYPE_BULK,
            self.identity.interrupt_in_endpoint: USBDEVFS_URB_TYPE_INTERRUPT,
        }
        self._control = ControlRequests(function, self.halted, self.clear_halt)

    def has_endpoint(self, endpoint: int) -> bool:
        """True for an endpoint of the device's interface (not endpoint 0)."""
        return endpoint in self._endpoint_types

    def clear_halt(self, endpoint: int) -> None:
        """Clear ``endpoint``'s stall and tell the function.

        Raises:
            IoctlError: the function failed.
        """
        self.halted.discard(endpoint)
        try:
            self.function.clear_halt(endpoint)
        except UsbFault as fault:
            raise IoctlError(errno_for_fault(fault)) from fault

    def forget(self, state: ClientState) -> None:
        """Drop the queued URBs of a client whose fd was closed."""
        for queue in self._pending_in.values():
            for urb in [u for u in queue if u.owner is state]:
                queue.remove(urb)

    # -- submitting --

    def submit(self, client: Any, state: ClientState) -> int:
        """``USBDEVFS_SUBMITURB``: take the client's URB; complete it when possible."""
        arg = client.get_arg()
        address = struct.unpack("<Q", arg.retrieve())[0]
        data = arg.resolve(0, URB_SIZE)
        fields = struct.unpack(URB_FORMAT, data.retrieve())
        urb_type, endpoint, _, flags, _, buffer_length = fields[:6]
        urb = Urb(state, address, urb_type, endpoint, flags, max(buffer_length, 0))
        if urb_type == USBDEVFS_URB_TYPE_CONTROL:
            done = self._submit_control(urb, data)
        elif urb_type in (USBDEVFS_URB_TYPE_BULK, USBDEVFS_URB_TYPE_INTERRUPT):
            done = self._submit_data(urb, data)
        else:
            raise IoctlError(errno.EINVAL)  # the device has no isochronous endpoints
        self.stats.submitted += 1
        state.last_activity = time.monotonic()
        state.in_flight[address] = urb
        if done:
            self._finish(urb)
        elif urb.is_in and not urb.stuck:
            self._pending_in[urb.endpoint].append(urb)
            self.poll_in()
        return 0

    def _submit_control(self, urb: Urb, data: Any) -> bool:
        """Answer a control URB at once; True unless the function is stuck on it."""
        if urb.buffer_length < SETUP_SIZE:
            raise IoctlError(errno.EINVAL)
        raw = data.resolve(URB_BUFFER_OFFSET, urb.buffer_length).retrieve()
        request_type, request, value, index, length = struct.unpack("<BBHHH", raw[:SETUP_SIZE])
        data_or_length: bytes | int
        if request_type & 0x80:
            length = min(length, urb.buffer_length - SETUP_SIZE)
            data_or_length = length
        else:
            data_or_length = bytes(raw[SETUP_SIZE : SETUP_SIZE + length])
        try:
            answer = self._control.answer(request_type, request, value, index, data_or_length)
        except UsbFault as fault:
            self._fail(urb, fault)
            return not urb.stuck
        if answer is None:
            urb.status = -errno.EPIPE  # protocol stall: the request is not supported
        elif isinstance(answer, bytes | bytearray):
            urb.payload = bytes(answer[:length])
            urb.actual_length = len(urb.payload)
        else:
            urb.actual_length = int(answer)
        return True

    def _submit_data(self, urb: Urb, data: Any) -> bool:
        """Check and account a bulk or interrupt URB; True when it is already complete."""
        state = urb.owner
        expected = self._endpoint_types.get(urb.endpoint)
        if expected is None:
            raise IoctlError(errno.ENOENT)
        if expected != urb.type:
            raise IoctlError(errno.EINVAL)
        if urb.type == USBDEVFS_URB_TYPE_BULK:
            # Kernel semantics for split transfers: after a short or failed URB, the rest of the
            # transfer (URBs flagged BULK_CONTINUATION) must not eat the next transfer's data.
            if urb.flags & USBDEVFS_URB_BULK_CONTINUATION:
                if urb.endpoint in state.disabled_bulk_endpoints:
                    raise IoctlError(errno.EREMOTEIO)
            else:
                state.disabled_bulk_endpoints.discard(urb.endpoint)
            self.stats.largest_bulk_urb = max(self.stats.largest_bulk_urb, urb.buffer_length)
            if urb.is_in:
                self.stats.bulk_in_urbs += 1
            else:
                self.stats.bulk_out_urbs += 1
        if urb.is_in:
            return False
        payload = b""
        if urb.buffer_length:
            payload = data.resolve(URB_BUFFER_OFFSET, urb.buffer_length).retrieve()
        return self._write_out(urb, payload)

    def _write_out(self, urb: Urb, payload: bytes) -> bool:
        """Hand OUT data to the function; True when the URB is complete."""
        try:
            self.function.write_bulk(payload)
            if (
                urb.flags & USBDEVFS_URB_ZERO_PACKET
                and payload
                and len(payload) % self.identity.max_packet_size == 0
            ):
                self.function.write_bulk(b"")  # the zero-length packet the host appends
        except UsbFault as fault:
            self._fail(urb, fault)
            return not urb.stuck
        except Exception:
            logger.exception("write_bulk failed")
            urb.status = IO_ERROR_STATUS
            return True
        if urb.type == USBDEVFS_URB_TYPE_BULK:
            self.stats.bulk_out_bytes += len(payload)
        urb.actual_length = len(payload)
        return True

    def _fail(self, urb: Urb, fault: UsbFault) -> None:
        status = urb_status_for_fault(fault)
        if status is None:
            urb.stuck = True
            return
        urb.status = status
        if status == -errno.EPIPE:
            self.halted.add(urb.endpoint)
        if status == -errno.ESHUTDOWN:
            self._device.disconnect()

    # -- completing --

    def poll_in(self) -> None:
        """Complete the IN URBs at the head of each endpoint's queue while the function has data.

        A stuck URB at the head blocks its endpoint, as a device that never answers does.
        """
        self._device.prune_clients()  # a closed fd's URBs must not take the device's data
        for queue in self._pending_in.values():
            while queue and not queue[0].stuck and not self._device.gone:
                urb = queue[0]
                if not self._read_in(urb):
                    break
                if queue and queue[0] is urb:  # a disconnect may have emptied the queue
                    queue.popleft()
                self._finish(urb)

    def _read_in(self, urb: Urb) -> bool:
        """Ask the function for ``urb``'s data; False when it has none yet (or never will)."""
        reader = (
            self.function.read_interrupt
            if urb.type == USBDEVFS_URB_TYPE_INTERRUPT
            else self.function.read_bulk
        )
        try:
            payload = reader(urb.buffer_length)
        except UsbFault as fault:
            self._fail(urb, fault)
            return not urb.stuck
        except Exception:
            logger.exception("reading endpoint 0x%02x failed", urb.endpoint)
            urb.status = IO_ERROR_STATUS
            return True
        if payload is None:
            return False
        if len(payload) > urb.buffer_length:
            # The device sent more than the buffer holds: the kernel keeps what fits.
            payload = payload[: urb.buffer_length]
            urb.status = -errno.EOVERFLOW
        elif len(payload) < urb.buffer_length and urb.flags & USBDEVFS_URB_SHORT_NOT_OK:
            urb.status = -errno.EREMOTEIO
        urb.payload = bytes(payload)
        urb.actual_length = len(payload)
        if urb.type == USBDEVFS_URB_TYPE_BULK:
            self.stats.bulk_in_bytes += len(payload)
        return True

    def _finish(self, urb: Urb) -> None:
        """Move a finished URB to its owner's reap queue."""
        state = urb.owner
        if state.in_flight.pop(urb.address, None) is None:
            return
        state.completed.append(urb)
        failed = urb.status < 0 and urb.status not in (-errno.ENOENT, -errno.ECONNRESET)
        if urb.type == USBDEVFS_URB_TYPE_BULK and failed:
            self._cancel_continuations(state, urb.endpoint)

    def _cancel_continuations(self, state: ClientState, endpoint: int) -> None:
        state.disabled_bulk_endpoints.add(endpoint)
        queue = self._pending_in.get(endpoint, collections.deque())
        for urb in [u for u in queue if u.owner is state]:
            if urb.flags & USBDEVFS_URB_BULK_CONTINUATION:
                queue.remove(urb)
                urb.status = -errno.ECONNRESET
                self._finish(urb)

    def cancel_all(self, state: ClientState, status: int) -> None:
        """Complete every URB ``state`` has in flight with ``status`` (reset, unplug)."""
        for urb in list(state.in_flight.values()):
            self._unqueue(urb)
            urb.status = status
            urb.stuck = False
            self._finish(urb)

    def _unqueue(self, urb: Urb) -> None:
        queue = self._pending_in.get(urb.endpoint)
        if queue is not None and urb in queue:
            queue.remove(urb)

    def discard(self, client: Any, state: ClientState) -> int:
        """``USBDEVFS_DISCARDURB``: kill one URB in flight (libusb's cancel and timeout path)."""
        address = struct.unpack("<Q", client.get_arg().retrieve())[0]
        urb = state.in_flight.get(address)
        if urb is None:
            raise IoctlError(errno.EINVAL)  # already completed: libusb will reap it
        self._unqueue(urb)
        urb.status = -errno.ENOENT  # usb_kill_urb()
        urb.stuck = False
        self.stats.discarded += 1
        self._finish(urb)
        return 0

    # -- reaping --

    def reap(self, client: Any, state: ClientState) -> int:
        """Hand the client its oldest completed URB.

        Raises:
            IoctlError: ``EAGAIN`` when none is complete, ``ENODEV`` once disconnected.
        """
        self.poll_in()
        if not state.completed:
            raise IoctlError(errno.ENODEV if state.disconnected else errno.EAGAIN)
        urb = state.completed.popleft()
        self._deliver(client, urb)
        state.last_activity = time.monotonic()
        return 0

    def _deliver(self, client: Any, urb: Urb) -> None:
        """Write the URB's result into the client's memory and hand its address back.

        The URB and its buffer are resolved afresh from the reap's own argument: client memory
        resolved during an earlier ioctl is not written back reliably.
        """
        slot = client.get_arg().resolve(0, 8)  # the caller's ``struct usbdevfs_urb *``
        slot.update(0, struct.pack("<Q", urb.address))
        data = slot.resolve(0, URB_SIZE)
        data.update(URB_STATUS_OFFSET, struct.pack("<i", urb.status))
        data.update(URB_ACTUAL_LENGTH_OFFSET, struct.pack("<i", urb.actual_length))
        if urb.payload:  # IN data (a control URB's endpoint is 0 whatever its direction)
            # Only the bytes received travel: a large transfer costs one copy each way.
            start = SETUP_SIZE if urb.type == USBDEVFS_URB_TYPE_CONTROL else 0
            buffer = data.resolve(URB_BUFFER_OFFSET, start + len(urb.payload))
            buffer.update(start, urb.payload)
        self.stats.reaped += 1
