"""A small HTTP/1.1 client on ``http.client``: exact parameter names, raw bodies, keep-alive.

Nothing here knows Alpaca semantics; it sends exactly what it is given (names and values are only
percent-encoded) and hands back the status, headers and undecoded body bytes.
"""

from __future__ import annotations

import base64
import http.client
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import conformance

Params = Sequence[tuple[str, str]]

USER_AGENT = f"AlpacaSonyConformance/{conformance.__version__}"
FORM_TYPE = "application/x-www-form-urlencoded"


class WireError(Exception):
    """The request did not produce an HTTP reply (refused, reset, timed out, garbled)."""


@dataclass(frozen=True)
class Reply:
    method: str
    target: str
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    elapsed: float

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def media_type(self) -> str:
        """The content type without parameters, lower case."""
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        return self.media_type == "application/json"

    @property
    def is_imagebytes(self) -> bool:
        return self.media_type == "application/imagebytes"

    def snippet(self, limit: int = 240) -> str:
        """The start of the body as text, for messages (binary bodies are described instead)."""
        if self.is_imagebytes:
            return f"<{len(self.body)} bytes of application/imagebytes>"
        text = self.body[:limit].decode("utf-8", errors="replace")
        more = "..." if len(self.body) > limit else ""
        return f"{text}{more}".replace("\r", "\\r").replace("\n", "\\n")


def encode(params: Params) -> str:
    """``name=value&...`` with every reserved character percent-encoded (spaces as %20)."""
    return "&".join(
        f"{urllib.parse.quote(name, safe='')}={urllib.parse.quote(value, safe='')}"
        for name, value in params
    )


def basic_authorization(user: str, password: str) -> str:
    """The Authorization header value for HTTP Basic authentication (UTF-8, RFC 7617)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class Wire:
    """One keep-alive connection to an Alpaca server (reopened when the server closes it).

    ``credentials`` (user, password) go with every request as HTTP Basic authentication.
    """

    def __init__(
        self, base_url: str, timeout: float = 30.0, credentials: tuple[str, str] | None = None
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.timeout = timeout
        self._authorization = (
            {"Authorization": basic_authorization(*credentials)} if credentials else {}
        )
        self._conn: http.client.HTTPConnection | None = None
        self._used = False

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self.host, self.port, timeout=self.timeout)
            self._used = False
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Params = (),
        form: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request; ``form`` (PUT) goes in an x-www-form-urlencoded body."""
        target = path + (f"?{encode(query)}" if query else "")
        sent = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **self._authorization,
            **(headers or {}),
        }
        body: bytes | None = None
        if form is not None:
            body = encode(form).encode("ascii")
            sent["Content-Type"] = FORM_TYPE
        try:
            return self._send(method, target, body, sent)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            # A kept-alive connection the server had already closed: one fresh attempt.
            if not self._used:
                self.close()
                raise WireError(f"{method} {target}: {exc!r}") from exc
            self.close()
        try:
            return self._send(method, target, body, sent)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise WireError(f"{method} {target}: {exc!r}") from exc

    def _send(
        self, method: str, target: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Reply:
        conn = self._connection()
        start = time.monotonic()
        try:
            conn.request(method, target, body=body, headers=dict(headers))
            response = conn.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            raise
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise WireError(f"{method} {target}: {exc!r}") from exc
        elapsed = time.monotonic() - start
        self._used = True
        if response.will_close:
            self.close()
        names = {name.lower(): value for name, value in response.getheaders()}
        return Reply(method, target, response.status, names, data, elapsed)
