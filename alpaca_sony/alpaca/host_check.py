"""The Host header must name this server: a web page cannot drive the camera by DNS rebinding.

A page on ``evil.example`` that re-points its name at this host's address can make the visitor's
browser send requests here, but the browser still says ``Host: evil.example``. Only the server's
own names pass (host name, ``.local`` names, the mDNS host label, ``localhost``, the bound
address), names the user adds (``server.allowed_hosts``; ``"*"`` turns the check off), and every
IP literal of this host: Alpaca discovery hands clients an address, never a name, and an IP
literal cannot be rebound. A request without a Host header (HTTP/1.0) is let through: browsers
always send one.

A page that hammers the server would fill the log with a line per refusal: each name is logged
once a minute, at most ten names a minute (rebinding services hand out a fresh name per page),
and what went unsaid is counted in one line.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

log = logging.getLogger(__name__)

ANY_HOST = "*"
LOG_INTERVAL_S = 60.0
NAMES_LOGGED_PER_INTERVAL = 10


def host_name(header: str) -> str:
    """The name or address in a Host header, without port, brackets or trailing dot, lower case."""
    text = header.strip().lower()
    if text.startswith("["):  # an IPv6 literal: [::1]:11111
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None


class _RefusalLog:
    """The log lines about refused Host names, bounded per interval however many arrive."""

    def __init__(self, now: Callable[[], float]):
        self._now = now
        self._lock = threading.Lock()  # waitress answers requests on several threads
        self._interval_start = float("-inf")
        self._repeats: dict[str, int] = {}  # names logged this interval -> refusals since
        self._unnamed = 0  # refusals of names beyond this interval's budget

    def refused(self, method: str, path: str, name: str) -> None:
        with self._lock:
            self._count(method, path, name)

    def _count(self, method: str, path: str, name: str) -> None:
        now = self._now()
        if now - self._interval_start >= LOG_INTERVAL_S:
            self._say_what_went_unsaid()
            self._interval_start = now
        if name in self._repeats:
            self._repeats[name] += 1
        elif len(self._repeats) >= NAMES_LOGGED_PER_INTERVAL:
            self._unnamed += 1
        else:
            self._repeats[name] = 0
            log.warning(
                "refused %s %r for Host %r, not a name of this server (more refusals within a "
                "minute are counted, not logged)",
                method,
                path,
                name,
            )

    def _say_what_went_unsaid(self) -> None:
        repeated = sum(self._repeats.values())
        if repeated or self._unnamed:
            log.warning(
                "refused %d more requests for Host names already logged and %d for names "
                "not logged, in the minute since the first refusal",
                repeated,
                self._unnamed,
            )
        self._repeats.clear()
        self._unnamed = 0


class HostCheck:
    """WSGI middleware: a request whose Host is not this server's gets a plain-text 400.

    It wraps the whole application (setup pages and unknown paths too) and answers before the
    application sees the request, so a refused request changes nothing.

    Args:
        app: the WSGI application behind the check.
        names: the server's own names and the user's additions (``"*"``: every Host passes).
        local_addresses: this host's interface addresses now; asked again when an IP literal is
            not yet known, so an address that DHCP hands out later passes too.
        now: monotonic seconds, for logging each refused name once a minute.
    """

    def __init__(
        self,
        app: WsgiApp,
        names: Iterable[str],
        local_addresses: Callable[[], Iterable[str]],
        now: Callable[[], float] = time.monotonic,
    ):
        names = list(names)
        self._refusals = _RefusalLog(now)
        self._app = app
        self._any = ANY_HOST in names
        self._names = {host_name(n) for n in names if n and n != ANY_HOST}
        self._local_addresses = local_addresses
        self._addresses = self._read_addresses()

    def _read_addresses(self) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        found = {_address(a) for a in self._local_addresses()} | {_address(n) for n in self._names}
        return {a for a in found if a is not None}

    def allows(self, header: str) -> bool:
        """Whether a request with this Host header is for this server."""
        if self._any:
            return True
        name = host_name(header)
        address = _address(name)
        if address is None:
            return name in self._names
        if address.is_loopback or address in self._addresses:
            return True
        self._addresses = self._read_addresses()
        return address in self._addresses

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        header = environ.get("HTTP_HOST")
        if header is None or self.allows(header):
            return self._app(environ, start_response)
        shown = host_name(header)[:100]
        path = str(environ.get("PATH_INFO", ""))[:200]
        self._refusals.refused(str(environ.get("REQUEST_METHOD")), path, shown)
        body = (
            f"This server does not answer to the name {shown!r}: use its address, or add the "
            "name to allowed_hosts in the [server] section of the settings file.\n"
        ).encode()
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]
