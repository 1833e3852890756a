"""Sony's shutter and photo-buffer protocol: one exposure from settings read to files downloaded.

The rules (sony-ptp.md 6.1, 6.7, 8, corrected by 14): read the settings before pressing anything;
pull off images still waiting; send a release unless both buttons read released; S1, an autofocus
pause only when AF is on, S2; hold for BULB; release S2 then S1 on every path; wait for 0xD215
(events, with reads while waiting) until the files are ready; download until it says empty. Once
S2 was pressed the sequence always follows through to the download, even when cancelled, or the
camera's buffer fills and it stops shooting.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction

from alpaca_sony.clock import Clock
from alpaca_sony.errors import (
    CameraError,
    CaptureTimeout,
    NoImageTaken,
    SettingDidNotStick,
    UnsupportedSetting,
)
from alpaca_sony.ptp.codes import EventCode
from alpaca_sony.sony.codes import ButtonState, SonyControl, SonyProp
from alpaca_sony.sony.models import CameraModel
from alpaca_sony.sony.props import PropertyTable
from alpaca_sony.sony.protocol import (
    DRIVE_SINGLE,
    SAVE_CARD_ONLY,
    DownloadedFile,
    SonyCamera,
    SpoolOpener,
)
from alpaca_sony.sony.values import (
    SHUTTER_BULB,
    SHUTTER_NONE,
    STANDARD_SHUTTER_SPEEDS,
    Iso,
    ShootingFileInfo,
    ShutterSpeed,
    is_autofocus,
    is_manual_program,
    same_shutter_speed,
)

log = logging.getLogger(__name__)

MAX_FILES_PER_DRAIN = 64
_NOT_FOCUSED = (0x03, 0x07)  # 0xD213: AF-S / AF-C "not focused" (sony-ptp.md 5.2)
LENR_ON = 2


class CapturePhase(Enum):
    """Where an exposure is, for status reporting."""

    EXPOSING = "exposing"
    READING = "reading"
    DOWNLOADING = "downloading"


@dataclass(frozen=True)
class CaptureTiming:
    """Waits and deadlines of the capture sequence (seconds)."""

    af_pause_s: float = 0.6  # > the 500 ms after which bodies reliably shoot with AF on
    poll_interval_s: float = 0.1  # while draining a busy body and on bodies that send no events
    event_wait_s: float = 1.0  # longest wait for an image event before reading 0xD215 anyway
    processing_margin_s: float = 30.0
    no_shot_grace_s: float = 3.0
    fixed_speed_hold_s: float = 0.1
    setting_poll_interval_s: float = 0.05
    setting_timeout_s: float = 2.5
    setting_settle_s: float = 0.3
    drain_busy_timeout_s: float = 15.0
    # libgphoto2 library.c camera_sony_capture: "3.0 seconds worked" after connecting; applied to
    # every body, unknown ones too (sony-ptp.md 14.6). Deliberately not a model-table value.
    startup_wait_s: float = 3.0


@dataclass(frozen=True)
class ExposurePlan:
    """How one exposure will be made."""

    duration_s: float
    shutter_raw: int  # SHUTTER_BULB for a timed hold

    @property
    def is_bulb(self) -> bool:
        return self.shutter_raw == SHUTTER_BULB


@dataclass
class CaptureResult:
    """What one exposure produced."""

    plan: ExposurePlan
    started_at: float
    ended_at: float
    files: list[DownloadedFile] = field(default_factory=list)
    stale_files: list[DownloadedFile] = field(default_factory=list)
    cancelled: bool = False


class AutofocusFailed(NoImageTaken):
    """0xD213 said "not focused" with S1 held: S2 was never pressed, so no picture exists."""


class CaptureAborted(NoImageTaken):
    """The exposure was aborted before S2 was pressed: the camera took no picture."""


class NoShotSeen(NoImageTaken):
    """No sign of a picture by the grace time; ``result`` holds the attempt's times."""

    def __init__(self, message: str, result: CaptureResult):
        super().__init__(message)
        self.result = result


def _ints(values: Sequence[object]) -> list[int]:
    return [v for v in values if isinstance(v, int)]


