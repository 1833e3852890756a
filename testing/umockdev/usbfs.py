"""The usbdevfs node of one simulated device: answers the ioctls libusb issues on it.

umockdev forwards every ``ioctl()`` on the emulated node to :meth:`UsbfsDevice.handle_ioctl`.
This module keeps the kernel's per-fd state (claimed interfaces, disconnection), answers the
device-level requests and the waiting reaps; the URBs themselves are :class:`UrbTransfers`' job.
"""

from __future__ import annotations

import errno
import logging
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, Final

from alpaca_sony.simulator.usb_device import UsbFault, UsbFunction
from testing.umockdev.descriptors import device_node, usb_speed_mbps
from testing.umockdev.transfers import UrbTransfers
from testing.umockdev.urbs import ClientState, IoctlError, errno_for_fault
from testing.umockdev.usbfs_abi import (
    USB_SPEED_FULL,
    USB_SPEED_HIGH,
    USB_SPEED_SUPER,
    USBDEVFS_ALLOW_SUSPEND,
    USBDEVFS_CLAIMINTERFACE,
    USBDEVFS_CLEAR_HALT,
    USBDEVFS_CONNECTINFO,
    USBDEVFS_CONNINFO_EX_NR,
    USBDEVFS_DISCARDURB,
    USBDEVFS_DISCONNECT_CLAIM,
    USBDEVFS_DROP_PRIVILEGES,
    USBDEVFS_FORBID_SUSPEND,
    USBDEVFS_GET_CAPABILITIES,
    USBDEVFS_GET_SPEED,
    USBDEVFS_GETDRIVER,
    USBDEVFS_IOCTL,
    USBDEVFS_IOCTL_TYPE,
    USBDEVFS_REAPURB,
    USBDEVFS_REAPURBNDELAY,
    USBDEVFS_RELEASEINTERFACE,
    USBDEVFS_RESET,
    USBDEVFS_RESETEP,
    USBDEVFS_SETCONFIGURATION,
    USBDEVFS_SETINTERFACE,
    USBDEVFS_SUBMITURB,
)

logger = logging.getLogger(__name__)

_REAP_WAIT_INTERVAL_MS: Final = 1
# umockdev's device fd is a socket that always polls writable, so libusb's event loop spins on
# REAPURBNDELAY while it waits. Once a client has been idle this long, each empty reap is held
# back for one interval: CPU and the GIL stay available to the application's own threads.
_IDLE_BEFORE_BACKOFF_S: Final = 0.005
_SPEED_CODES: Final = {"5000": USB_SPEED_SUPER, "480": USB_SPEED_HIGH}


