"""HTTP limits on a real waitress server on loopback: one host's idle connections cannot lock the
others out, idle connections close after channel_timeout, headers sent a byte at a time close at
request_header_timeout while slow bodies and slow downloads go on, oversized requests are refused
without being read, and bad limit settings are one-sentence errors (issue 9 points 6 and 8).

Two clients on one machine: every 127.x.y.z address is this host's loopback on Linux, so the
"other host" connects from 127.0.0.2 and the well-behaved client from 127.0.0.1.
"""

from __future__ import annotations

import http.client
import itertools
import logging
import os
import select
import socket
import time
import tracemalloc
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import pytest

from alpaca_sony.alpaca.host_check import HostCheck
from alpaca_sony.cli import main
from alpaca_sony.clock import FakeClock
from alpaca_sony.config import load
from alpaca_sony.errors import ConfigError

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
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


def test_a_connection_on_a_descriptor_above_1023_is_served(serve: Callable[..., int]) -> None:
    """select() cannot watch a descriptor above 1023, which a high connection_limit reaches."""
    port = serve()
    with ExitStack() as stack:
        while True:  # take every descriptor up to 1030, so the next connection lands above
            read_end, write_end = os.pipe()
            stack.callback(os.close, read_end)
            stack.callback(os.close, write_end)
            if write_end > 1030:
                break
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


# A request whose line and headers take minutes at one byte per TRICKLE_S.
SLOW_REQUEST = (
    b"GET /api/v1/camera/0/camerastate?ClientID=1&ClientTransactionID=1 HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\nX-Pad: " + b"a" * 4000 + b"\r\n\r\n"
)
TRICKLE_S = 0.2
CLOSE_TIMEOUT_S = 30.0  # generous: "closed by the deadline", far below channel_timeout's 60 s


def _timeout_sentence(seconds: int) -> bytes:
    return (
        b"The request line and headers did not all arrive within %d s: send each request whole, "
        b"or raise request_header_timeout in the [server] section.\n" % seconds
    )


def _status_line(reply: bytes) -> bytes:
    return reply.split(b"\r\n", 1)[0]


def _read_until_closed(sock: socket.socket, timeout_s: float = CLOSE_TIMEOUT_S) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout_s)
    reply = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return reply
        if not chunk:
            return reply
        reply += chunk


def _outlast_the_header_deadline(port: int, seconds: int = 1) -> None:
    """Returns once a client that began a request and went quiet got its 408: from then on,
    everything begun before this call has been in the server for longer than the deadline."""
    with socket.create_connection(("127.0.0.1", port), timeout=CLOSE_TIMEOUT_S) as stalled:
        stalled.sendall(b"GET /management/apiver")
        reply = _read_until_closed(stalled)
    assert _status_line(reply) == b"HTTP/1.1 408 Request Timeout"
    assert reply.endswith(b"\r\n\r\n" + _timeout_sentence(seconds))


class _SlowClient:
    """A connection sending SLOW_REQUEST one byte per round."""

    def __init__(self, stack: ExitStack, source: str, port: int):
        self.sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.sent = 0
        self.closed = False

    def send_a_byte(self) -> None:
        try:
            self.sock.send(SLOW_REQUEST[self.sent : self.sent + 1])
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True  # the server closed it while the byte was on its way
            return
        self.sent += 1

    def read(self) -> None:
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        # The 408 may be lost to a reset (unread trickled bytes make the close a reset): only
        # the closing is certain; _outlast_the_header_deadline checks the reply itself.
        if not data:
            self.closed = True


def _trickle_until_closed(
    clients: list[_SlowClient], timeout_s: float, meanwhile: Callable[[], None]
) -> None:
    """Every client sends a byte a round until the server closes it; ``meanwhile`` runs once,
    after the first round, while they all hold a begun request."""
    deadline = time.monotonic() + timeout_s
    for round_number in itertools.count():
        open_clients = [c for c in clients if not c.closed]
        if not open_clients or time.monotonic() > deadline:
            return
        readable, _, _ = select.select([c.sock for c in open_clients], [], [], TRICKLE_S)
        for client in open_clients:
            if client.sock in readable:
                client.read()
            if not client.closed:
                client.send_a_byte()
        if round_number == 0:
            meanwhile()