def shutter_ladder(table: PropertyTable, model: CameraModel | None) -> list[int]:
    """Raw shutter values from longest to shortest, BULB first when offered.

    From the camera's list (the Get/Set one on v3), else the model table, else the standard Sony
    ladder: v2 bodies and the ILCE-7M4/6700/7RM5 report 0xD20D as a Range (sony-ptp.md 14.4).
    """
    descriptor = table.get(SonyProp.SHUTTER_SPEED)
    raws = [v for v in _ints(descriptor.allowed_values if descriptor else ()) if v != SHUTTER_NONE]
    if not raws and model is not None:
        raws = [SHUTTER_BULB, *model.shutter_speeds]
    if not raws:
        raws = [SHUTTER_BULB, *STANDARD_SHUTTER_SPEEDS]
    timed = sorted(
        (r for r in raws if r != SHUTTER_BULB),
        key=lambda r: ShutterSpeed(r).duration or Fraction(0),
        reverse=True,
    )
    return ([SHUTTER_BULB] if SHUTTER_BULB in raws else []) + timed


def iso_ladder(table: PropertyTable, model: CameraModel | None) -> list[int]:
    """Raw ISO values in the order the ISO notch walks them (AUTO first, then ascending)."""
    descriptor = table.get(SonyProp.ISO)
    values = _ints(descriptor.allowed_values if descriptor else ())
    if not values and model is not None:
        values = list(model.iso_values)
    plain = sorted((v for v in values if Iso(v).is_plain), key=lambda v: v & 0xFFFFFF)
    return [v for v in values if Iso(v).is_auto][:1] + plain


def plan_exposure(
    duration_s: float,
    ladder: Sequence[int],
    *,
    prefer_builtin: bool = False,
    tolerance: float = 0.005,
) -> ExposurePlan:
    """How to expose for ``duration_s``.

    A built-in speed that matches (within ``tolerance``) is used as is. Otherwise BULB, unless
    ``prefer_builtin`` is set and the duration is within the ladder: then the nearest built-in
    speed (BULB's "star eater" filter on some bodies makes users prefer that).
    """
    if not duration_s > 0:
        raise ValueError(f"exposure duration must be positive, not {duration_s}")
    timed = [(raw, ShutterSpeed(raw).seconds) for raw in ladder]
    speeds = [(raw, s) for raw, s in timed if s is not None]
    for raw, seconds in speeds:
        if abs(seconds - duration_s) <= tolerance * seconds:
            return ExposurePlan(seconds, raw)
    if prefer_builtin and speeds and duration_s <= max(s for _, s in speeds) * (1 + tolerance):
        raw, seconds = min(speeds, key=lambda item: abs(math.log(item[1] / duration_s)))
        return ExposurePlan(seconds, raw)
    return ExposurePlan(duration_s, SHUTTER_BULB)


def _same(code: int, a: int | None, b: int | None) -> bool:
    if code == SonyProp.SHUTTER_SPEED:
        return same_shutter_speed(a, b)
    return a == b


def _position(code: int, ladder: Sequence[int], value: int | None) -> int | None:
    for index, raw in enumerate(ladder):
        if _same(code, raw, value):
            return index
    return None


