"""The Host header names this server or the request is refused: a page on another name that DNS
rebinding points at this host cannot drive the camera (issue 9 point 8). A real server on
loopback, so the check is the one the runtime wires in front of every route."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from alpaca_sony.alpaca.host_check import host_name
from alpaca_sony.discovery.mdns import host_addresses, host_label

IDS = "ClientID=1&ClientTransactionID=7"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _ask(
    port: int, method: str, path: str, host: str, body: str | None = None
) -> tuple[int, str, bytes]:
    """One request with this Host header: status, Content-Type and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body, headers={"Host": host, **(FORM if body else {})})
        reply = conn.getresponse()
        return reply.status, reply.getheader("Content-Type") or "", reply.read()
    finally:
        conn.close()


def _value(port: int, member: str) -> Any:
    status, _, body = _ask(port, "GET", f"/api/v1/camera/0/{member}?{IDS}", "127.0.0.1")
    reply = orjson.loads(body)
    assert status == 200 and reply["ErrorNumber"] == 0, reply
    return reply["Value"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/camera/0/camerastate?" + IDS, "/management/v1/configureddevices", "/setup", "/nope"],
)
def test_a_foreign_host_name_is_refused_with_a_sentence_naming_the_setting(
    serve: Callable[..., int], path: str
) -> None:
    port = serve()
    status, content_type, body = _ask(port, "GET", path, f"evil.example:{port}")
    assert status == 400 and content_type.startswith("text/plain")
    assert body.decode() == (
        "This server does not answer to the name 'evil.example': use its address, or add the "
        "name to allowed_hosts in the [server] section of the settings file.\n"
    )


def test_a_rebound_put_changes_nothing(serve: Callable[..., int]) -> None:
    port = serve()
    connect = f"Connected=True&{IDS}"
    assert _ask(port, "PUT", "/api/v1/camera/0/connected", "evil.example", connect)[0] == 400
    assert _value(port, "connected") is False
    status, _, body = _ask(port, "PUT", "/api/v1/camera/0/connected", "127.0.0.1", connect)
    assert status == 200 and orjson.loads(body)["ErrorNumber"] == 0
    gain = _value(port, "gain")
    other = f"Gain={gain + 1}&{IDS}"
    assert _ask(port, "PUT", "/api/v1/camera/0/gain", "evil.example", other)[0] == 400
    assert _value(port, "gain") == gain
    start = f"Duration=1&Light=True&{IDS}"
    assert _ask(port, "PUT", "/api/v1/camera/0/startexposure", "evil.example", start)[0] == 400
    assert _value(port, "camerastate") == 0


def _own_names(port: int) -> list[str]:
    hostname = socket.gethostname()
    short = hostname.split(".", 1)[0]
    return [
        f"127.0.0.1:{port}",
        "127.0.0.1",
        f"[::1]:{port}",
        f"localhost:{port}",
        "LOCALHOST.",  # names are case-insensitive; a trailing dot is the same name
        hostname,
        f"{short}.local:{port}",
        f"{host_label()}.local",  # what mDNS announces
        *(f"[{a}]:{port}" if ":" in a else f"{a}:{port}" for a in host_addresses()),
    ]


def test_the_servers_own_names_and_addresses_pass(serve: Callable[..., int]) -> None:
    port = serve()
    for host in _own_names(port):
        status, _, body = _ask(port, "GET", f"/api/v1/camera/0/camerastate?{IDS}", host)
        assert status == 200, (host, body)


def test_names_the_user_adds_pass_and_near_misses_do_not(serve: Callable[..., int]) -> None:
    port = serve(allowed_hosts=("Observatory.lan", "scope"))
    for host in ("observatory.lan", f"OBSERVATORY.LAN:{port}", "scope"):
        assert _ask(port, "GET", "/management/apiversions", host)[0] == 200, host
    for host in (
        "observatory.lan.evil.example",
        "evil-observatory.lan",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "192.0.2.7",  # an address, but not one of this host's
        "",
    ):
        assert _ask(port, "GET", "/management/apiversions", host)[0] == 400, host


def test_a_star_lets_every_host_through(serve: Callable[..., int]) -> None:
    port = serve(allowed_hosts=("*",))
    assert _ask(port, "GET", "/management/apiversions", "evil.example")[0] == 200


def test_an_http_1_0_request_without_host_is_served(serve: Callable[..., int]) -> None:
    """HTTP/1.0 clients may send none; browsers (the rebinding path) always send one."""
    port = serve()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /management/apiversions HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.split(b"\r\n")[0].split(b" ")[1] == b"200"


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Example.COM:11111", "example.com"),
        ("example.com.", "example.com"),
        ("[::1]:11111", "::1"),
        ("[fe80::1%eth0]", "fe80::1%eth0"),
        ("10.0.0.2", "10.0.0.2"),
    ],
)
def test_host_name_drops_port_brackets_and_case(header: str, name: str) -> None:
    assert host_name(header) == name
