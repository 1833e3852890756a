"""Sony's shutter and photo-buffer protocol: one exposure from settings read to files downloaded.

The rules (sony-ptp.md 6.1, 6.7, 8): read the settings before pressing anything; pull off images
still waiting; buttons must be up; S1, an autofocus pause only when AF is on, S2; hold for BULB;
release S2 then S1 on every path; poll 0xD215 until the files are ready; download every one. Once
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
from alpaca_sony.sony.codes import ButtonState, SonyControl, SonyProp
from alpaca_sony.sony.models import CameraModel
from alpaca_sony.sony.props import PropertyTable
from alpaca_sony.sony.protocol import DownloadedFile, SonyCamera
from alpaca_sony.sony.values import (
    SHUTTER_BULB,
    Iso,
    ShootingFileInfo,
    ShutterSpeed,
    is_autofocus,
    is_manual_program,
)

log = logging.getLogger(__name__)

MAX_FILES_PER_DRAIN = 64


class CapturePhase(Enum):
    """Where an exposure is, for status reporting."""

    EXPOSING = "exposing"
    READING = "reading"
    DOWNLOADING = "downloading"


@dataclass(frozen=True)
class CaptureTiming:
    """Waits and deadlines of the capture sequence (seconds)."""

    af_pause_s: float = 0.6  # > the 500 ms after which bodies reliably shoot with AF on
    poll_interval_s: float = 0.1
    processing_margin_s: float = 30.0
    no_shot_grace_s: float = 3.0
    fixed_speed_hold_s: float = 0.1
    setting_poll_interval_s: float = 0.05
    setting_timeout_s: float = 2.5
    setting_settle_s: float = 0.3
    drain_busy_timeout_s: float = 15.0


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


def shutter_ladder(table: PropertyTable, model: CameraModel | None) -> list[int]:
    """Raw shutter values from longest to shortest, BULB first when offered."""
    descriptor = table.get(SonyProp.SHUTTER_SPEED)
    values: Sequence[object] = descriptor.values if descriptor and descriptor.values else ()
    raws = [v for v in values if isinstance(v, int) and v != 0xFFFFFFFF]
    if not raws and model is not None:
        raws = [SHUTTER_BULB, *model.shutter_speeds]
    timed = sorted(
        (r for r in raws if r != SHUTTER_BULB),
        key=lambda r: ShutterSpeed(r).duration or Fraction(0),
        reverse=True,
    )
    return ([SHUTTER_BULB] if SHUTTER_BULB in raws else []) + timed


def iso_ladder(table: PropertyTable, model: CameraModel | None) -> list[int]:
    """Raw ISO values in the order the ISO notch walks them (AUTO first, then ascending)."""
    descriptor = table.get(SonyProp.ISO)
    values = [v for v in (descriptor.values if descriptor else ()) if isinstance(v, int)]
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


class CaptureSequence:
    """Runs exposures on one connected :class:`SonyCamera` (single-threaded, like the camera)."""

    def __init__(self, camera: SonyCamera, clock: Clock, timing: CaptureTiming | None = None):
        self.camera = camera
        self.clock = clock
        self.timing = timing or CaptureTiming()

    # -- settings ---------------------------------------------------------------------------

    def read_settings(self) -> PropertyTable:
        return self.camera.read_properties()

    def set_iso(self, iso_raw: int) -> PropertyTable:
        """Set ISO (absolute on v3, notches on v2) and verify it by reading it back."""
        table = self.read_settings()
        return self._set_laddered(
            table, SonyProp.ISO, iso_raw, iso_ladder(table, self.camera.model)
        )

    def set_shutter(self, shutter_raw: int) -> PropertyTable:
        """Set the shutter speed and verify it: a silently wrong exposure is users' worst bug."""
        table = self.read_settings()
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
        current = table.value(code)
        if current == target:
            return table
        if target not in ladder:
            raise UnsupportedSetting(
                f"the camera does not offer value 0x{target:X} for 0x{code:04X}"
            )
        descriptor = table.get(code)
        if descriptor is not None and descriptor.writable:
            self.camera.set_property(table, code, target)
            table = self._await_value(code, target)
            if table.value(code) == target:
                return table
            log.info("absolute set of 0x%04X did not stick; stepping with notches", code)
        # Some bodies move one step per notch whatever its size: keep notching while it helps.
        for _attempt in range(len(ladder) + 2):
            current = table.value(code)
            if current == target:
                return table
            if current not in ladder:
                raise SettingDidNotStick(
                    f"0x{code:04X} reads 0x{current or 0:X}, which is not on its ladder"
                )
            steps = ladder.index(target) - ladder.index(current)
            steps = max(-127, min(127, steps))
            self.camera.notch(code, steps)
            table = self._await_value(code, target, moved_from=current)
            if table.value(code) == current:
                break  # nothing moved: the body refuses (wrong mode) or is out of steps
        if table.value(code) != target:
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
            if value == target or settled or now >= deadline:
                return table
            self.clock.sleep(self.timing.setting_poll_interval_s)

    # -- the buffer -----------------------------------------------------------------------------

    def drain(self, table: PropertyTable) -> tuple[list[DownloadedFile], PropertyTable]:
        """Download every image already waiting (they are saved, never silently dropped)."""
        files: list[DownloadedFile] = []
        deadline = self.clock.monotonic() + self.timing.drain_busy_timeout_s
        while True:
            status = ShootingFileInfo(table.value(SonyProp.SHOOTING_FILE_INFO, 0) or 0)
            if status.ready:
                if len(files) >= MAX_FILES_PER_DRAIN:
                    raise CameraError("the camera keeps reporting images after 64 downloads")
                files.append(self.camera.download())
            elif status.processing:
                if self.clock.monotonic() >= deadline:
                    raise CaptureTimeout("the camera stayed busy processing an earlier image")
                self.clock.sleep(self.timing.poll_interval_s)
            else:
                return files, table
            table = self.read_settings()

    def release_buttons(self, table: PropertyTable) -> PropertyTable:
        """Send S2 up then S1 up if the camera reports either down (stale session, a7R IV)."""
        changed = False
        for control in (SonyControl.S2_BUTTON, SonyControl.S1_BUTTON):
            state = self.camera.button_state(table, control)
            if state is not None and state != ButtonState.UP:
                log.info("0x%04X reads down before the exposure; releasing it", control)
                self.camera.press(control, ButtonState.UP)
                changed = True
        return self.read_settings() if changed else table

    # -- one exposure -----------------------------------------------------------------------------

    def settle_after_connect(self) -> None:
        """Wait out the bodies' 'no photo in the first seconds after connecting' window."""
        model, connected = self.camera.model, self.camera.connected_at
        if model is None or connected is None:
            return
        wait = connected + model.quirks.post_connect_settle_s - self.clock.monotonic()
        if wait > 0:
            log.info("waiting %.1f s for the camera to settle after connecting", wait)
            self.clock.sleep(wait)

    def expose(
        self,
        plan: ExposurePlan,
        *,
        cancel: threading.Event | None = None,
        af_pause_s: float | None = None,
        on_phase: Callable[[CapturePhase, float], None] | None = None,
    ) -> CaptureResult:
        """Shoot once with the shutter already set to ``plan.shutter_raw``; download every file.

        ``cancel`` ends a BULB hold early; the image is still downloaded. ``on_phase`` hears
        when the shutter opens, when it closes and when the download starts (with the clock).

        Raises:
            NoImageTaken: the camera took no picture (no sign of one by the deadline).
            CaptureTimeout: a picture was taken but never became ready.
            CameraError: the shutter button is held on the camera.
        """
        cancel = cancel or threading.Event()
        phase = on_phase or (lambda _phase, _at: None)
        self.settle_after_connect()
        table = self.read_settings()
        stale, table = self.drain(table)
        table = self.release_buttons(table)
        for control in (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON):
            if self.camera.button_state(table, control) == ButtonState.DOWN:
                raise CameraError("the camera's shutter button is held down: release it")
        if table.value(SonyProp.SHUTTER_SPEED) != plan.shutter_raw:
            actual = ShutterSpeed(table.value(SonyProp.SHUTTER_SPEED) or 0)
            raise SettingDidNotStick(
                f"the camera's shutter speed is {actual}, not {ShutterSpeed(plan.shutter_raw)}"
            )
        autofocus = is_autofocus(table.value(SonyProp.FOCUS_MODE))
        # The rule "read the settings before pressing": a fresh read right before S1.
        table = self.read_settings()
        started_at = self.clock.monotonic()
        pressed_s2 = False
        try:
            self.camera.press(SonyControl.S1_BUTTON, ButtonState.DOWN)
            if autofocus:
                self.clock.sleep(self.timing.af_pause_s if af_pause_s is None else af_pause_s)
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
        result.files = self._collect(result, table, phase)
        return result

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

    def _collect(
        self,
        result: CaptureResult,
        before: PropertyTable,
        phase: Callable[[CapturePhase, float], None],
    ) -> list[DownloadedFile]:
        """Poll 0xD215 until the files are ready, then download each of them."""
        exposure = result.ended_at - result.started_at
        dark_frame = exposure if before.value(SonyProp.LONG_EXPOSURE_NR) == 1 else 0.0
        deadline = result.ended_at + dark_frame + self.timing.processing_margin_s
        no_shot_after = result.ended_at + dark_frame + self.timing.no_shot_grace_s
        seen_activity = False
        while True:
            table = self.read_settings()
            status = ShootingFileInfo(table.value(SonyProp.SHOOTING_FILE_INFO, 0) or 0)
            if status.ready:
                break
            seen_activity = seen_activity or status.processing
            now = self.clock.monotonic()
            if not seen_activity and now >= no_shot_after:
                raise NoImageTaken(
                    "the camera did not take a picture (with autofocus on it may have failed to "
                    "focus: use manual focus on a telescope)"
                )
            if now >= deadline:
                raise CaptureTimeout(
                    "the camera did not deliver the image within "
                    f"{deadline - result.ended_at:.0f} s "
                    "after the exposure ended"
                )
            self.clock.sleep(self.timing.poll_interval_s)
        phase(CapturePhase.DOWNLOADING, self.clock.monotonic())
        files: list[DownloadedFile] = []
        while len(files) < MAX_FILES_PER_DRAIN:
            files.append(self.camera.download())
            table = self.read_settings()
            if not ShootingFileInfo(table.value(SonyProp.SHOOTING_FILE_INFO, 0) or 0).ready:
                return files
        raise CameraError("the camera keeps reporting images after 64 downloads")


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
