"""HTTP limits on a real waitress server on loopback: one host's idle connections cannot lock the
others out, idle connections close after channel_timeout, oversized requests are refused, and bad
limit settings are one-sentence errors (issue 9 points 6 and 8).

Two clients on one machine: every 127.x.y.z address is this host's loopback on Linux, so the
"other host" connects from 127.0.0.2 and the well-behaved client from 127.0.0.1.
"""

from __future__ import annotations

import http.client
import select
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from alpaca_sony.cli import main
from alpaca_sony.config import load
from alpaca_sony.errors import ConfigError

ANSWER_TIMEOUT_S = 10.0  # generous: "answers, not locked out", no timing claim
OTHER_HOST = "127.0.0.2"


def _status(port: int) -> int:
    """A well-behaved client's CameraState poll from 127.0.0.1: the HTTP status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT_S)
    try:
        conn.request("GET", "/api/v1/camera/0/camerastate?ClientID=1&ClientTransactionID=1")
        return conn.getresponse().status
    finally:
        conn.close()


def _idle_connections(stack: ExitStack, port: int, count: int) -> list[socket.socket]:
    """``count`` connections from the other host that never send a byte."""
    sockets = []
    for _ in range(count):
        sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        sock.bind((OTHER_HOST, 0))
        sock.connect(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


def _closed_by_server(sockets: list[socket.socket], expected: int, timeout_s: float) -> int:
    """How many of ``sockets`` the server has closed, waiting until ``expected`` or timeout."""
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + timeout_s
    while len(closed) < expected and time.monotonic() < deadline:
        waiting = [s for s in sockets if s not in closed]
        readable, _, _ = select.select(waiting, [], [], max(0.0, deadline - time.monotonic()))
        for sock in readable:  # an idle client reads only when the server ends the connection
            try:
                data = sock.recv(1)
            except ConnectionResetError:
                data = b""
            assert data == b"", "the server sent data on a connection that sent no request"
            closed.add(sock)
    return len(closed)


def test_idle_connections_from_one_host_do_not_lock_out_another(
    serve: Callable[..., int],
) -> None:
    port = serve()  # the defaults: 100 connections in all, 20 per client
    with ExitStack() as stack:
        idle = _idle_connections(stack, port, 200)
        assert _status(port) == 200
        # The first 20 stay open; everything beyond the cap was closed on arrival.
        assert _closed_by_server(idle[20:], 180, ANSWER_TIMEOUT_S) == 180
        assert select.select(idle[:20], [], [], 0)[0] == []  # admitted, idle, open
    assert _status(port) == 200


def test_idle_connections_are_closed_after_the_channel_timeout(serve: Callable[..., int]) -> None:
    port = serve(channel_timeout=1)
    with ExitStack() as stack:
        idle = _idle_connections(stack, port, 3)
        assert _closed_by_server(idle, 3, 30) == 3
    assert _status(port) == 200


def _raw_reply(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_S) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole request was sent: the reply is still there
        return sock.recv(4096)


def test_a_request_body_over_the_limit_is_refused_and_changes_nothing(
    serve: Callable[..., int],
) -> None:
    port = serve(max_request_body_bytes=4096)
    form = b"Connected=True&ClientID=1&ClientTransactionID=1&" + b"x" * 10_000
    reply = _raw_reply(
        port,
        b"PUT /api/v1/camera/0/connected HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(form), form),
    )
    assert reply.split(b"\r\n")[0].split(b" ")[1] == b"413"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT_S)
    conn.request("GET", "/api/v1/camera/0/connected?ClientID=1&ClientTransactionID=2")
    assert b'"Value":false' in conn.getresponse().read()
    conn.close()


def test_request_headers_over_the_limit_are_refused(serve: Callable[..., int]) -> None:
    port = serve(max_request_header_bytes=4096)
    reply = _raw_reply(
        port,
        b"GET /management/apiversions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
        + b"a" * 8192
        + b"\r\n\r\n",
    )
    assert reply.split(b"\r\n")[0].split(b" ")[1] == b"431"
    assert _status(port) == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("connection_limit = 5", r"server\.connection_limit must be a whole number from 10"),
        ("channel_timeout = 0", r"server\.channel_timeout must be a whole number from 1 to"),
        ("max_request_body_bytes = 10", r"server\.max_request_body_bytes must be"),
        ("max_request_header_bytes = 10", r"server\.max_request_header_bytes must be"),
        (
            "connection_limit = 50\nconnections_per_client = 50",
            r"server\.connections_per_client must be from 1 to 49 \(below",
        ),
        ("connections_per_client = 0", r"server\.connections_per_client must be from 1 to 99"),
        ("allowed_hosts = 'a.lan'", r"server\.allowed_hosts must be a list of strings"),
        ("allowed_hosts = ['http://a.lan/']", r"server\.allowed_hosts must list host names"),
    ],
)
def test_bad_limits_in_the_file_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[server]\n{text}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load(path)
    assert "\n" not in str(caught.value)


def test_limits_from_the_file_reach_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[server]\nconnection_limit = 300\nconnections_per_client = 40\nchannel_timeout = 15\n"
        "allowed_hosts = ['observatory.lan']\n"
    )
    server = load(path).server
    assert (server.connection_limit, server.connections_per_client) == (300, 40)
    assert (server.channel_timeout, server.allowed_hosts) == (15, ("observatory.lan",))


def test_a_bad_limit_flag_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--simulator", "--connection-limit", "20", "--connections-per-client", "30"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "ERROR" in lines[0] and "Traceback" not in lines[0]
    assert lines[0].endswith(
        "server.connections_per_client must be from 1 to 19 (below server.connection_limit, "
        "or one client can take every connection), not 30"
    )
