"""What a :class:`UsbIdentity` looks like on the bus: descriptor bytes, node and sysfs text.

libusb reads the descriptors from sysfs at enumeration and asks for strings with control
requests; both come from here, so they always agree.
"""

from __future__ import annotations

import struct
from typing import Final

from alpaca_sony.simulator.usb_device import UsbIdentity

_STRING_MANUFACTURER, _STRING_PRODUCT, _STRING_SERIAL = 1, 2, 3
_LANGID_EN_US: Final = 0x0409


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

    Raises:
        ValueError: the identity cannot describe a real device.
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
        f"H: manufacturer={_sysfs_hex(identity.manufacturer)}",
        f"H: product={_sysfs_hex(identity.product)}",
        f"H: serial={_sysfs_hex(identity.serial_number)}",
    ]
    return "\n".join(lines) + "\n\n"


def _sysfs_hex(text: str) -> str:
    """A sysfs string attribute (newline-terminated, as the kernel writes it), hex-encoded."""
    return (text + "\n").encode().hex().upper()


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
