"""Expose a :class:`UsbFunction` to the real libusb (and so to pyusb) through umockdev.

umockdev's preload library (``LD_PRELOAD``, set by ``umockdev-wrapper``) redirects ``/sys`` and
``/dev`` into a temporary test bed and forwards every ``ioctl()`` on an emulated device node to a
handler in this process. This module writes the sysfs description of a USB device built from its
:class:`UsbIdentity` and answers the usbdevfs ioctls libusb issues (``SUBMITURB``,
``REAPURBNDELAY``, ``DISCARDURB``, ...), so the unchanged libusb and pyusb code paths run against a
simulated camera: enumeration, descriptors, claiming, bulk and interrupt transfers, timeouts,
stalls and disconnects.

Requirements (Debian): ``umockdev libumockdev0 gir1.2-umockdev-1.0 python3-gi`` and
``libusb-1.0-0`` (or the PyPI ``libusb-package``). PyGObject is taken from Debian's
``/usr/lib/python3/dist-packages`` when it is not importable otherwise; it is imported lazily, so
importing this module never needs it.

The process must run under ``umockdev-wrapper``, and the harness must be started before the first
``usb.core.find()``: libusb scans sysfs and opens its hot-plug monitor once, at its first use.

Typical use, in a process started as ``umockdev-wrapper python script.py``::

    with UmockdevHarness(function) as harness:
        dev = harness.find()  # a usb.core.Device on the real libusb1 backend
        dev.set_configuration()
        dev.write(0x02, b"...")

or from any process (the helper spawns ``umockdev-wrapper``)::

    run_under_harness("pkg.sim:make_function", "pkg.checks:main")  # main(harness) -> exit code

which is the command line (it re-executes itself under ``umockdev-wrapper`` when needed)::

    python -m alpaca_sony.simulator.umockdev_harness pkg.sim:make_function pkg.checks:main
    python -m alpaca_sony.simulator.umockdev_harness pkg.sim:make_function -m pkg.app ARGS...

Handlers run on the test bed's GLib worker thread; a thread blocked in libusb has released the
GIL, so no main loop is needed.
"""

from __future__ import annotations

import argparse
import collections
import errno
import importlib
import importlib.util
import logging
import os
import runpy
import shutil
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, ClassVar, Final, Protocol, runtime_checkable

from alpaca_sony.simulator.usb_device import (
    LIBUSB_ERROR_NO_DEVICE,
    LIBUSB_ERROR_OVERFLOW,
    LIBUSB_ERROR_PIPE,
    LIBUSB_ERROR_TIMEOUT,
    UsbFault,
    UsbFunction,
    UsbIdentity,
)

logger = logging.getLogger(__name__)

DEBIAN_PACKAGES: Final = "umockdev libumockdev0 gir1.2-umockdev-1.0 python3-gi"
WRAPPER: Final = "umockdev-wrapper"
_DEBIAN_DIST_PACKAGES: Final = "/usr/lib/python3/dist-packages"
_PRELOAD_LIBRARY: Final = "libumockdev-preload"

# --- usbdevfs ABI (linux/usbdevice_fs.h, 64-bit little-endian) ---------------------------------


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("U") << 8) | nr


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
_USBDEVFS_CONNINFO_EX_NR: Final = 32
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

USBDEVFS_URB_TYPE_ISO: Final = 0
USBDEVFS_URB_TYPE_INTERRUPT: Final = 1
USBDEVFS_URB_TYPE_CONTROL: Final = 2
USBDEVFS_URB_TYPE_BULK: Final = 3
USBDEVFS_URB_SHORT_NOT_OK: Final = 0x01
USBDEVFS_URB_BULK_CONTINUATION: Final = 0x04
USBDEVFS_URB_ZERO_PACKET: Final = 0x40

_URB_FORMAT: Final = "<BBxxiI4xQiiiiiIQ"  # struct usbdevfs_urb without iso descriptors
_URB_SIZE: Final = struct.calcsize(_URB_FORMAT)
_URB_STATUS_OFFSET: Final = 4
_URB_BUFFER_OFFSET: Final = 16
_URB_ACTUAL_LENGTH_OFFSET: Final = 28
_SETUP_SIZE: Final = 8

_USB_SPEED_FULL, _USB_SPEED_HIGH, _USB_SPEED_SUPER = 2, 3, 5
_STRING_MANUFACTURER, _STRING_PRODUCT, _STRING_SERIAL = 1, 2, 3
_LANGID_EN_US: Final = 0x0409

# PTP still-image class requests (USB Still Image Capture Device Definition, 5.2).
PTP_CANCEL_REQUEST: Final = 0x64
PTP_DEVICE_RESET_REQUEST: Final = 0x66
PTP_GET_DEVICE_STATUS: Final = 0x67
_PTP_RC_OK: Final = 0x2001
_PTP_RC_TRANSACTION_CANCELLED: Final = 0x201F

# How URB completion reports each UsbFault, as the kernel would (None: never completes).
_URB_STATUS_FOR_FAULT: Final[dict[int, int | None]] = {
    LIBUSB_ERROR_NO_DEVICE: -errno.ESHUTDOWN,  # what the HCD reports for URBs killed by unplug
    LIBUSB_ERROR_OVERFLOW: -errno.EOVERFLOW,
    LIBUSB_ERROR_PIPE: -errno.EPIPE,
    LIBUSB_ERROR_TIMEOUT: None,
}
_IO_ERROR_STATUS: Final = -errno.EPROTO  # libusb maps it to LIBUSB_TRANSFER_ERROR
_REAP_WAIT_INTERVAL_MS: Final = 1
# umockdev's device fd is a socket that always polls writable, so libusb's event loop spins on
# REAPURBNDELAY while it waits. Once a client has been idle this long, each empty reap is held
# back for one interval: CPU and the GIL stay available to the application's own threads.
_IDLE_BEFORE_BACKOFF_S: Final = 0.005


class UmockdevUnavailable(RuntimeError):
    """The environment cannot run the umockdev harness (packages or LD_PRELOAD missing)."""


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


# --- descriptors and the sysfs description -------------------------------------------------------


def usb_speed_mbps(identity: UsbIdentity) -> str:
    """The sysfs ``speed`` attribute implied by the bulk packet size."""
    if identity.max_packet_size >= 1024:
        return "5000"
    if identity.max_packet_size >= 512:
        return "480"
    return "12"


def _is_super_speed(identity: UsbIdentity) -> bool:
    return identity.max_packet_size >= 1024


