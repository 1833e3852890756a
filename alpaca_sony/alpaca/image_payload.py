"""Image downloads: the payload of each image is built once and shared by every request.

ImageBytes = a per-request 44-byte header + the pixel bytes, which are the frame's own buffer (a
view: the camera layer stores it x-major, uint16, C-contiguous, the wire's order; a 61 MP RGB frame
is 366 MB, never copied). JSON = a per-request prefix and suffix around the ``Value`` array text
(serialised once per image, on first demand). Only the newest image's payloads are kept, so memory
stays bounded however many clients download at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import orjson

from alpaca_sony.alpaca import imagebytes
from alpaca_sony.camera.decode import DecodedFrame


@dataclass
class _Built:
    number: int
    frame: DecodedFrame
    pixel_bytes: memoryview | None = None
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
    ) -> tuple[int, PayloadStream]:
        """(content length, body stream) of the ImageBytes reply."""
        entry = self._entry(number, frame)
        with self._lock:
            if entry.pixel_bytes is None:
                # uint16 on the wire (lossless for 14-bit raw and 16-bit RGB), x-major order:
                # the frame itself (a copy only on a big-endian host or a non-contiguous array).
                wire = np.ascontiguousarray(frame.pixels, dtype="<u2")
                entry.pixel_bytes = wire.data.cast("B")
            pixels = entry.pixel_bytes
        head = imagebytes.header(frame.pixels, client_tid, server_tid)
        stream = PayloadStream(head, pixels)
        return len(stream), stream

    def json(
        self, number: int, frame: DecodedFrame, client_tid: int, server_tid: int
    ) -> tuple[int, PayloadStream]:
        """(content length, body stream) of the JSON reply; Type and Rank come first."""
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
        stream = PayloadStream(prefix, value, suffix)
        return len(stream), stream


class PayloadStream:
    """A read-only, seekable file over several byte strings, without joining them.

    Handed to waitress as a file (``wsgi.file_wrapper``), it is sent straight from the shared
    payload instead of being spooled through waitress's output buffers (a temporary file above
    1 MB) for every request.
    """

    def __init__(self, *parts: bytes | memoryview):
        self._parts = [memoryview(p).cast("B") for p in parts]
        self._length = sum(len(p) for p in self._parts)
        self._position = 0

    def __len__(self) -> int:
        return self._length

    def read(self, size: int | None = -1, /) -> bytes:
        remaining = self._length - self._position
        size = remaining if size is None or size < 0 else min(size, remaining)
        chunks: list[memoryview] = []
        offset = 0
        wanted = size
        for part in self._parts:
            end = offset + len(part)
            if wanted and self._position < end:
                start = self._position - offset
                chunk = part[start : start + wanted]
                chunks.append(chunk)
                self._position += len(chunk)
                wanted -= len(chunk)
            offset = end
        # One copy: a single slice becomes bytes directly; several are joined once.
        return chunks[0].tobytes() if len(chunks) == 1 else b"".join(chunks)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._length}[whence]
        self._position = max(0, min(self._length, base + offset))
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._parts = []
