"""The Host header must name this server: a web page cannot drive the camera by DNS rebinding.

A page on ``evil.example`` that re-points its name at this host's address can make the visitor's
browser send requests here, but the browser still says ``Host: evil.example``. Only the server's
own names pass (host name, ``.local`` names, the mDNS host label, ``localhost``, the bound
address), names the user adds (``server.allowed_hosts``; ``"*"`` turns the check off), and every
IP literal of this host: Alpaca discovery hands clients an address, never a name, and an IP
literal cannot be rebound. A request without a Host header (HTTP/1.0) is let through: browsers
always send one.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

log = logging.getLogger(__name__)

ANY_HOST = "*"


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


class HostCheck:
    """WSGI middleware: a request whose Host is not this server's gets a plain-text 400.

    It wraps the whole application (setup pages and unknown paths too) and answers before the
    application sees the request, so a refused request changes nothing.

    Args:
        app: the WSGI application behind the check.
        names: the server's own names and the user's additions (``"*"``: every Host passes).
        local_addresses: this host's interface addresses now; asked again when an IP literal is
            not yet known, so an address that DHCP hands out later passes too.
    """

    def __init__(
        self, app: WsgiApp, names: Iterable[str], local_addresses: Callable[[], Iterable[str]]
    ):
        names = list(names)
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
        log.warning(
            "refused %s %s for Host %r",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
            shown,
        )
        body = (
            f"This server does not answer to the name {shown!r}: use its address, or add the "
            "name to allowed_hosts in the [server] section of the settings file.\n"
        ).encode()
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]