class CaptureSequence:
    """Runs exposures on one connected :class:`SonyCamera` (single-threaded, like the camera)."""

    def __init__(self, camera: SonyCamera, clock: Clock, timing: CaptureTiming | None = None):
        self.camera = camera
        self.clock = clock
        self.timing = timing or CaptureTiming()
        self._body_sends_image_events: bool | None = None  # learnt from the first capture

    # -- settings ---------------------------------------------------------------------------

    def read_settings(self) -> PropertyTable:
        return self.camera.read_properties()

    def set_iso(self, iso_raw: int, table: PropertyTable | None = None) -> PropertyTable:
        """Set ISO (absolute on v3, notches on v2) and verify it by reading it back."""
        table = table if table is not None else self.read_settings()
        return self._set_laddered(
            table, SonyProp.ISO, iso_raw, iso_ladder(table, self.camera.model)
        )

    def set_shutter(self, shutter_raw: int, table: PropertyTable | None = None) -> PropertyTable:
        """Set the shutter speed and verify it: a silently wrong exposure is users' worst bug."""
        table = table if table is not None else self.read_settings()
        if shutter_raw == SHUTTER_BULB:
            program = table.value(SonyProp.EXPOSURE_PROGRAM)
            if program is not None and not is_manual_program(program):
                raise UnsupportedSetting(
                    "exposures that need BULB require the camera's mode dial on M (manual)"
                )
        ladder = shutter_ladder(table, self.camera.model)
        return self._set_laddered(table, SonyProp.SHUTTER_SPEED, shutter_raw, ladder)

    def _set_laddered(
        self, table: PropertyTable, code: int, target: int, ladder: list[int]
    ) -> PropertyTable:
        if _same(code, table.value(code), target):
            return table
        descriptor = table.get(code)
        absolute = descriptor is not None and descriptor.writable
        # v3 bodies take an absolute shutter speed without a list (libgphoto2 config.c
        # _put_Sony_ShutterSpeed, mode 3); a notch needs the value on the ladder.
        if _position(code, ladder, target) is None and not (absolute and self.camera.is_v3):
            raise UnsupportedSetting(
                f"the camera does not offer value 0x{target:X} for 0x{code:04X}"
            )
        if absolute:
            self.camera.set_property(table, code, target)
            table = self._await_value(code, target)
            if _same(code, table.value(code), target):
                return table
            log.info("absolute set of 0x%04X did not stick; stepping with notches", code)
        target_index = _position(code, ladder, target)
        # Some bodies move one step per notch whatever its size: keep notching while it helps.
        for _attempt in range(len(ladder) + 2):
            current = table.value(code)
            if _same(code, current, target):
                return table
            current_index = _position(code, ladder, current)
            if current_index is None or target_index is None:
                raise SettingDidNotStick(
                    f"0x{code:04X} reads 0x{current or 0:X}, which is not on its ladder"
                )
            steps = max(-127, min(127, target_index - current_index))
            self.camera.notch(code, steps)
            table = self._await_value(code, target, moved_from=current)
            if table.value(code) == current:
                break  # nothing moved: the body refuses (wrong mode) or is out of steps
        if not _same(code, table.value(code), target):
            raise SettingDidNotStick(_did_not_stick_message(code, target, table))
        return table

    def _await_value(self, code: int, target: int, moved_from: int | None = None) -> PropertyTable:
        """Re-read until ``code`` reads ``target``, or it has moved and settled, or time is up.

        Notches land asynchronously (0.2-0.7 s on real bodies), sometimes a step at a time: a
        value that moved and then held still for ``setting_settle_s`` is where this notch ended.
        """
        start = self.clock.monotonic()
        deadline = start + self.timing.setting_timeout_s
        last_value: int | None = moved_from
        last_change = start
        while True:
            table = self.read_settings()
            value = table.value(code)
            now = self.clock.monotonic()
            if value != last_value:
                last_value, last_change = value, now
            settled = (
                moved_from is not None
                and value != moved_from
                and now - last_change >= self.timing.setting_settle_s
            )
            if _same(code, value, target) or settled or now >= deadline:
                return table
            moved = moved_from is not None and value != moved_from
            until = min(deadline, last_change + self.timing.setting_settle_s) if moved else deadline
            self._wait_for_setting(code, until)

    def _wait_for_setting(self, code: int, until: float) -> None:
        """Until 0xC203 names ``code`` (or ``until``) on a body known to send events, else a poll.

        INDIGO re-reads the settings on every 0xC203 (indigo_ptp_sony.c ptp_sony_handle_event);
        a body that sent no image event is polled, as before events were used.
        """
        now = self.clock.monotonic()
        poll = self.timing.setting_poll_interval_s
        if not self._body_sends_image_events or until - now <= poll:
            self.clock.sleep(poll)
            return
        deadline = now + min(self.timing.event_wait_s, until - now)
        session = self.camera.session
        while True:
            event = session.read_event(max(0.0, deadline - self.clock.monotonic()))
            if event is None:
                return  # the wait ran out: read again anyway (events are only hints)
            if event.code == EventCode.SONY_PROPERTY_CHANGED and event.params[:1] == (code,):
                return

    def prepare_body(self, table: PropertyTable, also_card: bool = False) -> PropertyTable:
        """Single-shot drive and images to the host, set if the body lets the host, verified.

        Raises:
            UnsupportedSetting: the camera must be changed by hand (the message says where).
        """
        sent = self.camera.ensure_single_shot(table)
        sent = self.camera.ensure_images_reach_host(table, also_card) or sent
        if not sent:
            return table
        table = self._await_prepared()
        # A value that did not take is reported like a read-only one: the camera decides.
        self.camera.ensure_single_shot(table, may_send=False)
        self.camera.ensure_images_reach_host(table, also_card, may_send=False)
        return table

    def _await_prepared(self) -> PropertyTable:
        deadline = self.clock.monotonic() + self.timing.setting_timeout_s
        while True:
            table = self.read_settings()
            drive_ok = table.value(SonyProp.STILL_CAPTURE_MODE) in (None, DRIVE_SINGLE)
            host_ok = table.value(SonyProp.SAVE_DESTINATION) != SAVE_CARD_ONLY
            if (drive_ok and host_ok) or self.clock.monotonic() >= deadline:
                return table
            self.clock.sleep(self.timing.setting_poll_interval_s)

    # -- the buffer -----------------------------------------------------------------------------

    def drain(self, table: PropertyTable) -> tuple[list[DownloadedFile], PropertyTable]:
        """Download every image already waiting (they are saved, never silently dropped).

        A body still processing is waited for, never pressed again (a second shot).
        """
        files: list[DownloadedFile] = []
        deadline = self.clock.monotonic() + self.timing.drain_busy_timeout_s
        while True:
            status = ShootingFileInfo(table.value(SonyProp.SHOOTING_FILE_INFO, 0) or 0)
            if status.ready:
                if len(files) >= MAX_FILES_PER_DRAIN:
                    raise CameraError("the camera keeps reporting images after 64 downloads")
                file = self.camera.download()
                if file is not None:
                    files.append(file)
            elif status.processing:
                if self.clock.monotonic() >= deadline:
                    raise CaptureTimeout("the camera stayed busy processing an earlier image")
                if self._body_sends_image_events:
                    self._wait_for_image(deadline)
                else:
                    self.clock.sleep(self.timing.poll_interval_s)
            else:
                return files, table
            table = self.read_settings()

    def release_buttons(self, table: PropertyTable) -> bool:
        """Send S2 up, then S1 up, unless the read-back says both are released; True if sent.

        As the DLL does before every capture when a value is missing or not 1 (sony-ptp.md
        14.2): the read-back is not a button state to refuse on, only a reason to release.
        """
        sent = False
        for control in (SonyControl.S2_BUTTON, SonyControl.S1_BUTTON):
            if not self.camera.button_released(table, control):
                self.camera.press(control, ButtonState.UP)
                sent = True
        return sent

    # -- one exposure -----------------------------------------------------------------------------

    def settle_after_connect(self, abort: threading.Event | None = None) -> bool:
        """Wait out the 'no photo in the first seconds after connecting' window, on every body.

        The window runs from the handshake (``connected_at``), so whatever happened since counts:
        :meth:`expose` calls this after the settings were set, just before its read and S1.
        Returns whether it had to wait; an ``abort`` set meanwhile ends the wait within
        ``poll_interval_s``.
        """
        connected = self.camera.connected_at
        if connected is None:
            return False
        wait = connected + self.timing.startup_wait_s - self.clock.monotonic()
        if wait <= 0:
            return False
        log.info("waiting %.1f s for the camera to settle after connecting", wait)
        # In slices, so an abort ends the wait within one (no event wait: the clock's wait is the
        # exposure's own, which tests gate to abort a BULB hold or an autofocus pause midway).
        deadline = connected + self.timing.startup_wait_s
        while (left := deadline - self.clock.monotonic()) > 0:
            if abort is not None and abort.is_set():
                break
            self.clock.sleep(min(left, self.timing.poll_interval_s))
        return True

    def expose(
        self,
        plan: ExposurePlan,
        table: PropertyTable | None = None,
        *,
        cancel: threading.Event | None = None,
        abort: threading.Event | None = None,
        af_pause_s: float | None = None,
        on_phase: Callable[[CapturePhase, float], None] | None = None,
        spool: SpoolOpener | None = None,
    ) -> CaptureResult:
        """Shoot once with the shutter already set to ``plan.shutter_raw``; download every file.

        ``table`` is the latest settings read, if the caller has one: it is reused when nothing
        was sent since (the seed's rule is a read before pressing, not a read per step).
        ``cancel`` ends a BULB hold early; the image is still downloaded. ``abort`` set before
        S2 (also during the autofocus pause) means no picture at all: S2 is never pressed and
        S1 is released (issue 9 point 2; after S2 the sequence follows through). ``on_phase`` hears
        when the shutter opens, when it closes and when the download starts (with the clock).
        ``spool`` is offered each of the shot's files as it downloads (SonyCamera.download).

        Raises:
            CaptureAborted: ``abort`` was set before S2.
            NoImageTaken: the camera took no picture (no sign of one by the deadline).
            CaptureTimeout: a picture was taken but never became ready.
        """
        cancel = cancel or threading.Event()
        abort = abort or threading.Event()
        phase = on_phase or (lambda _phase, _at: None)
        # As libgphoto2 reads 0x9209 again after its startup wait (camera_sony_capture).
        waited = self.settle_after_connect(abort)
        self._refuse_if_aborted(abort)
        if waited or table is None or not self.camera.settings_read_last:
            table = self.read_settings()
        stale: list[DownloadedFile] = []
        while True:
            files, table = self.drain(table)
            stale += files
            self.release_buttons(table)
            # The rule "read the settings before pressing": nothing may be sent after this read.
            if not self.camera.settings_read_last:
                table = self.read_settings()
            if ShootingFileInfo(table.value(SonyProp.SHOOTING_FILE_INFO, 0) or 0).idle:
                break
        if not _same(SonyProp.SHUTTER_SPEED, table.value(SonyProp.SHUTTER_SPEED), plan.shutter_raw):
            actual = ShutterSpeed(table.value(SonyProp.SHUTTER_SPEED) or 0)
            raise SettingDidNotStick(
                f"the camera's shutter speed is {actual}, not {ShutterSpeed(plan.shutter_raw)}"
            )
        autofocus = is_autofocus(table.value(SonyProp.FOCUS_MODE))
        self._refuse_if_aborted(abort)
        self.camera.discard_events()
        started_at = self.clock.monotonic()
        pressed_s2 = False
        try:
            self.camera.press(SonyControl.S1_BUTTON, ButtonState.DOWN)
            if autofocus:
                pause = self.timing.af_pause_s if af_pause_s is None else af_pause_s
                self.clock.wait(abort, pause)
                self._refuse_if_aborted(abort)
                self._require_focus()
            self._refuse_if_aborted(abort)  # the last moment an abort means "no picture"
            self.camera.press(SonyControl.S2_BUTTON, ButtonState.DOWN)
            pressed_s2 = True
            started_at = self.clock.monotonic()
            phase(CapturePhase.EXPOSING, started_at)
            hold = plan.duration_s if plan.is_bulb else self.timing.fixed_speed_hold_s
            self.clock.wait(cancel, hold)
        finally:
            ended_at = self.clock.monotonic()
            self._release_quietly(pressed_s2)
        if not plan.is_bulb:
            # The camera times a built-in speed itself; the shutter is open until then.
            ended_at = started_at + plan.duration_s
            self.clock.sleep(ended_at - self.clock.monotonic())
        phase(CapturePhase.READING, ended_at)
        result = CaptureResult(
            plan, started_at, ended_at, stale_files=stale, cancelled=cancel.is_set()
        )
        result.files = self._collect(result, table, phase, spool)
        return result

    @staticmethod
    def _refuse_if_aborted(abort: threading.Event) -> None:
        if abort.is_set():
            raise CaptureAborted("the exposure was aborted before the shutter was pressed")

    def _require_focus(self) -> None:
        """With S1 held, 0xD213 = 3 (AF-S) or 7 (AF-C) means not focused: do not press S2.

        INDIGO aborts the capture on 3; libgphoto2 ends its AF wait on 2 or 3 (sony-ptp.md 6.6).
        Only this evidence allows another try: after S2 a missing image may just be late.
        """
        focus = self.read_settings().value(SonyProp.FOCUS_INDICATION)
        if focus in _NOT_FOCUSED:
            raise AutofocusFailed(
                "the camera could not focus (autofocus found nothing to focus on): use manual "
                "focus (MF) on a telescope"
            )

    def _release_quietly(self, pressed_s2: bool) -> None:
        """S2 up, then S1 up; a failure of the first does not skip the second."""
        errors: list[Exception] = []
        for control in (SonyControl.S2_BUTTON, SonyControl.S1_BUTTON):
            try:
                self.camera.press(control, ButtonState.UP)
            except Exception as exc:
                errors.append(exc)
        if errors and pressed_s2:
            raise errors[0]

    def _wait_for_image(self, until: float) -> None:
        """Sleep until an image event, ``until``, or the next poll, whichever comes first."""
        now = self.clock.monotonic()
        if self._body_sends_image_events is False:
            self.clock.sleep(max(0.0, min(self.timing.poll_interval_s, until - now)))
            return
        if self.camera.wait_for_image_event(max(0.0, min(self.timing.event_wait_s, until - now))):
            self._body_sends_image_events = True

    def _collect(
        self,
        result: CaptureResult,
        before: PropertyTable,
        phase: Callable[[CapturePhase, float], None],
        spool: SpoolOpener | None,
    ) -> list[DownloadedFile]:
        """Wait until 0xD215 reports the files, then download every one until it says empty.

        The deadline allows a dark frame as long as the exposure when long-exposure NR is on
        (0xD15B = 2) or unknown (v2 bodies do not report it; sony-ptp.md 14.3).
        """
        exposure = result.ended_at - result.started_at
        dark_frame = exposure if long_exposure_nr_may_be_on(before) else 0.0
        deadline = result.ended_at + dark_frame + self.timing.processing_margin_s
        no_shot_after = result.ended_at + dark_frame + self.timing.no_shot_grace_s
        seen_activity = False
        while True:
            self._wait_for_image(min(deadline, no_shot_after if not seen_activity else deadline))
            table = self.read_settings()
            status = ShootingFileInfo(table.value(SonyProp.SHOOTING_FILE_INFO, 0) or 0)
            if status.ready:
                break
            seen_activity = seen_activity or status.processing
            now = self.clock.monotonic()
            if not seen_activity and now >= no_shot_after:
                raise NoShotSeen(_no_shot_message(table), result)
            if now >= deadline:
                raise CaptureTimeout(
                    "the camera did not deliver the image within "
                    f"{deadline - result.ended_at:.0f} s "
                    "after the exposure ended"
                )
        if self._body_sends_image_events is None:
            self._body_sends_image_events = False  # found by polling: this body sends none
        phase(CapturePhase.DOWNLOADING, self.clock.monotonic())
        return self.download_ready(table, spool)

    def download_ready(
        self, table: PropertyTable, spool: SpoolOpener | None = None
    ) -> list[DownloadedFile]:
        """Download while 0xD215 reports files, in whatever order they come (RAW or JPEG first)."""
        files: list[DownloadedFile] = []
        for _ in range(MAX_FILES_PER_DRAIN):
            if not ShootingFileInfo(table.value(SonyProp.SHOOTING_FILE_INFO, 0) or 0).ready:
                return files
            file = self.camera.download(spool=spool)
            if file is not None:
                files.append(file)
            table = self.read_settings()
        raise CameraError("the camera keeps reporting images after 64 downloads")


