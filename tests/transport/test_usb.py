"""Finding and opening cameras through pyusb: the error messages a person needs."""

from __future__ import annotations

import pytest

from alpaca_sony.clock import FakeClock
from alpaca_sony.errors import CameraError, DeviceAccessDenied, DeviceNotFound
from alpaca_sony.ptp.session import PtpSession
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.sony.protocol import SonyCamera
from alpaca_sony.transport.usb import (
    InterfaceKind,
    UsbTransport,
    default_backend,
    describe,
    find_sony_devices,
)


def _backend(clock: FakeClock, *cameras: SimulatedCamera, **kwargs: object) -> SimulatorBackend:
    return SimulatorBackend(list(cameras), clock, poll_interval_s=0.5, **kwargs)  # type: ignore[arg-type]


def test_finds_sony_bodies_with_their_identity(fake_clock: FakeClock) -> None:
    cameras = [
        SimulatedCamera(fake_clock, BodySettings(model="ILCE-7M3", serial_number="B")),
        SimulatedCamera(fake_clock, BodySettings(model="ILCE-7RM4", serial_number="A")),
    ]
    found = [describe(d) for d in find_sony_devices(_backend(fake_clock, *cameras))]
    assert {(i.product_id, i.serial_number, i.product) for i in found} == {
        (0x096F, "B", "ILCE-7M3"),
        (0x0CCC, "A", "ILCE-7RM4"),
    }
    assert all(i.kind == InterfaceKind.STILL_IMAGE and i.vendor_id == 0x054C for i in found)


def test_endpoints_and_packet_size_come_from_the_descriptors(fake_clock: FakeClock) -> None:
    camera = SimulatedCamera(fake_clock, BodySettings(model="ILCE-7SM3"))
    transport = UsbTransport.open(next(find_sony_devices(_backend(fake_clock, camera))))
    assert transport.max_packet_size == 1024
    transport.close()


def test_mass_storage_mode_says_how_to_switch(fake_clock: FakeClock) -> None:
    camera = SimulatedCamera(fake_clock, BodySettings(usb_mode="mass_storage"))
    device = next(find_sony_devices(_backend(fake_clock, camera)))
    assert describe(device).kind == InterfaceKind.MASS_STORAGE
    with pytest.raises(DeviceNotFound, match=r"mass storage mode, not PC Remote.*PC Remote"):
        UsbTransport.open(device)


def test_mtp_mode_says_how_to_switch(fake_clock: FakeClock) -> None:
    camera = SimulatedCamera(fake_clock, BodySettings(usb_mode="mtp"))
    device = next(find_sony_devices(_backend(fake_clock, camera)))
    assert device.idProduct == 0x0C03  # the A7 III's MTP-mode product id
    sony = SonyCamera(PtpSession(UsbTransport.open(device)), fake_clock)
    with pytest.raises(CameraError, match=r"MTP.*USB Connection.*PC Remote"):
        sony.connect()


def test_no_permission_names_the_udev_rule(fake_clock: FakeClock) -> None:
    camera = SimulatedCamera(fake_clock)
    device = next(find_sony_devices(_backend(fake_clock, camera, deny_access=True)))
    with pytest.raises(DeviceAccessDenied, match=r"60-alpaca-sony\.rules"):
        UsbTransport.open(device)


def test_unplugged_camera_is_not_listed(fake_clock: FakeClock) -> None:
    camera = SimulatedCamera(fake_clock)
    backend = _backend(fake_clock, camera)
    camera.unplug()
    assert list(find_sony_devices(backend)) == []
    camera.replug()
    assert len(list(find_sony_devices(backend))) == 1


def test_a_real_libusb_backend_loads() -> None:
    # The system libusb, or the one inside the libusb-package wheel: a plain pip install works.
    assert default_backend() is not None
