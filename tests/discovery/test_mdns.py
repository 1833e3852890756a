"""The optional mDNS advertisement.

The TXT layout and name handling are checked here; registering, resolving and withdrawing the
service run with real zeroconf in a private network namespace (``netns.py``), never on the
host's interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ifaddr
import pytest

from alpaca_sony.discovery.mdns import (
    AdvertisedDevice,
    MdnsAdvertiser,
    host_addresses,
    instance_label,
    txt_properties,
)
from tests.discovery.netns import run_in_netns

UID = "5a0e1f2c-8d0b-4c7e-9a51-0f6d2b7c9e11"


def test_txt_record_layout() -> None:
    devices = [
        AdvertisedDevice("Camera", 0, "Sony ILCE-7M3", UID),
        AdvertisedDevice("Camera", 1, "b", "x,y"),
    ]
    assert txt_properties("alpaca-sony", "1.2.3", devices) == {
        "txtvers": "1",
        "server": "alpaca-sony",
        "version": "1.2.3",
        "devices": "2",
        "dev0": f"Camera,0,{UID}",
        "name0": "Sony ILCE-7M3",
        "dev1": "Camera,1,x,y",  # the unique id is everything after the second comma
        "name1": "b",
    }


def test_txt_strings_stay_within_255_bytes() -> None:
    devices = [AdvertisedDevice("Camera", 0, "é" * 300, UID)]
    properties = txt_properties("s" * 400, "1", devices)
    assert all(len(f"{k}={v}".encode()) <= 255 for k, v in properties.items())
    assert properties["name0"] == "é" * 124  # cut on a character boundary


def test_txt_record_lists_what_fits_one_packet(caplog: pytest.LogCaptureFixture) -> None:
    devices = [AdvertisedDevice("Camera", n, "camera " * 20, UID) for n in range(20)]
    properties = txt_properties("server", "1", devices)
    assert properties["devices"] == "20"
    listed = [k for k in properties if k.startswith("dev") and k != "devices"]
    assert 0 < len(listed) < 20
    assert sum(len(f"{k}={v}".encode()) + 1 for k, v in properties.items()) <= 1300
    assert "TXT record full" in caplog.text


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Sony a7 III", "Sony a7 III"),
        ("alpaca-sony 0.1.0", "alpaca-sony 0-1-0"),
        ("tab\there\n", "tabhere"),
        ("\n", "Alpaca server"),
        ("ü" * 40, "ü" * 31),
    ],
)
def test_instance_label(name: str, label: str) -> None:
    assert instance_label(name) == label


@dataclass
class _Ip:
    ip: Any


@dataclass
class _Adapter:
    ips: list[_Ip]


def test_host_addresses_skip_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    adapters = [
        _Adapter([_Ip("127.0.0.1"), _Ip(("::1", 0, 0))]),
        _Adapter([_Ip(("fe80::1", 0, 2)), _Ip("192.0.2.7"), _Ip("192.0.2.7")]),
    ]
    monkeypatch.setattr(ifaddr, "get_adapters", lambda: adapters)
    assert host_addresses() == ["192.0.2.7", "fe80::1"]


def test_host_addresses_fall_back_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    adapters = [_Adapter([_Ip("127.0.0.1"), _Ip(("::1", 0, 0))])]
    monkeypatch.setattr(ifaddr, "get_adapters", lambda: adapters)
    assert host_addresses() == ["127.0.0.1", "::1"]


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="port"):
        MdnsAdvertiser(0, "x", [])
    advertiser = MdnsAdvertiser(11111, "x", [])
    with pytest.raises(RuntimeError, match="not started"):
        _ = advertiser.service_name
    assert not advertiser.wait_registered(0.0)
    advertiser.stop()  # harmless before start


def test_register_resolve_and_withdraw_on_loopback() -> None:
    facts = run_in_netns("mdns")
    assert facts["start_s"] < 0.5  # probing runs on zeroconf's thread, not the caller's
    assert facts["registered"] == [True]
    assert facts["added"]
    (resolved,) = facts["resolved"]
    assert resolved["ok"]
    assert resolved["name"] == "alpaca-sony test._alpaca._tcp.local."
    assert resolved["port"] == 11111
    assert resolved["txt"] == {
        "txtvers": "1",
        "server": "alpaca-sony test",
        "version": "9.8.7",
        "devices": "1",
        "dev0": f"Camera,0,{UID}",
        "name0": "Sony ILCE-7M3",
    }
    assert resolved["addresses"] == ["127.0.0.1", "::1"]  # loopback only: nothing else exists
    assert facts["removed"]  # goodbye packets on stop


def test_host_addresses_and_name_conflict_over_veth() -> None:
    facts = run_in_netns("mdns_veth")
    assert facts["registered"] == [True, True]
    first, second = facts["resolved"]
    assert first["ok"]
    assert second["ok"]
    assert first["name"] == "same name._alpaca._tcp.local."
    assert second["name"] == "same name-2._alpaca._tcp.local."  # renamed after probing
    assert (first["port"], second["port"]) == (11111, 22222)
    assert first["txt"]["devices"] == "2"
    assert first["txt"]["dev1"] == "Camera,1,"
    assert {"10.23.0.1", "10.23.0.2"} <= set(first["addresses"])
    assert not any(a in {"127.0.0.1", "::1"} for a in first["addresses"])
    assert facts["removed"]