def device_descriptor(identity: UsbIdentity) -> bytes:
    """The 18-byte device descriptor (class defined at interface level, one configuration)."""
    super_speed = _is_super_speed(identity)
    return struct.pack(
        "<BBHBBBBHHHBBBB",
        18,
        1,
        0x0300 if super_speed else 0x0200,
        0,
        0,
        0,
        9 if super_speed else 64,  # SuperSpeed encodes EP0's 512 bytes as 2^9
        identity.vendor_id,
        identity.product_id,
        identity.bcd_device,
        _STRING_MANUFACTURER,
        _STRING_PRODUCT,
        _STRING_SERIAL,
        1,
    )


def configuration_descriptor(identity: UsbIdentity) -> bytes:
    """Configuration 1: one interface of the identity's class; bulk IN, bulk OUT, interrupt IN."""
    super_speed = _is_super_speed(identity)
    endpoints = b""
    for address, attributes, interval in (
        (identity.bulk_in_endpoint, 2, 0),
        (identity.bulk_out_endpoint, 2, 0),
        (identity.interrupt_in_endpoint, 3, 8),
    ):
        endpoints += struct.pack(
            "<BBBBHB", 7, 5, address, attributes, identity.max_packet_size, interval
        )
        if super_speed:
            per_interval = identity.max_packet_size if attributes == 3 else 0
            endpoints += struct.pack("<BBBBH", 6, 0x30, 0, 0, per_interval)
    interface = struct.pack(
        "<BBBBBBBBB",
        9,
        4,
        0,
        0,
        3,
        identity.interface_class,
        identity.interface_subclass,
        identity.interface_protocol,
        0,
    )
    total = 9 + len(interface) + len(endpoints)
    header = struct.pack("<BBHBBBBB", 9, 2, total, 1, 1, 0, 0xC0, 0x32)  # self-powered, 100 mA
    return header + interface + endpoints


def string_descriptor(identity: UsbIdentity, index: int) -> bytes | None:
    """String descriptor ``index`` (0: the language list), or None when there is none."""
    if index == 0:
        return struct.pack("<BBH", 4, 3, _LANGID_EN_US)
    text = {
        _STRING_MANUFACTURER: identity.manufacturer,
        _STRING_PRODUCT: identity.product,
        _STRING_SERIAL: identity.serial_number,
    }.get(index)
    if text is None:
        return None
    encoded = text.encode("utf-16-le")[:252]  # bLength is one byte
    return struct.pack("<BB", 2 + len(encoded), 3) + encoded


def device_node(identity: UsbIdentity) -> str:
    """The usbfs node libusb opens for this device."""
    return f"/dev/bus/usb/{identity.bus:03d}/{identity.address:03d}"


def sysfs_path(identity: UsbIdentity) -> str:
    """The sysfs device path the test bed creates (one port per address on the root hub)."""
    bus = identity.bus
    return f"/sys/devices/pci0000:00/0000:00:14.0/usb{bus}/{bus}-{identity.address}"


def umockdev_description(identity: UsbIdentity) -> str:
    """The ``.umockdev`` text that makes libusb and udev see the device.

    libusb reads the ``descriptors``, ``busnum``, ``devnum``, ``speed`` and
    ``bConfigurationValue`` attributes; the node content is what a usbfs ``read()`` returns.
    Strings are hex-encoded (``H:``) so that any text survives the format.
    """
    _check_identity(identity)
    descriptors = (device_descriptor(identity) + configuration_descriptor(identity)).hex().upper()
    bus, address = identity.bus, identity.address
    vid, pid = identity.vendor_id, identity.product_id
    interface = (
        f"{identity.interface_class:02x}{identity.interface_subclass:02x}"
        f"{identity.interface_protocol:02x}"
    )
    minor = (bus - 1) * 128 + address - 1
    version = " 3.00" if _is_super_speed(identity) else " 2.00"
    lines = [
        f"P: {sysfs_path(identity).removeprefix('/sys')}",
        f"N: {device_node(identity).removeprefix('/dev/')}={descriptors}",
        f"E: DEVNAME={device_node(identity)}",
        "E: SUBSYSTEM=usb",
        "E: DEVTYPE=usb_device",
        "E: DRIVER=usb",
        f"E: BUSNUM={bus:03d}",
        f"E: DEVNUM={address:03d}",
        "E: MAJOR=189",
        f"E: MINOR={minor}",
        f"E: PRODUCT={vid:x}/{pid:x}/{identity.bcd_device:x}",
        "E: TYPE=0/0/0",
        f"E: ID_VENDOR_ID={vid:04x}",
        f"E: ID_MODEL_ID={pid:04x}",
        f"E: ID_USB_INTERFACES=:{interface}:",
        "A: authorized=1\\n",
        "A: avoid_reset_quirk=0\\n",
        "A: bConfigurationValue=1\\n",
        "A: bDeviceClass=00\\n",
        "A: bDeviceProtocol=00\\n",
        "A: bDeviceSubClass=00\\n",
        f"A: bMaxPacketSize0={9 if _is_super_speed(identity) else 64}\\n",
        "A: bMaxPower=100mA\\n",
        "A: bNumConfigurations=1\\n",
        "A: bNumInterfaces= 1\\n",
        f"A: bcdDevice={identity.bcd_device:04x}\\n",
        "A: bmAttributes=c0\\n",
        f"A: busnum={bus}\\n",
        f"A: dev=189:{minor}\\n",
        f"A: devnum={address}\\n",
        f"A: devpath={address}\\n",
        f"A: idProduct={pid:04x}\\n",
        f"A: idVendor={vid:04x}\\n",
        "A: maxchild=0\\n",
        "A: quirks=0x0\\n",
        "A: removable=removable\\n",
        f"A: speed={usb_speed_mbps(identity)}\\n",
        f"A: version={version}\\n",
        f"H: descriptors={descriptors}",
        f"H: manufacturer={(identity.manufacturer + chr(10)).encode().hex().upper()}",
        f"H: product={(identity.product + chr(10)).encode().hex().upper()}",
        f"H: serial={(identity.serial_number + chr(10)).encode().hex().upper()}",
    ]
    return "\n".join(lines) + "\n\n"