def long_exposure_nr_may_be_on(table: PropertyTable) -> bool:
    """0xD15B: 1 = off, 2 = on (sony-a1m2.txt, sony-a7m5.txt); absent (v2 bodies): maybe on."""
    value = table.value(SonyProp.LONG_EXPOSURE_NR)
    return value is None or value == LENR_ON


def _no_shot_message(table: PropertyTable) -> str:
    if table.value(SonyProp.SAVE_DESTINATION) == SAVE_CARD_ONLY:
        return (
            "the camera saved no image for the computer: set MENU > PC Remote > Still Img. Save "
            "Dest. to PC (or PC+Camera) on the camera"
        )
    # Focus was confirmed before S2 (or focus is manual): do not blame autofocus.
    return (
        "the camera did not take a picture (if one arrives later it is downloaded and saved): "
        "check that nothing holds its shutter button and that its drive mode is Single Shooting"
    )


def _did_not_stick_message(code: int, target: int, table: PropertyTable) -> str:
    actual = table.value(code)
    if code == SonyProp.SHUTTER_SPEED:
        hint = ""
        program = table.value(SonyProp.EXPOSURE_PROGRAM)
        if program is not None and not is_manual_program(program):
            hint = ": set the camera's mode dial to M"
        return (
            f"the camera kept shutter speed {ShutterSpeed(actual or 0)} instead of "
            f"{ShutterSpeed(target)}{hint}"
        )
    if code == SonyProp.ISO:
        return f"the camera kept ISO {Iso(actual or 0)} instead of {Iso(target)}"
    return f"property 0x{code:04X} stayed 0x{actual or 0:X} instead of 0x{target:X}"
