"""Sony SDIO protocol on a PTP session: handshake, property reads and sets, buttons, downloads.

This layer knows Sony's operations and their quirks; it does not decide when to shoot (that is
:mod:`alpaca_sony.sony.capture`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from alpaca_sony.clock import Clock
from alpaca_sony.errors import (
    CameraError,
    MalformedData,
    PtpResponseError,
    UnsupportedSetting,
)
from alpaca_sony.ptp.codes import DataType, EventCode, OpCode, ResponseCode, response_name
from alpaca_sony.ptp.datasets import DeviceInfo, ObjectInfo
from alpaca_sony.ptp.datatypes import Reader, encode_value
from alpaca_sony.ptp.session import Payload, PtpSession, Response
from alpaca_sony.sony.codes import (
    CAPTURED_IMAGE_HANDLE,
    FORMAT_ARW,
    PROTOCOL_V2,
    PROTOCOL_V3,
    ButtonState,
    SonyControl,
    SonyOp,
    SonyProp,
)
from alpaca_sony.sony.models import CameraModel, model_for
from alpaca_sony.sony.props import PropertyTable, parse_all_properties
from alpaca_sony.transport.advice import PC_REMOTE_HOWTO

log = logging.getLogger(__name__)

SONY_VENDOR_EXTENSION = 0x00000011
SAVE_HOST_ONLY = 0x0001
SAVE_HOST_AND_CARD = 0x0011
SAVE_CARD_ONLY = 0x0010  # INDIGO indigo_ptp_sony.c labels 0x10 "Camera" for 0xD222
DRIVE_SINGLE = 0x0001  # 0x5013 "Single shooting" (INDIGO indigo_ptp_sony.c value labels)
SONY_MANUFACTURER = "Sony Corporation"


@dataclass(frozen=True)
class SonyTiming:
    """Retry and wait policy (sony-ptp.md 13.8: every figure is empirical)."""

    ext_device_info_attempts: int = 60
    ext_device_info_pause_s: float = 0.05
    busy_retries: int = 8
    busy_first_backoff_s: float = 0.05
    busy_max_backoff_s: float = 1.0
    # INDIGO indigo_ptp_sony.c ptp_sony_initialise sleeps 1 s before SDIO connect phase 3
    # ("SONY a7II and a7S need to wait to boot").
    before_phase3_pause_s: float = 1.0


@dataclass(frozen=True)
class ExtDeviceInfo:
    """SDIExtDeviceInfo (0x9202): protocol version and the codes the body supports."""

    version: int
    property_codes: tuple[int, ...]
    control_codes: tuple[int, ...]

    @classmethod
    def decode(cls, data: bytes) -> ExtDeviceInfo:
        """Parse the dataset.

        Raises:
            MalformedData: truncated.
        """
        reader = Reader(data)
        version = reader.u16("SDIExtensionVersion")
        props = reader.array(DataType.UINT16, "SDIDevicePropCode")
        controls = reader.array(DataType.UINT16, "SDIControlCode") if reader.remaining else ()
        return cls(version, props, controls)


class Spool(Protocol):
    """Where a file's bytes also go while they arrive: the camera layer writes them to disk
    during the transfer instead of after it. ``write`` must not block on the disk."""

    def write(self, chunk: memoryview) -> None: ...


# Asked once per file, with its ObjectInfo, just before GetObject; None: keep it in memory only.
SpoolOpener = Callable[[ObjectInfo], "Spool | None"]


@dataclass(frozen=True)
class DownloadedFile:
    """One file pulled from the camera's transfer buffer (``spool``: where it was also written)."""

    info: ObjectInfo
    data: Payload
    spool: Spool | None = None

    @property
    def is_raw(self) -> bool:
        """True for an ARW (by ObjectInfo format, or TIFF magic when the format is unusual)."""
        if self.info.object_format == FORMAT_ARW:
            return True
        return self.data.head(4) == b"II*\x00"


class DamagedDownload(MalformedData):
    """A file arrived with another size than its ObjectInfo announced; ``file`` holds what came.

    The camera drops a file once it has sent it (sony-ptp.md 6.5), so these bytes may be the
    only copy left: the caller keeps them, marked damaged, and says so.
    """

    def __init__(self, message: str, file: DownloadedFile):
        super().__init__(message)
        self.file = file