class UsbfsDevice:
    """Answers the ioctls of every client (open fd) of one simulated device.

    All state is guarded by one lock: ioctls arrive on the GLib worker thread, while
    :meth:`poll` may also run from the thread that owns the harness.
    """

    def __init__(self, function: UsbFunction, capabilities: int, glib: Any) -> None:
        """Serve ``function``.

        Args:
            function: the simulated device.
            capabilities: the ``USBDEVFS_CAP_*`` bits reported to libusb.
            glib: PyGObject's ``GLib`` (for the timeouts of waiting reaps).
        """
        self.function = function
        self.identity = function.identity
        self.capabilities = capabilities
        self._glib = glib
        self._lock = threading.RLock()
        self._clients: dict[Any, ClientState] = {}  # by UMockdev.IoctlClient
        self._opened = 0
        self._gone = not function.attached
        self._transfers = UrbTransfers(function, self)
        self.stats = self._transfers.stats

    # -- signal entry point (GLib worker thread) --

    def handle_ioctl(self, _base: Any, client: Any) -> bool:
        """``handle-ioctl`` handler: answer one ioctl; always claims it."""
        request = client.get_request()
        try:
            with self._lock:
                state = self._client_state(client)
                result = self._dispatch(client, state, request)
        except IoctlError as failed:
            client.complete(-1, failed.error)
        except Exception:
            # A bug here must not hang the client: fail the ioctl visibly instead.
            logger.exception("umockdev handler failed on ioctl 0x%08x", request)
            client.complete(-1, errno.EIO)
        else:
            if result is not None:
                client.complete(result, 0)
        return True

    def _client_state(self, client: Any) -> ClientState:
        state = self._clients.get(client)
        if state is None:
            self.prune_clients()
            state = ClientState(name=f"fd#{self._opened + 1}", disconnected=self._gone)
            self._opened += 1
            self._clients[client] = state
            logger.debug("%s: client %s connected", device_node(self.identity), state.name)
        return state

    def prune_clients(self) -> None:
        """Forget clients whose fd was closed, with their URBs, as ``usbdev_release()`` does.

        umockdev emits no signal when a client goes away, so this polls ``connected``.
        """
        for client in [c for c in self._clients if not c.get_connected()]:
            state = self._clients.pop(client)
            self._transfers.forget(state)
            logger.debug("%s: client %s closed", device_node(self.identity), state.name)

    # -- dispatch --

    def _dispatch(self, client: Any, state: ClientState, request: int) -> int | None:
        """Answer ``request``; return the ioctl result, or None when completed asynchronously."""
        self._check_attached()
        if request == USBDEVFS_REAPURBNDELAY:
            idle = time.monotonic() - state.last_activity > _IDLE_BEFORE_BACKOFF_S
            return self._reap_waiting(client, state, give_up_after=1 if idle else 0)
        if request == USBDEVFS_REAPURB:
            return self._reap_waiting(client, state, give_up_after=None)
        if state.disconnected:
            raise IoctlError(errno.ENODEV)
        handler = self._simple_handlers.get(request)
        if handler is not None:
            return handler(self, client, state)
        if request & 0xFFFF == (USBDEVFS_IOCTL_TYPE << 8) | USBDEVFS_CONNINFO_EX_NR:
            return self._conninfo_ex(client, request)
        logger.debug("%s: unsupported ioctl 0x%08x", device_node(self.identity), request)
        raise IoctlError(errno.ENOTTY)

    def _reap_waiting(
        self, client: Any, state: ClientState, give_up_after: int | None
    ) -> int | None:
        """Reap, waiting up to ``give_up_after`` intervals (None: forever) for a completion.

        ``REAPURB`` waits like the kernel does (libusb never uses it); an idle ``REAPURBNDELAY``
        waits one interval before its EAGAIN. Returns None when the answer comes later, from a
        timeout source on the worker's main context.
        """
        try:
            return self._transfers.reap(client, state)
        except IoctlError as failed:
            if failed.error != errno.EAGAIN or give_up_after == 0:
                raise
        context = self._glib.MainContext.get_thread_default() or self._glib.MainContext.default()
        source = self._glib.timeout_source_new(_REAP_WAIT_INTERVAL_MS)
        ticks = [0]

        def retry() -> bool:
            """Timeout callback on the worker's context: True to keep waiting."""
            if not client.get_connected():
                return False
            ticks[0] += 1
            try:
                with self._lock:
                    self._check_attached()
                    result = self._transfers.reap(client, state)
            except IoctlError as failed:
                if failed.error == errno.EAGAIN and (
                    give_up_after is None or ticks[0] < give_up_after
                ):
                    return True
                client.complete(-1, failed.error)
            except Exception:
                logger.exception("waiting reap failed")
                client.complete(-1, errno.EIO)
            else:
                client.complete(result, 0)
            return False

        source.set_callback(lambda *_: retry())
        source.attach(context)
        return None

    # -- the requests answered at once --

    def _submit(self, client: Any, state: ClientState) -> int:
        return self._transfers.submit(client, state)

    def _discard(self, client: Any, state: ClientState) -> int:
        return self._transfers.discard(client, state)

    def _capabilities(self, client: Any, _state: ClientState) -> int:
        client.get_arg().resolve(0, 4).update(0, struct.pack("<I", self.capabilities))
        return 0

    def _claim(self, client: Any, state: ClientState) -> int:
        # Also DISCONNECT_CLAIM: its struct starts with the interface; there is no driver to drop.
        interface = _read_uint(client)
        if interface != 0:
            raise IoctlError(errno.ENOENT)
        self.prune_clients()
        for other in self._clients.values():
            if other is not state and not other.disconnected and interface in other.claimed:
                raise IoctlError(errno.EBUSY)
        state.claimed.add(interface)
        return 0

    def _release(self, client: Any, state: ClientState) -> int:
        interface = _read_uint(client)
        if interface not in state.claimed:
            raise IoctlError(errno.EINVAL)
        state.claimed.discard(interface)
        return 0

    def _set_configuration(self, client: Any, _state: ClientState) -> int:
        value = struct.unpack("<i", client.get_arg().resolve(0, 4).retrieve())[0]
        if value not in (-1, 0, 1):
            raise IoctlError(errno.EINVAL)
        return 0

    def _set_interface(self, client: Any, _state: ClientState) -> int:
        interface, alternate = struct.unpack("<II", client.get_arg().resolve(0, 8).retrieve())
        if interface != 0:
            raise IoctlError(errno.ENOENT)
        if alternate != 0:
            raise IoctlError(errno.EINVAL)
        return 0

    def _clear_halt(self, client: Any, _state: ClientState) -> int:
        endpoint = _read_uint(client) & 0xFF
        if not self._transfers.has_endpoint(endpoint):
            raise IoctlError(errno.ENOENT)
        self._transfers.clear_halt(endpoint)
        return 0

    def _reset(self, _client: Any, _state: ClientState) -> int:
        # A port reset kills every URB in flight on the device.
        for client_state in self._clients.values():
            self._transfers.cancel_all(client_state, -errno.ENOENT)
        self._transfers.halted.clear()
        try:
            self.function.reset()
        except UsbFault as fault:
            raise IoctlError(errno_for_fault(fault)) from fault
        return 0

    def _no_driver(self, _client: Any, _state: ClientState) -> int:
        raise IoctlError(errno.ENODATA)  # no kernel driver bound: nothing to detach

    def _accept(self, _client: Any, _state: ClientState) -> int:
        return 0

    def _connectinfo(self, client: Any, _state: ClientState) -> int:
        slow = 1 if self.identity.max_packet_size <= 8 else 0
        info = struct.pack("<IB3x", self.identity.address, slow)
        client.get_arg().resolve(0, 8).update(0, info)
        return 0

    def _speed(self) -> int:
        return _SPEED_CODES.get(usb_speed_mbps(self.identity), USB_SPEED_FULL)

    def _get_speed(self, _client: Any, _state: ClientState) -> int:
        return self._speed()

    def _conninfo_ex(self, client: Any, request: int) -> int:
        size = (request >> 16) & 0x3FFF
        ports = bytes([self.identity.address]) + bytes(6)
        info = struct.pack(
            "<IIIIB7s", 24, self.identity.bus, self.identity.address, self._speed(), 1, ports
        )[:size]
        client.get_arg().resolve(0, size).update(0, info)
        return 0

    _simple_handlers: ClassVar[dict[int, Callable[[UsbfsDevice, Any, ClientState], int]]] = {
        USBDEVFS_GET_CAPABILITIES: _capabilities,
        USBDEVFS_CLAIMINTERFACE: _claim,
        USBDEVFS_RELEASEINTERFACE: _release,
        USBDEVFS_DISCONNECT_CLAIM: _claim,
        USBDEVFS_SETCONFIGURATION: _set_configuration,
        USBDEVFS_SETINTERFACE: _set_interface,
        USBDEVFS_CLEAR_HALT: _clear_halt,
        USBDEVFS_RESETEP: _accept,
        USBDEVFS_RESET: _reset,
        USBDEVFS_GETDRIVER: _no_driver,
        USBDEVFS_IOCTL: _no_driver,
        USBDEVFS_CONNECTINFO: _connectinfo,
        USBDEVFS_GET_SPEED: _get_speed,
        USBDEVFS_FORBID_SUSPEND: _accept,
        USBDEVFS_ALLOW_SUSPEND: _accept,
        USBDEVFS_DROP_PRIVILEGES: _accept,
        USBDEVFS_SUBMITURB: _submit,
        USBDEVFS_DISCARDURB: _discard,
    }

    # -- attachment --

    @property
    def gone(self) -> bool:
        """True once the device was seen detached (until it is replugged)."""
        return self._gone

    def _check_attached(self) -> None:
        if not self._gone and not self.function.attached:
            self.disconnect()

    def disconnect(self) -> None:
        """The cable was pulled: kill every URB in flight; every open fd is dead from now on."""
        if self._gone:
            return
        self._gone = True
        logger.info("%s: device disconnected", device_node(self.identity))
        for state in self._clients.values():
            state.disconnected = True
            state.claimed.clear()  # the kernel unbinds every interface of a removed device
            self._transfers.cancel_all(state, -errno.ESHUTDOWN)
        self._transfers.halted.clear()

    def poll(self) -> None:
        """Notice a pulled cable and complete IN URBs that now have data (any thread)."""
        with self._lock:
            self._check_attached()
            self._transfers.poll_in()

    def open_clients(self) -> int:
        """How many fds on this device are still open."""
        with self._lock:
            self.prune_clients()
            return len(self._clients)

    def replugged(self) -> None:
        """The device enumerates again: new clients are live (old fds stay dead)."""
        with self._lock:
            self._gone = False


def _read_uint(client: Any) -> int:
    """The ``unsigned int`` the ioctl's argument points to."""
    value: int = struct.unpack("<I", client.get_arg().resolve(0, 4).retrieve())[0]
    return value
