"""The JSON ImageArray is made from the frame a part at a time (issue 10 point 3): the same bytes
as orjson's text of the whole array, a Content-Length that is exactly the bytes sent, never the
whole text in memory, and a body waitress's main loop sends (a stalled client holds no thread)."""

from __future__ import annotations

import http.client
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import falcon
import numpy as np
import numpy.typing as npt
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from waitress.buffers import ReadOnlyFileBasedBuffer

from alpaca_sony.alpaca import json_array
from alpaca_sony.alpaca.image_payload import ImagePayloads, JsonReplyStream
from alpaca_sony.alpaca.json_array import JsonArrayText
from alpaca_sony.camera.decode import DecodedFrame
from alpaca_sony.config import ServerSettings
from alpaca_sony.http_server import HttpServer

# Each count of decimal digits at both of its ends, so a digit counted one too few or too many
# at any threshold changes the length.
EDGES = np.array([0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535], dtype=np.uint16)
TIMEOUT_S = 30.0
STATUS_TIMEOUT_S = 10.0  # generous: "answers at all", no timing claim


def _whole(pixels: npt.NDArray[Any]) -> bytes:
    return orjson.dumps(pixels, option=orjson.OPT_SERIALIZE_NUMPY)


def _edge_frame(shape: tuple[int, ...]) -> npt.NDArray[np.uint16]:
    """Every edge value, then random ones: a frame of odd sizes for the wire tests."""
    values = np.random.default_rng(5).integers(0, 65536, shape, dtype=np.uint16)
    flat = values.reshape(-1)
    flat[: min(len(EDGES), flat.size)] = EDGES[: flat.size]
    return values


def _envelope(pixels: npt.NDArray[Any], client_tid: int, server_tid: int) -> bytes:
    return (
        b'{"Type":2,"Rank":%d,"Value":%s,"ClientTransactionID":%d,"ServerTransactionID":%d,'
        b'"ErrorNumber":0,"ErrorMessage":""}'
        % (pixels.ndim, _whole(pixels), client_tid, server_tid)
    )


def _read_all(stream: JsonReplyStream, size: int) -> bytes:
    parts = []
    while chunk := stream.read(size):
        parts.append(chunk)
    return b"".join(parts)


@settings(max_examples=300, deadline=None)
@given(
    pixels=hnp.arrays(
        dtype=st.sampled_from([np.uint16, np.int16, np.uint8, np.int32]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=9),
    ),
    part_bytes=st.integers(1, 200),
)
def test_the_parts_join_to_orjsons_text_of_the_whole_array(
    pixels: npt.NDArray[Any], part_bytes: int
) -> None:
    text = JsonArrayText(pixels, part_bytes)
    parts = [text.part(i) for i in range(text.part_count)]
    assert [len(p) for p in parts] == list(text.lengths)
    assert b"".join(parts) == _whole(pixels)
    assert text.length == len(_whole(pixels))


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (10, 1), (1, 1, 3), (7, 5, 3), (3, 11, 3)])
def test_the_length_counts_every_digit_of_0_9_10_and_65535(shape: tuple[int, ...]) -> None:
    pixels = _edge_frame(shape)
    for part_bytes in (1, 64, None):  # a column a part, a few, one part
        text = JsonArrayText(pixels, part_bytes)
        assert text.length == len(_whole(pixels))


def test_no_part_of_a_61_mp_rgb_frame_passes_the_part_size_even_at_5_digits_a_value() -> None:
    # The worst text there is for the biggest body's RGB frame (ILCE-7RM4, 9504 x 6336): every
    # value 65535. A view (no 366 MB array); each part is made from it as it would be.
    pixels = np.broadcast_to(np.uint16(65535), (9504, 6336, 3))
    text = JsonArrayText(pixels)
    assert max(text.lengths) <= json_array.PART_BYTES
    assert text.length == 2 + 9504 * (2 + 6336 * (2 + 3 * 5 + 2) + 6335) + 9503  # brackets, commas
    assert len(text.part(0)) == text.lengths[0]
    assert len(text.part(text.part_count - 1)) == text.lengths[-1]


def test_a_json_download_holds_one_part_never_the_whole_text() -> None:
    pixels = np.random.default_rng(3).integers(0, 65536, (3001, 1001), dtype=np.uint16)
    frame = DecodedFrame(pixels, None, None, 65535)
    payloads = ImagePayloads()
    tracemalloc.start()
    try:
        length, stream = payloads.json(1, frame, 1, 2)
        sent = 0
        while chunk := stream.read(16384):  # waitress's read size on loopback (SO_SNDBUF)
            sent += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sent == length > 17_000_000  # 17 MB of text went out...
    assert peak < 4 * json_array.PART_BYTES  # ...through a few MB: one part and its copies


def test_a_json_body_survives_waitress_seeking_back_after_each_partial_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # waitress sends a file body by get(n) (tell, read, seek back) then skip(sent) (seek on by
    # what the socket took); sends of every size, across part boundaries.
    monkeypatch.setattr(json_array, "PART_BYTES", 700)
    pixels = _edge_frame((37, 23, 3))
    frame = DecodedFrame(pixels, None, None, 65535)
    length, stream = ImagePayloads().json(1, frame, 5, 6)
    buffer = ReadOnlyFileBasedBuffer(stream)  # type: ignore[arg-type]  # any file with read/seek/tell
    assert buffer.prepare(length) == length
    sent = bytearray()
    taken = 1
    while len(sent) < length:
        chunk = buffer.get(4096)
        assert chunk, f"the body ended at {len(sent)} of {length} bytes"
        accepted = chunk[: (taken * 7919) % (len(chunk) + 1) or 1]
        sent += accepted
        buffer.skip(len(accepted), True)
        taken += 1
    assert bytes(sent) == _envelope(pixels, 5, 6)


