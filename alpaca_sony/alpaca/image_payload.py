"""Image downloads: every request reads the one frame; nothing that grows with it is built.

ImageBytes = a per-request 44-byte header + the pixel bytes, which are the frame's own buffer (a
view: the camera layer stores it x-major, uint16, C-contiguous, the wire's order; a 61 MP RGB frame
is 366 MB, never copied). JSON = a per-request prefix and suffix around the ``Value`` array text,
which is made from the frame a part (at most 256 KiB) at a time as the client reads
(alpaca/json_array.py): over a gigabyte for that frame, never held whole. Its length, counted once
per image, is the Content-Length. Only the newest image's payloads are kept.

Both bodies are files handed to waitress as ``wsgi.file_wrapper``: waitress queues them on the
connection and its main loop reads them as the client takes the bytes, so a slow downloader holds
no worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from alpaca_sony.alpaca import imagebytes
from alpaca_sony.alpaca.json_array import JsonArrayText
from alpaca_sony.camera.decode import DecodedFrame


@dataclass
class _Built:
    number: int
    frame: DecodedFrame
    pixel_bytes: memoryview | None = None
    json_text: JsonArrayText | None = None


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
    ) -> tuple[int, JsonReplyStream]:
        """(content length, body stream) of the JSON reply; Type and Rank come first."""
        entry = self._entry(number, frame)
        with self._lock:
            if entry.json_text is None:
                # Counting is a few numpy passes (about 0.1 s for 61 MP RGB), once per image.
                entry.json_text = JsonArrayText(frame.pixels)
            text = entry.json_text
        prefix = b'{"Type":2,"Rank":%d,"Value":' % frame.pixels.ndim
        suffix = (
            b',"ClientTransactionID":%d,"ServerTransactionID":%d,"ErrorNumber":0,'
            b'"ErrorMessage":""}' % (client_tid, server_tid)
        )
        stream = JsonReplyStream(prefix, text, suffix)
        return len(stream), stream


class _SeekableBody:
    """The file position of a reply body of ``_length`` bytes (what waitress seeks and tells)."""

    _length: int
    _position: int

    def __len__(self) -> int:
        return self._length

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._length}[whence]
        self._position = max(0, min(self._length, base + offset))
        return self._position

    def tell(self) -> int:
        return self._position


class PayloadStream(_SeekableBody):
    """A read-only, seekable file over several byte strings, without joining them.

    Handed to waitress as a file (``wsgi.file_wrapper``), it is sent straight from the shared
    payload instead of being spooled through waitress's output buffers (a temporary file above
    1 MB) for every request.
    """

    def __init__(self, *parts: bytes | memoryview):
        self._parts = [memoryview(p).cast("B") for p in parts]
        self._length = sum(len(p) for p in self._parts)
        self._position = 0

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

    def close(self) -> None:
        self._parts = []


class JsonReplyStream(_SeekableBody):
    """A read-only, seekable file over ``prefix``, the text's parts and ``suffix``, each part made
    when a read reaches it; only the part being read is held.

    As a raw file, a read may return fewer bytes than asked: never more than the rest of the
    prefix, of one part or of the suffix, so one read() in waitress's main loop makes at most one
    part. waitress reads, seeks back to where the read began and on by what the socket took
    (buffers.py ``ReadOnlyFileBasedBuffer``): both land in the part held. Any other seek works
    too, the part there being made again.
    """

    def __init__(self, prefix: bytes, text: JsonArrayText, suffix: bytes):
        self._prefix, self._text, self._suffix = prefix, text, suffix
        self._text_end = len(prefix) + text.length
        self._length = self._text_end + len(suffix)
        self._position = 0
        self._held: tuple[int, bytes] | None = None  # (index, bytes) of the part last read

    def _from_text(self, offset: int, size: int) -> bytes:
        index, begins = self._text.part_at(offset)
        if self._held is None or self._held[0] != index:
            self._held = (index, self._text.part(index))
        start = offset - begins
        return self._held[1][start : start + size]

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:  # the whole rest, as a file would (waitress never asks)
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        position = self._position
        if position < len(self._prefix):
            chunk = self._prefix[position : position + size]
        elif position < self._text_end:
            chunk = self._from_text(position - len(self._prefix), size)
        else:
            chunk = self._suffix[position - self._text_end : position - self._text_end + size]
        self._position += len(chunk)
        return chunk

    def close(self) -> None:
        self._held = None
