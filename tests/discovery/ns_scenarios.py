"""Discovery scenarios that need a private network namespace (broadcast, multicast, fixed ports).

Run as ``unshare -n python tests/discovery/ns_scenarios.py <scenario>`` (see ``netns.py``). Each
scenario prints one JSON line of observations on stdout; the pytest side makes the assertions.
The script refuses to run unless the namespace is fresh (only ``lo``), so it can never send on a
real network.
"""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zeroconf import (
    DNSQuestionType,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceListener,
    Zeroconf,
)

from alpaca_sony.discovery.alpaca_udp import (
    DISCOVERY_PORT,
    IPV6_GROUP,
    DiscoveryError,
    DiscoveryResponder,
)
from alpaca_sony.discovery.mdns import SERVICE_TYPE, AdvertisedDevice, MdnsAdvertiser

Facts = dict[str, Any]
REQUEST = b"alpacadiscovery1"
WAIT_S = 0.25


# -- namespace set-up --------------------------------------------------------------------------


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _require_fresh_namespace() -> None:
    names = [name for _, name in socket.if_nameindex()]
    if names != ["lo"]:
        sys.exit(f"refusing to run outside a fresh network namespace (interfaces: {names})")


def _lo_up() -> None:
    _ip("link", "set", "lo", "up")


def _veth(ipv4: bool = False) -> None:
    """A veth pair va <-> vb, up, with link-local IPv6 addresses ready for use."""
    _disable_dad()
    _ip("link", "add", "va", "type", "veth", "peer", "name", "vb")
    if ipv4:
        _ip("addr", "add", "10.23.0.1/24", "dev", "va")
        _ip("addr", "add", "10.23.0.2/24", "dev", "vb")
    _ip("link", "set", "va", "up")
    _ip("link", "set", "vb", "up")
    _wait_link_local(2)


# -- clients -----------------------------------------------------------------------------------


def _collect(sock: socket.socket, wait_s: float = WAIT_S) -> list[list[Any]]:
    """Every reply arriving within ``wait_s`` as [text, source address, source port]."""
    sock.settimeout(wait_s)
    replies: list[list[Any]] = []
    try:
        while True:
            data, sender = sock.recvfrom(1024)
            replies.append([data.decode(errors="replace"), sender[0], sender[1]])
    except TimeoutError:
        pass
    return replies


def _ask4(destination: str, payload: bytes = REQUEST, device: str | None = None) -> list[Any]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if device is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.sendto(payload, (destination, DISCOVERY_PORT))
        return _collect(sock)


