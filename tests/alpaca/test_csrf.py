"""CSRF tokens and the Origin/Referer check of the setup form (issue 9 point 8)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpaca_sony.alpaca.csrf import FormTokens, same_origin

PAGE = "/setup/v1/camera/0/setup"
pages = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60)


def test_a_page_accepts_its_own_token_only() -> None:
    tokens = FormTokens()
    token = tokens.token(PAGE)
    assert tokens.valid(PAGE, token)
    assert not tokens.valid("/setup/v1/camera/1/setup", token)  # bound to the page
    assert not FormTokens().valid(PAGE, token)  # another process, another secret
    for missing in (None, ""):
        assert not tokens.valid(PAGE, missing)


@given(page=pages, other=pages)
def test_tokens_of_different_pages_differ(page: str, other: str) -> None:
    tokens = FormTokens(b"k" * 32)
    assert tokens.valid(page, tokens.token(page))
    if page != other:
        assert not tokens.valid(other, tokens.token(page))


@given(position=st.integers(min_value=0), replacement=st.characters(codec="utf-8"))
def test_a_token_changed_anywhere_is_refused(position: int, replacement: str) -> None:
    tokens = FormTokens(b"s" * 32)
    token = tokens.token(PAGE)
    at = position % len(token)
    forged = token[:at] + replacement + token[at + 1 :]
    assert tokens.valid(PAGE, forged) == (forged == token)


@given(secret=st.binary(min_size=16, max_size=64), other=st.binary(min_size=16, max_size=64))
def test_the_secret_decides_the_token(secret: bytes, other: bytes) -> None:
    if secret != other:
        assert not FormTokens(other).valid(PAGE, FormTokens(secret).token(PAGE))


@pytest.mark.parametrize(
    ("host", "origin", "referer", "passes"),
    [
        ("127.0.0.1:11111", "http://127.0.0.1:11111", None, True),
        ("127.0.0.1:11111", None, "http://127.0.0.1:11111/setup/v1/camera/0/setup", True),
        ("Pi.local", "http://pi.local:80", None, True),  # default port, either side
        ("pi.local:80", "http://pi.local", None, True),
        ("[::1]:11111", "http://[::1]:11111", None, True),
        ("127.0.0.1:11111", None, None, True),  # a script: the token decides
        ("127.0.0.1:11111", "http://127.0.0.1:8000", None, False),  # another port, another site
        ("127.0.0.1:11111", "http://evil.example", None, False),
        ("127.0.0.1:11111", "null", None, False),  # sandboxed or opaque page
        ("127.0.0.1:11111", None, "http://evil.example/page", False),
        ("127.0.0.1:11111", "http://evil.example", "http://127.0.0.1:11111/", False),  # Origin wins
        ("127.0.0.1:11111", "ftp://127.0.0.1:11111", None, False),
        (None, "http://127.0.0.1:11111", None, False),  # nothing to compare it with
        ("127.0.0.1:11111", "http://user@127.0.0.1:11111", None, True),
    ],
)
def test_origin_or_referer_must_name_this_server(
    host: str | None, origin: str | None, referer: str | None, passes: bool
) -> None:
    assert same_origin(host, origin, referer) is passes


@given(origin=st.text(max_size=80), host=st.text(max_size=40))
def test_any_origin_text_gets_an_answer(origin: str, host: str) -> None:
    """Whatever a client sends, the check answers (never raises), and a foreign host fails."""
    result = same_origin(host, origin, None)
    assert isinstance(result, bool)
    if "evil" not in host.lower():
        assert not same_origin(host, "http://evil.example.invalid", None)
