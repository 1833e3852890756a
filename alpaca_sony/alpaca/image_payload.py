"""Image downloads: the payload of each image is built once and shared by every request.

ImageBytes = a per-request 44-byte header + the pixel bytes (built once per image). JSON = a
per-request prefix and suffix around the ``Value`` array text (serialised once per image, on first
demand). Only the newest image's payloads are kept, so memory stays bounded however many clients
download at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import orjson

from alpaca_sony.alpaca import imagebytes
from alpaca_sony.camera.decode import DecodedFrame


@dataclass
class _Built:
    number: int
    frame: DecodedFrame
    pixel_bytes: bytes | None = None
    json_value: bytes | None = None


class ImagePayloads:
    """Per-device cache of the last image's transfer forms."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: _Built | None = None

    def _entry(self, number: int, frame: DecodedFrame) -> _Built:
        with self._lock:
            if self._built is None or self._built.number != number:
                self._built = _Built(number, frame)
            return self._built

    def image_bytes(
        self, number: int, frame: DecodedFrame, client_tid: int, server_tid: int
    ) -> tuple[int, Iterator[bytes]]:
        """(content length, body chunks) of the ImageBytes reply."""
        entry = self._entry(number, frame)
        with self._lock:
            if entry.pixel_bytes is None:
                # uint16 on the wire (lossless for 14-bit raw and 16-bit RGB), x-major order.
                entry.pixel_bytes = np.ascontiguousarray(frame.pixels, dtype="<u2").tobytes()
            pixels = entry.pixel_bytes
        head = imagebytes.header(frame.pixels, client_tid, server_tid)
        return len(head) + len(pixels), _chunks(head, pixels)

    def json(
        self, number: int, frame: DecodedFrame, client_tid: int, server_tid: int
    ) -> tuple[int, Iterator[bytes]]:
        """(content length, body chunks) of the JSON reply; Type and Rank come first."""
        entry = self._entry(number, frame)
        with self._lock:
            if entry.json_value is None:
                entry.json_value = orjson.dumps(frame.pixels, option=orjson.OPT_SERIALIZE_NUMPY)
            value = entry.json_value
        prefix = b'{"Type":2,"Rank":%d,"Value":' % frame.pixels.ndim
        suffix = (
            b',"ClientTransactionID":%d,"ServerTransactionID":%d,"ErrorNumber":0,'
            b'"ErrorMessage":""}' % (client_tid, server_tid)
        )
        return len(prefix) + len(value) + len(suffix), _chunks(prefix, value, suffix)


def _chunks(*parts: bytes) -> Iterator[bytes]:
    """The parts as they are: the shared payload bytes go to the server without a copy."""
    yield from parts
