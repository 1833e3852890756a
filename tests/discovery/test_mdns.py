"""The optional mDNS advertisement.

The TXT layout and name handling are checked here; registering, resolving and withdrawing the
service run with real zeroconf in a private network namespace (``netns.py``), never on the
host's interfaces.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ifaddr
import pytest

from alpaca_sony.discovery.mdns import (
    AdvertisedDevice,
    MdnsAdvertiser,
    default_instance_name,
    host_addresses,
    host_label,
    host_tag,
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
    assert resolved["both_families"]
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
    """Two hosts on one link (own network namespaces) both want "same name"."""
    facts = run_in_netns("mdns_veth")
    assert facts["registered"] == [True, True]
    assert facts["added"]
    peer, ours = facts["resolved"]
    assert peer["ok"]
    assert ours["ok"]
    assert peer["both_families"]
    assert ours["both_families"]
    assert peer["name"] == "same name._alpaca._tcp.local."
    assert facts["peer"]["name"] == peer["name"]  # the first host kept its name
    assert ours["name"] == "same name-2._alpaca._tcp.local."  # renamed after probing
    assert (peer["port"], ours["port"]) == (11111, 22222)
    assert peer["txt"]["devices"] == "2"
    assert peer["txt"]["dev1"] == "Camera,1,"
    # Each host publishes its own address under its own host name, never loopback.
    assert "10.23.0.2" in peer["addresses"]
    assert "10.23.0.1" not in peer["addresses"]
    assert "10.23.0.1" in ours["addresses"]
    assert "10.23.0.2" not in ours["addresses"]
    assert not any(a in {"127.0.0.1", "::1"} for a in peer["addresses"] + ours["addresses"])
    assert facts["removed"]


def test_host_tag_tells_hosts_apart(tmp_path: Path) -> None:
    first, second, empty = tmp_path / "a", tmp_path / "b", tmp_path / "empty"
    first.write_text("0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    second.write_text("ffeeddccbbaa99887766554433221100\n")
    empty.write_text("")
    tag = host_tag([first])
    assert re.fullmatch(r"[0-9a-f]{4}", tag)
    assert tag == host_tag([first])  # stable across calls (and reboots: same file)
    assert tag != host_tag([second])
    assert host_tag([empty, first]) == tag  # an empty id file is skipped
    assert re.fullmatch(r"[0-9a-f]{4}", host_tag([tmp_path / "missing"]))  # MAC fallback


def test_default_names_are_unique_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two Raspberry Pis out of the box share the host name ``raspberrypi``."""
    monkeypatch.setattr(socket, "gethostname", lambda: "raspberrypi.lan")
    assert default_instance_name("1a2b") == "alpaca-sony on raspberrypi (1a2b)"
    assert default_instance_name("1a2b") != default_instance_name("9f8e")
    assert host_label("1a2b") == "raspberrypi-1a2b"
    assert host_label("1a2b") != host_label("9f8e")
    monkeypatch.setattr(socket, "gethostname", lambda: "x" * 80)
    assert len(host_label("1a2b")) == 63
    assert host_label("1a2b").endswith("-1a2b")


def test_txt_server_name_is_separate_from_the_instance_name() -> None:
    advertiser = MdnsAdvertiser(11111, "alpaca-sony on pi (1a2b)", [], server_name="alpaca-sony")
    assert advertiser._server_name == "alpaca-sony"
    assert MdnsAdvertiser(11111, "x", [])._server_name == "x"