class SonyCamera:
    """A Sony body in PC Remote mode, driven through one PTP session."""

    def __init__(self, session: PtpSession, clock: Clock, timing: SonyTiming | None = None):
        self.session = session
        self.clock = clock
        self.timing = timing or SonyTiming()
        self.device_info: DeviceInfo | None = None
        self.ext_info: ExtDeviceInfo | None = None
        self.model: CameraModel | None = None
        self.connected_at: float | None = None
        self._read_at_tid: int | None = None  # session tid right after the last 0x9209

    # -- connection -------------------------------------------------------------------------

    @property
    def protocol_version(self) -> int:
        """The SDIO version the camera answered with (0x00C8 or 0x012C)."""
        return self.ext_info.version if self.ext_info else PROTOCOL_V2

    @property
    def is_v3(self) -> bool:
        return self.protocol_version >= PROTOCOL_V3

    def connect(self) -> None:
        """GetDeviceInfo, OpenSession and the SDIO handshake (sony-ptp.md 3.1).

        Raises:
            CameraError: the body is not a Sony in PC Remote mode, or refuses the handshake.
        """
        info = self.session.get_device_info()
        self.device_info = info
        is_sony = (
            info.vendor_extension_id == SONY_VENDOR_EXTENSION
            or info.manufacturer == SONY_MANUFACTURER
        )
        if not is_sony:
            raise CameraError(f"{info.manufacturer} {info.model} is not a Sony camera")
        if SonyOp.SDIO_GET_EXT_DEVICE_INFO not in info.operations_supported:
            raise CameraError(
                f"{info.model} is connected in MTP/content-transfer mode, which cannot shoot: "
                f"{PC_REMOTE_HOWTO}"
            )
        self.model = model_for(info.model)
        if self.model is None:
            log.warning("%s is not in the model table; using generic settings", info.model)
        self.session.open()
        self._sdio_connect(1)
        self._sdio_connect(2)
        self.ext_info = self._get_ext_device_info()
        self.clock.sleep(self.timing.before_phase3_pause_s)
        self._sdio_connect(3)
        self.connected_at = self.clock.monotonic()
        log.info(
            "connected to %s (serial %s, firmware %s, SDIO protocol %d.%02d)",
            info.model,
            info.serial_number,
            info.device_version,
            self.protocol_version // 100,
            self.protocol_version % 100,
        )

    def _sdio_connect(self, phase: int) -> None:
        self.call(SonyOp.SDIO_CONNECT, (phase, 0, 0))

    def _get_ext_device_info(self) -> ExtDeviceInfo:
        """0x9202, asking for v3 first; repeated while the camera answers with no data."""
        version = PROTOCOL_V3
        for _attempt in range(self.timing.ext_device_info_attempts):
            response, payload = self.call(SonyOp.SDIO_GET_EXT_DEVICE_INFO, (version,), check=False)
            if response.code == ResponseCode.SONY_AUTHENTICATION_FAILED and version == PROTOCOL_V3:
                version = PROTOCOL_V2
                continue
            if response.code != ResponseCode.OK:
                raise PtpResponseError(
                    SonyOp.SDIO_GET_EXT_DEVICE_INFO, response.code, response_name(response.code)
                )
            if len(payload):
                return ExtDeviceInfo.decode(payload.tobytes())
            self.clock.sleep(self.timing.ext_device_info_pause_s)
        raise CameraError("the camera never answered the protocol-version request with data")

    def close(self) -> None:
        """CloseSession (errors ignored: the camera may already be gone)."""
        self.session.close()

    # -- operations with busy retry -------------------------------------------------------------

    def call(
        self,
        operation: int,
        params: tuple[int, ...] = (),
        data_out: bytes | None = None,
        *,
        check: bool = True,
        timeout_s: float | None = None,
        data_sink: Callable[[memoryview], None] | None = None,
    ) -> tuple[Response, Payload]:
        """One transaction, repeated with backoff while the camera answers DeviceBusy."""
        backoff = self.timing.busy_first_backoff_s
        for attempt in range(self.timing.busy_retries + 1):
            response, payload = self.session.transaction(
                operation, params, data_out, check=False, timeout_s=timeout_s, data_sink=data_sink
            )
            if response.code != ResponseCode.DEVICE_BUSY:
                break
            if attempt < self.timing.busy_retries:
                log.debug("camera busy on 0x%04X; retrying in %.2f s", operation, backoff)
                self.clock.sleep(backoff)
                backoff = min(backoff * 2, self.timing.busy_max_backoff_s)
        if check and response.code != ResponseCode.OK:
            raise PtpResponseError(operation, response.code, response_name(response.code))
        return response, payload

    # -- properties --------------------------------------------------------------------------------

    def read_properties(self) -> PropertyTable:
        """GetAllExtDevicePropInfo: every property's descriptor and current value.

        Raises:
            MalformedData: the camera's dataset is not decodable.
        """
        params = (0, 0) if self.is_v3 else ()
        _, payload = self.call(SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO, params)
        two_lists = True if self.is_v3 else None
        table = parse_all_properties(payload.tobytes(), two_lists)
        self._read_at_tid = self.session.next_transaction_id
        return table

    @property
    def settings_read_last(self) -> bool:
        """True when the last transaction was a settings read (nothing sent since)."""
        return (
            self._read_at_tid is not None and self._read_at_tid == self.session.next_transaction_id
        )

    def set_property(self, table: PropertyTable, code: int, value: int) -> None:
        """Set a Get/Set property to an absolute value with 0x9205, in the descriptor's own type.

        Raises:
            UnsupportedSetting: the camera lacks the property, it is read-only, or the value is not
                among those it offers.
        """
        descriptor = table.get(code)
        if descriptor is None:
            raise UnsupportedSetting(f"the camera has no property 0x{code:04X}")
        if not descriptor.writable:
            raise UnsupportedSetting(f"property 0x{code:04X} is read-only on this camera")
        allowed = descriptor.allowed_values
        if allowed and value not in allowed:
            raise UnsupportedSetting(f"0x{value:X} is not a value property 0x{code:04X} accepts")
        try:
            payload = encode_value(descriptor.data_type, value)
        except (ValueError, TypeError) as exc:
            raise UnsupportedSetting(f"0x{value:X} does not fit property 0x{code:04X}") from exc
        self.call(SonyOp.SDIO_SET_EXT_DEVICE_PROP_VALUE, (code,), payload)

    def notch(self, control: int, steps: int) -> None:
        """Move a setting ``steps`` positions along its ladder (0x9207, INT8 as Sony documents)."""
        if not -127 <= steps <= 127 or steps == 0:
            raise ValueError("a notch moves 1..127 steps either way")
        self.call(SonyOp.SDIO_CONTROL_DEVICE, (control,), steps.to_bytes(1, "little", signed=True))

    def press(self, control: SonyControl, state: ButtonState) -> None:
        """Operate a button control (S1/S2): UINT16 2 = press, 1 = release, on every body.

        libgphoto2 library.c camera_sony_capture and INDIGO indigo_ptp_sony.c send these values
        to every Sony body, the ILCE-7RM4 included (sony-ptp.md 14.1).
        """
        self.call(SonyOp.SDIO_CONTROL_DEVICE, (control,), int(state).to_bytes(2, "little"))

    def button_released(self, table: PropertyTable, control: SonyControl) -> bool:
        """True only when the read-back says released (1); missing or any other value is not.

        The field is reserved in Sony's PTP-2 reference and reads 2 at idle on the ILCE-7RM4 and
        ILCE-7C (sony-ptp.md 14.2): it decides whether to send a release, never whether to shoot.
        """
        return table.value(control) == ButtonState.UP

    def set_position_key_to_pc(self, table: PropertyTable) -> None:
        """Give the host priority over the dial (0xD25A = 1) where the body offers it."""
        descriptor = table.get(SonyProp.POSITION_KEY)
        if descriptor is not None and descriptor.writable and descriptor.current != 1:
            self.set_property(table, SonyProp.POSITION_KEY, 1)

    def set_save_destination(self, table: PropertyTable, also_card: bool) -> bool:
        """Send images to the host, and also to the memory card when ``also_card`` (0xD222).

        Never "card only": then nothing would reach the host (sony-ptp.md 5.2). Returns False when
        the body does not let the host choose (set it on the camera: PC Remote > Still Img. Save
        Dest.).
        """
        wanted = SAVE_HOST_AND_CARD if also_card else SAVE_HOST_ONLY
        descriptor = table.get(SonyProp.SAVE_DESTINATION)
        if descriptor is None or descriptor.current == wanted:
            return descriptor is not None
        allowed = descriptor.allowed_values
        if not descriptor.writable or (allowed and wanted not in allowed):
            return False
        self.set_property(table, SonyProp.SAVE_DESTINATION, wanted)
        return True

    def ensure_images_reach_host(
        self, table: PropertyTable, also_card: bool, *, may_send: bool = True
    ) -> bool:
        """Make sure 0xD222 does not keep images on the card only; True if a value was sent.

        Raises:
            UnsupportedSetting: the body saves to its card only and the host cannot change it
                (v2 bodies report 0xD222 read-only, sony-ptp.md 14.8).
        """
        if table.value(SonyProp.SAVE_DESTINATION) != SAVE_CARD_ONLY:
            return False
        if may_send and self.set_save_destination(table, also_card):
            return True
        raise UnsupportedSetting(
            "the camera saves images to its memory card only, so none would reach the computer: "
            "set MENU > PC Remote > Still Img. Save Dest. to PC (or PC+Camera) on the camera"
        )

    def ensure_single_shot(self, table: PropertyTable, *, may_send: bool = True) -> bool:
        """Still Capture Mode (0x5013) must be single shooting; True if a value was sent.

        With continuous drive one press shoots several frames, with a self-timer the shot comes
        late (Sony's sample code sets single shot before shooting; sony-ptp.md 14.8).

        Raises:
            UnsupportedSetting: the drive mode is not single and the host cannot change it.
        """
        descriptor = table.get(SonyProp.STILL_CAPTURE_MODE)
        if descriptor is None or descriptor.current == DRIVE_SINGLE:
            return False
        allowed = descriptor.allowed_values
        if may_send and descriptor.writable and (not allowed or DRIVE_SINGLE in allowed):
            self.set_property(table, SonyProp.STILL_CAPTURE_MODE, DRIVE_SINGLE)
            return True
        raise UnsupportedSetting(
            "the camera is not in single-shot drive mode (continuous shooting or a self-timer "
            "would take the wrong number of pictures at the wrong time): set Drive Mode to Single "
            "Shooting on the camera"
        )

    # -- events ------------------------------------------------------------------------------

    def discard_events(self, limit: int = 64) -> None:
        """Drop queued events, so a later image event belongs to the next shot."""
        for _ in range(limit):
            if self.session.read_event(0.0) is None:
                return

    def wait_for_image_event(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for 0xC201 (object added) or 0xC203 on 0xD215; True if seen.

        Events only shorten the wait: the caller reads 0xD215 either way, since some bodies
        send none (INDIGO synthesises ObjectAdded for the a9; sony-ptp.md 6.6).
        """
        deadline = self.clock.monotonic() + timeout_s
        while True:
            event = self.session.read_event(max(0.0, deadline - self.clock.monotonic()))
            if event is not None:
                if event.code == EventCode.SONY_OBJECT_ADDED or (
                    event.code == EventCode.SONY_PROPERTY_CHANGED
                    and event.params[:1] == (SonyProp.SHOOTING_FILE_INFO,)
                ):
                    return True
                continue
            # None: the wait ran out (or the body has no event pipe: wait out the rest anyway).
            self.clock.sleep(deadline - self.clock.monotonic())
            return False

    # -- downloads ---------------------------------------------------------------------------

    def get_object_info(self, handle: int = CAPTURED_IMAGE_HANDLE) -> ObjectInfo:
        """GetObjectInfo; Sony requires it before every GetObject."""
        _, payload = self.call(OpCode.GET_OBJECT_INFO, (handle,))
        return ObjectInfo.decode(payload.tobytes())

    def download(
        self, handle: int = CAPTURED_IMAGE_HANDLE, spool: SpoolOpener | None = None
    ) -> DownloadedFile | None:
        """GetObjectInfo + GetObject of the oldest waiting file (which the camera then drops).

        ``spool`` may give a place the bytes also go as they arrive (see :class:`Spool`); the
        file is in memory whole either way.

        Returns None when ObjectInfo reports size 0: there is nothing to fetch (libgphoto2's
        comment; INDIGO and the DLL skip GetObject then, sony-ptp.md 14.9).

        Raises:
            DamagedDownload: the camera sent a different number of bytes than ObjectInfo
                announced (what arrived is in the exception).
        """
        info = self.get_object_info(handle)
        if info.compressed_size == 0:
            log.warning("the camera described %r with size 0; nothing to fetch", info.filename)
            return None
        sink = spool(info) if spool is not None else None
        _, payload = self.call(
            OpCode.GET_OBJECT, (handle,), data_sink=sink.write if sink is not None else None
        )
        if len(payload) != info.compressed_size:
            raise DamagedDownload(
                f"{info.filename}: camera sent {len(payload)} bytes, ObjectInfo said "
                f"{info.compressed_size}",
                DownloadedFile(info, payload, sink),
            )
        log.info("downloaded %s (%d bytes)", info.filename, len(payload))
        return DownloadedFile(info, payload, sink)
