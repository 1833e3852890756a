"""PTP session over a :class:`Transport`: transactions with ids, data phases, responses, events.

Data phases are read in large chunks straight into the buffers that are handed to the caller, so a
48 MB file is never copied on its way in (:class:`Payload` keeps the chunks).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from alpaca_sony.errors import (
    DeviceDisconnected,
    MalformedData,
    PtpResponseError,
    TransportError,
    TransportTimeout,
)
from alpaca_sony.ptp.codes import ContainerType, OpCode, ResponseCode, response_name
from alpaca_sony.ptp.container import (
    HEADER_SIZE,
    ContainerHeader,
    pack_data,
    pack_params,
    unpack_header,
)
from alpaca_sony.ptp.datasets import DeviceInfo
from alpaca_sony.transport.base import Transport

log = logging.getLogger(__name__)
wire = logging.getLogger("alpaca_sony.wire")

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024  # several MiB per read; stays under Linux's usbfs 16 MiB cap
FIRST_READ_BYTES = 64 * 1024
# The slowest link a download must survive: a USB 1.1 port or hub moves about 0.5-1 MB/s. Each
# read of a container's rest may take its size at this rate beyond the operation's timeout, so
# an 8 MiB read is not cut off on such a link (libgphoto2 instead reads 512 KiB per transfer with
# a 20 s timeout: usb.c, library.c USB_NORMAL_TIMEOUT), while a camera that stops sending is
# still noticed within a minute.
SLOWEST_LINK_BYTES_PER_S = 400_000
MAX_STRAY_PACKETS = 8  # zero-length packets and stale containers skipped before giving up


@dataclass(frozen=True, slots=True)
class Response:
    """A response container."""

    code: int
    params: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """An event container from the interrupt endpoint."""

    code: int
    transaction_id: int
    params: tuple[int, ...]


class Payload:
    """The bytes of a data phase, kept as the chunks they arrived in (no copy)."""

    def __init__(self, chunks: list[memoryview] | None = None):
        self._chunks = chunks or []
        self._length = sum(len(c) for c in self._chunks)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[memoryview]:
        """The pieces in order."""
        return iter(self._chunks)

    def tobytes(self) -> bytes:
        """One contiguous copy (cheap for datasets; avoid for image files)."""
        if len(self._chunks) == 1:
            return self._chunks[0].tobytes()
        return b"".join(self._chunks)

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes (for magic-number checks)."""
        out = bytearray()
        for chunk in self._chunks:
            out += chunk[: size - len(out)]
            if len(out) >= size:
                break
        return bytes(out)


DataSink = Callable[[memoryview], None]


class _Guarded:
    """A data sink whose first failure is logged and ends its part (never the transfer's)."""

    def __init__(self, sink: DataSink):
        self._sink: DataSink | None = sink

    def __call__(self, chunk: memoryview) -> None:
        if self._sink is None:
            return
        try:
            self._sink(chunk)
        except Exception:
            log.exception("a data sink failed; the transfer goes on without it")
            self._sink = None


