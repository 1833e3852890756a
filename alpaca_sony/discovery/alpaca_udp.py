"""Alpaca UDP discovery responder (discovery layer; API Reference v12 §5, ``alpaca.md`` §6).

Clients broadcast ``alpacadiscovery1`` to UDP port 32227 (IPv4) or send it to the link-local
multicast group ff12::a1:9aca (IPv6); every Alpaca server answers unicast with
``{"AlpacaPort": N}``, the port of its HTTP API. The reply's source address is what the client
then uses for HTTP, so the API must listen on all interfaces.

One named thread serves both address families with a ``select`` loop; ``stop()`` wakes it through
a socket pair, so it ends at once rather than after a polling timeout.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Self

from alpaca_sony.errors import AlpacaSonyError

log = logging.getLogger(__name__)

DISCOVERY_PORT = 32227
"""IANA-registered ``alpacadiscovery`` port."""

DISCOVERY_TOKEN = b"alpacadiscovery1"
"""Protocol version 1 request: 15 bytes ``alpacadiscovery`` plus the version byte ``1``."""

IPV6_GROUP = "ff12::a1:9aca"
"""Link-local multicast group IPv6 clients send the request to."""

REQUEST_WINDOW = 64
"""The request occupies bytes 0..63 (16..63 reserved); only these are read and searched."""


class DiscoveryError(AlpacaSonyError):
    """The discovery port could not be opened."""


def is_discovery_request(datagram: bytes) -> bool:
    """Whether ``datagram`` asks for Alpaca servers (protocol version 1).

    Like the ASCOM Library's responder this tests "contains", case-sensitively, so padding
    around the token is tolerated; other versions (``alpacadiscovery2``) and different
    casing are not answered.

    Args:
        datagram: the received bytes.

    Returns:
        True if the first :data:`REQUEST_WINDOW` bytes contain :data:`DISCOVERY_TOKEN`.
    """
    return DISCOVERY_TOKEN in datagram[:REQUEST_WINDOW]


def discovery_reply(alpaca_port: int) -> bytes:
    """The reply datagram, byte for byte what the ASCOM Library's responder sends.

    Args:
        alpaca_port: the HTTP port of the Alpaca API.

    Returns:
        ASCII JSON ``{"AlpacaPort": N}``.
    """
    return b'{"AlpacaPort": %d}' % alpaca_port


def _set_port_sharing(sock: socket.socket) -> None:
    # Reference v12 §5.8.2: several Alpaca servers on one host must all be able to listen.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reuse_port = getattr(socket, "SO_REUSEPORT", None)
    if reuse_port is not None:
        sock.setsockopt(socket.SOL_SOCKET, reuse_port, 1)


class DiscoveryResponder:
    """Answers Alpaca discovery requests on IPv4 (broadcast/unicast) and IPv6 (multicast).

    Use as a context manager or call :meth:`start` and :meth:`stop`. A missing or broken IPv6
    stack is logged and leaves IPv4 working; failing to open the IPv4 port raises.

    Args:
        alpaca_port: HTTP port announced in the reply.
        port: UDP discovery port; 0 picks a free port (see :attr:`bound_port`). A fixed port is
            opened with SO_REUSEADDR and SO_REUSEPORT so other servers can share it; port 0 is
            not, so the kernel cannot hand out a port another sharing socket already holds.
        ipv6: also listen for IPv6 multicast requests.
        rejoin_interval_s: how often to look for new network interfaces and join the IPv6 group
            on them (an interface that comes up after start, such as Wi-Fi).
        name: thread name.
    """

    def __init__(
        self,
        alpaca_port: int,
        port: int = DISCOVERY_PORT,
        ipv6: bool = True,
        *,
        rejoin_interval_s: float = 30.0,
        name: str = "alpaca-discovery",
    ) -> None:
        if not 0 < alpaca_port < 65536:
            raise ValueError(f"alpaca_port out of range: {alpaca_port}")
        if not 0 <= port < 65536:
            raise ValueError(f"discovery port out of range: {port}")
        if rejoin_interval_s <= 0:
            raise ValueError(f"rejoin_interval_s must be positive: {rejoin_interval_s}")
        self._alpaca_port = alpaca_port
        self._reply = discovery_reply(alpaca_port)
        self._port = port
        self._want_ipv6 = ipv6
        self._rejoin_interval_s = rejoin_interval_s
        self._sock4: socket.socket | None = None
        self._sock6: socket.socket | None = None
        self._joined: dict[int, str] = {}
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._name = name
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopped = False
        self._send_failure_logged = False
        self.answered = 0
        """Requests answered so far (written only by the responder thread)."""
        self.ignored = 0
        """Datagrams ignored as not being version-1 requests."""

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Open the sockets and start the responder thread.

        Raises:
            DiscoveryError: the IPv4 port cannot be opened (for example held by a program that
                did not enable port sharing).
            RuntimeError: called again (a responder runs once).
        """
        if self._started or self._stopped:
            raise RuntimeError("a DiscoveryResponder can be started only once")
        self._started = True
        try:
            self._sock4 = self._open_ipv4()
        except DiscoveryError:
            self._stopped = True
            raise
        if self._want_ipv6:
            self._sock6 = self._open_ipv6(self.bound_port)
        self._wake = socket.socketpair()
        self._thread = threading.Thread(
            target=self._run, args=(self._wake[0],), name=self._name, daemon=False
        )
        self._thread.start()
        log.info(
            "Alpaca discovery on UDP port %d (IPv4%s) announcing AlpacaPort %d",
            self.bound_port,
            f", IPv6 on {', '.join(self._joined.values())}" if self._sock6 else "",
            self._alpaca_port,
        )

    def stop(self, timeout_s: float = 2.0) -> None:
        """Wake the thread, wait for it to end, and close the sockets. Idempotent.

        Args:
            timeout_s: how long to wait for the thread.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._wake is not None and self._thread is not None and self._thread.is_alive():
            try:
                self._wake[1].send(b"\0")
            except OSError:  # pragma: no cover - the pair is private, cannot fail in practice
                log.debug("discovery wake-up failed", exc_info=True)
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                # Closing sockets under a running select() is unsafe; leave them to the thread.
                log.error("discovery thread did not stop within %.1f s", timeout_s)
                return
        for sock in (self._sock4, self._sock6, *(self._wake or ())):
            if sock is not None:
                sock.close()
        log.info("Alpaca discovery stopped")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------

    @property
    def bound_port(self) -> int:
        """The UDP port actually bound (differs from the requested one only for port 0).

        Raises:
            RuntimeError: before :meth:`start`.
        """
        if self._sock4 is None:
            raise RuntimeError("DiscoveryResponder not started")
        port: int = self._sock4.getsockname()[1]
        return port

    @property
    def ipv6_active(self) -> bool:
        """Whether the IPv6 socket is open."""
        return self._sock6 is not None

    @property
    def ipv6_interfaces(self) -> tuple[str, ...]:
        """Names of the interfaces on which the IPv6 group is joined."""
        return tuple(self._joined.values())

    @property
    def running(self) -> bool:
        """Whether the responder thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- sockets ---------------------------------------------------------------------------

    def _open_ipv4(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if self._port:
                _set_port_sharing(sock)
            # The wildcard address: binding a unicast address stops broadcast reception on Linux.
            sock.bind(("0.0.0.0", self._port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise DiscoveryError(
                f"cannot open Alpaca discovery port UDP {self._port} on IPv4: {exc}"
            ) from exc
        return sock

    def _open_ipv6(self, port: int) -> socket.socket | None:
        if not socket.has_ipv6:
            log.warning("no IPv6 support in this Python; discovery is IPv4 only")
            return None
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        except OSError as exc:
            log.warning("IPv6 unavailable (%s); discovery is IPv4 only", exc)
            return None
        try:
            # V6ONLY keeps this socket off IPv4, which the other socket already serves.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if self._port:
                _set_port_sharing(sock)
            sock.bind(("::", port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            log.warning("cannot open IPv6 discovery port %d (%s); IPv4 only", port, exc)
            return None
        self._join_new_interfaces(sock)
        if not self._joined:
            log.warning("IPv6 discovery group %s joined on no interface", IPV6_GROUP)
        return sock

    def _join_new_interfaces(self, sock: socket.socket) -> None:
        """Join the group on every interface not joined yet.

        Linux joins only one (route-chosen) interface for index 0, so each index is joined
        explicitly to be reachable on all links. Failures are normal (interfaces without
        multicast or IPv6) and only logged at DEBUG.
        """
        try:
            interfaces = socket.if_nameindex()
        except OSError as exc:
            log.debug("cannot list network interfaces: %s", exc)
            return
        present = {index for index, _ in interfaces}
        # The kernel drops memberships of removed interfaces itself; forget them too. A new dict
        # is built and swapped in so readers on other threads never see one being changed.
        joined = {index: name for index, name in self._joined.items() if index in present}
        group = socket.inet_pton(socket.AF_INET6, IPV6_GROUP)
        for index, name in interfaces:
            if index in joined:
                continue
            try:
                sock.setsockopt(
                    socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group + struct.pack("@I", index)
                )
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:  # EADDRINUSE: joined already
                    log.debug("cannot join %s on %s: %s", IPV6_GROUP, name, exc)
                    continue
            joined[index] = name
            log.debug("joined %s on %s", IPV6_GROUP, name)
        self._joined = joined

    # -- thread ----------------------------------------------------------------------------

    def _run(self, wake: socket.socket) -> None:
        try:
            self._serve(wake)
        except Exception:
            # Unreachable by design (every I/O error is handled per datagram); if it happens,
            # make the loss of discovery visible instead of dying silently.
            log.exception("Alpaca discovery responder failed; discovery is off")

    def _serve(self, wake: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(wake, selectors.EVENT_READ, None)
            for sock in (self._sock4, self._sock6):
                if sock is not None:
                    selector.register(sock, selectors.EVENT_READ, sock)
            next_rejoin = time.monotonic() + self._rejoin_interval_s
            while True:
                timeout = None
                if self._sock6 is not None:
                    timeout = max(0.0, next_rejoin - time.monotonic())
                for key, _ in selector.select(timeout):
                    ready: socket.socket | None = key.data
                    if ready is None:  # the wake-up pair
                        return
                    self._answer_one(ready)
                if self._sock6 is not None and time.monotonic() >= next_rejoin:
                    self._join_new_interfaces(self._sock6)
                    next_rejoin = time.monotonic() + self._rejoin_interval_s

    def _answer_one(self, sock: socket.socket) -> None:
        try:
            # A short buffer: the kernel drops the rest of an oversized datagram.
            datagram, sender = sock.recvfrom(REQUEST_WINDOW)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("discovery receive failed: %s", exc)
            return
        if not is_discovery_request(datagram):
            self.ignored += 1
            log.debug("ignored a %d-byte datagram from %s", len(datagram), sender[0])
            return
        try:
            sock.sendto(self._reply, sender)
        except OSError as exc:
            # Once at WARNING, then DEBUG: a misbehaving host must not flood the log.
            level = logging.DEBUG if self._send_failure_logged else logging.WARNING
            self._send_failure_logged = True
            log.log(level, "cannot answer discovery request from %s: %s", sender[0], exc)
            return
        self.answered += 1
        log.debug("answered discovery request from %s", sender[0])
