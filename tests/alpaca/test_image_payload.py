"""Image payloads share the frame: ImageBytes serves the decoded array's own buffer (a 61 MP RGB
frame is 366 MB: a copy per image would double it), every download reads the same bytes, and the
stream carries exactly the header and the pixels in x-major order. JSON is made from the same
frame (tests/alpaca/test_json_array.py has its parts, lengths and the wire)."""

from __future__ import annotations

import numpy as np
import orjson

from alpaca_sony.alpaca import imagebytes
from alpaca_sony.alpaca.image_payload import ImagePayloads, JsonReplyStream, PayloadStream
from alpaca_sony.camera.decode import DecodedFrame


def _frame() -> DecodedFrame:
    pixels = np.arange(7 * 5 * 3, dtype=np.uint16).reshape(7, 5, 3) * 601  # x-major RGB
    return DecodedFrame(pixels, None, None, 65535, 7, 5)


def _body(stream: PayloadStream | JsonReplyStream, read_size: int) -> bytes:
    parts = []
    while chunk := stream.read(read_size):
        parts.append(chunk)
    return b"".join(parts)


def test_image_bytes_serve_the_frames_own_buffer() -> None:
    frame = _frame()
    payloads = ImagePayloads()
    _, first = payloads.image_bytes(1, frame, 3, 4)
    _, second = payloads.image_bytes(1, frame, 5, 6)
    shared = [part for part in first._parts if len(part) == frame.pixels.nbytes]
    assert len(shared) == 1 and np.shares_memory(np.asarray(shared[0]), frame.pixels)
    # The second download reads the very same bytes, not a second copy.
    assert any(part.obj is shared[0].obj for part in second._parts)


def test_an_image_bytes_download_is_the_header_then_the_x_major_pixels() -> None:
    frame = _frame()
    length, stream = ImagePayloads().image_bytes(1, frame, 3, 4)
    body = _body(stream, 17)  # odd-sized reads cross the header/pixel boundary
    assert len(body) == length == imagebytes.DATA_START + frame.pixels.nbytes
    assert np.array_equal(imagebytes.decode(body), frame.pixels.astype(np.int32))


def test_a_new_image_number_replaces_the_shared_payload() -> None:
    payloads = ImagePayloads()
    old, new = _frame(), DecodedFrame(np.ones((4, 2), dtype=np.uint16), 0, 0, 16383, 4, 2)
    payloads.image_bytes(1, old, 1, 1)
    _, stream = payloads.image_bytes(2, new, 1, 1)
    assert np.array_equal(imagebytes.decode(_body(stream, 1 << 16)), new.pixels)


def test_a_json_download_is_the_envelope_around_the_x_major_value_array() -> None:
    frame = _frame()
    length, stream = ImagePayloads().json(1, frame, 3, 4)
    body = _body(stream, 17)
    assert len(body) == length
    assert body.startswith(b'{"Type":2,"Rank":3,"Value":[[[0,601,1202],')  # Type, Rank first
    assert orjson.loads(body) == {
        "Type": 2,
        "Rank": 3,
        "Value": frame.pixels.tolist(),  # x-major: Value[x][y][plane]
        "ClientTransactionID": 3,
        "ServerTransactionID": 4,
        "ErrorNumber": 0,
        "ErrorMessage": "",
    }


def test_a_new_image_number_replaces_the_json_text() -> None:
    payloads = ImagePayloads()
    old, new = _frame(), DecodedFrame(np.full((4, 2), 10, dtype=np.uint16), 0, 0, 16383, 4, 2)
    payloads.json(1, old, 1, 1)
    length, stream = payloads.json(2, new, 1, 1)
    body = _body(stream, 1 << 16)
    assert len(body) == length and orjson.loads(body)["Value"] == new.pixels.tolist()
