"""The umockdev test bed of a started harness: its devices appear in and leave sysfs here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alpaca_sony.simulator.usb_device import UsbFunction
from testing.umockdev.descriptors import (
    device_node,
    sysfs_path,
    umockdev_description,
)
from testing.umockdev.usbfs import UsbfsDevice


@dataclass(eq=False)
class HarnessBed:
    """What a started harness owns: the ``UMockdev.Testbed`` and one usbfs device per function.

    ``present[i]`` says whether device ``i`` is in sysfs now.
    """

    testbed: Any  # UMockdev.Testbed; None once discarded
    devices: list[UsbfsDevice]
    bases: list[Any]  # the UMockdev.IoctlBase that forwards each node's ioctls
    present: list[bool]

    @classmethod
    def create(
        cls, umockdev: Any, glib: Any, functions: Sequence[UsbFunction], capabilities: int
    ) -> HarnessBed:
        """A new test bed with a connected ioctl handler per function (none in sysfs yet).

        Args:
            umockdev: PyGObject's ``UMockdev``.
            glib: PyGObject's ``GLib``.
            functions: the simulated devices.
            capabilities: the ``USBDEVFS_CAP_*`` bits reported to libusb.

        Returns:
            The bed.
        """
        bed = cls(umockdev.Testbed.new(), [], [], [])
        for function in functions:
            device = UsbfsDevice(function, capabilities, glib)
            base = umockdev.IoctlBase()
            base.connect("handle-ioctl", device.handle_ioctl)
            bed.devices.append(device)
            bed.bases.append(base)
            bed.present.append(False)
        return bed

    def add(self, index: int) -> None:
        """Put device ``index`` into sysfs and route its node's ioctls to its handler.

        Raises:
            RuntimeError: umockdev rejected the description or the node.
        """
        identity = self.devices[index].identity
        if not self.testbed.add_from_string(umockdev_description(identity)):
            raise RuntimeError(f"umockdev rejected the description of {device_node(identity)}")
        if not self.testbed.attach_ioctl(device_node(identity), self.bases[index]):
            raise RuntimeError(f"umockdev could not attach to {device_node(identity)}")
        self.present[index] = True

    def remove(self, index: int) -> None:
        """Take device ``index`` out of sysfs with a ``remove`` uevent."""
        # Open fds keep their connection to the handler: a dead handle still gets ENODEV.
        identity = self.devices[index].identity
        self.testbed.uevent(sysfs_path(identity), "remove")
        self.testbed.detach_ioctl(device_node(identity))
        self.testbed.remove_device(sysfs_path(identity))
        self.present[index] = False

    def discard(self) -> None:
        """Remove the temporary root directory, leaving open device handles alone."""
        if self.testbed is not None:
            self.testbed.clear()
            self.testbed = None

    def tear_down(self) -> None:
        """Remove every present device, then the temporary root directory."""
        for index, present in enumerate(self.present):
            if present:
                self.remove(index)
        self.discard()
