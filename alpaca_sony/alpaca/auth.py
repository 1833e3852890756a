"""HTTP Basic authentication in front of the Alpaca API and the setup pages (issue 9 point 8).

Off unless ``auth_user`` and ``auth_password_file`` are set in ``[server]``. The password is
read from a file, never taken from a flag or the environment: a flag shows in ``ps`` and the
shell history, and the environment is inherited by child processes and shown by
``docker inspect`` and ``systemctl show``. A file also fits Docker secrets and systemd's
``LoadCredential=``.

Open without credentials: UDP discovery (it only names the port) and the read-only management
GETs (``/management/apiversions``, ``/management/v1/description``,
``/management/v1/configureddevices``). The ASCOM client library's discovery, which NINA and the
ASCOM Chooser use, reads all three with no credentials as soon as a server answers the UDP
broadcast (ASCOMLibrary ``AlpacaDiscovery.GetAlpacaDeviceInformation``); behind a password the
server would be listed with no camera. The ASCOM Alpaca Simulators leave the same three open
(``[AllowAnonymous]`` in ``ManagementController.cs``). They tell no more than mDNS announces.
Everything else, unknown paths included, needs the user name and password.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alpaca_sony.errors import ConfigError

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

log = logging.getLogger(__name__)

REALM = "alpaca-sony"
CHALLENGE = f'Basic realm="{REALM}"'
OPEN_PATHS = frozenset(
    {"/management/apiversions", "/management/v1/description", "/management/v1/configureddevices"}
)
_READ_METHODS = frozenset({"GET", "HEAD"})
_MAX_REMEMBERED = 1024  # refused addresses kept to log each once
REFUSAL = (
    b"This server needs a user name and password (HTTP Basic authentication): enter the ones "
    b"set by auth_user and auth_password_file in its [server] settings in your client.\n"
)


@dataclass(frozen=True)
class Credentials:
    """The one user name and password the server accepts (the password never in a repr)."""

    user: str
    password: str = field(repr=False)

    def tokens(self) -> tuple[bytes, ...]:
        """``user:password`` as a Basic Authorization header may carry it: in UTF-8, or in
        Latin-1 as requests (so alpyca) encodes it; RFC 7617 leaves the charset to the client
        unless the challenge names one."""
        text = f"{self.user}:{self.password}"
        utf8 = text.encode()
        try:
            latin1 = text.encode("latin-1")
        except UnicodeEncodeError:
            return (utf8,)
        return (utf8,) if latin1 == utf8 else (utf8, latin1)


def read_credentials(user: str, password_file: str) -> Credentials | None:
    """The credentials the settings name, or None when authentication is off.

    The file's content is the password; one trailing line break (as ``echo`` writes) is dropped.

    Raises:
        ConfigError: only one of the two is set, or the file cannot be read, is not UTF-8 text
            or holds no password.
    """
    if not user and not password_file:
        return None
    if not user or not password_file:  # ServerSettings refuses this first
        raise ConfigError("authentication needs both server.auth_user and auth_password_file")
    path = Path(password_file).expanduser()
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot read the password file {path} ({reason}): fix server.auth_password_file "
            "or the file's permissions"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"the password file {path} is not UTF-8 text: write the password into it as text"
        ) from None
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise ConfigError(
            f"the password file {path} is empty: write the password into it "
            "(server.auth_password_file)"
        )
    if "\n" in password or "\r" in password:
        raise ConfigError(
            f"the password file {path} holds more than one line: keep only the password in it"
        )
    if path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "the password file %s can be read by other users of this machine: chmod 600 it", path
        )
    return Credentials(user, password)


def serves_beyond_loopback(host: str) -> bool:
    """Whether binding ``host`` lets other machines connect (names other than localhost do)."""
    if host in ("", "localhost"):
        return host == ""
    try:
        return not ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return True  # a host name: it resolves to some interface's address


def warn_if_open(host: str, credentials: Credentials | None) -> None:
    """The one warning at start when anyone on the network may drive the camera."""
    if credentials is None and serves_beyond_loopback(host):
        log.warning(
            "serving %s without authentication: anyone on the network can drive the camera "
            "and read its images; to require a password set auth_user and auth_password_file "
            "in the [server] settings (or --auth-user NAME --auth-password-file FILE)",
            host or "every address",
        )


def _presented(header: str) -> bytes | None:
    """The ``user:password`` bytes of a Basic Authorization header, None if it is not one."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


class BasicAuth:
    """WSGI middleware: a request without the right credentials gets a plain-text 401.

    It answers before the application sees the request, so a refused request changes nothing.
    The Authorization header is removed before the request goes on: nothing behind this can
    log it. Each refused address is logged once until it logs in, so a client polling without
    credentials does not flood the log; no header value is ever logged.
    """

    def __init__(self, app: WsgiApp, credentials: Credentials):
        self._app = app
        self._tokens = credentials.tokens()
        self._refused: set[str] = set()

    def allows(self, header: str | None) -> bool:
        """Whether this Authorization header carries the configured user name and password."""
        presented = _presented(header) if header else None
        if presented is None:
            return False
        # compare_digest, against every encoding (no early exit): the time taken does not tell
        # how much of a guess was right.
        matches = [hmac.compare_digest(presented, token) for token in self._tokens]
        return any(matches)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        header = environ.pop("HTTP_AUTHORIZATION", None)
        peer = str(environ.get("REMOTE_ADDR", "?"))
        if self.allows(header):
            self._refused.discard(peer)
            return self._app(environ, start_response)
        if environ.get("PATH_INFO") in OPEN_PATHS and environ.get("REQUEST_METHOD") in (
            _READ_METHODS
        ):
            return self._app(environ, start_response)
        if peer not in self._refused:
            if len(self._refused) >= _MAX_REMEMBERED:  # a scan from many addresses
                self._refused.clear()
            self._refused.add(peer)
            log.warning(
                "refused %s %s from %s: %s (logged once per address until it logs in)",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                peer,
                "no credentials" if header is None else "wrong or malformed credentials",
            )
        start_response(
            "401 Unauthorized",
            [
                ("WWW-Authenticate", CHALLENGE),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(REFUSAL))),
            ],
        )
        return [REFUSAL]


def protect(app: WsgiApp, credentials: Credentials | None) -> WsgiApp:
    """``app`` behind Basic authentication, or ``app`` itself when authentication is off."""
    return app if credentials is None else BasicAuth(app, credentials)
