"""Random and oversized datagrams, with valid requests among them, never stop the UDP responder.

Loopback unicast only, on a free port with IPv6 off, as in tests/discovery/test_alpaca_udp.py.
Each datagram is sent once the one before it has been handled (the responder's counters say so),
so the kernel never drops one for a full buffer and every count below is exact. A datagram is a
request when the token stands in its first 64 bytes (docs/alpaca.md §6: "contains", as the ASCOM
Library's responder reads it; the first 64 bytes are all this responder looks at).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from alpaca_sony.discovery.alpaca_udp import DiscoveryResponder
from tests.fuzz.budget import fuzz_settings

TOKEN = b"alpacadiscovery1"
WINDOW = 64
ALPACA_PORT = 11111
REPLY = b'{"AlpacaPort": 11111}'
LARGEST_UDP = 65_507  # IPv4: 65535 - 20 (IP header) - 8 (UDP header)


def _answered_expected(datagram: bytes) -> bool:
    return TOKEN in datagram[:WINDOW]


datagrams = st.one_of(
    st.binary(max_size=200),
    st.binary(min_size=WINDOW - len(TOKEN), max_size=WINDOW + 8).map(lambda pad: pad + TOKEN),
    st.tuples(st.binary(max_size=WINDOW), st.binary(max_size=100)).map(
        lambda parts: parts[0] + TOKEN + parts[1]
    ),
    st.sampled_from([TOKEN.upper(), b"alpacadiscovery2", TOKEN[:-1], b"\0" * WINDOW + TOKEN]),
    st.integers(1000, LARGEST_UDP).map(lambda size: (TOKEN + bytes(size))[:size]),  # oversized
    st.integers(1000, LARGEST_UDP).map(lambda size: bytes([0xFF]) * size),
)


@pytest.fixture(scope="module")
def responder() -> Iterator[DiscoveryResponder]:
    responder = DiscoveryResponder(ALPACA_PORT, port=0, ipv6=False)
    responder.start()
    yield responder
    responder.stop()


def _handled(responder: DiscoveryResponder) -> int:
    return responder.answered + responder.ignored


def _send_and_wait(responder: DiscoveryResponder, sock: socket.socket, datagram: bytes) -> None:
    before = _handled(responder)
    sock.sendto(datagram, ("127.0.0.1", responder.bound_port))
    deadline = time.monotonic() + 5
    while _handled(responder) == before:
        assert responder.running, "the responder stopped"
        assert time.monotonic() < deadline, f"a {len(datagram)}-byte datagram was never handled"
        time.sleep(0.001)


def _replies(sock: socket.socket) -> list[bytes]:
    """Every reply already delivered (a loopback reply is queued before the counter moves)."""
    found = []
    sock.setblocking(False)
    try:
        while True:
            found.append(sock.recv(1024))
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return found


@fuzz_settings(
    40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(datagrams, min_size=1, max_size=8))
def test_any_datagrams_leave_the_responder_answering(
    responder: DiscoveryResponder, sent: list[bytes]
) -> None:
    answered_before = responder.answered
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in sent:
            _send_and_wait(responder, sock, datagram)
        expected = [REPLY for d in sent if _answered_expected(d)]
        assert _replies(sock) == expected
        _send_and_wait(responder, sock, TOKEN)
        assert _replies(sock) == [REPLY]
    assert responder.answered - answered_before == len(expected) + 1


def test_after_the_garbage_a_new_client_is_answered(responder: DiscoveryResponder) -> None:
    # Runs after the fuzz above on the same responder.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(TOKEN, ("127.0.0.1", responder.bound_port))
        data, sender = sock.recvfrom(1024)
    assert data == REPLY and sender[1] == responder.bound_port
    assert responder.running
