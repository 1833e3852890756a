"""The Alpaca UDP discovery responder.

In this process only loopback unicast is used, on a free port with IPv6 off (joining the IPv6
group would send MLD reports on the real interfaces). Broadcast, multicast, the fixed port 32227
and alpyca's searches run in a private network namespace (``netns.py``).
"""

from __future__ import annotations

import errno
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from alpaca_sony.discovery.alpaca_udp import (
    DISCOVERY_PORT,
    DiscoveryError,
    DiscoveryResponder,
    discovery_reply,
    is_discovery_request,
)
from tests.discovery.netns import run_in_netns

REQUEST = b"alpacadiscovery1"
REPLY = '{"AlpacaPort": 11111}'


def _reply(text: str, port: int = DISCOVERY_PORT) -> list[Any]:
    return [text, "127.0.0.1", port]


@pytest.fixture
def responder() -> Iterator[DiscoveryResponder]:
    responder = DiscoveryResponder(11111, port=0, ipv6=False)
    responder.start()
    yield responder
    responder.stop()


@pytest.fixture
def client() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        yield sock


def _drain(sock: socket.socket, wait_s: float = 0.25) -> list[bytes]:
    sock.settimeout(wait_s)
    replies = []
    try:
        while True:
            replies.append(sock.recv(1024))
    except TimeoutError:
        pass
    return replies


# -- request and reply format ------------------------------------------------------------------


def test_reply_is_the_ascom_shape() -> None:
    assert discovery_reply(11111) == REPLY.encode()
    assert json.loads(discovery_reply(1)) == {"AlpacaPort": 1}


@pytest.mark.parametrize(
    "datagram",
    [
        REQUEST,
        REQUEST + b"\0" * 48,  # padded to the 64-byte request area
        b"  alpacadiscovery1\r\n",
        REQUEST + b"x" * 60_000,  # oversized, but the request area holds the token
    ],
)
def test_version_1_requests_are_recognised(datagram: bytes) -> None:
    assert is_discovery_request(datagram)


@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b"alpacadiscovery",
        b"alpacadiscovery2",  # another protocol version
        b"ALPACADISCOVERY1",  # the ASCOM responder compares case-sensitively
        b"alpaca discovery1",
        REQUEST.decode().encode("utf-16"),
        bytes(range(256)),
        b"\0" * 64 + REQUEST,  # token outside the request area
    ],
)
def test_everything_else_is_not_a_request(datagram: bytes) -> None:
    assert not is_discovery_request(datagram)


# -- loopback, in this process -----------------------------------------------------------------


def test_unicast_request_is_answered_from_the_discovery_port(
    responder: DiscoveryResponder, client: socket.socket
) -> None:
    client.sendto(REQUEST, ("127.0.0.1", responder.bound_port))
    data, sender = client.recvfrom(1024)
    assert data == REPLY.encode()
    assert sender == ("127.0.0.1", responder.bound_port)
    assert responder.bound_port != 0


def test_junk_gets_no_reply_and_does_not_stop_the_responder(
    responder: DiscoveryResponder, client: socket.socket
) -> None:
    junk = [
        b"",
        b"alpacadiscovery2",
        b"ALPACADISCOVERY1",
        bytes(range(256)),
        b"\xff\xfe\xfd" * 100,
        b"\0" * 64 + REQUEST,
        b"y" * 65_000,  # near the largest UDP datagram
    ]
    target = ("127.0.0.1", responder.bound_port)
    for datagram in junk:
        client.sendto(datagram, target)
    client.sendto(REQUEST, target)
    # Datagrams are handled in order: an answered junk datagram would show up as an extra reply.
    assert _drain(client) == [REPLY.encode()]
    assert responder.running
    assert (responder.ignored, responder.answered) == (len(junk), 1)


def test_stop_joins_quickly_and_frees_the_port() -> None:
    responder = DiscoveryResponder(11111, port=0, ipv6=False, name="discovery-under-test")
    responder.start()
    port = responder.bound_port
    thread = responder._thread
    assert thread is not None
    assert thread.name == "discovery-under-test"
    assert not thread.daemon
    started = time.monotonic()
    responder.stop()
    assert time.monotonic() - started < 0.5
    assert not responder.running
    responder.stop()  # idempotent
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", port))  # no sharing flags: fails if the responder still held it