def test_headers_sent_a_byte_at_a_time_are_cut_off_and_others_are_still_served(
    serve: Callable[..., int],
) -> None:
    port = serve(request_header_timeout=1)  # channel_timeout stays 60 s
    answers: list[int] = []
    with ExitStack() as stack:
        # 15 from one address (below its cap of 20) and 5 from each of four more.
        sources = [OTHER_HOST] * 15 + [f"127.0.0.{n}" for n in range(3, 7) for _ in range(5)]
        clients = [_SlowClient(stack, source, port) for source in sources]
        _trickle_until_closed(clients, CLOSE_TIMEOUT_S, lambda: answers.append(_status(port)))
        assert answers == [200]
        assert [c for c in clients if not c.closed] == []
        assert max(c.sent for c in clients) < len(SLOW_REQUEST)  # all cut off midway
    _outlast_the_header_deadline(port)  # the closing reply says what to do
    assert _status(port) == 200


def _http(port: int, method: str, member: str, form: str = "") -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT_S)
    try:
        ids = "ClientID=1&ClientTransactionID=1"
        if method == "GET":
            conn.request("GET", f"/api/v1/camera/0/{member}?{ids}")
        else:
            conn.request("PUT", f"/api/v1/camera/0/{member}", f"{ids}&{form}", FORM)
        reply = orjson.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert reply["ErrorNumber"] == 0, reply
    return reply.get("Value")


def test_a_slow_body_is_not_cut_off_by_the_header_deadline(serve: Callable[..., int]) -> None:
    port = serve(request_header_timeout=1)
    form = b"Connected=True&ClientID=1&ClientTransactionID=1"
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_S) as sock:
        sock.sendall(
            b"PUT /api/v1/camera/0/connected HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(form), form[:10])
        )
        _outlast_the_header_deadline(port)
        assert select.select([sock], [], [], 0)[0] == []  # still open, nothing said
        sock.sendall(form[10:])
        reply = sock.recv(65536)
    assert _status_line(reply) == b"HTTP/1.1 200 OK"
    assert _http(port, "GET", "connected") is True


def _receive_exactly(sock: socket.socket, count: int) -> int:
    buffer = bytearray(1 << 20)
    received = 0
    while received < count:
        got = sock.recv_into(buffer, min(len(buffer), count - received))
        if not got:
            break
        received += got
    return received


def test_a_slow_image_download_is_not_cut_off_by_the_header_deadline(
    serve: Callable[..., int],
) -> None:
    port = serve(request_header_timeout=2)
    _http(port, "PUT", "connected", "Connected=True")
    _http(port, "PUT", "startexposure", "Duration=0.1&Light=True")
    deadline = time.monotonic() + 60
    while not _http(port, "GET", "imageready"):
        assert time.monotonic() < deadline, "no image"
        time.sleep(0.05)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # A small window, so most of the image waits in the server while the client dawdles.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.settimeout(ANSWER_TIMEOUT_S)
        sock.connect(("127.0.0.1", port))
        # The download, and the next request begun behind it (pipelined), as a client may.
        sock.sendall(
            b"GET /api/v1/camera/0/imagearray?ClientID=1&ClientTransactionID=2 HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nAccept: application/imagebytes\r\n\r\n"
            b"GET /management/apiversions HTTP/1.1\r\nHo"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
        assert _status_line(head) == b"HTTP/1.1 200 OK" and length > 40_000_000
        _outlast_the_header_deadline(port, seconds=2)
        assert _receive_exactly(sock, length) == length  # all of it: the download went on
        # The begun request's clock started only once the image was out: it may still finish.
        sock.sendall(b"st: 127.0.0.1\r\n\r\n")
        assert _status_line(sock.recv(65536)) == b"HTTP/1.1 200 OK"


def test_a_10_mb_body_is_refused_before_a_byte_of_it_is_read(serve: Callable[..., int]) -> None:
    port = serve()  # max_request_body_bytes 1 MiB
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_S) as sock:
        sock.sendall(
            b"PUT /api/v1/camera/0/connected HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % (10 << 20)
        )
        reply = _read_until_closed(sock, ANSWER_TIMEOUT_S)  # no body byte sent: none read
    assert _status_line(reply) == b"HTTP/1.1 413 Request Entity Too Large"
    assert _http(port, "GET", "connected") is False