def _check_identity(identity: UsbIdentity) -> None:
    problems = []
    if not (0 <= identity.vendor_id <= 0xFFFF and 0 <= identity.product_id <= 0xFFFF):
        problems.append("vendor/product id out of range")
    if not (1 <= identity.bus <= 255 and 1 <= identity.address <= 127):
        problems.append("bus must be 1..255 and address 1..127")
    if not identity.bulk_in_endpoint & 0x80 or identity.bulk_out_endpoint & 0x80:
        problems.append("bulk endpoint direction bits are wrong")
    if not identity.interrupt_in_endpoint & 0x80:
        problems.append("interrupt endpoint must be IN")
    if identity.max_packet_size not in (8, 16, 32, 64, 512, 1024):
        problems.append("max_packet_size must be a legal bulk packet size")
    if problems:
        raise ValueError(f"unusable UsbIdentity {identity}: " + "; ".join(problems))


# --- environment ---------------------------------------------------------------------------------


def preload_active() -> bool:
    """True when this process runs with umockdev's preload library (under ``umockdev-wrapper``)."""
    return _PRELOAD_LIBRARY in os.environ.get("LD_PRELOAD", "")


def _unavailable(reason: str) -> UmockdevUnavailable:
    return UmockdevUnavailable(
        f"{reason}. The umockdev harness needs the Debian packages {DEBIAN_PACKAGES} "
        f"(apt-get install {DEBIAN_PACKAGES}) and the process must run under {WRAPPER} "
        f"(e.g. `{WRAPPER} python -m pytest ...` or `{WRAPPER} python script.py`)."
    )


def load_umockdev() -> tuple[Any, Any]:
    """Import PyGObject's ``UMockdev`` and ``GLib`` bindings.

    PyGObject has no wheels on PyPI: when ``gi`` is not importable, Debian's dist-packages (built
    for the same Python 3.11) is appended to ``sys.path``, after every other entry.

    Returns:
        The ``(UMockdev, GLib)`` modules.

    Raises:
        UmockdevUnavailable: python3-gi or the UMockdev typelib is missing.
    """
    try:
        import gi  # optional system dependency, imported on demand
    except ImportError:
        if Path(_DEBIAN_DIST_PACKAGES).is_dir() and _DEBIAN_DIST_PACKAGES not in sys.path:
            sys.path.append(_DEBIAN_DIST_PACKAGES)
        try:
            import gi
        except ImportError as exc:
            raise _unavailable(f"PyGObject (gi) cannot be imported: {exc}") from exc
    try:
        gi.require_version("UMockdev", "1.0")
        from gi.repository import GLib, UMockdev
    except (ValueError, ImportError) as exc:
        raise _unavailable(f"the UMockdev GObject typelib is missing: {exc}") from exc
    return UMockdev, GLib


def wrapper_path() -> str:
    """Absolute path of ``umockdev-wrapper``.

    Raises:
        UmockdevUnavailable: it is not on ``PATH``.
    """
    path = shutil.which(WRAPPER)
    if path is None:
        raise _unavailable(f"{WRAPPER} is not on PATH")
    return path


def umockdev_command(args: Sequence[str]) -> list[str]:
    """``args`` prefixed with ``umockdev-wrapper`` (which sets ``LD_PRELOAD``)."""
    return [wrapper_path(), *args]