class PtpSession:
    """One PTP session on one transport. Not thread-safe: a single owner thread drives it."""

    def __init__(
        self,
        transport: Transport,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ):
        self.transport = transport
        self.timeout_s = timeout_s
        packet = transport.max_packet_size
        self._chunk_bytes = max(packet, chunk_bytes - chunk_bytes % packet)
        self._first_read = max(packet, FIRST_READ_BYTES - FIRST_READ_BYTES % packet)
        self._next_tid = 0
        self._pending: memoryview | None = None  # surplus bytes of a read holding two containers
        self.is_open = False

    # -- session ----------------------------------------------------------------------------

    def get_device_info(self) -> DeviceInfo:
        """GetDeviceInfo (allowed outside a session)."""
        _, payload = self.transaction(OpCode.GET_DEVICE_INFO)
        return DeviceInfo.decode(payload.tobytes())

    def open(self, session_id: int = 1) -> None:
        """OpenSession with transaction id 0.

        A session left open by an earlier host (a crash, a pulled cable) is closed and opened
        afresh, so the camera's remote-control handshake starts from the beginning. A camera
        wedged by a crashed host (OpenSession fails with an I/O error or InvalidTransactionID)
        gets a PTP Device Reset and one more try, as libgphoto2 does (library.c camera_init,
        usb.c ptp_usb_control_device_reset_request).

        Raises:
            PtpResponseError: the camera still refuses the session.
            TransportError: USB failed again after the reset.
        """
        reset_sent = False
        closed_stale = False
        while True:
            self._next_tid = 0
            try:
                response, _ = self.transaction(OpCode.OPEN_SESSION, (session_id,), check=False)
            except DeviceDisconnected:
                raise
            except (TransportError, MalformedData) as exc:
                if reset_sent:
                    raise
                log.warning("OpenSession failed (%s); sending a PTP Device Reset", exc)
                self._device_reset()
                reset_sent = True
                continue
            if response.code == ResponseCode.OK:
                self.is_open = True
                return
            if response.code == ResponseCode.INVALID_TRANSACTION_ID and not reset_sent:
                log.warning("OpenSession refused a fresh transaction id; sending a Device Reset")
                self._device_reset()
                reset_sent = True
                continue
            if response.code != ResponseCode.SESSION_ALREADY_OPEN or closed_stale:
                raise PtpResponseError(
                    OpCode.OPEN_SESSION, response.code, response_name(response.code)
                )
            log.info("the camera still had a session open; closing it and starting afresh")
            self.transaction(OpCode.CLOSE_SESSION, check=False)
            closed_stale = True

    def _device_reset(self) -> None:
        self._pending = None
        self.transport.device_reset()

    def close(self) -> None:
        """CloseSession; errors are logged, not raised (the camera may already be gone)."""
        if not self.is_open:
            return
        self.is_open = False
        try:
            self.transaction(OpCode.CLOSE_SESSION, check=False, timeout_s=2.0)
        except Exception as exc:
            log.debug("CloseSession failed: %s", exc)

    @property
    def next_transaction_id(self) -> int:
        """The id the next transaction will carry (changes with every transaction)."""
        return self._next_tid

    def _take_tid(self) -> int:
        tid = self._next_tid
        self._next_tid = 1 if tid >= 0xFFFFFFFE else tid + 1
        return tid

    # -- transactions ---------------------------------------------------------------------

    def transaction(
        self,
        operation: int,
        params: tuple[int, ...] = (),
        data_out: bytes | None = None,
        *,
        check: bool = True,
        timeout_s: float | None = None,
        data_sink: DataSink | None = None,
    ) -> tuple[Response, Payload]:
        """Run one operation: command, data out (if any), data in (if sent), response.

        ``data_sink`` also receives each piece of this operation's data phase as it arrives (a
        download written to disk while the rest is still on the cable). A sink that raises is
        dropped for the rest of the transfer, which goes on: the payload is complete either way.

        Raises:
            PtpResponseError: ``check`` is set and the response code is not OK.
            MalformedData: the camera's bytes do not form valid containers.
            TransportError: the USB transfer failed (timeouts, disconnects).
        """
        timeout = self.timeout_s if timeout_s is None else timeout_s
        tid = self._take_tid()
        command = pack_params(ContainerType.COMMAND, operation, tid, params)
        self._trace(">>", command)
        self.transport.write(command, timeout)
        if data_out is not None:
            container = pack_data(operation, tid, data_out)
            self._trace(">>", container)
            self.transport.write(container, timeout)
        response, payload = self._receive(operation, tid, timeout, data_sink)
        if check and response.code != ResponseCode.OK:
            raise PtpResponseError(operation, response.code, response_name(response.code))
        return response, payload

    def _receive(
        self, operation: int, tid: int, timeout_s: float, data_sink: DataSink | None
    ) -> tuple[Response, Payload]:
        payload = Payload()
        skipped = 0
        while True:
            header, first = self._read_container_start(timeout_s)
            if header.type == ContainerType.DATA:
                ours = header.transaction_id == tid and header.code == operation
                sink = _Guarded(data_sink) if ours and data_sink is not None else None
                chunks = self._read_container_rest(header, first, timeout_s, sink)
                if not ours:
                    skipped += 1
                    log.warning(
                        "discarding stale data container (op 0x%04X tid %d) while waiting for "
                        "op 0x%04X tid %d",
                        header.code,
                        header.transaction_id,
                        operation,
                        tid,
                    )
                else:
                    payload = Payload(chunks)
            elif header.type == ContainerType.RESPONSE:
                body = b"".join(self._read_container_rest(header, first, timeout_s))
                params = _params(header, body)
                if header.transaction_id == tid:
                    return Response(header.code, params), payload
                skipped += 1
                log.warning(
                    "discarding stale response 0x%04X (tid %d) while waiting for tid %d",
                    header.code,
                    header.transaction_id,
                    tid,
                )
            else:
                self._read_container_rest(header, first, timeout_s)
                skipped += 1
            if skipped > MAX_STRAY_PACKETS:
                raise MalformedData(f"no reply to operation 0x{operation:04X} among stale data")

    def _read_container_start(self, timeout_s: float) -> tuple[ContainerHeader, memoryview]:
        """Read until a container header is complete; zero-length packets are skipped."""
        data = b""
        strays = 0
        while len(data) < HEADER_SIZE:
            if self._pending is not None:
                chunk, self._pending = self._pending, None
            else:
                chunk = self.transport.read(self._first_read, timeout_s)
            if not chunk:
                strays += 1
                if strays > MAX_STRAY_PACKETS:
                    raise MalformedData("the camera sent only zero-length packets")
                continue
            data = bytes(data) + bytes(chunk) if data else chunk  # type: ignore[assignment]
        view = memoryview(data)
        header = unpack_header(view)
        self._trace("<<", view[: min(len(view), 64)])
        return header, view

    def _read_container_rest(
        self,
        header: ContainerHeader,
        first: memoryview,
        timeout_s: float,
        sink: _Guarded | None = None,
    ) -> list[memoryview]:
        """The container's payload (after the 12-byte header) as a list of chunks, each also
        handed to ``sink`` as it arrives."""
        total = header.length
        if len(first) > total:
            self._pending = first[total:]
            first = first[:total]
        chunks = [first[HEADER_SIZE:]] if len(first) > HEADER_SIZE else []
        if chunks and sink is not None:
            sink(chunks[0])
        remaining = total - len(first)
        packet = self.transport.max_packet_size
        strays = 0
        while remaining > 0:
            request = min(self._chunk_bytes, -(-remaining // packet) * packet)
            try:
                allowed = timeout_s + request / SLOWEST_LINK_BYTES_PER_S
                chunk = self.transport.read(request, allowed)
            except TransportTimeout as exc:
                raise TransportTimeout(
                    f"USB read timed out with {remaining} of {total} bytes of a container "
                    "still to come",
                    exc.errno,
                    exc.backend_code,
                ) from exc
            if not chunk:
                strays += 1
                if strays > MAX_STRAY_PACKETS:
                    raise MalformedData("the camera stopped sending in the middle of a container")
                continue
            if len(chunk) > remaining:
                self._pending = chunk[remaining:]
                chunk = chunk[:remaining]
            chunks.append(chunk)
            if sink is not None:
                sink(chunk)
            remaining -= len(chunk)
        return chunks

    # -- events ----------------------------------------------------------------------------

    def read_event(self, timeout_s: float) -> Event | None:
        """The next event from the interrupt endpoint, or None.

        Raises:
            MalformedData: the bytes are not an event container.
        """
        data = self.transport.read_event(timeout_s)
        if data is None:
            return None
        header = unpack_header(data)
        if header.type != ContainerType.EVENT or header.length != len(data):
            raise MalformedData(f"interrupt endpoint sent a non-event container: {data.hex()}")
        return Event(header.code, header.transaction_id, _params(header, data[HEADER_SIZE:]))

    @staticmethod
    def _trace(direction: str, data: bytes | memoryview) -> None:
        if wire.isEnabledFor(logging.DEBUG):
            wire.debug("%s %s", direction, bytes(data[:64]).hex(" "))


def _params(header: ContainerHeader, body: bytes) -> tuple[int, ...]:
    if len(body) % 4 or len(body) > 20:
        raise MalformedData(
            f"container 0x{header.code:04X} carries {len(body)} parameter bytes, not 0-5 UINT32"
        )
    return struct.unpack(f"<{len(body) // 4}I", body)