def test_a_chunked_10_mb_body_is_refused_without_being_held_in_memory(
    serve: Callable[..., int],
) -> None:
    port = serve()  # max_request_body_bytes 1 MiB
    chunk = b"%x\r\n%s\r\n" % (64 << 10, b"x" * (64 << 10))
    tracemalloc.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
            sock.settimeout(ANSWER_TIMEOUT_S)
            sock.connect(("127.0.0.1", port))
            sock.sendall(
                b"PUT /api/v1/camera/0/connected HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            try:
                for _ in range(160):  # 10 MiB, until the server answers
                    if select.select([sock], [], [], 0)[0]:
                        break
                    sock.sendall(chunk)
                else:
                    sock.sendall(b"0\r\n\r\n")  # the whole body went in: its end
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused and closed while the body was still coming: the reply is there
            reply = sock.recv(65536)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 << 20  # the server held at most the 1 MiB limit, never the 10 MiB
    assert _status_line(reply) == b"HTTP/1.1 413 Request Entity Too Large"
    assert _http(port, "GET", "connected") is False


def _refuse(check: HostCheck, host: str) -> int:
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/setup", "HTTP_HOST": host}
    check(environ, lambda status, headers: statuses.append(status))
    return int(statuses[0].split()[0])


def _host_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.name == "alpaca_sony.alpaca.host_check"]
    caplog.clear()
    return lines


def test_a_flood_of_refused_host_names_logs_each_name_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise AssertionError("a refused request reached the app")

    check = HostCheck(app, ["observatory.lan"], list, now=clock.monotonic)
    caplog.set_level(logging.WARNING)
    for _ in range(400):  # a page hammering the server from one rebound name
        assert _refuse(check, "evil.example") == 400
        clock.advance(0.125)  # 50 s in all
    assert _host_lines(caplog) == [
        "refused GET '/setup' for Host 'evil.example', not a name of this server "
        "(more refusals within a minute are counted, not logged)"
    ]
    for n in range(30):  # a fresh name per request, as rebinding services give
        assert _refuse(check, f"r{n}.evil.example") == 400
    # Ten names a minute in all: nine more.
    assert [line.split("'")[3] for line in _host_lines(caplog)] == [
        f"r{n}.evil.example" for n in range(9)
    ]
    clock.advance(10)  # a minute after the first refusal: the count, then the name again
    assert _refuse(check, "evil.example") == 400
    assert _host_lines(caplog) == [
        "refused 399 more requests for Host names already logged and 21 for names not logged, "
        "in the minute since the first refusal",
        "refused GET '/setup' for Host 'evil.example', not a name of this server "
        "(more refusals within a minute are counted, not logged)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("connection_limit = 5", r"server\.connection_limit must be a whole number from 10"),
        ("channel_timeout = 0", r"server\.channel_timeout must be a whole number from 1 to"),
        (
            "request_header_timeout = 0",
            r"server\.request_header_timeout must be a whole number from 1 to 600, not 0",
        ),
        ("request_header_timeout = 601", r"server\.request_header_timeout must be a whole"),
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
        "request_header_timeout = 5\nallowed_hosts = ['observatory.lan']\n"
    )
    server = load(path).server
    assert (server.connection_limit, server.connections_per_client) == (300, 40)
    assert (server.channel_timeout, server.allowed_hosts) == (15, ("observatory.lan",))
    assert server.request_header_timeout == 5


def test_a_bad_limit_flag_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--simulator", "--connection-limit", "20", "--connections-per-client", "30"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "ERROR" in lines[0] and "Traceback" not in lines[0]
    assert lines[0].endswith(
        "server.connections_per_client must be from 1 to 19 (below server.connection_limit, "
        "or one client can take every connection), not 30"
    )


def test_a_bad_header_deadline_flag_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--simulator", "--request-header-timeout", "0"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "server.request_header_timeout" in lines[0]
    assert "Traceback" not in lines[0]