def test_context_manager_starts_and_stops(client: socket.socket) -> None:
    with DiscoveryResponder(11111, port=0, ipv6=False) as responder:
        client.sendto(REQUEST, ("127.0.0.1", responder.bound_port))
        assert client.recv(1024) == REPLY.encode()
    assert not responder.running


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="alpaca_port"):
        DiscoveryResponder(0)
    with pytest.raises(ValueError, match="discovery port"):
        DiscoveryResponder(11111, port=70000)
    responder = DiscoveryResponder(11111, port=0, ipv6=False)
    with pytest.raises(RuntimeError, match="not started"):
        _ = responder.bound_port
    with responder, pytest.raises(RuntimeError, match="only once"):
        responder.start()
    with pytest.raises(RuntimeError, match="only once"):
        responder.start()  # not after stop either


def test_port_held_without_sharing_raises_discovery_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("0.0.0.0", 0))  # no SO_REUSEADDR/SO_REUSEPORT: the port cannot be shared
        responder = DiscoveryResponder(11111, port=holder.getsockname()[1], ipv6=False)
        with pytest.raises(DiscoveryError, match="Address already in use"):
            responder.start()
    assert not responder.running


def test_missing_ipv6_support_leaves_ipv4_working(
    monkeypatch: pytest.MonkeyPatch, client: socket.socket
) -> None:
    monkeypatch.setattr(socket, "has_ipv6", False)
    with DiscoveryResponder(11111, port=0) as responder:
        assert not responder.ipv6_active
        client.sendto(REQUEST, ("127.0.0.1", responder.bound_port))
        assert client.recv(1024) == REPLY.encode()


def test_kernel_without_ipv6_leaves_ipv4_working(
    monkeypatch: pytest.MonkeyPatch, client: socket.socket
) -> None:
    class NoIpv6Socket(socket.socket):
        """A kernel booted with ipv6.disable=1 refuses AF_INET6 sockets."""

        def __init__(self, family: int = -1, *args: Any, **kwargs: Any) -> None:
            if family == socket.AF_INET6:
                raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
            super().__init__(family, *args, **kwargs)

    monkeypatch.setattr(socket, "socket", NoIpv6Socket)
    with DiscoveryResponder(11111, port=0) as responder:
        assert not responder.ipv6_active
        client.sendto(REQUEST, ("127.0.0.1", responder.bound_port))
        assert client.recv(1024) == REPLY.encode()


# -- private network namespace -----------------------------------------------------------------


def test_ipv4_broadcast_and_unicast_are_answered() -> None:
    facts = run_in_netns("ipv4")
    assert facts["bound_port"] == DISCOVERY_PORT
    # 255.255.255.255 (SO_BINDTODEVICE lo), the loopback network's broadcast, and unicast.
    assert facts["broadcast"] == [_reply(REPLY)]
    assert facts["loopback_broadcast"] == [_reply(REPLY)]
    assert facts["unicast"] == [_reply(REPLY)]
    assert facts["answered"] == 3


def test_alpyca_search_ipv4_finds_the_server() -> None:
    assert run_in_netns("alpyca_ipv4")["found"] == ["127.0.0.1:11111"]


def test_two_servers_share_the_port() -> None:
    facts = run_in_netns("sharing")
    one, two = '{"AlpacaPort": 1111}', '{"AlpacaPort": 2222}'
    # Broadcasts reach every socket sharing the port: a client finds both servers.
    assert sorted(facts["broadcast"]) == [_reply(one), _reply(two)]
    # A unicast datagram reaches exactly one of them (the kernel hashes the sender's address).
    assert all(len(replies) == 1 for replies in facts["unicast"])
    assert {replies[0][0] for replies in facts["unicast"]} <= {one, two}
    # Once one stops, the other gets every unicast request.
    assert facts["after_stop"] == [[_reply(two)]] * 4
    # A socket bound without the sharing options locks everyone else out.
    assert "Address already in use" in facts["refused"]


def test_ipv6_multicast_is_answered_on_every_interface() -> None:
    facts = run_in_netns("ipv6")
    assert {"lo", "va", "vb"} <= set(facts["interfaces"])
    # Sent on va: answered through va (looped back) and through its peer vb.
    replies = facts["multicast"]
    assert len(replies) == 2
    assert all(text == REPLY and host.startswith("fe80::") for text, host, _ in replies)
    assert facts["junk"] == [[], [], []]
    assert facts["ignored"] == 6  # each junk datagram arrived on both interfaces
    assert facts["running"]
    assert "[::1]:11111" in facts["alpyca"]
    assert any(found.startswith("[fe80::") for found in facts["alpyca"])


def test_ipv6_group_is_joined_on_interfaces_added_later() -> None:
    facts = run_in_netns("ipv6_late_interface")
    assert facts["before"] == ["lo"]
    assert facts["joined"], facts["after"]
    assert len(facts["multicast"]) == 2


def test_ipv4_works_with_ipv6_disabled() -> None:
    facts = run_in_netns("ipv6_disabled")
    assert facts["unicast"] == [_reply(REPLY)]
