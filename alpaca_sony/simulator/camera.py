"""The simulated camera at the USB boundary: PTP containers in, PTP containers out.

:class:`SimulatedCamera` is a :class:`UsbFunction`: it parses the bulk OUT byte stream into
containers, runs each operation against the :class:`SimulatedBody`, and serves replies on bulk IN
with real USB transfer semantics (a transfer ends at a short or zero-length packet; a buffer that is
not a packet multiple overflows). Faults from the :class:`FaultPlan` are applied here.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alpaca_sony.clock import Clock, SystemClock
from alpaca_sony.ptp.codes import ContainerType, EventCode, OpCode, ResponseCode
from alpaca_sony.ptp.container import HEADER_SIZE, pack_header, pack_params
from alpaca_sony.ptp.datasets import DeviceInfo, ObjectInfo
from alpaca_sony.ptp.datatypes import Writer
from alpaca_sony.simulator.bodies import UNKNOWN_BODY_PID
from alpaca_sony.simulator.body import BOOT_PAUSE_S, BodySettings, SimulatedBody
from alpaca_sony.simulator.faults import CORRUPT_BYTES, CORRUPT_SHORT, CORRUPT_TYPE, FaultPlan
from alpaca_sony.simulator.images import live_view_jpeg
from alpaca_sony.simulator.profile import BodyProfile
from alpaca_sony.simulator.report import load_report, parse_report
from alpaca_sony.simulator.shots import CapturedFile
from alpaca_sony.simulator.usb_device import UsbIdentity, UsbNoDevice, UsbOverflow, UsbPipe
from alpaca_sony.sony.codes import (
    CAPTURED_IMAGE_HANDLE,
    FORMAT_ARW,
    LIVE_VIEW_HANDLE,
    PROTOCOL_V2,
    PROTOCOL_V3,
    SonyControl,
    SonyOp,
    SonyProp,
)

log = logging.getLogger(__name__)

_DATA_OUT_OPERATIONS = {SonyOp.SDIO_SET_EXT_DEVICE_PROP_VALUE, SonyOp.SDIO_CONTROL_DEVICE}
_STANDARD_OPERATIONS = (0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1007, 0x1008, 0x1009, 0x100A)
_SDIO_OPERATIONS = (0x9201, 0x9202, 0x9205, 0x9207, 0x9209)
_MTP_OPERATIONS = (0x9801, 0x9802, 0x9803, 0x9805)
_NOTCH_CONTROLS = {SonyProp.SHUTTER_SPEED, SonyProp.ISO, SonyProp.F_NUMBER, SonyProp.EXPOSURE_BIAS}
_LIVE_VIEW_MIN_INTERVAL_S = 1 / 30
_EXTRA_CONTROLS = (SonyControl.REQUEST_ONE_SHOOTING, SonyControl.NEAR_FAR)
_CORRUPT_BYTES = 4096  # how much of a data phase a corruption fault damages


@dataclass
class _Transfer:
    """One container going to the host; ``data`` is served without copying."""

    data: memoryview
    position: int = 0
    cut_after: int | None = None  # pull the cable once this many bytes were served
    on_complete: Callable[[], None] | None = None


class SimulatedCamera:
    """A Sony body on a USB cable. Thread-safe; see :class:`BodySettings` for its behaviour."""

    def __init__(
        self,
        clock: Clock | None = None,
        settings: BodySettings | None = None,
        faults: FaultPlan | None = None,
        render: Callable[[CapturedFile], bytes] | None = None,
    ):
        self.clock = clock or SystemClock()
        self.faults = faults or FaultPlan()
        self.body = SimulatedBody(self.clock, settings, self.faults, render)
        self.settings = self.body.settings
        model = self.body.model
        mode = self.settings.usb_mode
        # A body with no PC-remote id (MTP-only, e.g. DSC-RX100) shows its MTP id either way.
        pid = (model.control_pids or model.mtp_pids or (UNKNOWN_BODY_PID,))[0]
        if mode == "mtp" and model.mtp_pids:
            pid = model.mtp_pids[0]
        self._identity = UsbIdentity(
            vendor_id=0x054C,
            product_id=pid,
            serial_number=self.settings.serial_number,
            product=model.model,
            interface_class=8 if mode == "mass_storage" else 6,
            interface_subclass=6 if mode == "mass_storage" else 1,
            interface_protocol=0x50 if mode == "mass_storage" else 1,
            max_packet_size=model.max_packet_size,
        )
        self._lock = threading.RLock()
        self._containers: dict[int, bytearray] = {}
        self._attached = True  # the cable is in
        self._powered = True  # the power switch is on
        self._replug_at: float | None = None  # the cable goes back in then (simulator clock)
        self.replug_after_s: float | None = None  # the next unplug plugs back after this long
        self.device_resets = 0  # PTP Device Reset class requests (or port resets) seen
        self._reset_usb_state()
        self.operations_seen: list[int] = []
        # Every operation run, with its parameters and data-out payload, in order.
        self.wire_log: list[tuple[int, tuple[int, ...], bytes | None]] = []

    def _reset_usb_state(self) -> None:
        self._out = bytearray()
        self._in: deque[_Transfer] = deque()
        self._halted = False
        self._out_halted = False
        self._pending_command: tuple[int, int, tuple[int, ...]] | None = None
        self._session_open = False
        self._handshake_phase = 0
        self._empty_ext_info_left = self.settings.ext_info_empty_answers
        self._last_live_view = -1.0
        self._last_tid: int | None = None
        self._ext_info_answered_at: float | None = None
        self.faults.host_crashed = False  # a Device Reset (or port reset) clears a wedged session
        self.body.session_started()

    # -- UsbFunction --------------------------------------------------------------------------

    @property
    def identity(self) -> UsbIdentity:
        return self._identity

    @property
    def attached(self) -> bool:
        with self._lock:
            self._plug_back_if_due()
            return self._attached and self._powered

    def write_bulk(self, data: bytes) -> None:
        with self._lock:
            self._require_attached()
            if self._out_halted:
                raise UsbPipe("bulk OUT endpoint halted")
            if data and self.faults.take_out_stall():
                self._out_halted = True
                raise UsbPipe("bulk OUT endpoint halted")
            if not data:
                return  # a zero-length packet ending a host transfer
            self._out += data
            while len(self._out) >= HEADER_SIZE:
                length, ctype, code, tid = struct.unpack_from("<IHHI", self._out)
                if length < HEADER_SIZE:
                    log.warning("host sent a container with length %d; dropping input", length)
                    self._out.clear()
                    return
                if len(self._out) < length:
                    return
                container = bytes(self._out[:length])
                del self._out[:length]
                self._on_container(ctype, code, tid, container)

    def read_bulk(self, size: int) -> bytes | None:
        with self._lock:
            self._require_attached()
            if not self._in:
                return None
            if self._halted:
                raise UsbPipe("bulk IN endpoint halted")
            if self.faults.take_stall():
                self._halted = True
                raise UsbPipe("bulk IN endpoint halted")
            if self.faults.take_stray_zlp():
                return b""
            transfer = self._in[0]
            packet = self._identity.max_packet_size
            remaining = len(transfer.data) - transfer.position
            if remaining == 0:  # only the zero-length packet that ends the container is left
                self._in.popleft()
                return b""
            if size < remaining and size % packet:
                raise UsbOverflow("host buffer is not a multiple of the packet size")
            count = min(size, remaining)
            split = self.faults.split_read_bytes
            if split is not None and count > split:
                count = max(packet, split - split % packet)
            if transfer.cut_after is not None:
                allowed = transfer.cut_after - transfer.position
                if allowed <= 0:
                    self._unplug()
                    raise UsbNoDevice("cable pulled")
                count = min(count, allowed)
            chunk = transfer.data[transfer.position : transfer.position + count]
            transfer.position += count
            if transfer.position == len(transfer.data):
                needs_zlp = len(transfer.data) % packet == 0
                if not (needs_zlp and count == size):
                    self._in.popleft()
                if transfer.on_complete is not None:
                    transfer.on_complete()
            return chunk  # type: ignore[return-value]  # a memoryview: the seam copies it once

    def bulk_in_seconds(self, count: int) -> float:
        """How long ``count`` bytes of bulk IN take on this camera's link (FaultPlan.slow_usb)."""
        rate = self.faults.usb_bytes_per_s
        return count / rate if rate else 0.0

    def read_interrupt(self, size: int) -> bytes | None:
        with self._lock:
            self._require_attached()
            self.body.advance()
            if not self.body.events:
                return None
            code, params = self.body.events.popleft()
            return pack_params(ContainerType.EVENT, code, 0, params)[:size]

    def clear_halt(self, endpoint: int) -> None:
        with self._lock:
            self._require_attached()
            if endpoint == self._identity.bulk_in_endpoint:
                self._halted = False
            if endpoint == self._identity.bulk_out_endpoint:
                self._out_halted = False

    def reset(self) -> None:
        with self._lock:
            self._require_attached()
            self.device_resets += 1
            self._reset_usb_state()

    # -- test API ------------------------------------------------------------------------------

    def unplug(self) -> None:
        """Pull the cable (the buffer survives, like on a real body)."""
        with self._lock:
            self._unplug()

    def replug(self) -> None:
        """Plug the cable back in: a fresh USB session with the same body."""
        with self._lock:
            self._attached = True
            self._replug_at = None
            self._reset_usb_state()

    @property
    def powered(self) -> bool:
        with self._lock:
            return self._powered

    def power_off(self) -> None:
        """Switch the body off: the USB device vanishes, the photo buffer stays.

        libgphoto2 camlibs/ptp2/library.c camera_sony_capture: "Camera on-off does not delete
        RAM. Just USB reconnection helps."; sony-ptp.md 6.1: undownloaded images survive
        power-cycling. The frame being exposed is finished into that buffer first (our
        assumption: the power switch is a request the body completes its write before obeying).
        """
        with self._lock:
            if self._powered:
                log.info("simulated camera switched off")
            self._powered = False
            self.body.power_off()
            self._link_down()

    def power_on(self) -> None:
        """Switch the body on: it enumerates again and needs a new session and handshake."""
        with self._lock:
            self._powered = True
            self._reset_usb_state()

    def queue_raw_transfer(self, data: bytes | bytearray | memoryview) -> None:
        """Queue arbitrary bytes on bulk IN (benchmarks compare raw reads with PTP downloads)."""
        with self._lock:
            self._in.append(_Transfer(memoryview(data)))

    @property
    def held_file_bytes(self) -> int:
        """Bytes of captured files the camera holds for the host (those not yet sent whole)."""
        with self._lock:
            return sum(len(container) - HEADER_SIZE for container in self._containers.values())

    def _unplug(self) -> None:
        if self._attached:
            log.info("simulated cable pulled")
        self._attached = False
        if self.replug_after_s is not None:
            self._replug_at = self.clock.monotonic() + self.replug_after_s
            self.replug_after_s = None
        self._link_down()

    def _link_down(self) -> None:
        self.body.usb_gone()
        self._in.clear()
        self._out.clear()

    def _plug_back_if_due(self) -> None:
        due = self._replug_at
        if due is not None and self.clock.monotonic() >= due:
            log.info("simulated cable plugged back in")
            self._replug_at = None
            self._attached = True
            self._reset_usb_state()

    def _require_attached(self) -> None:
        self._plug_back_if_due()
        if not (self._attached and self._powered):
            raise UsbNoDevice("the simulated camera is disconnected")

    # -- containers ------------------------------------------------------------------------------

    def _on_container(self, ctype: int, code: int, tid: int, container: bytes) -> None:
        if ctype == ContainerType.COMMAND:
            count = (len(container) - HEADER_SIZE) // 4
            params = struct.unpack_from(f"<{count}I", container, HEADER_SIZE)
            self.operations_seen.append(code)
            if not self._tid_in_sequence(code, tid):
                self._respond(ResponseCode.INVALID_TRANSACTION_ID, tid)
                return
            if code in _DATA_OUT_OPERATIONS:
                self._pending_command = (code, tid, params)
                return
            self._run(code, tid, params, None)
        elif ctype == ContainerType.DATA:
            pending = self._pending_command
            self._pending_command = None
            if pending is None or pending[0] != code or pending[1] != tid:
                log.warning("host sent a data phase for no pending command (0x%04X)", code)
                return
            self._run(code, tid, pending[2], container[HEADER_SIZE:])

    def _tid_in_sequence(self, code: int, tid: int) -> bool:
        """PTP: OpenSession carries id 0, each later command in the session the next id."""
        if code == OpCode.OPEN_SESSION and tid != 0:
            self.body.protocol_violations.append(f"OpenSession with transaction id {tid}, not 0")
        if code == OpCode.OPEN_SESSION or not self._session_open:
            self._last_tid = tid
            return True
        expected = 1 if self._last_tid is None else self._last_tid + 1
        if tid != expected:
            self.body.protocol_violations.append(
                f"transaction id {tid} for 0x{code:04X}, expected {expected}"
            )
            return False
        self._last_tid = tid
        return True

    def _respond(self, code: int, tid: int, params: tuple[int, ...] = ()) -> None:
        self._in.append(
            _Transfer(memoryview(pack_params(ContainerType.RESPONSE, code, tid, params)))
        )

    def _send_data(
        self,
        operation: int,
        tid: int,
        payload: bytes,
        cut_after: int | None = None,
        on_complete: Callable[[], None] | None = None,
    ) -> None:
        container = pack_header(HEADER_SIZE + len(payload), ContainerType.DATA, operation, tid)
        self._in.append(
            _Transfer(memoryview(container + payload), cut_after=cut_after, on_complete=on_complete)
        )

    def _run(self, code: int, tid: int, params: tuple[int, ...], data: bytes | None) -> None:
        self.wire_log.append((code, params, data))
        if self.faults.take_power_off():
            self.power_off()
            return
        busy, silent, disconnect_at = self.faults.on_command(code)
        if disconnect_at == -1:
            self._unplug()
            return
        if silent:
            log.info("simulated camera ignores operation 0x%04X (fault plan)", code)
            return
        if busy:
            self._respond(ResponseCode.DEVICE_BUSY, tid)
            return
        result = self._dispatch(code, tid, params, data, disconnect_at)
        if result is not None:
            self._respond(result, tid)

    def _dispatch(
        self,
        code: int,
        tid: int,
        params: tuple[int, ...],
        data: bytes | None,
        cut_after: int | None,
    ) -> int | None:
        """Run one operation; returns the response code, or None when the handler queued it."""
        if code == OpCode.GET_DEVICE_INFO:
            self._send_data(code, tid, self._device_info().encode(), cut_after)
            return ResponseCode.OK
        if code == OpCode.OPEN_SESSION:
            if self.faults.host_crashed:
                return ResponseCode.INVALID_TRANSACTION_ID
            if self._session_open:
                return ResponseCode.SESSION_ALREADY_OPEN
            if not params or params[0] == 0:
                return ResponseCode.INVALID_PARAMETER
            self._session_open = True
            return ResponseCode.OK
        if not self._session_open:
            return ResponseCode.SESSION_NOT_OPEN
        if code == OpCode.CLOSE_SESSION:
            self._session_open = False
            self._handshake_phase = 0
            self.body.session_started()
            return ResponseCode.OK
        if code == OpCode.GET_STORAGE_IDS:
            self._send_data(code, tid, Writer().u32(0).getvalue())
            return ResponseCode.OK
        if code == OpCode.GET_THUMB:
            return ResponseCode.NO_THUMBNAIL_PRESENT
        if code in (OpCode.GET_OBJECT_INFO, OpCode.GET_OBJECT):
            return self._object_operation(code, tid, params, cut_after)
        if code in _SDIO_OPERATIONS and self.settings.usb_mode == "pc_remote":
            return self._sdio(code, tid, params, data)
        return ResponseCode.OPERATION_NOT_SUPPORTED

    # -- Sony SDIO operations ---------------------------------------------------------------------

    def _sdio(self, code: int, tid: int, params: tuple[int, ...], data: bytes | None) -> int:
        if code == SonyOp.SDIO_CONNECT:
            phase = params[0] if params else 0
            expected = {1: 0, 2: 1, 3: 3}
            if expected.get(phase) != self._handshake_phase:
                return ResponseCode.GENERAL_ERROR
            answered = self._ext_info_answered_at
            if (
                phase == 3
                and answered is not None
                and self.clock.monotonic() - answered < BOOT_PAUSE_S
            ):
                self.body.protocol_violations.append(
                    "SDIO connect phase 3 sent without the boot pause after 0x9202"
                )
            self._handshake_phase = 4 if phase == 3 else phase
            self._send_data(code, tid, bytes(8))
            if phase == 3:
                self.body.handshake_done()
            return ResponseCode.OK
        if code == SonyOp.SDIO_GET_EXT_DEVICE_INFO:
            if self._handshake_phase not in (2, 3):
                return ResponseCode.GENERAL_ERROR
            return self._ext_device_info(tid, params)
        if self._handshake_phase != 4:
            return ResponseCode.OPERATION_NOT_SUPPORTED
        if code == SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO:
            self._send_data(code, tid, self.body.all_properties())
            return ResponseCode.OK
        if code == SonyOp.SDIO_SET_EXT_DEVICE_PROP_VALUE:
            if not params or not data:
                return ResponseCode.INVALID_PARAMETER
            return self.body.set_absolute(params[0], int.from_bytes(data[:4], "little"))
        if code == SonyOp.SDIO_CONTROL_DEVICE:
            if not params or not data:
                return ResponseCode.INVALID_PARAMETER
            return self._control(params[0], data)
        return ResponseCode.OPERATION_NOT_SUPPORTED

    def _ext_device_info(self, tid: int, params: tuple[int, ...]) -> int:
        requested = params[0] if params else 0
        if self.body.v3:
            if requested >= PROTOCOL_V3:
                version = PROTOCOL_V3
            elif self.settings.v3_rejects_v2_initiator or requested < PROTOCOL_V2:
                return ResponseCode.SONY_AUTHENTICATION_FAILED
            else:
                version = PROTOCOL_V2
        else:
            if requested < PROTOCOL_V2:
                return ResponseCode.SONY_AUTHENTICATION_FAILED
            version = PROTOCOL_V2
        if self._empty_ext_info_left > 0:
            self._empty_ext_info_left -= 1
            self._send_data(SonyOp.SDIO_GET_EXT_DEVICE_INFO, tid, b"")
            return ResponseCode.OK
        controls = (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON, *_EXTRA_CONTROLS)
        props = [c for c in self.body.props if c not in controls]
        payload = (
            Writer()
            .u16(version)
            .array(0x0004, props)
            .array(0x0004, (*controls, *sorted(_NOTCH_CONTROLS)))
            .getvalue()
        )
        self._send_data(SonyOp.SDIO_GET_EXT_DEVICE_INFO, tid, payload)
        self._ext_info_answered_at = self.clock.monotonic()
        self._handshake_phase = 3
        return ResponseCode.OK

    def _control(self, control: int, data: bytes) -> int:
        if len(data) not in (1, 2, 4):
            return ResponseCode.INVALID_PARAMETER
        if control in (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON):
            self.body.button(control, int.from_bytes(data, "little"))
            return ResponseCode.OK
        if control in _NOTCH_CONTROLS:
            steps = int.from_bytes(data, "little", signed=True)
            self.body.notch(control, steps)
            return ResponseCode.OK  # sony-ptp.md 12.4: OK even when nothing changes
        if control in _EXTRA_CONTROLS:
            return ResponseCode.OK
        return ResponseCode.INVALID_PARAMETER

    # -- objects --------------------------------------------------------------------------------

    def _object_operation(
        self, code: int, tid: int, params: tuple[int, ...], cut_after: int | None
    ) -> int:
        handle = params[0] if params else 0
        if handle == LIVE_VIEW_HANDLE:
            return self._live_view(code, tid)
        if handle != CAPTURED_IMAGE_HANDLE:
            return ResponseCode.INVALID_OBJECT_HANDLE
        if code == OpCode.GET_OBJECT_INFO:
            file = self.body.next_file()
            if file is None:
                return ResponseCode.INVALID_OBJECT_HANDLE
            self._send_data(code, tid, self._object_info(file).encode(), cut_after)
            self.body.described(file)
            return ResponseCode.OK
        file = self.body.file_for_download()
        if file is None:
            return ResponseCode.INVALID_OBJECT_HANDLE
        container = self._container(file)
        corruption = self.faults.take_corruption()
        if corruption == CORRUPT_SHORT:
            container = container[: max(HEADER_SIZE, len(container) - _CORRUPT_BYTES)]
        elif corruption == CORRUPT_BYTES:
            container = bytearray(container)  # the held copy stays intact
            garbled = slice(HEADER_SIZE, HEADER_SIZE + _CORRUPT_BYTES)
            container[garbled] = bytes(b ^ 0xFF for b in container[garbled])
        container[:HEADER_SIZE] = pack_header(len(container), ContainerType.DATA, code, tid)
        if corruption == CORRUPT_TYPE:
            container[4:6] = bytes(2)  # type 0: no PTP container type

        file.transfer_started = self.clock.monotonic()

        def transferred() -> None:
            # The file leaves the buffer only once every byte went over the cable, and its
            # bytes with it: "each GetObject consumes one file" (sony-ptp.md 6.5).
            file.transfer_ended = self.clock.monotonic()
            self._containers.pop(id(file), None)
            self.body.file_transferred(file)

        self._in.append(
            _Transfer(memoryview(container), cut_after=cut_after, on_complete=transferred)
        )
        return ResponseCode.OK

    def _container(self, file: CapturedFile) -> bytearray:
        """The file with room for its container header, built once (like a file ready in RAM).

        The one copy of a file's bytes: kept while the file waits in the buffer, across an
        unplug too (the buffer survives disconnection, sony-ptp.md 6.1), dropped once sent.
        """
        container = self._containers.get(id(file))
        if container is None:
            started = self.clock.monotonic()
            container = bytearray(HEADER_SIZE) + self.body.render(file)
            self._containers[id(file)] = container
            # A real body has the file ready when 0xD215 says so; this is the simulator's own cost.
            file.render_s += self.clock.monotonic() - started
        return container

    def _object_info(self, file: CapturedFile) -> ObjectInfo:
        size = 0 if file.empty else len(self._container(file)) - HEADER_SIZE
        sensor = self.body.model.sensor
        is_raw = file.object_format == FORMAT_ARW
        when = file.shot.when.strftime("%Y%m%dT%H%M%S")
        return ObjectInfo(
            storage_id=0,
            object_format=file.object_format,
            protection_status=0,
            compressed_size=size,
            thumb_format=0,
            thumb_compressed_size=0,
            thumb_width=0,
            thumb_height=0,
            image_width=sensor.visible_width if is_raw else 0,
            image_height=sensor.visible_height if is_raw else 0,
            image_bit_depth=sensor.bits_per_sample if is_raw else 8,
            parent_object=0,
            association_type=0,
            association_desc=0,
            sequence_number=file.shot.sequence,
            filename=file.filename,
            capture_date=when,
            modification_date=when,
            keywords="",
        )

    def _live_view(self, code: int, tid: int) -> int:
        if self.body.value(SonyProp.LIVE_VIEW_STATUS) != 1:
            return ResponseCode.INVALID_OBJECT_HANDLE
        jpeg = live_view_jpeg(self.body.model)
        if code == OpCode.GET_OBJECT_INFO:
            info = ObjectInfo(0, 0x3801, 0, 0x100000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                              "LiveView.JPG", "", "", "")  # fmt: skip
            self._send_data(code, tid, info.encode())
            return ResponseCode.OK
        now = self.clock.monotonic()
        header = Writer().u32(16).u32(0).u32(0).u32(0)
        if now - self._last_live_view < _LIVE_VIEW_MIN_INTERVAL_S:
            self._send_data(code, tid, header.getvalue())
            return ResponseCode.ACCESS_DENIED
        self._last_live_view = now
        dataset = Writer().u32(16).u32(len(jpeg)).u32(0).u32(0).raw(jpeg).getvalue()
        self._send_data(code, tid, dataset)
        return ResponseCode.OK

    def _device_info(self) -> DeviceInfo:
        profile = self.body.profile
        if profile is not None:
            return _reported_device_info(self.body, profile.operations, profile)
        model = self.body.model
        pc_remote = self.settings.usb_mode == "pc_remote"
        operations = _STANDARD_OPERATIONS + (_SDIO_OPERATIONS if pc_remote else _MTP_OPERATIONS)
        events = (
            EventCode.SONY_OBJECT_ADDED,
            EventCode.SONY_OBJECT_REMOVED,
            EventCode.SONY_PROPERTY_CHANGED,
        )
        return DeviceInfo(
            standard_version=100,
            vendor_extension_id=0x11 if pc_remote else 0x06,
            vendor_extension_version=100,
            vendor_extension_desc="Sony PTP Extensions" if pc_remote else "microsoft.com: 1.0",
            functional_mode=0,
            operations_supported=operations,
            events_supported=tuple(int(e) for e in events),
            device_properties_supported=(),
            capture_formats=(),
            image_formats=(0x3801, 0xB101),
            manufacturer="Sony Corporation",
            model=self.settings.device_info_model or model.model,
            device_version="3.00" if self.body.v3 else "1.00",
            serial_number=self.settings.serial_number,
        )

    @classmethod
    def from_report(
        cls,
        report: str | Path,
        clock: Clock | None = None,
        faults: FaultPlan | None = None,
        **settings: Any,
    ) -> SimulatedCamera:
        """A simulated body built from a libgphoto2 report: a file path, or the report's text.

        Raises:
            ReportError: the file cannot be read or is not a camera report.
        """
        text = str(report)
        profile = parse_report(text) if "\n" in text else load_report(Path(text))
        return cls(clock, BodySettings(report=profile, **settings), faults)