def _ask4_each(count: int) -> list[list[Any]]:
    """``count`` unicast requests to 127.0.0.1, each from its own socket (own source port)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.sendto(REQUEST, ("127.0.0.1", DISCOVERY_PORT))
        return [_collect(sock, WAIT_S if i == 0 else 0.01) for i, sock in enumerate(socks)]
    finally:
        for sock in socks:
            sock.close()


def _ask6(interface: str, payload: bytes = REQUEST) -> list[Any]:
    index = socket.if_nametoindex(interface)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        sock.sendto(payload, (IPV6_GROUP, DISCOVERY_PORT, 0, index))
        return _collect(sock)


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# -- scenarios ---------------------------------------------------------------------------------


def ipv4() -> Facts:
    _lo_up()
    with DiscoveryResponder(11111) as responder:
        return {
            "bound_port": responder.bound_port,
            "broadcast": _ask4("255.255.255.255", device="lo"),
            "loopback_broadcast": _ask4("127.255.255.255"),
            "unicast": _ask4("127.0.0.1"),
            "answered": responder.answered,
        }


def alpyca_ipv4() -> Facts:
    from alpaca import discovery

    _lo_up()
    with DiscoveryResponder(11111):
        # search_ipv4 broadcasts on every interface: safe only here, where lo is the only one.
        return {"found": discovery.search_ipv4(numquery=1, timeout=0.5)}


def sharing() -> Facts:
    _lo_up()
    first = DiscoveryResponder(1111)
    second = DiscoveryResponder(2222)
    first.start()
    second.start()
    try:
        broadcast = _ask4("255.255.255.255", device="lo")
        # Fresh source ports, so the kernel's SO_REUSEPORT hash picks both sockets now and then.
        unicast = _ask4_each(16)
        first.stop()
        after_stop = _ask4_each(4)
    finally:
        first.stop()
        second.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as exclusive:
        exclusive.bind(("0.0.0.0", DISCOVERY_PORT))  # no SO_REUSEADDR/SO_REUSEPORT
        try:
            DiscoveryResponder(3333).start()
            refused = ""
        except DiscoveryError as exc:
            refused = str(exc)
    return {
        "broadcast": broadcast,
        "unicast": unicast,
        "after_stop": after_stop,
        "refused": refused,
    }


def ipv6() -> Facts:
    from alpaca import discovery

    _lo_up()
    _veth()
    with DiscoveryResponder(11111) as responder:
        junk = [_ask6("va", payload) for payload in (b"", b"alpacadiscovery2", bytes(range(256)))]
        return {
            "interfaces": list(responder.ipv6_interfaces),
            "multicast": _ask6("va"),
            "junk": junk,
            "ignored": responder.ignored,
            "alpyca": discovery.search_ipv6(numquery=1, timeout=0.5),
            "running": responder.running,
        }


def ipv6_late_interface() -> Facts:
    _lo_up()
    with DiscoveryResponder(11111, rejoin_interval_s=0.1) as responder:
        before = list(responder.ipv6_interfaces)
        _veth()
        joined = _wait_for(lambda: {"va", "vb"} <= set(responder.ipv6_interfaces), 3.0)
        return {
            "before": before,
            "joined": joined,
            "after": list(responder.ipv6_interfaces),
            "multicast": _ask6("va"),
        }


def ipv6_disabled() -> Facts:
    _lo_up()
    # IPv6 switched off on every interface (a missing stack is simulated in test_alpaca_udp.py).
    for conf in ("all", "default", "lo"):
        Path(f"/proc/sys/net/ipv6/conf/{conf}/disable_ipv6").write_text("1")
    with DiscoveryResponder(11111) as responder:
        return {
            "ipv6_active": responder.ipv6_active,
            "interfaces": list(responder.ipv6_interfaces),
            "unicast": _ask4("127.0.0.1"),
        }


class _Watcher(ServiceListener):
    """Records when the browser sees the service come and go."""

    def __init__(self) -> None:
        self.added = threading.Event()
        self.removed = threading.Event()

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.added.set()

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.removed.set()

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        pass


def _resolve(browser_zc: Zeroconf, name: str) -> Facts:
    info = ServiceInfo(SERVICE_TYPE, name)
    # QM: answers come by multicast, which reaches every socket on port 5353. A unicast answer
    # (QU) goes to just one of the sockets sharing the port, perhaps an advertiser's, not ours.
    ok = info.request(browser_zc, 3000, question_type=DNSQuestionType.QM)
    # The request is complete with one address family; the other may come in the next packet.
    both_families = _wait_for(
        lambda: bool(
            info.load_from_cache(browser_zc)
            and info.addresses_by_version(IPVersion.V4Only)
            and info.addresses_by_version(IPVersion.V6Only)
        ),
        3.0,
    )
    return {
        "both_families": both_families,
        "ok": ok,
        "name": info.name,
        "port": info.port,
        "txt": info.decoded_properties,
        "addresses": info.parsed_addresses(),
    }


def _browse_and_resolve(names: list[str], withdraw: Callable[[], None]) -> Facts:
    """Browse for ``names``, resolve each, then ``withdraw`` them and watch them go."""
    facts: Facts = {}
    browser_zc = Zeroconf()
    try:
        watcher = _Watcher()
        browser = ServiceBrowser(
            browser_zc, SERVICE_TYPE, watcher, question_type=DNSQuestionType.QM
        )
        facts["added"] = watcher.added.wait(5.0)
        facts["resolved"] = [_resolve(browser_zc, name) for name in names]
        started = time.monotonic()
        withdraw()
        facts["stop_s"] = time.monotonic() - started
        facts["removed"] = watcher.removed.wait(5.0)
        browser.cancel()
    finally:
        browser_zc.close()
    return facts


def mdns() -> Facts:
    _lo_up()
    devices = [
        AdvertisedDevice("Camera", 0, "Sony ILCE-7M3", "5a0e1f2c-8d0b-4c7e-9a51-0f6d2b7c9e11"),
    ]
    advertiser = MdnsAdvertiser(11111, "alpaca-sony test", devices, version="9.8.7")
    started = time.monotonic()
    advertiser.start()
    start_s = time.monotonic() - started
    registered = [advertiser.wait_registered(5.0)]
    facts = _browse_and_resolve([advertiser.service_name], advertiser.stop)
    return {"start_s": start_s, "registered": registered, **facts}


# -- two hosts on one link ---------------------------------------------------------------------

PEER_DEVICES = [AdvertisedDevice("Camera", 0, "cam", "id-0"), AdvertisedDevice("Camera", 1, "", "")]


def _disable_dad() -> None:
    # No duplicate address detection: addresses are usable at once, not after ~1 s.
    for conf in ("all", "default"):
        Path(f"/proc/sys/net/ipv6/conf/{conf}/accept_dad").write_text("0")


def _wait_link_local(count: int) -> None:
    def ready() -> bool:
        out = subprocess.run(
            ["ip", "-6", "-o", "addr", "show", "scope", "link"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return out.count("fe80::") >= count and "tentative" not in out

    if not _wait_for(ready, 5.0):
        raise RuntimeError("veth link-local addresses never became ready")


def _say(word: str) -> None:
    sys.stdout.write(word + "\n")
    sys.stdout.flush()


def _hear(word: str) -> None:
    line = sys.stdin.readline().strip()
    if line != word:
        sys.exit(f"expected {word!r} from the other host, got {line!r}")


def mdns_peer() -> Facts:
    """The other host of ``mdns_veth``: its own network and UTS namespace, our end ``vb``."""
    socket.sethostname("peer")
    _lo_up()
    _disable_dad()
    _say("ready")
    _hear("go")  # the first host has put vb into this namespace
    _ip("addr", "add", "10.23.0.2/24", "dev", "vb")
    _ip("link", "set", "vb", "up")
    _wait_link_local(1)
    advertiser = MdnsAdvertiser(11111, "same name", PEER_DEVICES)
    advertiser.start()
    registered = advertiser.wait_registered(5.0)
    _say("registered")
    _hear("stop")
    advertiser.stop()
    return {"registered": registered, "name": advertiser.service_name}


class _Peer:
    """``mdns_peer`` in a child process, talked to line by line."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["unshare", "-n", "-u", sys.executable, "-W", "error", __file__, "mdns_peer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put("")  # end of output

    def hear(self, word: str, timeout_s: float = 15.0) -> None:
        line = self._lines.get(timeout=timeout_s)
        if line != word:
            raise RuntimeError(f"the peer host said {line!r}, not {word!r}")

    def say(self, word: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(word + "\n")
        self.process.stdin.flush()

    def finish(self) -> Facts:
        self.say("stop")
        facts: Facts = json.loads(self._lines.get(timeout=15.0))
        self.process.wait(15.0)
        return facts


def mdns_veth() -> Facts:
    """Two hosts on one veth link, both wanting "same name": the later one is renamed.

    Each host has its own network (and UTS) namespace, as two Raspberry Pis on a LAN would:
    in one namespace the defending host's unicast answer to a probe could land on the prober's
    neighbour socket instead (port 5353 is shared), and the conflict would go unseen.
    """
    _lo_up()
    _disable_dad()
    peer = _Peer()
    try:
        peer.hear("ready")
        _ip(
            "link",
            "add",
            "va",
            "type",
            "veth",
            "peer",
            "name",
            "vb",
            "netns",
            str(peer.process.pid),
        )
        _ip("addr", "add", "10.23.0.1/24", "dev", "va")
        _ip("link", "set", "va", "up")
        peer.say("go")
        peer.hear("registered")  # vb is up by now, so va has a carrier and its address
        _wait_link_local(1)
        second = MdnsAdvertiser(22222, "same name", PEER_DEVICES[:1])
        second.start()  # probing finds the peer's name taken, so it is renamed
        registered = second.wait_registered(5.0)
        names = [f"same name.{SERVICE_TYPE}", second.service_name]

        def withdraw() -> None:
            second.stop()
            facts["peer"] = peer.finish()

        facts: Facts = {}
        facts.update(_browse_and_resolve(names, withdraw))
        facts["registered"] = [facts["peer"]["registered"], registered]
        return facts
    finally:
        if peer.process.poll() is None:
            peer.process.kill()


SCENARIOS: dict[str, Callable[[], Facts]] = {
    f.__name__: f
    for f in (
        ipv4,
        alpyca_ipv4,
        sharing,
        ipv6,
        ipv6_late_interface,
        ipv6_disabled,
        mdns,
        mdns_veth,
        mdns_peer,
    )
}


def main() -> None:
    _require_fresh_namespace()
    facts = SCENARIOS[sys.argv[1]]()
    sys.stdout.write(json.dumps(facts) + "\n")


if __name__ == "__main__":
    main()