def ensure_preloaded() -> None:
    """Re-execute this Python process under ``umockdev-wrapper`` unless it already runs there.

    Call it first thing in a script: the preload library must be in place from process start.
    """
    if preload_active():
        return
    command = umockdev_command([sys.executable, *sys.orig_argv[1:]])
    logger.debug("re-executing under %s: %s", WRAPPER, command)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # noqa: S606 -- replaces this process with the same command


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def run_under_harness(
    factory: str,
    target: str,
    args: Sequence[str] = (),
    *,
    as_module: bool = False,
    scatter_gather: bool = True,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``target`` in a fresh ``umockdev-wrapper`` Python process behind a harness.

    The child runs ``python -m alpaca_sony.simulator.umockdev_harness FACTORY TARGET ARGS...``.

    Args:
        factory: ``"pkg.module:callable"`` or ``"path/file.py:callable"`` returning a
            :class:`UsbFunction` (or a sequence of them).
        target: the same form, called with the started :class:`UmockdevHarness`; its int result
            is the exit code. With ``as_module`` it is a module run as ``__main__`` instead.
        args: the target's ``sys.argv[1:]``.
        as_module: run ``target`` like ``python -m target``.
        scatter_gather: False hides ``USBDEVFS_CAP_BULK_SCATTER_GATHER``, so that libusb
            splits bulk transfers into 16 KiB URBs.
        timeout: seconds before the child is killed (``subprocess.TimeoutExpired``).
        env: the child's environment (default: this one); the package root is added to
            ``PYTHONPATH``.
        cwd: the child's working directory.

    Returns:
        The finished process, with text stdout and stderr captured.

    Raises:
        UmockdevUnavailable: ``umockdev-wrapper`` is not installed.
    """
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_package_root(), child_env.get("PYTHONPATH", "")) if p
    )
    command = [sys.executable, "-m", __name__]
    command += [] if scatter_gather else ["--no-scatter-gather"]
    command.append(factory)
    command += ["-m", target] if as_module else [target]
    command = umockdev_command([*command, *args])
    return subprocess.run(  # noqa: S603 -- fixed argv, no shell
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
        cwd=cwd,
        check=False,
    )


# --- URB bookkeeping -----------------------------------------------------------------------------


@dataclass(eq=False)
class _Urb:
    """One submitted URB, known by its address in the client; the result waits here for reaping."""

    owner: _ClientState
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
        return bool(self.endpoint & 0x80)


@dataclass(eq=False)
class _ClientState:
    """Per open file descriptor, as the kernel's ``usb_dev_state``."""

    name: str
    claimed: set[int] = field(default_factory=set)
    in_flight: dict[int, _Urb] = field(default_factory=dict)  # by client address
    completed: collections.deque[_Urb] = field(default_factory=collections.deque)
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


class _Completion(Exception):
    """Raised inside request handlers to end an ioctl with ``-1`` and an errno."""

    def __init__(self, error: int) -> None:
        super().__init__(errno.errorcode.get(error, str(error)))
        self.error = error


class _UsbfsDevice:
    """The usbdevfs side of one simulated device: answers the ioctls of every client.

    All state is guarded by one lock: ioctls arrive on the GLib worker thread, while
    :meth:`poll` may also run from the thread that owns the harness.
    """

    def __init__(self, function: UsbFunction, capabilities: int, glib: Any) -> None:
        self.function = function
        self.identity = function.identity
        self.capabilities = capabilities
        self.stats = UrbStats()
        self._glib = glib
        self._lock = threading.RLock()
        self._clients: dict[Any, _ClientState] = {}  # by UMockdev.IoctlClient
        self._opened = 0
        self._pending_in: dict[int, collections.deque[_Urb]] = collections.defaultdict(
            collections.deque
        )
        self._halted: set[int] = set()
        self._gone = not function.attached
        self._endpoint_types = {
            self.identity.bulk_in_endpoint: USBDEVFS_URB_TYPE_BULK,
            self.identity.bulk_out_endpoint: USBDEVFS_URB_TYPE_BULK,
            self.identity.interrupt_in_endpoint: USBDEVFS_URB_TYPE_INTERRUPT,
        }
        self._control = function if isinstance(function, ControlFunction) else None

    # -- signal entry points (GLib worker thread) --

    def handle_ioctl(self, _base: Any, client: Any) -> bool:
        """``handle-ioctl`` handler: answer one ioctl; always claims it."""
        request = client.get_request()
        try:
            with self._lock:
                state = self._client_state(client)
                result = self._dispatch(client, state, request)
        except _Completion as done:
            client.complete(-1, done.error)
        except Exception:
            # A bug here must not hang the client: fail the ioctl visibly instead.
            logger.exception("umockdev handler failed on ioctl 0x%08x", request)
            client.complete(-1, errno.EIO)
        else:
            if result is not None:
                client.complete(result, 0)
        return True

    def _client_state(self, client: Any) -> _ClientState:
        state = self._clients.get(client)
        if state is None:
            self._prune_clients()
            state = _ClientState(name=f"fd#{self._opened + 1}", disconnected=self._gone)
            self._opened += 1
            self._clients[client] = state
            logger.debug("%s: client %s connected", device_node(self.identity), state.name)
        return state

    def _prune_clients(self) -> None:
        """Forget clients whose fd was closed, with their URBs, as ``usbdev_release()`` does.

        umockdev emits no signal when a client goes away, so this polls ``connected``.
        """
        for client in [c for c in self._clients if not c.get_connected()]:
            state = self._clients.pop(client)
            for queue in self._pending_in.values():
                for urb in [u for u in queue if u.owner is state]:
                    queue.remove(urb)
            logger.debug("%s: client %s closed", device_node(self.identity), state.name)

    # -- dispatch --

    def _dispatch(self, client: Any, state: _ClientState, request: int) -> int | None:
        """Answer ``request``; return the ioctl result, or None when completed asynchronously."""
        self._check_attached()
        if request == USBDEVFS_REAPURBNDELAY:
            idle = time.monotonic() - state.last_activity > _IDLE_BEFORE_BACKOFF_S
            return self._reap_waiting(client, state, give_up_after=1 if idle else 0)
        if request == USBDEVFS_REAPURB:
            return self._reap_waiting(client, state, give_up_after=None)
        if state.disconnected:
            raise _Completion(errno.ENODEV)
        handler = self._simple_handlers.get(request)
        if handler is not None:
            return handler(self, client, state)
        if request & 0xFFFF == (ord("U") << 8) | _USBDEVFS_CONNINFO_EX_NR:
            return self._conninfo_ex(client, request)
        logger.debug("%s: unsupported ioctl 0x%08x", device_node(self.identity), request)
        raise _Completion(errno.ENOTTY)

    def _capabilities(self, client: Any, _state: _ClientState) -> int:
        client.get_arg().resolve(0, 4).update(0, struct.pack("<I", self.capabilities))
        return 0

    def _claim(self, client: Any, state: _ClientState) -> int:
        return self._claim_interface(state, _read_uint(client))

    def _disconnect_claim(self, client: Any, state: _ClientState) -> int:
        # struct usbdevfs_disconnect_claim starts with the interface; there is no driver to drop.
        return self._claim_interface(state, _read_uint(client))

    def _claim_interface(self, state: _ClientState, interface: int) -> int:
        if interface != 0:
            raise _Completion(errno.ENOENT)
        self._prune_clients()
        for other in self._clients.values():
            if other is not state and not other.disconnected and interface in other.claimed:
                raise _Completion(errno.EBUSY)
        state.claimed.add(interface)
        return 0

    def _release(self, client: Any, state: _ClientState) -> int:
        interface = _read_uint(client)
        if interface not in state.claimed:
            raise _Completion(errno.EINVAL)
        state.claimed.discard(interface)
        return 0

    def _set_configuration(self, client: Any, _state: _ClientState) -> int:
        value = struct.unpack("<i", client.get_arg().resolve(0, 4).retrieve())[0]
        if value not in (-1, 0, 1):
            raise _Completion(errno.EINVAL)
        return 0

    def _set_interface(self, client: Any, _state: _ClientState) -> int:
        interface, alternate = struct.unpack("<II", client.get_arg().resolve(0, 8).retrieve())
        if interface != 0:
            raise _Completion(errno.ENOENT)
        if alternate != 0:
            raise _Completion(errno.EINVAL)
        return 0

    def _clear_halt(self, client: Any, _state: _ClientState) -> int:
        endpoint = _read_uint(client) & 0xFF
        if endpoint not in self._endpoint_types:
            raise _Completion(errno.ENOENT)
        self._call_clear_halt(endpoint)
        return 0

    def _call_clear_halt(self, endpoint: int) -> None:
        self._halted.discard(endpoint)
        try:
            self.function.clear_halt(endpoint)
        except UsbFault as fault:
            raise _Completion(_errno_for_fault(fault)) from fault

    def _reset(self, _client: Any, _state: _ClientState) -> int:
        # A port reset kills every URB in flight on the device.
        for client_state in self._clients.values():
            self._cancel_all(client_state, -errno.ENOENT)
        self._halted.clear()
        try:
            self.function.reset()
        except UsbFault as fault:
            raise _Completion(_errno_for_fault(fault)) from fault
        return 0

    def _no_driver(self, _client: Any, _state: _ClientState) -> int:
        raise _Completion(errno.ENODATA)  # no kernel driver bound: nothing to detach

    def _accept(self, _client: Any, _state: _ClientState) -> int:
        return 0

    def _connectinfo(self, client: Any, _state: _ClientState) -> int:
        slow = 1 if self.identity.max_packet_size <= 8 else 0
        info = struct.pack("<IB3x", self.identity.address, slow)
        client.get_arg().resolve(0, 8).update(0, info)
        return 0

    def _speed(self) -> int:
        speed = usb_speed_mbps(self.identity)
        return {"5000": _USB_SPEED_SUPER, "480": _USB_SPEED_HIGH}.get(speed, _USB_SPEED_FULL)

    def _get_speed(self, _client: Any, _state: _ClientState) -> int:
        return self._speed()

    def _conninfo_ex(self, client: Any, request: int) -> int:
        size = (request >> 16) & 0x3FFF
        ports = bytes([self.identity.address]) + bytes(6)
        info = struct.pack(
            "<IIIIB7s", 24, self.identity.bus, self.identity.address, self._speed(), 1, ports
        )[:size]
        client.get_arg().resolve(0, size).update(0, info)
        return 0

    # -- URBs --

    def _submit(self, client: Any, state: _ClientState) -> int:
        arg = client.get_arg()
        address = struct.unpack("<Q", arg.retrieve())[0]
        data = arg.resolve(0, _URB_SIZE)
        fields = struct.unpack(_URB_FORMAT, data.retrieve())
        urb_type, endpoint, _, flags, _, buffer_length = fields[:6]
        urb = _Urb(state, address, urb_type, endpoint, flags, max(buffer_length, 0))
        if urb_type == USBDEVFS_URB_TYPE_CONTROL:
            done = self._submit_control(urb, data)
        elif urb_type in (USBDEVFS_URB_TYPE_BULK, USBDEVFS_URB_TYPE_INTERRUPT):
            done = self._submit_data(urb, data)
        else:
            raise _Completion(errno.EINVAL)  # the device has no isochronous endpoints
        self.stats.submitted += 1
        state.last_activity = time.monotonic()
        state.in_flight[address] = urb
        if done:
            self._finish(urb)
        elif urb.is_in and not urb.stuck:
            self._pending_in[urb.endpoint].append(urb)
            self._poll_in()
        return 0

    def _submit_data(self, urb: _Urb, data: Any) -> bool:
        """Check and account a bulk or interrupt URB; True when it is already complete."""
        state = urb.owner
        expected = self._endpoint_types.get(urb.endpoint)
        if expected is None:
            raise _Completion(errno.ENOENT)
        if expected != urb.type:
            raise _Completion(errno.EINVAL)
        if urb.type == USBDEVFS_URB_TYPE_BULK:
            # Kernel semantics for split transfers: after a short or failed URB, the rest of the
            # transfer (URBs flagged BULK_CONTINUATION) must not eat the next transfer's data.
            if urb.flags & USBDEVFS_URB_BULK_CONTINUATION:
                if urb.endpoint in state.disabled_bulk_endpoints:
                    raise _Completion(errno.EREMOTEIO)
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
            payload = data.resolve(_URB_BUFFER_OFFSET, urb.buffer_length).retrieve()
        return self._write_out(urb, payload)

    def _write_out(self, urb: _Urb, payload: bytes) -> bool:
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
            urb.status = _IO_ERROR_STATUS
            return True
        if urb.type == USBDEVFS_URB_TYPE_BULK:
            self.stats.bulk_out_bytes += len(payload)
        urb.actual_length = len(payload)
        return True

    def _fail(self, urb: _Urb, fault: UsbFault) -> None:
        status = _URB_STATUS_FOR_FAULT.get(fault.libusb_code, _IO_ERROR_STATUS)
        if status is None:
            urb.stuck = True
            return
        urb.status = status
        if status == -errno.EPIPE:
            self._halted.add(urb.endpoint)
        if status == -errno.ESHUTDOWN:
            self._disconnect()

    def _poll_in(self) -> None:
        """Complete the IN URBs at the head of each endpoint's queue while the function has data.

        A stuck URB at the head blocks its endpoint, as a device that never answers does.
        """
        self._prune_clients()  # a closed fd's URBs must not take the device's data
        for queue in self._pending_in.values():
            while queue and not queue[0].stuck and not self._gone:
                urb = queue[0]
                if not self._read_in(urb):
                    break
                if queue and queue[0] is urb:  # a disconnect may have emptied the queue
                    queue.popleft()
                self._finish(urb)

    def _read_in(self, urb: _Urb) -> bool:
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
            urb.status = _IO_ERROR_STATUS
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

    def _finish(self, urb: _Urb) -> None:
        """Move a finished URB to its owner's reap queue."""
        state = urb.owner
        if state.in_flight.pop(urb.address, None) is None:
            return
        state.completed.append(urb)
        failed = urb.status < 0 and urb.status not in (-errno.ENOENT, -errno.ECONNRESET)
        if urb.type == USBDEVFS_URB_TYPE_BULK and failed:
            self._cancel_continuations(state, urb.endpoint)

    def _cancel_continuations(self, state: _ClientState, endpoint: int) -> None:
        state.disabled_bulk_endpoints.add(endpoint)
        queue = self._pending_in.get(endpoint, collections.deque())
        for urb in [u for u in queue if u.owner is state]:
            if urb.flags & USBDEVFS_URB_BULK_CONTINUATION:
                queue.remove(urb)
                urb.status = -errno.ECONNRESET
                self._finish(urb)

    def _cancel_all(self, state: _ClientState, status: int) -> None:
        for urb in list(state.in_flight.values()):
            self._unqueue(urb)
            urb.status = status
            urb.stuck = False
            self._finish(urb)

    def _unqueue(self, urb: _Urb) -> None:
        queue = self._pending_in.get(urb.endpoint)
        if queue is not None and urb in queue:
            queue.remove(urb)

    def _discard(self, client: Any, state: _ClientState) -> int:
        address = struct.unpack("<Q", client.get_arg().retrieve())[0]
        urb = state.in_flight.get(address)
        if urb is None:
            raise _Completion(errno.EINVAL)  # already completed: libusb will reap it
        self._unqueue(urb)
        urb.status = -errno.ENOENT  # usb_kill_urb(): libusb's cancellation and timeout path
        urb.stuck = False
        self.stats.discarded += 1
        self._finish(urb)
        return 0

    def _reap(self, client: Any, state: _ClientState) -> int:
        self._poll_in()
        if not state.completed:
            raise _Completion(errno.ENODEV if state.disconnected else errno.EAGAIN)
        urb = state.completed.popleft()
        self._deliver(client, urb)
        state.last_activity = time.monotonic()
        return 0

    def _deliver(self, client: Any, urb: _Urb) -> None:
        """Write the URB's result into the client's memory and hand its address back.

        The URB and its buffer are resolved afresh from the reap's own argument: client memory
        resolved during an earlier ioctl is not written back reliably.
        """
        slot = client.get_arg().resolve(0, 8)  # the caller's ``struct usbdevfs_urb *``
        slot.update(0, struct.pack("<Q", urb.address))
        data = slot.resolve(0, _URB_SIZE)
        data.update(_URB_STATUS_OFFSET, struct.pack("<i", urb.status))
        data.update(_URB_ACTUAL_LENGTH_OFFSET, struct.pack("<i", urb.actual_length))
        if urb.payload:  # IN data (a control URB's endpoint is 0 whatever its direction)
            # Only the bytes received travel: a large transfer costs one copy each way.
            start = _SETUP_SIZE if urb.type == USBDEVFS_URB_TYPE_CONTROL else 0
            buffer = data.resolve(_URB_BUFFER_OFFSET, start + len(urb.payload))
            buffer.update(start, urb.payload)
        self.stats.reaped += 1

    def _reap_waiting(
        self, client: Any, state: _ClientState, give_up_after: int | None
    ) -> int | None:
        """Reap, waiting up to ``give_up_after`` intervals (None: forever) for a completion.

        ``REAPURB`` waits like the kernel does (libusb never uses it); an idle ``REAPURBNDELAY``
        waits one interval before its EAGAIN. Returns None when the answer comes later, from a
        timeout source on the worker's main context.
        """
        try:
            return self._reap(client, state)
        except _Completion as done:
            if done.error != errno.EAGAIN or give_up_after == 0:
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
                    result = self._reap(client, state)
            except _Completion as done:
                if done.error == errno.EAGAIN and (
                    give_up_after is None or ticks[0] < give_up_after
                ):
                    return True
                client.complete(-1, done.error)
            except Exception:
                logger.exception("waiting reap failed")
                client.complete(-1, errno.EIO)
            else:
                client.complete(result, 0)
            return False

        source.set_callback(lambda *_: retry())
        source.attach(context)
        return None

    # -- control transfers --

    def _submit_control(self, urb: _Urb, data: Any) -> bool:
        """Answer a control URB at once; True unless the function is stuck on it."""
        if urb.buffer_length < _SETUP_SIZE:
            raise _Completion(errno.EINVAL)
        raw = data.resolve(_URB_BUFFER_OFFSET, urb.buffer_length).retrieve()
        request_type, request, value, index, length = struct.unpack("<BBHHH", raw[:_SETUP_SIZE])
        data_or_length: bytes | int
        if request_type & 0x80:
            length = min(length, urb.buffer_length - _SETUP_SIZE)
            data_or_length = length
        else:
            data_or_length = bytes(raw[_SETUP_SIZE : _SETUP_SIZE + length])
        try:
            answer = self._control_request(request_type, request, value, index, data_or_length)
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

    def _control_request(
        self, request_type: int, request: int, value: int, index: int, data_or_length: bytes | int
    ) -> bytes | int | None:
        """Answer one control request: bytes (IN), a count (OUT), or None for a stall."""
        kind = request_type & 0x60
        if kind != 0:  # class or vendor
            if self._control is not None:
                return self._control.control_transfer(
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
                return device_descriptor(self.identity)
            if descriptor_type == 2 and descriptor_index == 0:
                return configuration_descriptor(self.identity)
            if descriptor_type == 3:
                return string_descriptor(self.identity, descriptor_index)
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
            self._call_clear_halt(index & 0xFF)
            return out_count
        if request_type in (0x00, 0x01, 0x02) and request in (0x03, 0x09, 0x0B):
            return out_count  # SET_FEATURE, SET_CONFIGURATION, SET_INTERFACE
        return None

    def _ptp_class_request(
        self, request_type: int, request: int, data_or_length: bytes | int
    ) -> bytes | int | None:
        """Default answers to the still-image class requests when the function has none."""
        if request_type == 0x21 and request == PTP_DEVICE_RESET_REQUEST:
            self.function.reset()
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

    # -- attachment --

    def _check_attached(self) -> None:
        if not self._gone and not self.function.attached:
            self._disconnect()

    def _disconnect(self) -> None:
        """The cable was pulled: kill every URB in flight; every open fd is dead from now on."""
        if self._gone:
            return
        self._gone = True
        logger.info("%s: device disconnected", device_node(self.identity))
        for state in self._clients.values():
            state.disconnected = True
            state.claimed.clear()  # the kernel unbinds every interface of a removed device
            self._cancel_all(state, -errno.ESHUTDOWN)
        self._halted.clear()

    def poll(self) -> None:
        """Notice a pulled cable and complete IN URBs that now have data (any thread)."""
        with self._lock:
            self._check_attached()
            self._poll_in()

    @property
    def gone(self) -> bool:
        """True once the device was seen detached."""
        return self._gone

    def open_clients(self) -> int:
        """How many fds on this device are still open."""
        with self._lock:
            self._prune_clients()
            return len(self._clients)

    def replugged(self) -> None:
        """The device enumerates again: new clients are live (old fds stay dead)."""
        with self._lock:
            self._gone = False

    _simple_handlers: ClassVar[dict[int, Callable[[_UsbfsDevice, Any, _ClientState], int]]] = {
        USBDEVFS_GET_CAPABILITIES: _capabilities,
        USBDEVFS_CLAIMINTERFACE: _claim,
        USBDEVFS_RELEASEINTERFACE: _release,
        USBDEVFS_DISCONNECT_CLAIM: _disconnect_claim,
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


def _read_uint(client: Any) -> int:
    value: int = struct.unpack("<I", client.get_arg().resolve(0, 4).retrieve())[0]
    return value


def _errno_for_fault(fault: UsbFault) -> int:
    return {
        LIBUSB_ERROR_NO_DEVICE: errno.ENODEV,
        LIBUSB_ERROR_PIPE: errno.EPIPE,
        LIBUSB_ERROR_TIMEOUT: errno.ETIMEDOUT,
        LIBUSB_ERROR_OVERFLOW: errno.EOVERFLOW,
    }.get(fault.libusb_code, errno.EIO)


# --- the harness ---------------------------------------------------------------------------------


@dataclass(eq=False)
class _Bed:
    """What a started harness owns; torn down by :func:`_tear_down` (at most once)."""

    testbed: Any
    devices: list[_UsbfsDevice]
    bases: list[Any]
    present: list[bool]

    def add(self, index: int) -> None:
        identity = self.devices[index].identity
        if not self.testbed.add_from_string(umockdev_description(identity)):
            raise RuntimeError(f"umockdev rejected the description of {device_node(identity)}")
        if not self.testbed.attach_ioctl(device_node(identity), self.bases[index]):
            raise RuntimeError(f"umockdev could not attach to {device_node(identity)}")
        self.present[index] = True

    def remove(self, index: int) -> None:
        # Open fds keep their connection to the handler: a dead handle still gets ENODEV.
        identity = self.devices[index].identity
        self.testbed.uevent(sysfs_path(identity), "remove")
        self.testbed.detach_ioctl(device_node(identity))
        self.testbed.remove_device(sysfs_path(identity))
        self.present[index] = False


def _tear_down(bed: _Bed) -> None:
    for index, present in enumerate(bed.present):
        if present:
            bed.remove(index)
    bed.testbed.clear()  # removes the temporary root directory
    bed.testbed = None


class UmockdevHarness:
    """Puts one or more :class:`UsbFunction` objects behind the real libusb via a umockdev test bed.

    Each function gets a sysfs device (from its :class:`UsbIdentity`; bus and address must be
    unique) and an ioctl handler on its usbfs node. Faults the function raises reach libusb as the
    kernel reports them: ``UsbNoDevice`` kills the URB with ``-ESHUTDOWN`` and every later ioctl
    fails with ``ENODEV`` (``LIBUSB_ERROR_NO_DEVICE``); ``UsbOverflow`` -> ``-EOVERFLOW``;
    ``UsbPipe`` -> ``-EPIPE`` (a stall); ``UsbStuck`` leaves the URB in flight until libusb's
    timeout discards it. A function whose ``attached`` turns False is treated as unplugged.

    Control requests: standard ones (descriptors, status, configuration, CLEAR_FEATURE(HALT)) are
    answered here. Class and vendor requests go to ``function.control_transfer`` when the function
    implements :class:`ControlFunction`; otherwise the PTP class requests get defaults: Device
    Reset (0x66) calls ``function.reset()``, Cancel (0x64) is accepted, Get Device Status (0x67)
    returns OK (0x2001), or Transaction_Cancelled (0x201F) with the stalled endpoints while any
    endpoint is halted.

    Start it before the first ``usb.core.find()`` of the process, in a process started under
    ``umockdev-wrapper``. One harness per process (umockdev's test bed is process-global).
    """

    def __init__(self, *functions: UsbFunction, capabilities: int = DEFAULT_CAPABILITIES) -> None:
        """Prepare the harness; nothing happens before :meth:`start`.

        Args:
            *functions: the simulated devices.
            capabilities: the ``USBDEVFS_CAP_*`` bits reported to libusb. Drop
                ``USBDEVFS_CAP_BULK_SCATTER_GATHER`` to make libusb split bulk transfers into
                16 KiB URBs.

        Raises:
            ValueError: no function, or two share a bus and address.
        """
        if not functions:
            raise ValueError("UmockdevHarness needs at least one UsbFunction")
        nodes = [device_node(f.identity) for f in functions]
        if len(set(nodes)) != len(nodes):
            raise ValueError(f"two functions share a bus/address: {nodes}")
        self._functions = functions
        self._capabilities = capabilities
        self._bed: _Bed | None = None
        self._kept_bed: _Bed | None = None
        _active_all.append(self)
        self._finalizer: weakref.finalize[[_Bed], UmockdevHarness] | None = None

    @property
    def functions(self) -> tuple[UsbFunction, ...]:
        """The simulated devices, in the order given."""
        return self._functions

    @property
    def testbed(self) -> Any:
        """The ``UMockdev.Testbed`` (None unless started)."""
        return None if self._bed is None else self._bed.testbed

    def __enter__(self) -> UmockdevHarness:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Create the test bed and add every attached function's device.

        Raises:
            UmockdevUnavailable: no preload library in this process, or no PyGObject/UMockdev.
            RuntimeError: umockdev rejected the device description.
        """
        if self._bed is not None:
            return
        if not preload_active():
            raise _unavailable(
                f"this process was not started under {WRAPPER} (LD_PRELOAD lacks "
                f"{_PRELOAD_LIBRARY}.so)"
            )
        umockdev, glib = load_umockdev()
        bed = _Bed(umockdev.Testbed.new(), [], [], [])
        for function in self._functions:
            device = _UsbfsDevice(function, self._capabilities, glib)
            base = umockdev.IoctlBase()
            base.connect("handle-ioctl", device.handle_ioctl)
            bed.devices.append(device)
            bed.bases.append(base)
            bed.present.append(False)
        # Created before any pyusb object, this finalizer runs after pyusb's own at exit: a
        # handle pyusb closes then still reaches a live handler instead of hanging.
        self._finalizer = weakref.finalize(self, _tear_down, bed)
        self._bed = bed
        _active.append(self)
        for index, function in enumerate(self._functions):
            if function.attached:
                bed.add(index)
        logger.info(
            "umockdev test bed at %s with %s",
            bed.testbed.get_root_dir(),
            ", ".join(device_node(f.identity) for f in self._functions),
        )

    def discard_test_bed(self) -> None:
        """Remove the test bed's temporary folder without touching open device handles."""
        bed = self._bed or self._kept_bed
        self._bed = self._kept_bed = None
        if bed is not None and bed.testbed is not None:
            bed.testbed.clear()
            bed.testbed = None
        if self._finalizer is not None:
            self._finalizer.detach()

    def close(self) -> None:
        """Remove the devices and the test bed (its temporary directory goes with it).

        While pyusb still holds a device open, the test bed stays up until the process exits, so
        that closing the handle later (pyusb's finalizers) still gets answers.
        """
        bed, self._bed = self._bed, None
        if bed is None or self._finalizer is None:
            return
        _active.remove(self)
        if any(device.open_clients() for device in bed.devices):
            logger.debug("a device is still open: the test bed is torn down at exit")
            self._kept_bed = bed
            return
        self._finalizer()

    def refresh_attachment(self) -> None:
        """Make enumeration follow each function's ``attached`` (unplug and replug).

        In-flight URBs of a detached function fail at once (``LIBUSB_ERROR_NO_DEVICE``), its
        device leaves sysfs with a ``remove`` uevent, and it comes back (with an ``add`` uevent)
        when ``attached`` is True again. :meth:`find` calls this first.
        """
        bed = self._require_started()
        for index, device in enumerate(bed.devices):
            device.poll()
            attached = device.function.attached
            if bed.present[index] and not attached:
                bed.remove(index)
            elif not bed.present[index] and attached:
                device.replugged()
                bed.add(index)

    def poll(self) -> None:
        """Complete pending IN URBs whose data became ready, without waiting for libusb to ask."""
        for device in self._require_started().devices:
            device.poll()

    def stats(self, function: UsbFunction | None = None) -> UrbStats:
        """URB counters of ``function`` (default: the first one)."""
        return self._device(function).stats

    def devnode(self, function: UsbFunction | None = None) -> str:
        """The ``/dev/bus/usb/BBB/DDD`` node of ``function`` (default: the first one)."""
        return device_node((function or self._functions[0]).identity)

    def find(self, backend: Any = None, function: UsbFunction | None = None) -> Any:
        """Find the device with pyusb, by vendor and product id, bus and address.

        Args:
            backend: a pyusb backend (default: the system libusb via
                ``usb.backend.libusb1.get_backend()``).
            function: which device (default: the first one).

        Returns:
            The ``usb.core.Device``, or None when it is not attached.
        """
        # pyusb is imported here: only callers of find() need it.
        import usb.backend.libusb1
        import usb.core

        self.refresh_attachment()
        identity = (function or self._functions[0]).identity
        if backend is None:
            backend = usb.backend.libusb1.get_backend()
        return usb.core.find(
            idVendor=identity.vendor_id,
            idProduct=identity.product_id,
            custom_match=lambda d: (d.bus, d.address) == (identity.bus, identity.address),
            backend=backend,
        )

    def _device(self, function: UsbFunction | None) -> _UsbfsDevice:
        devices = self._require_started().devices
        if function is None:
            return devices[0]
        for device in devices:
            if device.function is function:
                return device
        raise ValueError("function is not part of this harness")

    def _require_started(self) -> _Bed:
        if self._bed is None:
            raise RuntimeError("UmockdevHarness is not started")
        return self._bed


_active: list[UmockdevHarness] = []
_active_all: list[UmockdevHarness] = []  # every harness made, for the exit-time clean-up


def active_harness() -> UmockdevHarness | None:
    """The started harness of this process, e.g. for a module run by ``main`` with ``-m``."""
    return _active[-1] if _active else None


# --- command line: run code behind a harness ----------------------------------------------------

_loaded_files: dict[str, ModuleType] = {}


def resolve_reference(reference: str) -> Any:
    """Import ``"pkg.module:attr"`` or ``"path/to/file.py:attr"`` and return the attribute."""
    module_name, sep, attribute = reference.rpartition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected MODULE:ATTRIBUTE or FILE.py:ATTRIBUTE, got {reference!r}")
    if module_name.endswith(".py"):
        path = str(Path(module_name).resolve())
        module = _loaded_files.get(path)
        if module is None:
            spec = importlib.util.spec_from_file_location(Path(path).stem, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault(spec.name, module)
            spec.loader.exec_module(module)
            _loaded_files[path] = module
    else:
        module = importlib.import_module(module_name)
    return getattr(module, attribute)


def _functions_from(made: Any) -> list[UsbFunction]:
    if isinstance(made, list | tuple):
        return list(made)
    return [made]


def check_environment() -> list[str]:
    """Describe the umockdev environment.

    Raises:
        UmockdevUnavailable: a package or the wrapper is missing.
    """
    load_umockdev()
    return [
        f"{WRAPPER}: {wrapper_path()}",
        "PyGObject with the UMockdev 1.0 typelib: importable",
        f"LD_PRELOAD has {_PRELOAD_LIBRARY}: {preload_active()}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run Python code with simulated USB devices behind the real libusb.

    ``python -m alpaca_sony.simulator.umockdev_harness [options] FACTORY TARGET [ARGS...]``
    calls ``TARGET(harness)`` (its int result is the exit code);
    ``... FACTORY -m MODULE [ARGS...]`` runs ``MODULE`` as ``__main__`` with ``ARGS``.
    ``FACTORY`` (``pkg.module:callable`` or ``file.py:callable``) returns the UsbFunction(s).
    ``--check`` only verifies the environment. The process re-executes itself under
    ``umockdev-wrapper`` when it is not already running there.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: the target's, or 3 when the environment lacks umockdev.
    """
    parser = argparse.ArgumentParser(
        prog=f"python -m {__name__}",
        description="Run Python code with simulated USB devices behind the real libusb (umockdev).",
    )
    parser.add_argument("--check", action="store_true", help="verify the environment and exit")
    parser.add_argument(
        "--no-scatter-gather",
        action="store_true",
        help="hide USBDEVFS_CAP_BULK_SCATTER_GATHER so that libusb splits bulk transfers",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    parser.add_argument("factory", nargs="?", help="MODULE:CALLABLE returning UsbFunction(s)")
    parser.add_argument(
        "rest", nargs=argparse.REMAINDER, help="TARGET [ARGS...] or -m MODULE [ARGS...]"
    )
    options = parser.parse_args(argv)
    if options.verbose:
        logging.basicConfig(level=logging.DEBUG)
    try:
        ensure_preloaded()
        if options.check:
            for line in check_environment():
                sys.stdout.write(line + "\n")
            return 0
        rest: list[str] = options.rest
        module = rest[1] if len(rest) >= 2 and rest[0] == "-m" else None
        if options.factory is None or not rest or (rest[0] == "-m" and module is None):
            parser.error("give FACTORY and then TARGET or -m MODULE")
        target_args = rest[2:] if module is not None else rest[1:]
        functions = _functions_from(resolve_reference(options.factory)())
        capabilities = DEFAULT_CAPABILITIES
        if options.no_scatter_gather:
            capabilities &= ~USBDEVFS_CAP_BULK_SCATTER_GATHER
        with UmockdevHarness(*functions, capabilities=capabilities) as harness:
            if module is not None:
                sys.argv = [module, *target_args]
                runpy.run_module(module, run_name="__main__", alter_sys=True)
                return 0
            sys.argv = [rest[0], *target_args]
            result = resolve_reference(rest[0])(harness)
            return int(result or 0)
    except UmockdevUnavailable as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 3


def _exit_now(code: int) -> None:
    """End the process without running pyusb's exit-time finalizers.

    A device the target left claimed (typically after a simulated unplug) would be released from
    a finalizer at interpreter exit, when umockdev's ioctl handler no longer answers: the process
    would hang. The kernel closes the descriptors anyway; the test bed's folder is removed first.
    """
    for harness in list(_active_all):
        harness.discard_test_bed()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy, so that targets importing the
    # harness module share its classes.
    _module = importlib.import_module("alpaca_sony.simulator.umockdev_harness")
    _module._exit_now(_module.main())
