"""Cross-site request forgery: a setup-form POST must come from this server's own setup page.

A web page on another site can make the visitor's browser POST a form here, but it cannot read
our pages (same-origin policy; the Host check stops DNS rebinding), so it cannot know the token
each setup page carries: an HMAC of the page's path under a secret made when the process starts.
Tokens need no storage, are bound to one page (camera 0's token does not change camera 1) and die
with the process. A browser also says where a POST came from (Origin, else Referer): when it
does, that must be this server as the browser reached it (the Host header).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

TOKEN_FIELD = "csrf_token"  # noqa: S105 - a form field's name, not a secret
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class FormTokens:
    """Makes and checks the token of each setup page, under one secret for the process."""

    def __init__(self, secret: bytes | None = None):
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def token(self, page: str) -> str:
        """The token the form on ``page`` (a path such as /setup/v1/camera/0/setup) carries."""
        digest = hmac.new(self._secret, b"setup-form\0" + page.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def valid(self, page: str, token: str | None) -> bool:
        """Whether ``token`` is the one ``page`` carries (compared in constant time)."""
        if not token:
            return False
        return hmac.compare_digest(self.token(page).encode(), token.encode("utf-8", "replace"))


def _authority(url: str) -> str | None:
    """``host:port`` of an absolute http(s) URL, lower case, the scheme's default port dropped."""
    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc.lower().rsplit("@", 1)[-1]
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not netloc:
        return None
    default = ":" + _DEFAULT_PORTS[parts.scheme]
    return netloc.removesuffix(default)


def same_origin(host: str | None, origin: str | None, referer: str | None) -> bool:
    """Whether the browser's Origin (else its Referer), if it sent one, names ``host``.

    ``host`` is the request's Host header. Neither header present (a script, an old browser)
    passes: the token is the real check. ``Origin: null`` (a sandboxed or opaque page) fails.
    """
    claimed = origin if origin is not None else referer
    if claimed is None:
        return True
    if host is None:
        return False
    authority = _authority(claimed)
    if authority is None:
        return False
    own = host.strip().lower()
    return authority in (own, own.removesuffix(":80"), own.removesuffix(":443"))