def test_two_downloads_of_one_image_read_apart_each_get_the_whole_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(json_array, "PART_BYTES", 300)
    pixels = _edge_frame((41, 9))
    frame = DecodedFrame(pixels, None, None, 65535)
    payloads = ImagePayloads()
    _, first = payloads.json(1, frame, 1, 10)
    _, second = payloads.json(1, frame, 2, 20)
    bodies = [bytearray(), bytearray()]
    for step in range(2000):
        for body, stream in zip(bodies, (first, second), strict=True):
            body.extend(stream.read(step % 97 + 1))
    assert bytes(bodies[0]) == _envelope(pixels, 1, 10)
    assert bytes(bodies[1]) == _envelope(pixels, 2, 20)


def test_a_seek_anywhere_reads_on_from_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_array, "PART_BYTES", 500)
    pixels = _edge_frame((29, 13, 3))
    _, stream = ImagePayloads().json(1, DecodedFrame(pixels, None, None, 65535), 3, 4)
    whole = _envelope(pixels, 3, 4)
    for offset in (len(whole) - 1, 0, len(whole) // 2, 45, len(whole)):
        stream.seek(offset)
        assert _read_all(stream, 1000) == whole[offset:]
    stream.seek(10)
    assert stream.read() == whole[10:]


# -- through waitress on loopback ------------------------------------------------------------


class _Image:
    def __init__(self, frame: DecodedFrame):
        self.frame = frame
        self.payloads = ImagePayloads()

    def on_get(self, _req: falcon.Request, resp: falcon.Response) -> None:
        # As the Alpaca app answers a JSON ImageArray (alpaca/app.py _send_image).
        length, stream = self.payloads.json(1, self.frame, 7, 8)
        resp.content_type = "application/json"
        resp.content_length = length
        resp.stream = stream


class _Status:
    def on_get(self, _req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = "idle"


@pytest.fixture
def image_server() -> Iterator[Callable[[npt.NDArray[np.uint16]], int]]:
    """Serves a frame's JSON ImageArray at /image (and /status) with ONE worker thread; its port."""
    servers: list[HttpServer] = []

    def start(pixels: npt.NDArray[np.uint16]) -> int:
        app = falcon.App()
        app.add_route("/image", _Image(DecodedFrame(pixels, None, None, 65535)))
        app.add_route("/status", _Status())
        server = HttpServer(app, ServerSettings(host="127.0.0.1", port=0, threads=1))
        servers.append(server)
        server.start()
        return server.port

    yield start
    for server in servers:
        server.stop()


def _download(port: int) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        connection.request("GET", "/image")
        reply = connection.getresponse()
        assert reply.status == 200
        assert reply.getheader("Transfer-Encoding") is None  # a length, not chunks
        return int(reply.getheader("Content-Length") or -1), reply.read()
    finally:
        connection.close()


@pytest.mark.parametrize("shape", [(7, 5), (513, 257), (7, 5, 3), (301, 129, 3)])
def test_the_content_length_is_the_bytes_waitress_sends(
    image_server: Callable[[npt.NDArray[np.uint16]], int],
    monkeypatch: pytest.MonkeyPatch,
    shape: tuple[int, ...],
) -> None:
    monkeypatch.setattr(json_array, "PART_BYTES", 4000)  # many parts, each read crossing one
    pixels = _edge_frame(shape)
    length, body = _download(image_server(pixels))
    assert length == len(body)
    assert body == _envelope(pixels, 7, 8)


def _request_headers(port: int) -> tuple[socket.socket, int, bytes]:
    """A client that asks for the image on a small receive window and reads only the headers:
    (its socket, the Content-Length, the body bytes that came with the headers)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.settimeout(TIMEOUT_S)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /image HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    header, _, body = head.partition(b"\r\n\r\n")
    fields = dict(line.split(": ", 1) for line in header.decode().lower().split("\r\n")[1:])
    return sock, int(fields["content-length"]), body


def test_a_stalled_json_download_holds_no_worker_thread(
    image_server: Callable[[npt.NDArray[np.uint16]], int],
) -> None:
    # 36 MB of text: more than waitress would buffer for a body it was handed piece by piece
    # (outbuf_high_watermark, 16 MB) and the socket buffers together, so a body that were not a
    # file would hold the one worker thread until the client read on.
    pixels = np.random.default_rng(8).integers(0, 65536, (4001, 1501), dtype=np.uint16)
    port = image_server(pixels)
    stalled, length, first = _request_headers(port)
    with stalled:
        status = http.client.HTTPConnection("127.0.0.1", port, timeout=STATUS_TIMEOUT_S)
        try:
            for _ in range(5):  # answered meanwhile, by the only worker thread
                status.request("GET", "/status")
                assert status.getresponse().read() == b"idle"
        except TimeoutError:
            pytest.fail("a status request waited behind the stalled JSON download")
        finally:
            status.close()
        body = bytearray(first)
        while len(body) < length:
            chunk = stalled.recv(1 << 20)
            assert chunk, "the server hung up before the whole body"
            body += chunk
    assert bytes(body) == _envelope(pixels, 7, 8)