# PC-remote operations for a report that shows no DeviceInfo: the set every PC-remote DeviceInfo in
# the reports lists (sony-a7mr2.txt, sony-a6000.txt, sony-a77m2.txt, sony-a7r2.txt).
_REPORTED_PC_REMOTE_OPERATIONS = (
    0x1002, 0x1003, 0x1001, 0x1004, 0x1005, 0x1006, 0x1007, 0x1008, 0x1009, 0x100A, 0x101B,
    0x9201, 0x9202, 0x9205, 0x9207, 0x9209,
)  # fmt: skip
# Events of those DeviceInfos: Sony_ObjectAdded, Sony_ObjectRemoved, Sony_PropertyChanged.
_REPORTED_PC_REMOTE_EVENTS = (0xC201, 0xC202, 0xC203)
# Display formats of the PC-remote summaries: JPEG and ARW (sony-a7r4.txt "JPEG, ..., ARW").
_REPORTED_IMAGE_FORMATS = (0x3801, 0xB101)


def _reported_device_info(
    body: SimulatedBody, operations: tuple[int, ...] | None, profile: BodyProfile
) -> DeviceInfo:
    """DeviceInfo from the report where it shows a field, else the PC-remote set above."""
    pc_remote = body.settings.usb_mode == "pc_remote"
    if operations is None:
        operations = _REPORTED_PC_REMOTE_OPERATIONS if pc_remote else _STANDARD_OPERATIONS
    events = profile.events
    if events is None:
        events = _REPORTED_PC_REMOTE_EVENTS if pc_remote else (0x4004, 0x4005, 0x4006)
    vendor = profile.vendor_extension_id
    if vendor is None:
        vendor = 0x11 if pc_remote else 0xFFFFFFFF
    return DeviceInfo(
        standard_version=profile.standard_version or 100,
        vendor_extension_id=vendor,
        vendor_extension_version=profile.vendor_extension_version or 100,
        vendor_extension_desc=profile.vendor_extension_desc
        or ("Sony PTP Extensions" if vendor == 0x11 else ""),
        functional_mode=profile.functional_mode or 0,
        operations_supported=operations,
        events_supported=events,
        device_properties_supported=profile.device_properties or (),
        capture_formats=(),
        image_formats=_REPORTED_IMAGE_FORMATS,
        manufacturer=profile.manufacturer or "Sony Corporation",
        model=body.settings.device_info_model or profile.model,
        device_version=profile.device_version or ("3.00" if body.v3 else "1.00"),
        # The reports' serials are masked ("0000...nnnn"): the USB serial, which must match it.
        serial_number=body.settings.serial_number,
    )
