"""PtpSession against a scripted camera side of the USB pipes: transaction ids, data phases in both
directions, short and long containers, zero-length packets, stale replies, events, and the
OpenSession recovery paths.

Containers are built here with ``struct`` from PIMA 15740's layout (sony-ptp.md 2.1-2.4), never
with the driver's own container codec, so a bug shared by encoder and decoder cannot pass. One
test replays a real ILCE-6000 exchange byte for byte (sony-a6000.txt, libgphoto2's debug log).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

import pytest

from alpaca_sony.errors import MalformedData, PtpResponseError, TransportError, TransportTimeout
from alpaca_sony.ptp.session import Event, PtpSession, Response
from tests.samples import UsbTransfer, report, usb_transfers

USB2_PACKET = 512  # wMaxPacketSize of a USB 2 bulk endpoint (sony-ptp.md 1; the ILCE-6000 is USB 2)
NO_TRANSACTION = 0xFFFFFFFF  # the transaction id of an event not tied to one (sony-a6000.txt 1085)

COMMAND, DATA, RESPONSE, EVENT = 1, 2, 3, 4  # PIMA 15740 container types
OK, SESSION_ALREADY_OPEN, INVALID_TRANSACTION_ID, DEVICE_BUSY = 0x2001, 0x201E, 0x2004, 0x2019
OPEN_SESSION, CLOSE_SESSION, GET_STORAGE_IDS, GET_OBJECT = 0x1002, 0x1003, 0x1004, 0x1009


def container(kind: int, code: int, tid: int, body: bytes = b"") -> bytes:
    """length (UINT32), type (UINT16), code (UINT16), transaction id (UINT32), then the body."""
    return struct.pack("<IHHI", 12 + len(body), kind, code, tid) + body


def params(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


@dataclass(frozen=True)
class Step:
    """One thing the camera side expects next: ``out`` a bulk write (``data`` None: any bytes),
    ``in`` one device transfer, ``event`` one interrupt transfer (None: nothing arrives),
    ``reset`` a PTP Device Reset request, or ``fail`` a bulk read raising ``error``."""

    kind: str
    data: bytes | None = None
    error: TransportError | None = None


class ScriptedCamera:
    """The camera end of the pipes, following a script in order (a Transport for PtpSession).

    A bulk read returns at most ``size`` bytes of the current device transfer and leaves the rest
    for the next read, as USB does; a transfer ending on a packet boundary is followed by a
    zero-length packet only where the script lists it, so each test shows where the wire has one.
    Any call out of order fails the test, naming what the camera expected.
    """

    max_packet_size = USB2_PACKET

    def __init__(self, *steps: Step):
        self.steps = deque(steps)
        self.written: list[bytes] = []
        self.read_sizes: list[int] = []
        self.closed = False

    def _next(self, kind: str) -> Step:
        assert self.steps, f"the session did one more {kind!r} than the camera expected"
        step = self.steps[0]
        assert step.kind == kind, f"the session did {kind!r} where the camera expected {step}"
        return step

    def write(self, data: bytes, timeout_s: float) -> None:
        step = self._next("out")
        self.steps.popleft()
        self.written.append(bytes(data))
        if step.data is not None:
            assert bytes(data) == step.data, f"wrote {bytes(data).hex(' ')}"

    def read(self, size: int, timeout_s: float) -> memoryview:
        # A read that is not a packet multiple overflows on a full packet (sony-ptp.md 2.4).
        assert size % self.max_packet_size == 0, f"read of {size} bytes is not a packet multiple"
        self.read_sizes.append(size)
        if self.steps and self.steps[0].kind == "fail":
            error = self.steps.popleft().error
            assert error is not None
            raise error
        step = self._next("in")
        assert step.data is not None
        self.steps.popleft()
        if len(step.data) > size:
            self.steps.appendleft(Step("in", step.data[size:]))
        return memoryview(step.data[:size])

    def read_event(self, timeout_s: float) -> bytes | None:
        return self._pop("event").data

    def device_reset(self) -> None:
        self._pop("reset")

    def close(self) -> None:
        self.closed = True

    def _pop(self, kind: str) -> Step:
        step = self._next(kind)
        self.steps.popleft()
        return step

    @property
    def finished(self) -> bool:
        return not self.steps


def out(data: bytes | None = None) -> Step:
    return Step("out", data)


def inbound(data: bytes) -> Step:
    return Step("in", data)


def ok(tid: int, *values: int) -> Step:
    return inbound(container(RESPONSE, OK, tid, params(*values)))


# -- transaction ids ----------------------------------------------------------------------------


def _is_open(session: PtpSession) -> bool:
    """Read afresh (a call): mypy keeps what an earlier assert narrowed the attribute to."""
    return session.is_open


def test_open_session_carries_id_zero_and_each_transaction_the_next_id() -> None:
    # PIMA 15740: OpenSession is transaction 0; libgphoto2 and Sony's sample do the same
    # (sony-ptp.md 2, "use 0 as libgphoto2 and Sony's sample do"); the a7sm3 log counts 4, 5, 6...
    camera = ScriptedCamera(
        out(container(COMMAND, OPEN_SESSION, 0, params(1))),
        ok(0),
        out(container(COMMAND, GET_STORAGE_IDS, 1)),
        ok(1),
        out(container(COMMAND, GET_STORAGE_IDS, 2)),
        ok(2),
        out(container(COMMAND, CLOSE_SESSION, 3)),
        ok(3),
    )
    session = PtpSession(camera)
    session.open()
    assert session.is_open and session.next_transaction_id == 1
    session.transaction(GET_STORAGE_IDS)
    session.transaction(GET_STORAGE_IDS)
    session.close()
    assert not _is_open(session)
    assert camera.finished


def test_a_session_left_open_by_an_earlier_host_is_closed_and_opened_afresh() -> None:
    camera = ScriptedCamera(
        out(container(COMMAND, OPEN_SESSION, 0, params(1))),
        inbound(container(RESPONSE, SESSION_ALREADY_OPEN, 0)),
        out(container(COMMAND, CLOSE_SESSION, 1)),
        ok(1),
        # The fresh session starts counting at 0 again.
        out(container(COMMAND, OPEN_SESSION, 0, params(1))),
        ok(0),
    )
    session = PtpSession(camera)
    session.open()
    assert session.is_open and camera.finished


def test_a_camera_refusing_the_fresh_id_gets_one_device_reset() -> None:
    # libgphoto2 library.c camera_init: a Device Reset, then OpenSession once more.
    camera = ScriptedCamera(
        out(container(COMMAND, OPEN_SESSION, 0, params(1))),
        inbound(container(RESPONSE, INVALID_TRANSACTION_ID, 0)),
        Step("reset"),
        out(container(COMMAND, OPEN_SESSION, 0, params(1))),
        ok(0),
    )
    session = PtpSession(camera)
    session.open()
    assert session.is_open and camera.finished


def test_open_session_failing_again_after_the_reset_raises() -> None:
    camera = ScriptedCamera(
        out(),
        Step("fail", error=TransportTimeout("no answer")),
        Step("reset"),
        out(),
        Step("fail", error=TransportTimeout("still no answer")),
    )
    session = PtpSession(camera)
    with pytest.raises(TransportTimeout, match="still no answer"):
        session.open()
    assert not session.is_open and camera.finished


def test_open_session_refused_for_good_names_the_code() -> None:
    camera = ScriptedCamera(out(), inbound(container(RESPONSE, DEVICE_BUSY, 0)))
    with pytest.raises(PtpResponseError) as caught:
        PtpSession(camera).open()
    assert (caught.value.operation, caught.value.code) == (OPEN_SESSION, DEVICE_BUSY)


# -- data phases and container sizes ----------------------------------------------------------


def _a6000_exchange() -> list[UsbTransfer]:
    """sony-a6000.txt lines 976-1085: SetControlDeviceB 0x9207 (0xD2C7 := 2) as transaction 9,
    GetAllDevicePropData 0x9209 as transaction 10 (a 1052-byte data container that libgphoto2
    read as 1024 + 28 bytes), then a 0xC203 event for 0xD21D on the interrupt pipe."""
    transfers = usb_transfers(report("sony-a6000.txt"), from_line=976)[:8]
    directions = "".join(t.direction[0] for t in transfers)  # out, in, event
    assert directions == "ooioiiie"
    return transfers


def _with_tid(data: bytes, tid: int) -> bytes:
    return data[:8] + struct.pack("<I", tid) + data[12:]


def test_replays_a_real_ilce_6000_exchange_byte_for_byte() -> None:
    transfers = _a6000_exchange()
    command_b, data_b, response_b, command_all, head, tail, response_all, event = transfers
    # The camera sent the 1052-byte container as one transfer; libgphoto2's 1024-byte buffer split
    # it. A session asking for more gets it whole, so the script joins the two reads.
    whole = head.data + tail.data
    assert struct.unpack_from("<I", whole)[0] == len(whole) == 1052
    # The log starts mid-session at transaction 9; this session's first is 0, so every id in the
    # recording is moved down by 9 (the event's 0xFFFFFFFF is no transaction and stays).
    first = struct.unpack_from("<I", command_b.data, 8)[0]
    assert first == 9

    def here(t: bytes) -> bytes:
        return _with_tid(t, struct.unpack_from("<I", t, 8)[0] - first)

    camera = ScriptedCamera(
        out(here(command_b.data)),
        out(here(data_b.data)),
        inbound(here(response_b.data)),
        out(here(command_all.data)),
        inbound(here(whole)),
        inbound(here(response_all.data)),
        Step("event", event.data),
    )
    session = PtpSession(camera)
    response, payload = session.transaction(0x9207, (0xD2C7,), data_out=b"\x02\x00")
    assert response == Response(OK, ()) and len(payload) == 0
    response, payload = session.transaction(0x9209)
    assert response == Response(OK, ())
    assert payload.tobytes() == whole[12:]
    assert session.read_event(0.1) == Event(0xC203, NO_TRANSACTION, (0xD21D,))
    assert camera.finished


def test_a_long_data_phase_arrives_in_chunks_without_overreading() -> None:
    body = bytes(range(256)) * 1000  # 256,000 bytes: several reads of 64 KiB
    camera = ScriptedCamera(
        out(),
        inbound(container(DATA, GET_OBJECT, 0, body)),
        ok(0),
    )
    session = PtpSession(camera, chunk_bytes=64 * 1024)
    _, payload = session.transaction(GET_OBJECT, (0xFFFFC001,))
    assert len(payload) == len(body) and payload.tobytes() == body
    assert len(list(payload)) > 1  # kept as the pieces that arrived: the file is not copied
    assert payload.head(4) == body[:4]
    # 256,012 bytes: three full 64 KiB reads, then the 59,404 left rounded up to a packet (59,904),
    # never more, so the data reads cannot swallow the response, which gets a read of its own.
    assert camera.read_sizes == [65536, 65536, 65536, 59904, 65536]
    assert camera.finished


def test_a_data_sink_hears_each_piece_as_it_arrives_and_only_this_transactions() -> None:
    body = bytes(range(256)) * 1000
    heard: list[tuple[bytes, int]] = []  # each piece and how many reads had been made by then
    camera = ScriptedCamera(
        out(),
        inbound(container(DATA, GET_OBJECT, 7, b"an earlier host's image")),
        inbound(container(DATA, GET_OBJECT, 0, body)),
        ok(0),
    )
    session = PtpSession(camera, chunk_bytes=64 * 1024)

    def sink(piece: memoryview) -> None:
        heard.append((bytes(piece), len(camera.read_sizes)))

    _, payload = session.transaction(GET_OBJECT, (1,), data_sink=sink)
    assert b"".join(piece for piece, _ in heard) == body == payload.tobytes()
    # Piece by piece while the transfer goes on, not once at its end.
    assert [reads for _, reads in heard] == list(range(2, 2 + len(heard)))
    assert camera.finished


def test_a_failing_data_sink_is_dropped_and_the_transfer_completes() -> None:
    body = bytes(200_000)
    calls: list[int] = []
    camera = ScriptedCamera(out(), inbound(container(DATA, GET_OBJECT, 0, body)), ok(0))

    def failing(piece: memoryview) -> None:
        calls.append(len(piece))
        raise OSError(28, "No space left on device")

    response, payload = PtpSession(camera, chunk_bytes=64 * 1024).transaction(
        GET_OBJECT, (1,), data_sink=failing
    )
    assert response == Response(OK, ()) and payload.tobytes() == body
    assert len(calls) == 1 and camera.finished


def test_a_zero_length_packet_left_after_a_packet_multiple_container_is_skipped() -> None:
    # sony-ptp.md 2.4: a container whose length is a multiple of wMaxPacketSize ends with a ZLP;
    # when the host asked for exactly the rest, the ZLP is still pending for the next read.
    body = bytes(65536 + 512 - 12)
    camera = ScriptedCamera(
        out(),
        inbound(container(DATA, GET_OBJECT, 0, body)),
        inbound(b""),
        ok(0),
    )
    _, payload = PtpSession(camera).transaction(GET_OBJECT, (1,))
    assert payload.tobytes() == body
    assert camera.read_sizes[:2] == [65536, 512] and camera.finished


def test_data_and_response_in_one_transfer_are_both_taken() -> None:
    # sony-ptp.md 2.4: "A read may return more than one container (rare)".
    camera = ScriptedCamera(
        out(),
        inbound(
            container(DATA, GET_STORAGE_IDS, 0, params(1, 0x00010001)) + container(RESPONSE, OK, 0)
        ),
    )
    response, payload = PtpSession(camera).transaction(GET_STORAGE_IDS)
    assert response == Response(OK, ())
    assert payload.tobytes() == params(1, 0x00010001)
    assert camera.finished and len(camera.read_sizes) == 1


def test_response_parameters_are_returned() -> None:
    # sony-a7sm3.txt line 177: the 0x9202 response carries one parameter, 0x0136.
    camera = ScriptedCamera(out(), inbound(bytes.fromhex("10000000030001200000000036010000")))
    response, _ = PtpSession(camera).transaction(0x9202, (0x12C,))
    assert response == Response(OK, (0x136,))


def test_a_parameter_block_that_is_not_whole_uint32s_is_malformed() -> None:
    camera = ScriptedCamera(out(), inbound(container(RESPONSE, OK, 0, b"\x01\x02\x03")))
    with pytest.raises(MalformedData, match="3 parameter bytes"):
        PtpSession(camera).transaction(GET_STORAGE_IDS)


def test_a_refusal_raises_only_when_checked() -> None:
    busy = container(RESPONSE, DEVICE_BUSY, 0)
    camera = ScriptedCamera(out(), inbound(busy), out(), inbound(_with_tid(busy, 1)))
    session = PtpSession(camera)
    with pytest.raises(PtpResponseError) as caught:
        session.transaction(GET_STORAGE_IDS)
    assert caught.value.code == DEVICE_BUSY
    response, _ = session.transaction(GET_STORAGE_IDS, check=False)
    assert response.code == DEVICE_BUSY


# -- stale and broken replies -----------------------------------------------------------------


def test_stale_replies_of_an_earlier_transaction_are_skipped() -> None:
    # A reply the previous host (or a timed-out transaction) left in the pipe must never be taken
    # for this transaction's: not its data, not its response.
    camera = ScriptedCamera(
        out(),
        inbound(container(DATA, GET_OBJECT, 7, b"old image")),
        inbound(container(RESPONSE, OK, 7)),
        inbound(container(DATA, GET_STORAGE_IDS, 0, params(1, 0x00010001))),
        ok(0),
        # A transaction without a data-in phase after a stale data container: its payload is empty.
        out(),
        out(),
        inbound(container(DATA, GET_OBJECT, 8, b"old image")),
        ok(1),
    )
    session = PtpSession(camera)
    response, payload = session.transaction(GET_STORAGE_IDS)
    assert response == Response(OK, ())
    assert payload.tobytes() == params(1, 0x00010001)
    response, payload = session.transaction(0x9205, (0xD2C1,), data_out=b"\x02\x00")
    assert response == Response(OK, ()) and len(payload) == 0


def test_a_pipe_full_of_stale_replies_gives_up_as_malformed() -> None:
    stale = [inbound(container(RESPONSE, OK, 99)) for _ in range(9)]
    camera = ScriptedCamera(out(), *stale)
    with pytest.raises(MalformedData, match="no reply to operation 0x1004"):
        PtpSession(camera).transaction(GET_STORAGE_IDS)


def test_a_camera_sending_only_zero_length_packets_is_malformed() -> None:
    camera = ScriptedCamera(out(), *[inbound(b"") for _ in range(9)])
    with pytest.raises(MalformedData, match="only zero-length packets"):
        PtpSession(camera).transaction(GET_STORAGE_IDS)


def test_a_timeout_inside_a_container_says_how_much_was_missing() -> None:
    head = container(DATA, GET_OBJECT, 0, bytes(200_000))[:65536]
    camera = ScriptedCamera(
        out(), inbound(head), Step("fail", error=TransportTimeout("timed out", 110, -7))
    )
    with pytest.raises(TransportTimeout, match="134476 of 200012 bytes") as caught:
        PtpSession(camera).transaction(GET_OBJECT, (1,))
    assert (caught.value.errno, caught.value.backend_code) == (110, -7)


# -- events and closing -------------------------------------------------------------------------


def test_no_event_is_none() -> None:
    assert PtpSession(ScriptedCamera(Step("event", None))).read_event(0.01) is None


@pytest.mark.parametrize(
    "data",
    [
        container(RESPONSE, OK, 0),  # a response on the interrupt pipe
        container(EVENT, 0xC201, 0, params(1))[:-1],  # shorter than its length says
    ],
)
def test_an_interrupt_transfer_that_is_no_event_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedData, match="non-event container"):
        PtpSession(ScriptedCamera(Step("event", data))).read_event(0.01)


def test_close_is_quiet_when_the_camera_is_gone_and_sends_nothing_twice() -> None:
    camera = ScriptedCamera(
        out(),
        ok(0),
        out(container(COMMAND, CLOSE_SESSION, 1)),
        Step("fail", error=TransportError("no such device")),
    )
    session = PtpSession(camera)
    session.open()
    session.close()
    session.close()
    assert not session.is_open and camera.finished
