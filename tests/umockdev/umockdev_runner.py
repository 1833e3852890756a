"""Scenarios that run under ``umockdev-wrapper`` behind the real libusb and pyusb.

Each ``scenario_*`` is a harness target: ``test_harness.py`` runs it in a fresh process with
:func:`run_under_harness`, which calls it with the started :class:`UmockdevHarness` built from
:func:`make_loopback`. A scenario returns 0 on success and prints one JSON line of measurements;
failures are assertion errors (exit code 1, traceback on stderr).

Run one by hand::

    python -m testing.umockdev \
        tests.umockdev.umockdev_runner:make_loopback \
        tests.umockdev.umockdev_runner:scenario_roundtrip
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import sys
import threading
import time
from collections import deque
from typing import Any

import libusb_package
import usb.backend.libusb1
import usb.core
import usb.util

from alpaca_sony.simulator.usb_device import (
    UsbFault,
    UsbIdentity,
    UsbNoDevice,
    UsbStuck,
)
from testing.umockdev.harness import UmockdevHarness
from testing.umockdev.usbfs_abi import (
    USBDEVFS_REAPURB,
    USBDEVFS_SUBMITURB,
    USBDEVFS_URB_TYPE_BULK,
)

VENDOR_ID = 0x054C
PRODUCT_ID = 0x0C34
SERIAL = "LOOP-0001"
BULK_IN, BULK_OUT, INTERRUPT_IN = 0x81, 0x02, 0x83
PACKET = 512
MIB = 1024 * 1024


class LoopbackFunction:
    """A tiny UsbFunction: bulk OUT transfers come back on bulk IN; interrupt events are queued.

    An OUT transfer ends at a short packet or a zero-length write, as on the wire. IN transfers
    are a byte stream cut into URBs: a transfer whose length is a multiple of the packet size is
    terminated by a zero-length packet, which stays pending when the host's buffer was exactly
    filled.
    """

    def __init__(self, identity: UsbIdentity | None = None) -> None:
        self._identity = identity or UsbIdentity(
            vendor_id=VENDOR_ID, product_id=PRODUCT_ID, serial_number=SERIAL
        )
        self._lock = threading.Lock()
        self._out = bytearray()
        self._in: deque[bytes] = deque()
        self._current: memoryview | None = None
        self._zlp_pending = False
        self.events: deque[bytes] = deque()
        self._attached = True
        self.next_fault: UsbFault | None = None
        self.stuck_out = False
        self.written: list[int] = []
        self.cleared: list[int] = []
        self.resets = 0

    @property
    def identity(self) -> UsbIdentity:
        return self._identity

    @property
    def attached(self) -> bool:
        return self._attached

    def unplug(self) -> None:
        self._attached = False

    def plug(self) -> None:
        with self._lock:
            self._attached = True
            self._out.clear()
            self._in.clear()
            self._current = None
            self._zlp_pending = False

    def queue_in(self, payload: bytes) -> None:
        """Make ``payload`` the next bulk IN transfer (as a camera's data phase)."""
        with self._lock:
            self._in.append(payload)

    def write_bulk(self, data: bytes) -> None:
        if not self._attached:
            raise UsbNoDevice
        if self.stuck_out:
            raise UsbStuck
        with self._lock:
            self.written.append(len(data))
            self._out += data
            if len(data) % self._identity.max_packet_size or not data:
                self._in.append(bytes(self._out))
                self._out.clear()

    def read_bulk(self, size: int) -> bytes | None:
        if not self._attached:
            raise UsbNoDevice
        with self._lock:
            if self.next_fault is not None:
                fault, self.next_fault = self.next_fault, None
                raise fault
            if self._current is None:
                if self._zlp_pending:
                    self._zlp_pending = False
                    return b""
                if not self._in:
                    return None
                self._current = memoryview(self._in.popleft())
            rest = self._current
            mps = self._identity.max_packet_size
            if len(rest) <= size:
                self._current = None
                # Exactly filled: the terminating ZLP has not been read yet.
                self._zlp_pending = len(rest) == size and len(rest) % mps == 0 and len(rest) > 0
                return bytes(rest)
            # A buffer that is not whole packets receives the next whole packet: an overflow.
            taken = min(len(rest), -(-size // mps) * mps)
            self._current = rest[taken:] if taken < len(rest) else None
            return bytes(rest[:taken])

    def read_interrupt(self, size: int) -> bytes | None:
        if not self._attached:
            raise UsbNoDevice
        with self._lock:
            return self.events.popleft() if self.events else None

    def clear_halt(self, endpoint: int) -> None:
        self.cleared.append(endpoint)

    def reset(self) -> None:
        self.resets += 1


def make_loopback() -> LoopbackFunction:
    """Harness factory."""
    return LoopbackFunction()


def make_two_loopbacks() -> list[LoopbackFunction]:
    """Harness factory: two bodies on the same bus, as a multi-camera rig."""
    second = UsbIdentity(
        vendor_id=VENDOR_ID, product_id=0x0D9F, serial_number="LOOP-0002", address=3
    )
    return [LoopbackFunction(), LoopbackFunction(second)]


def _loopback(harness: UmockdevHarness) -> LoopbackFunction:
    function = harness.functions[0]
    assert isinstance(function, LoopbackFunction)
    return function


def _open(harness: UmockdevHarness, backend: Any = None, function: Any = None) -> Any:
    dev = harness.find(backend, function)
    assert dev is not None, "pyusb did not find the simulated device"
    dev.set_configuration()
    usb.util.claim_interface(dev, 0)
    return dev


def _report(**values: Any) -> int:
    sys.stdout.write(json.dumps(values) + "\n")
    return 0


def _usb_error(call: Any) -> usb.core.USBError:
    try:
        call()
    except usb.core.USBError as exc:
        return exc
    raise AssertionError("expected a USBError")


# --- scenarios -----------------------------------------------------------------------------------


def scenario_enumerate(harness: UmockdevHarness) -> int:
    """Find by VID/PID and by interface class 6/1/1 on the system libusb; read descriptors."""
    backend = usb.backend.libusb1.get_backend()
    assert backend is not None, "no system libusb"
    dev = usb.core.find(idVendor=VENDOR_ID, idProduct=PRODUCT_ID, backend=backend)
    assert dev is not None
    assert (dev.bus, dev.address) == (1, 2)
    assert dev.speed == usb.util.SPEED_HIGH

    def still_image(device: Any) -> bool:
        return any(
            (i.bInterfaceClass, i.bInterfaceSubClass, i.bInterfaceProtocol) == (6, 1, 1)
            for cfg in device
            for i in cfg
        )

    by_class = list(usb.core.find(find_all=True, custom_match=still_image, backend=backend))
    assert [(d.idVendor, d.idProduct) for d in by_class] == [(VENDOR_ID, PRODUCT_ID)]
    interface = dev.get_active_configuration()[(0, 0)]
    endpoints = {
        ep.bEndpointAddress: (usb.util.endpoint_type(ep.bmAttributes), ep.wMaxPacketSize)
        for ep in interface
    }
    assert endpoints == {
        BULK_IN: (usb.util.ENDPOINT_TYPE_BULK, PACKET),
        BULK_OUT: (usb.util.ENDPOINT_TYPE_BULK, PACKET),
        INTERRUPT_IN: (usb.util.ENDPOINT_TYPE_INTR, PACKET),
    }
    # String descriptors travel as control URBs through the handler.
    strings = (dev.manufacturer, dev.product, dev.serial_number)
    assert strings == ("Sony", "ILCE-7M3", SERIAL), strings
    assert not dev.is_kernel_driver_active(0)
    usb.util.dispose_resources(dev)
    return _report(strings=strings)


def scenario_enumerate_libusb_package(harness: UmockdevHarness) -> int:
    """The libusb bundled in the PyPI libusb-package wheel sees the device too."""
    backend = libusb_package.get_libusb1_backend()
    assert backend is not None
    dev = usb.core.find(idVendor=VENDOR_ID, backend=backend)
    assert dev is not None
    assert dev.serial_number == SERIAL
    dev = _open(harness, backend)
    dev.write(BULK_OUT, b"ping")
    assert bytes(dev.read(BULK_IN, 512, timeout=1000)) == b"ping"
    usb.util.dispose_resources(dev)
    return _report(serial=SERIAL)


def scenario_roundtrip(harness: UmockdevHarness) -> int:
    """Claim the interface; bulk OUT comes back on bulk IN, short and packet-multiple."""
    function = _loopback(harness)
    dev = _open(harness)
    assert dev.write(BULK_OUT, b"hello camera", timeout=1000) == 12
    assert bytes(dev.read(BULK_IN, 4096, timeout=1000)) == b"hello camera"
    # A packet-multiple transfer ends with a zero-length packet, in both directions.
    block = bytes(range(256)) * 8
    assert dev.write(BULK_OUT, block, timeout=1000) == 2048
    assert dev.write(BULK_OUT, b"", timeout=1000) == 0
    assert bytes(dev.read(BULK_IN, 65536, timeout=1000)) == block
    assert function.written == [12, 2048, 0]
    stats = harness.stats()
    assert stats.bulk_out_urbs == 3
    assert stats.bulk_in_urbs == 2
    usb.util.release_interface(dev, 0)
    usb.util.dispose_resources(dev)
    return _report(urbs=stats.submitted)


def scenario_zlp(harness: UmockdevHarness) -> int:
    """Reading exactly a packet-multiple payload leaves the zero-length packet pending."""
    function = _loopback(harness)
    dev = _open(harness)
    payload = os.urandom(4 * PACKET)
    function.queue_in(payload)
    assert bytes(dev.read(BULK_IN, len(payload), timeout=1000)) == payload
    assert len(dev.read(BULK_IN, PACKET, timeout=1000)) == 0  # the pending ZLP
    timeout = _usb_error(lambda: dev.read(BULK_IN, PACKET, timeout=100))
    assert isinstance(timeout, usb.core.USBTimeoutError)
    # With a larger buffer the ZLP ends the same transfer: nothing is left behind.
    function.queue_in(payload)
    assert bytes(dev.read(BULK_IN, 2 * len(payload), timeout=1000)) == payload
    function.queue_in(b"next")
    assert bytes(dev.read(BULK_IN, PACKET, timeout=1000)) == b"next"
    usb.util.dispose_resources(dev)
    return _report(payload=len(payload))


def scenario_large_read(harness: UmockdevHarness) -> int:
    """A 48 MiB bulk IN transfer arrives bit-exact, in one URB, well under a second."""
    function = _loopback(harness)
    dev = _open(harness)
    size = 48 * MIB
    payload = os.urandom(size)
    seconds = []
    for _ in range(3):
        function.queue_in(payload)
        buffer = usb.util.create_buffer(size)
        start = time.perf_counter()
        count = dev.read(BULK_IN, buffer, timeout=10000)
        seconds.append(time.perf_counter() - start)
        assert count == size
        assert buffer.tobytes() == payload
        assert len(dev.read(BULK_IN, PACKET, timeout=1000)) == 0  # 48 MiB is packet-aligned
    stats = harness.stats()
    assert stats.largest_bulk_urb == size
    assert stats.bulk_in_bytes == 3 * size
    best = min(seconds)
    assert best < 1.0, f"48 MiB took {best:.3f} s"
    usb.util.dispose_resources(dev)
    return _report(seconds=seconds, mb_per_s=size / best / 1e6)


def scenario_split_urbs(harness: UmockdevHarness) -> int:
    """Without scatter-gather libusb splits transfers into 16 KiB URBs; short ends still work."""
    function = _loopback(harness)
    dev = _open(harness)
    # Data ready at submission: the short URB completes at once and the kernel refuses the
    # transfer's remaining continuation URBs (EREMOTEIO), which libusb takes as an early end.
    big = os.urandom(3 * MIB + 1000)
    function.queue_in(big)
    function.queue_in(b"second transfer")
    buffer = usb.util.create_buffer(4 * MIB)
    start = time.perf_counter()
    count = dev.read(BULK_IN, buffer, timeout=10000)
    elapsed = time.perf_counter() - start
    assert count == len(big)
    assert buffer[:count].tobytes() == big
    assert bytes(dev.read(BULK_IN, 4 * MIB, timeout=1000)) == b"second transfer"
    stats = harness.stats()
    assert stats.largest_bulk_urb == 16384
    assert stats.bulk_in_urbs == 192 + 1 + 1
    # Data arriving later: all 64 URBs wait; the short one cancels the continuation URBs behind
    # it (ECONNRESET) and the next transfer is left intact.
    urbs_before = stats.bulk_in_urbs
    late = os.urandom(MIB // 2 + 100)
    threading.Timer(0.05, function.queue_in, (late,)).start()
    buffer = usb.util.create_buffer(MIB)
    count = dev.read(BULK_IN, buffer, timeout=5000)
    assert count == len(late)
    assert buffer[:count].tobytes() == late
    assert harness.stats().bulk_in_urbs == urbs_before + 64
    function.queue_in(b"third")
    assert bytes(dev.read(BULK_IN, MIB, timeout=1000)) == b"third"
    # Exactly filled 16 KiB URBs: the ZLP is pending for the next read, as with one URB.
    aligned = os.urandom(MIB)
    function.queue_in(aligned)
    assert bytes(dev.read(BULK_IN, MIB, timeout=5000)) == aligned
    assert len(dev.read(BULK_IN, PACKET, timeout=1000)) == 0
    usb.util.dispose_resources(dev)
    return _report(seconds=elapsed, mb_per_s=len(big) / elapsed / 1e6)


def scenario_timeout(harness: UmockdevHarness) -> int:
    """Nothing to send: USBTimeoutError within the timeout; the discarded URB eats no data."""
    function = _loopback(harness)
    dev = _open(harness)
    start = time.perf_counter()
    error = _usb_error(lambda: dev.read(BULK_IN, PACKET, timeout=200))
    elapsed = time.perf_counter() - start
    assert isinstance(error, usb.core.USBTimeoutError), error
    assert error.backend_error_code == -7
    assert 0.15 <= elapsed < 1.0, elapsed
    function.queue_in(b"late reply")
    assert bytes(dev.read(BULK_IN, PACKET, timeout=1000)) == b"late reply"
    # A device that never takes OUT data (UsbStuck) times the write out.
    function.stuck_out = True
    error = _usb_error(lambda: dev.write(BULK_OUT, b"x" * 100, timeout=150))
    assert isinstance(error, usb.core.USBTimeoutError), error
    function.stuck_out = False
    assert harness.stats().discarded == 2
    usb.util.dispose_resources(dev)
    return _report(seconds=elapsed)


def scenario_disconnect(harness: UmockdevHarness) -> int:
    """Cable pulled during a pending read: ENODEV (-4); the device leaves and comes back."""
    function = _loopback(harness)
    dev = _open(harness)
    threading.Timer(0.1, function.unplug).start()
    start = time.perf_counter()
    error = _usb_error(lambda: dev.read(BULK_IN, PACKET, timeout=5000))
    elapsed = time.perf_counter() - start
    assert error.errno == errno.ENODEV, error
    assert error.backend_error_code == -4
    assert elapsed < 1.0, elapsed
    error = _usb_error(lambda: dev.write(BULK_OUT, b"after", timeout=1000))
    assert error.errno == errno.ENODEV, error
    usb.util.dispose_resources(dev)
    assert harness.find() is None
    function.plug()
    dev = _open(harness)
    dev.write(BULK_OUT, b"again")
    assert bytes(dev.read(BULK_IN, PACKET, timeout=1000)) == b"again"
    usb.util.dispose_resources(dev)
    return _report(seconds=elapsed)


def scenario_interrupt(harness: UmockdevHarness) -> int:
    """Interrupt IN delivers queued events, and times out when there is none."""
    function = _loopback(harness)
    dev = _open(harness)
    event = bytes.fromhex("10000000 0400 01c2 01000000")
    function.events.append(event)
    assert bytes(dev.read(INTERRUPT_IN, PACKET, timeout=1000)) == event
    error = _usb_error(lambda: dev.read(INTERRUPT_IN, PACKET, timeout=100))
    assert isinstance(error, usb.core.USBTimeoutError)
    threading.Timer(0.05, function.events.append, (event,)).start()
    assert bytes(dev.read(INTERRUPT_IN, PACKET, timeout=1000)) == event
    usb.util.dispose_resources(dev)
    return _report(event=event.hex())


def scenario_concurrent_threads(harness: UmockdevHarness) -> int:
    """A bulk reader and an interrupt reader on two threads share one handle."""
    function = _loopback(harness)
    dev = _open(harness)
    errors: list[BaseException] = []

    def reader(endpoint: int, deliver: Any, name: str) -> None:
        try:
            for i in range(30):
                expected = f"{name}{i}".encode()
                threading.Timer(0.004, deliver, (expected,)).start()
                assert bytes(dev.read(endpoint, PACKET, timeout=2000)) == expected
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=reader, args=(BULK_IN, function.queue_in, "bulk")),
        threading.Thread(target=reader, args=(INTERRUPT_IN, function.events.append, "event")),
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    assert not errors, errors
    usb.util.dispose_resources(dev)
    return _report(seconds=elapsed)


def scenario_faults(harness: UmockdevHarness) -> int:
    """A stall (EPIPE) shows in PTP GetDeviceStatus until cleared; overflow is EOVERFLOW."""
    from alpaca_sony.simulator.usb_device import UsbPipe

    function = _loopback(harness)
    dev = _open(harness)
    function.next_fault = UsbPipe()
    error = _usb_error(lambda: dev.read(BULK_IN, PACKET, timeout=1000))
    assert error.errno == errno.EPIPE, error
    assert error.backend_error_code == -9
    status = bytes(dev.ctrl_transfer(0xA1, 0x67, 0, 0, 64))
    assert status == bytes.fromhex("0800 1f20 81000000"), status.hex()
    dev.clear_halt(BULK_IN)
    assert function.cleared == [BULK_IN]
    assert bytes(dev.ctrl_transfer(0xA1, 0x67, 0, 0, 64)) == bytes.fromhex("0400 0120")
    dev.ctrl_transfer(0x21, 0x66, 0, 0, None)  # PTP Device Reset Request
    assert function.resets == 1
    function.queue_in(b"z" * 1000)
    error = _usb_error(lambda: dev.read(BULK_IN, 100, timeout=1000))
    assert error.errno == errno.EOVERFLOW, error
    assert error.backend_error_code == -8
    error = _usb_error(lambda: dev.ctrl_transfer(0xC0, 0x99, 0, 0, 4))  # vendor: stalls
    assert error.errno == errno.EPIPE, error
    usb.util.dispose_resources(dev)
    return _report(status=status.hex())


class _Urb(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_ubyte),
        ("endpoint", ctypes.c_ubyte),
        ("status", ctypes.c_int),
        ("flags", ctypes.c_uint),
        ("buffer", ctypes.c_void_p),
        ("buffer_length", ctypes.c_int),
        ("actual_length", ctypes.c_int),
        ("start_frame", ctypes.c_int),
        ("number_of_packets", ctypes.c_int),
        ("error_count", ctypes.c_int),
        ("signr", ctypes.c_uint),
        ("usercontext", ctypes.c_void_p),
    )


def _ioctl(fd: int, request: int, arg: Any) -> None:
    # libc's ioctl (umockdev's preload wraps it): fcntl.ioctl cannot pass a lasting pointer.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
    if libc.ioctl(fd, request, arg) < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def scenario_raw_reapurb(harness: UmockdevHarness) -> int:
    """Raw usbdevfs: blocking REAPURB waits until the device answers (libusb never uses it)."""
    function = _loopback(harness)
    assert ctypes.sizeof(_Urb) == 56
    fd = os.open(harness.devnode(), os.O_RDWR)
    try:
        buffer = ctypes.create_string_buffer(PACKET)
        urb = _Urb(type=USBDEVFS_URB_TYPE_BULK, endpoint=BULK_IN, buffer_length=PACKET)
        urb.buffer = ctypes.addressof(buffer)
        _ioctl(fd, USBDEVFS_SUBMITURB, ctypes.addressof(urb))
        threading.Timer(0.1, function.queue_in, (b"raw data",)).start()
        reaped = ctypes.c_void_p()
        start = time.perf_counter()
        _ioctl(fd, USBDEVFS_REAPURB, ctypes.addressof(reaped))
        elapsed = time.perf_counter() - start
        assert reaped.value == ctypes.addressof(urb)
        assert (urb.status, urb.actual_length) == (0, 8)
        assert buffer.raw[:8] == b"raw data"
        assert 0.05 < elapsed < 2.0, elapsed
    finally:
        os.close(fd)
    return _report(seconds=elapsed)


def scenario_two_devices(harness: UmockdevHarness) -> int:
    """Each function is its own device: separate enumeration, handles and data."""
    found = usb.core.find(find_all=True, idVendor=VENDOR_ID)
    serials = sorted(d.serial_number for d in found)
    assert serials == ["LOOP-0001", "LOOP-0002"], serials
    first, second = harness.functions
    devices = [_open(harness, function=f) for f in (first, second)]
    for index, dev in enumerate(devices):
        dev.write(BULK_OUT, f"to {index}".encode())
    for index, dev in enumerate(devices):
        assert bytes(dev.read(BULK_IN, PACKET, timeout=1000)) == f"to {index}".encode()
    assert harness.stats(second).bulk_out_urbs == 1
    for dev in devices:
        usb.util.dispose_resources(dev)
    return _report(serials=serials)


def scenario_fail_with_open_device(harness: UmockdevHarness) -> int:
    """A target that fails while pyusb holds the device open must still exit, not hang."""
    dev = _open(harness)
    dev.write(BULK_OUT, b"left behind")
    raise RuntimeError("deliberate failure with the device open")


def _module_main() -> int:
    """Entry point for ``-m``: plain pyusb code, unaware of the harness, sees the device."""
    dev = usb.core.find(idVendor=VENDOR_ID, idProduct=PRODUCT_ID)
    assert dev is not None
    sys.stdout.write(json.dumps({"argv": sys.argv[1:], "serial": dev.serial_number}) + "\n")
    usb.util.dispose_resources(dev)
    return 0


if __name__ == "__main__":
    sys.exit(_module_main())
