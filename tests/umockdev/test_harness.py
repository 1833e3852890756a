"""The umockdev harness: a UsbFunction behind the real libusb 1.0 and pyusb.

The scenarios live in ``umockdev_runner.py`` and each runs in a fresh ``umockdev-wrapper``
process through the public :func:`run_under_harness`.
"""

from __future__ import annotations

import json
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpaca_sony.simulator.usb_device import UsbIdentity
from testing.umockdev.descriptors import (
    configuration_descriptor,
    device_descriptor,
    string_descriptor,
    umockdev_description,
)
from testing.umockdev.environment import DEBIAN_PACKAGES, UmockdevUnavailable
from testing.umockdev.harness import UmockdevHarness
from testing.umockdev.runner import run_under_harness
from tests.umockdev.umockdev_runner import LoopbackFunction

pytestmark = pytest.mark.umockdev

ROOT = Path(__file__).resolve().parents[2]
RUNNER = "tests.umockdev.umockdev_runner"
FACTORY = f"{RUNNER}:make_loopback"


def _run(scenario: str, *, scatter_gather: bool = True) -> subprocess.CompletedProcess[str]:
    return run_under_harness(
        FACTORY,
        f"{RUNNER}:scenario_{scenario}",
        scatter_gather=scatter_gather,
        timeout=120,
        cwd=ROOT,
    )


def _scenario(scenario: str, *, scatter_gather: bool = True) -> dict[str, Any]:
    done = _run(scenario, scatter_gather=scatter_gather)
    assert done.returncode == 0, (
        f"scenario {scenario} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_enumerates_on_system_libusb_by_ids_and_interface_class() -> None:
    assert _scenario("enumerate")["strings"] == ["Sony", "ILCE-7M3", "LOOP-0001"]


def test_enumerates_and_transfers_on_libusb_package() -> None:
    _scenario("enumerate_libusb_package")


def test_claim_and_bulk_round_trip() -> None:
    _scenario("roundtrip")


def test_exact_packet_multiple_read_leaves_zero_length_packet_pending() -> None:
    _scenario("zlp")


def test_48_mib_bulk_read_is_bit_exact_and_fast(
    record_property: Callable[[str, object], None],
) -> None:
    result = _scenario("large_read")
    record_property("mb_per_s", round(result["mb_per_s"]))
    assert min(result["seconds"]) < 1.0


def test_split_urbs_without_scatter_gather() -> None:
    _scenario("split_urbs", scatter_gather=False)


def test_read_with_nothing_to_send_times_out() -> None:
    seconds = _scenario("timeout")["seconds"]
    assert 0.15 <= seconds < 1.0


def test_disconnect_reports_no_device_and_replug_works() -> None:
    _scenario("disconnect")


def test_interrupt_events() -> None:
    _scenario("interrupt")


def test_bulk_and_interrupt_readers_on_two_threads() -> None:
    _scenario("concurrent_threads")


def test_stall_overflow_and_class_requests() -> None:
    assert _scenario("faults")["status"] == "08001f2081000000"


def test_blocking_reapurb_waits_for_data() -> None:
    _scenario("raw_reapurb")


def test_two_functions_are_two_devices() -> None:
    # References by file path (FILE.py:CALLABLE) work as well as by module name.
    runner_file = Path(__file__).with_name("umockdev_runner.py")
    done = run_under_harness(
        f"{runner_file}:make_two_loopbacks", f"{runner_file}:scenario_two_devices", timeout=60
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


def test_failing_target_with_open_device_exits() -> None:
    done = _run("fail_with_open_device")
    assert done.returncode == 1, done.stderr
    assert "deliberate failure with the device open" in done.stderr


def test_module_target_sees_the_device_with_plain_pyusb() -> None:
    done = run_under_harness(FACTORY, RUNNER, ["a", "b"], as_module=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "argv": ["a", "b"],
        "serial": "LOOP-0001",
    }


def test_start_outside_wrapper_fails_with_install_hint() -> None:
    with pytest.raises(UmockdevUnavailable, match="umockdev-wrapper") as raised:
        UmockdevHarness(LoopbackFunction()).start()
    assert DEBIAN_PACKAGES in str(raised.value)


def test_descriptors_follow_identity() -> None:
    identity = UsbIdentity(
        vendor_id=0x054C, product_id=0x0D9F, serial_number="Ünïcode", max_packet_size=1024
    )
    device = device_descriptor(identity)
    assert struct.unpack_from("<HBBBBHHH", device, 2) == (0x0300, 0, 0, 0, 9, 0x054C, 0x0D9F, 0x100)
    config = configuration_descriptor(identity)
    assert struct.unpack_from("<H", config, 2)[0] == len(config) == 9 + 9 + 3 * (7 + 6)
    assert string_descriptor(identity, 3) == b"\x10\x03" + "Ünïcode".encode("utf-16-le")
    assert string_descriptor(identity, 9) is None
    text = umockdev_description(identity)
    assert "N: bus/usb/001/002=" in text
    assert "A: speed=5000\\n" in text
    assert "E: ID_USB_INTERFACES=:060101:" in text


def test_rejects_duplicate_addresses_and_bad_identities() -> None:
    with pytest.raises(ValueError, match="share a bus/address"):
        UmockdevHarness(LoopbackFunction(), LoopbackFunction())
    with pytest.raises(ValueError, match="direction"):
        umockdev_description(
            UsbIdentity(vendor_id=1, product_id=2, serial_number="x", bulk_in_endpoint=0x01)
        )
