"""The umockdev harness: simulated USB devices behind the real libusb, for one process."""

from __future__ import annotations

import logging
import weakref
from types import TracebackType
from typing import Any

from alpaca_sony.simulator.usb_device import UsbFunction
from testing.umockdev.descriptors import device_node
from testing.umockdev.environment import load_umockdev, require_preload
from testing.umockdev.testbed import HarnessBed
from testing.umockdev.urbs import UrbStats
from testing.umockdev.usbfs import UsbfsDevice
from testing.umockdev.usbfs_abi import DEFAULT_CAPABILITIES

logger = logging.getLogger(__name__)


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
        self._bed: HarnessBed | None = None
        self._kept_bed: HarnessBed | None = None
        _every_harness.append(self)
        self._finalizer: weakref.finalize[[], UmockdevHarness] | None = None

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
        require_preload()
        umockdev, glib = load_umockdev()
        bed = HarnessBed.create(umockdev, glib, self._functions, self._capabilities)
        # Created before any pyusb object, this finalizer runs after pyusb's own at exit: a
        # handle pyusb closes then still reaches a live handler instead of hanging.
        self._finalizer = weakref.finalize(self, bed.tear_down)
        self._bed = bed
        _started.append(self)
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
        if bed is not None:
            bed.discard()
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
        _started.remove(self)
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

    def _device(self, function: UsbFunction | None) -> UsbfsDevice:
        devices = self._require_started().devices
        if function is None:
            return devices[0]
        for device in devices:
            if device.function is function:
                return device
        raise ValueError("function is not part of this harness")

    def _require_started(self) -> HarnessBed:
        if self._bed is None:
            raise RuntimeError("UmockdevHarness is not started")
        return self._bed


_started: list[UmockdevHarness] = []
_every_harness: list[UmockdevHarness] = []  # every harness made, for the exit-time clean-up


def active_harness() -> UmockdevHarness | None:
    """The started harness of this process, e.g. for a module run by ``main`` with ``-m``."""
    return _started[-1] if _started else None


def discard_all_test_beds() -> None:
    """Remove the temporary folder of every harness made, leaving open device handles alone."""
    for harness in list(_every_harness):
        harness.discard_test_bed()
