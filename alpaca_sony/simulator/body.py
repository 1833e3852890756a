"""The simulated camera body: settings, buttons, exposures, the photo buffer, timed by a Clock.

Modelled from the camera's side of sony-ptp.md 12. State advances lazily: every call first catches
up with the clock, so a 300 s BULB exposure under a FakeClock costs nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from alpaca_sony.clock import Clock
from alpaca_sony.ptp.codes import EventCode, ResponseCode
from alpaca_sony.ptp.datatypes import Value
from alpaca_sony.simulator.bodies import BODIES, DEFAULT_BODY, SimulatedModel, body_for
from alpaca_sony.simulator.faults import FaultPlan
from alpaca_sony.simulator.images import render_file
from alpaca_sony.simulator.profile import BodyProfile
from alpaca_sony.simulator.properties import (
    BULB,
    FOCUS_MODES,
    SimProperty,
    build_from_profile,
    build_properties,
    encode_all,
    notch_ladders,
)
from alpaca_sony.simulator.report import find_report
from alpaca_sony.simulator.shots import CapturedFile, Shot, ShotTimes
from alpaca_sony.sony.codes import (
    CAPTURED_IMAGE_HANDLE,
    FORMAT_ARW,
    FORMAT_JPEG,
    PROTOCOL_V3,
    SonyControl,
    SonyProp,
)

log = logging.getLogger(__name__)

# The files one shot leaves per 0x5004 Compression Setting (sony-ptp.md 5.1): the JPEG qualities
# 0x01-0x04 alone, RAW 0x10 alone, RAW+JPEG 0x11-0x14 and cRAW+JPEG 0x21-0x24 both.
_RAW_AND_JPEG = {0x11, 0x12, 0x13, 0x14, 0x21, 0x22, 0x23, 0x24}
_JPEG_ONLY = {0x01, 0x02, 0x03, 0x04}
# The same per 0xD253 File Format (Still) on bodies without 0x5004 (sony-a7sm3.txt; sony-ptp.md
# 5.1: 1 RAW, 2 RAW+JPEG, 3 JPEG, 4 RAW+HEIF, 5 HEIF) as (JPEG, ARW). The simulator renders no
# HEIF: the HEIF settings leave the ARW alone, and an unknown value is taken as RAW.
_STILL_FORMAT_FILES = {
    1: (False, True),
    2: (True, True),
    3: (True, False),
    4: (False, True),
    5: (False, True),
}
_FOCUS_MANUAL = {FOCUS_MODES["MF"], 0x8007}
_MANUAL_PROGRAM_LOW16 = 0x0001
_SHUTTER_PRIORITY_LOW16 = 0x0004
# Press 2, release 1 on every body (libgphoto2 library.c camera_sony_capture; sony-ptp.md 14.1).
_UP, _DOWN = 1, 2
# libgphoto2 library.c camera_sony_capture waits 3 s after connecting before the first capture
# ("2.5 seconds were reported not enough, 3.0 seconds worked"); the body enforces it for every
# model, from this constant and never from the driver's model table.
STARTUP_WINDOW_S = 3.0
# INDIGO indigo_ptp_sony.c ptp_sony_initialise sleeps 1 s before SDIO connect phase 3 ("SONY a7II
# and a7S need to wait to boot").
BOOT_PAUSE_S = 1.0
# The S1/S2 read-back at idle, a reserved field that never follows the buttons (sony-ptp.md 14.2):
# 0xD2C1/0xD2C2 read 2 in sony-a7r4.txt (ILCE-7RM4) and sony-a7c.txt (ILCE-7C), 1 elsewhere.
_IDLE_BUTTON_VALUE = {"ILCE-7RM4": 2, "ILCE-7RM4A": 2, "ILCE-7C": 2}
# 0x5013 Still Capture Mode values (INDIGO indigo_ptp_sony.c value labels): single shot, the
# continuous drives (one press shoots a burst) and the self-timers (the shot comes late).
DRIVE_SINGLE = 0x0001
_CONTINUOUS_DRIVES = {0x0002, 0x8010, 0x8012, 0x8013, 0x8014, 0x8015}
_SELF_TIMER_DELAY_S = {0x8003: 5.0, 0x8004: 10.0, 0x8005: 2.0}
_BURST_FRAMES = 3  # frames per press in a continuous drive (Sony's slowest is about 3 fps)
SAVE_CARD_ONLY = 0x0010  # 0xD222 "Camera" (INDIGO label): the host gets nothing
_SAVE_TO_HOST = 0x0001  # 0xD222 "PC" (INDIGO label)


@dataclass
class BodySettings:
    """How the simulated body is set up and how it behaves. Times in seconds."""

    model: str = DEFAULT_BODY
    # DeviceInfo.Model to report instead of ``model`` (a body the driver's table lacks); the
    # sensor and files stay those of ``model``.
    device_info_model: str | None = None
    # The body's libgphoto2 report (simulator.report.load_report); None: the model's report from
    # ``reports_dir`` when one exists, else the built-in table.
    report: BodyProfile | None = None
    reports_dir: str | None = None  # None: report.default_reports_dir(); "": never look
    serial_number: str = "00000000000000003256821130000001"
    usb_mode: str = "pc_remote"  # or "mtp", "mass_storage"
    program: str = "M"
    focus: str = "MF"
    compression: int = 0x10  # RAW
    shutter: int = (1 << 16) | 125
    iso: int = 800
    long_exposure_nr: bool | None = None  # None: the report's 0xD15B; v2 menu setting
    battery_percent: int = 80
    af_delay_s: float = 0.3
    af_min_pause_s: float = 0.5
    drop_shot_when_s2_too_soon: bool = True
    processing_s: float = 0.8
    notch_delay_s: float = 0.3
    notch_moves_one_step: bool = False  # the body ignores a notch's size (one step each)
    buffer_capacity_shots: int = 10
    # How long a 0x9209 keeps the shutter armed ("recently read", sony-ptp.md 4.4; our assumption).
    settings_read_window_s: float = 10.0
    ext_info_empty_answers: int = 2
    post_connect_settle_s: float | None = None  # None: STARTUP_WINDOW_S, for every model
    controls_in_prop_list: bool | None = None  # None: the model's quirk
    idle_button_value: int | None = None  # None: the report's (see _IDLE_BUTTON_VALUE)
    raw_before_jpeg: bool = False  # RAW+JPEG served RAW first (INDIGO's A7R IV session)
    two_enum_lists: bool | None = None  # None: the model's quirk
    v3_rejects_v2_initiator: bool = True
    bulb_by_absolute_set: bool = True
    live_view: bool = True
    cfa_pattern: str = "RGGB"
    star_seed: int = 1
    # False: no ObjectAdded or 0xD215 change when files are ready, as on the A9, for which
    # INDIGO synthesises ObjectAdded (sony-ptp.md 6.6); drivers must find the files by polling.
    sends_image_events: bool = True


@dataclass
class _Exposure:
    started_at: float
    fixed_s: float | None  # None: BULB, ends when S2 is released
    iso: int
    shutter: int


class SimulatedBody:
    """Everything the camera does between the USB plumbing and the sensor."""

    def __init__(
        self,
        clock: Clock,
        settings: BodySettings | None = None,
        faults: FaultPlan | None = None,
        render: Callable[[CapturedFile], bytes] | None = None,
    ):
        self.clock = clock
        self.settings = settings or BodySettings()
        self.faults = faults or FaultPlan()
        s = self.settings
        profile = s.report
        if profile is None and s.reports_dir != "":
            profile = find_report(s.model, s.reports_dir)
        self.profile: BodyProfile | None = profile
        if profile is None:
            self._from_table()
        else:
            self._from_profile(profile)
        self._render = render
        self._lock = threading.RLock()
        self.events: deque[tuple[int, tuple[int, ...]]] = deque()
        self.buffer: deque[CapturedFile] = deque()
        self.shots: list[Shot] = []
        self.refusals: list[str] = []
        self.protocol_violations: list[str] = []
        self._exposure: _Exposure | None = None
        self._processing: list[tuple[float, Shot]] = []
        self._pending_changes: list[tuple[float, int, Value]] = []
        self.shutter_held_on_body = False  # a finger (or a stuck remote) on the shutter button
        self._s1_down_at: float | None = None
        self._s2_down = False
        self._af_result_at: float | None = None
        self._af_failed = False
        self._settings_read_at: float | None = None
        self._connected_at: float | None = None
        self._file_counter = 1000
        self._sequence = 0
        self._info_given_for: CapturedFile | None = None
        self._burst_left = 0
        self.card: list[CapturedFile] = []  # files saved to the memory card only
        for control in (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON):
            self._set(control, self.idle_button_value)

    def _from_table(self) -> None:
        """The built-in body: the simulator's table (no report exists for this model)."""
        s = self.settings
        model = BODIES.get(s.model)
        if model is None:
            raise ValueError(f"unknown model {s.model!r}; known: {sorted(BODIES)}")
        self.model: SimulatedModel = model
        self.v3 = model.protocol_version >= PROTOCOL_V3
        self.settle_s = _settle_s(s)
        self.controls_listed = (
            model.controls_in_prop_list
            if s.controls_in_prop_list is None
            else s.controls_in_prop_list
        )
        self.idle_button_value = (
            _IDLE_BUTTON_VALUE.get(model.model, _UP)
            if s.idle_button_value is None
            else s.idle_button_value
        )
        self.two_lists = model.two_enum_lists if s.two_enum_lists is None else s.two_enum_lists
        self.props: dict[int, SimProperty] = build_properties(
            model,
            v3=self.v3,
            program=s.program,
            focus=s.focus,
            compression=s.compression,
            shutter=s.shutter,
            iso=s.iso,
            long_exposure_nr=bool(s.long_exposure_nr),
            battery_percent=s.battery_percent,
        )
        self.notch_ladders: dict[int, tuple[Value, ...]] = {}

    def _from_profile(self, profile: BodyProfile) -> None:
        """A body built from its libgphoto2 report; behaviour the report cannot show is ours."""
        pc_remote, why = profile.pc_remote()
        changes: dict[str, object] = {"model": profile.model}
        if self.settings.long_exposure_nr is None and profile.long_exposure_nr() is None:
            # The report cannot show it (v2 bodies have no 0xD15B): Sony ships it on (14.3).
            changes["long_exposure_nr"] = True
        if not pc_remote:
            changes["usb_mode"] = "mtp"  # the report shows an MTP-only body
        self.settings = s = dataclasses.replace(self.settings, **changes)  # type: ignore[arg-type]
        version, version_why = profile.protocol_version()
        log.info(
            "simulated %s from %s: protocol 0x%04X (%s); %s",
            profile.model, profile.source, version, version_why,
            "PC remote" if pc_remote else f"no PC remote ({why})",
        )  # fmt: skip
        self.model = body_for(profile.model)
        self.v3 = version >= PROTOCOL_V3
        self.settle_s = _settle_s(s)
        listed = profile.controls_listed()
        if s.controls_in_prop_list is not None:
            listed = s.controls_in_prop_list
        # Not shown (ILCE-7M5): v3 bodies leave the controls out of 0x9209 (sony-ptp.md 4.2).
        self.controls_listed = (not self.v3) if listed is None else listed
        self.two_lists = profile.two_enum_lists() if s.two_enum_lists is None else s.two_enum_lists
        idle = s.idle_button_value
        if idle is None:  # as reported (sony-ptp.md 14.2); 1 where the report shows none
            idle = profile.idle_button_value()
        self.idle_button_value = _UP if idle is None else idle
        self.props = build_from_profile(
            profile,
            program=s.program,
            focus=s.focus,
            compression=s.compression,
            shutter=s.shutter,
            iso=s.iso,
            long_exposure_nr=s.long_exposure_nr,
            battery_percent=s.battery_percent,
            idle_button_value=self.idle_button_value,
            drive=DRIVE_SINGLE,
            destination=_SAVE_TO_HOST,
        )
        self.notch_ladders = notch_ladders(self.props)

    # -- session life cycle ------------------------------------------------------------------

    def session_started(self) -> None:
        """A new USB session: the host must read settings again before shooting."""
        with self._lock:
            self._settings_read_at = None
            self._connected_at = None
            self._set(SonyProp.LIVE_VIEW_STATUS, 0)

    def handshake_done(self) -> None:
        with self._lock:
            self._connected_at = self.clock.monotonic()
            self._set(SonyProp.LIVE_VIEW_STATUS, 1 if self.settings.live_view else 2)

    def settled_at(self) -> float | None:
        """When this session's startup window ends (the first moment a press can shoot)."""
        with self._lock:
            return None if self._connected_at is None else self._connected_at + self.settle_s

    def own_times(self) -> list[ShotTimes]:
        """Each shot's exposure, processing and transfer times on the camera's clock."""
        with self._lock:
            return [shot.times() for shot in self.shots]

    def usb_gone(self) -> None:
        """Cable pulled: buttons fall back up; a BULB exposure ends; the buffer stays."""
        with self._lock:
            self.advance()
            if self._exposure is not None and self._exposure.fixed_s is None:
                self._end_exposure(self.clock.monotonic())
            self._s1_down_at = None
            self._s2_down = False
            self._set(SonyProp.FOCUS_INDICATION, 1)

    def power_off(self) -> None:
        """Switched off: any exposure ends now and every shot is finished into the buffer,
        which keeps its images until they are downloaded (see SimulatedCamera.power_off)."""
        with self._lock:
            self.advance()
            now = self.clock.monotonic()
            self._burst_left = 0
            self._end_exposure(now)
            for ready_at, shot in sorted(self._processing, key=lambda p: p[0]):
                self._processing.remove((ready_at, shot))
                self._deliver(shot)
            self.advance()

    # -- time ------------------------------------------------------------------------------------

    def advance(self) -> None:
        """Apply everything that has become due by now."""
        with self._lock:
            now = self.clock.monotonic()
            for change in [c for c in self._pending_changes if c[0] <= now]:
                self._pending_changes.remove(change)
                self._set(change[1], change[2])
                # INDIGO re-reads every setting on 0xC203 (indigo_ptp_sony.c
                # ptp_sony_handle_event); the DLL's refactor refreshes on it (sony-ptp.md 6.3).
                self._announce(EventCode.SONY_PROPERTY_CHANGED, (change[1],))
            if self._af_result_at is not None and now >= self._af_result_at:
                self._af_result_at = None
                self._set(SonyProp.FOCUS_INDICATION, 3 if self._af_failed else 2)
                # libgphoto2 library.c camera_sony_capture ends its focus wait on
                # Sony_DevicePropChanged with Param1 0xD213 ("FocusFound change received").
                self._announce(EventCode.SONY_PROPERTY_CHANGED, (SonyProp.FOCUS_INDICATION,))
            exposure = self._exposure
            while exposure and exposure.fixed_s is not None:  # a burst starts the next frame
                end = exposure.started_at + exposure.fixed_s
                if now < end:
                    break
                self._end_exposure(end)
                exposure = self._exposure
            for ready_at, shot in [p for p in self._processing if p[0] <= now]:
                self._processing.remove((ready_at, shot))
                self._deliver(shot)
            self._set(SonyProp.SHOOTING_FILE_INFO, self.shooting_file_info())

    @property
    def exposing(self) -> bool:
        """Whether the shutter is open now (a self-timer's countdown counts as open)."""
        with self._lock:
            self.advance()
            return self._exposure is not None

    def shooting_file_info(self) -> int:
        if self.buffer:
            return 0x8000 | min(len(self.buffer), 0x7FFF)
        if (self._exposure is not None or self._processing) and not self.faults.processing_hidden:
            return 0x0001
        return 0x0000

    # -- properties --------------------------------------------------------------------------------

    def _set(self, code: int, value: Value) -> None:
        prop = self.props.get(code)
        if prop is not None:
            prop.current = value

    def value(self, code: int) -> Value:
        with self._lock:
            self.advance()
            return self.props[code].current

    def all_properties(self) -> bytes:
        """0x9209: every descriptor; reading them arms the shutter (sony-ptp.md 4.4)."""
        with self._lock:
            self.advance()
            self._settings_read_at = self.clock.monotonic()
            listed = [
                p
                for p in self.props.values()
                if self.controls_listed
                or p.code not in (SonyControl.S1_BUTTON, SonyControl.S2_BUTTON)
            ]
            return encode_all(listed, self.two_lists)

    def set_absolute(self, code: int, value: int) -> int:
        """0x9205: returns the response code."""
        with self._lock:
            self.advance()
            prop = self.props.get(code)
            if prop is None:
                return ResponseCode.DEVICE_PROP_NOT_SUPPORTED
            if prop.get_set != 0x01:
                return ResponseCode.ACCESS_DENIED
            if prop.values and value not in prop.values:
                return ResponseCode.INVALID_DEVICE_PROP_VALUE
            if code == SonyProp.SHUTTER_SPEED:
                if not self._shutter_changeable():
                    return ResponseCode.OK  # accepted, ignored, as bodies do outside M/S
                if value == BULB and (
                    not self._in_manual() or not self.settings.bulb_by_absolute_set
                ):
                    return ResponseCode.OK
            self._pending_changes.append((self.clock.monotonic(), code, value))
            self.advance()
            return ResponseCode.OK

    def notch(self, code: int, steps: int) -> None:
        """0x9207 on a notch control: move along the ladder later (always answered OK)."""
        with self._lock:
            self.advance()
            prop = self.props.get(code)
            steps_along = self.notch_ladders.get(code) or (prop.values if prop else ())
            if prop is None or not steps_along:
                return
            if code == SonyProp.SHUTTER_SPEED and not self._shutter_changeable():
                return
            ladder = list(steps_along)
            if code == SonyProp.SHUTTER_SPEED and not self._in_manual():
                ladder = [v for v in ladder if v != BULB]
            # A notch applied before the previous one landed starts from the pending value.
            pending = [c for c in self._pending_changes if c[1] == code]
            current = pending[-1][2] if pending else prop.current
            index = ladder.index(current) if current in ladder else 0
            if self.settings.notch_moves_one_step:
                steps = 1 if steps > 0 else -1
            target = ladder[max(0, min(len(ladder) - 1, index + steps))]
            due = self.clock.monotonic() + self.settings.notch_delay_s
            self._pending_changes.append((due, code, target))

    def _in_manual(self) -> bool:
        program = self.props[SonyProp.EXPOSURE_PROGRAM].current
        return isinstance(program, int) and program & 0xFFFF == _MANUAL_PROGRAM_LOW16

    def _shutter_changeable(self) -> bool:
        program = self.props[SonyProp.EXPOSURE_PROGRAM].current
        return isinstance(program, int) and program & 0xFFFF in (
            _MANUAL_PROGRAM_LOW16,
            _SHUTTER_PRIORITY_LOW16,
        )

    # -- buttons and exposures --------------------------------------------------------------------

    def hold_shutter_button(self, held: bool) -> None:
        """Someone holds the body's shutter button: the host's presses do nothing meanwhile.

        The S1/S2 read-back does not show it (a reserved field, sony-ptp.md 14.2).
        """
        with self._lock:
            self.shutter_held_on_body = held

    def button(self, control: int, wire_value: int) -> None:
        """0x9207 on S1/S2: 2 presses, 1 releases, on every body (sony-ptp.md 14.1)."""
        with self._lock:
            self.advance()
            if wire_value not in (_UP, _DOWN):
                self.protocol_violations.append(f"0x{control:04X} sent value {wire_value}")
                return
            down = wire_value == _DOWN
            if (
                control == SonyControl.S1_BUTTON
                and not down
                and self._s2_down
                and not self.shutter_held_on_body
            ):
                # libgphoto2 and the DLL release S2 first; INDIGO's BULB path is the exception
                # only for its old API (sony-ptp.md 6.6).
                self.protocol_violations.append("S1 released while S2 was still pressed")
            if self.shutter_held_on_body:
                return  # the physical button wins
            if control == SonyControl.S1_BUTTON:
                self._s1(down)
            elif control == SonyControl.S2_BUTTON:
                self._s2(down)

    def _autofocus(self) -> bool:
        focus = self.props[SonyProp.FOCUS_MODE].current
        return focus not in _FOCUS_MANUAL

    def _s1(self, down: bool) -> None:
        now = self.clock.monotonic()
        if down and self._s1_down_at is None:
            self._s1_down_at = now
            if self._autofocus():
                self._af_failed = self.faults.take_af_miss()
                self._af_result_at = now + self.settings.af_delay_s
        elif not down:
            self._s1_down_at = None
            self._af_result_at = None
            self._set(SonyProp.FOCUS_INDICATION, 1)

    def _refuse(self, reason: str) -> None:
        log.info("simulated camera took no photo: %s", reason)
        self.refusals.append(reason)

    def _s2(self, down: bool) -> None:
        now = self.clock.monotonic()
        if not down:
            self._s2_down = False
            if self._exposure is not None and self._exposure.fixed_s is None:
                self._end_exposure(now)
            return
        if self._s2_down:
            return
        self._s2_down = True
        if self._s1_down_at is None:
            self.protocol_violations.append("S2 pressed without S1")
            return
        if self._exposure is not None or self._processing:
            # A second press on a body still exposing or processing is a second shot on the
            # same frame (sony-ptp.md 14.3).
            self.protocol_violations.append("shutter pressed while the last shot was processing")
            if self._exposure is not None:
                return
        reason = self._reason_for_no_shot(now, self._s1_down_at)
        if reason is not None:
            self._refuse(reason)
            return
        self._start_exposure(now)

    def _reason_for_no_shot(self, now: float, s1_down_at: float) -> str | None:
        read_at = self._settings_read_at
        if read_at is None or now - read_at > self.settings.settings_read_window_s:
            self.protocol_violations.append("shutter pressed without a settings read first")
            return "settings were not read before the shutter was pressed"
        self._settings_read_at = None
        if self._connected_at is not None and now - self._connected_at < self.settle_s:
            return "shutter pressed within the camera's settle time after connecting"
        if self._autofocus():
            if self._af_failed:
                return "autofocus failed"
            too_soon = now - s1_down_at < self.settings.af_min_pause_s
            if too_soon and self.settings.drop_shot_when_s2_too_soon:
                return "S2 came too soon after S1 with autofocus on"
        waiting_shots = {f.shot.number for f in self.buffer} | {
            s.number for _, s in self._processing
        }
        if len(waiting_shots) >= self.settings.buffer_capacity_shots:
            return "the camera's buffer is full of images nobody downloaded"
        return None

    def _start_exposure(self, now: float) -> None:
        shutter = self.props[SonyProp.SHUTTER_SPEED].current
        iso = self.props[SonyProp.ISO].current
        if not isinstance(shutter, int) or not isinstance(iso, int):
            raise TypeError("shutter and ISO are scalar properties")
        fixed = None if shutter == BULB else (shutter >> 16) / (shutter & 0xFFFF)
        drive_value = self.props[SonyProp.STILL_CAPTURE_MODE].current
        # v3 bodies add a high word (sony-a1m2.txt: 98325 = 0x18015, "Cont. shooting MI").
        drive = drive_value & 0xFFFF if isinstance(drive_value, int) else DRIVE_SINGLE
        if fixed is not None and drive in _CONTINUOUS_DRIVES:
            self._burst_left = _BURST_FRAMES - 1
        start = now + _SELF_TIMER_DELAY_S.get(drive, 0.0)
        self._exposure = _Exposure(start, fixed, iso, shutter)

    def _end_exposure(self, end: float) -> None:
        exposure = self._exposure
        if exposure is None:
            return
        self._exposure = None
        duration = end - exposure.started_at
        self._sequence += 1
        shot = Shot(
            number=len(self.shots) + 1,
            sequence=self._sequence,
            started_at=exposure.started_at,
            exposure_s=duration,
            iso=exposure.iso,
            shutter=exposure.shutter,
        )
        self.shots.append(shot)
        # 0xD15B: 1 = off, 2 = on (enumeration [2,1] in sony-a1m2.txt, sony-a7m5.txt); v2 bodies
        # do not report it, their menu setting decides (sony-ptp.md 14.3). With it on, a dark frame
        # as long as the exposure follows it.
        lenr = self.settings.long_exposure_nr
        lenr_prop = self.props.get(SonyProp.LONG_EXPOSURE_NR)
        if lenr_prop is not None:
            lenr = lenr_prop.current == 2
        dark_frame = duration if lenr and duration >= 1.0 else 0.0
        shot.ended_at, shot.dark_frame_s = end, dark_frame
        shot.ready_at = end + self.settings.processing_s + dark_frame
        self._processing.append((shot.ready_at, shot))
        if self._burst_left > 0 and exposure.fixed_s is not None:
            self._burst_left -= 1
            self._exposure = _Exposure(end, exposure.fixed_s, exposure.iso, exposure.shutter)

    def _deliver(self, shot: Shot) -> None:
        jpeg, raw = self._files_per_shot()
        self._file_counter += 1
        stem = f"DSC{self._file_counter:05d}"
        if jpeg:
            shot.files.append(CapturedFile(shot, FORMAT_JPEG, f"{stem}.JPG"))
        if raw:
            shot.files.append(CapturedFile(shot, FORMAT_ARW, f"{stem}.ARW"))
        # JPEG first, then RAW (sony-ptp.md 6.5); INDIGO's A7R IV session saw RAW first (14.9).
        if self.settings.raw_before_jpeg:
            shot.files.reverse()
        destination = self.props.get(SonyProp.SAVE_DESTINATION)  # absent in sony-a6000.txt
        if destination is not None and destination.current == SAVE_CARD_ONLY:
            # Saved to the memory card only: nothing reaches the host (sony-ptp.md 14.8).
            self.card.extend(shot.files)
            return
        self.buffer.extend(shot.files)
        if not self.settings.sends_image_events:
            return
        # One ObjectAdded per shot, its handle 0xFFFFC001, once the files wait: libgphoto2
        # camera_sony_capture takes Param1 as the handle to fetch, INDIGO ptp_sony_handle_event
        # downloads params[0] on it and fetches a RAW+JPEG pair's second file without another
        # event. 0xC203 names 0xD215 with it (sony-ptp.md 2.6, Appendix A).
        self._announce(EventCode.SONY_OBJECT_ADDED, (CAPTURED_IMAGE_HANDLE,))
        self._announce(EventCode.SONY_PROPERTY_CHANGED, (SonyProp.SHOOTING_FILE_INFO,))

    def _announce(self, code: int, params: tuple[int, ...]) -> None:
        """Queue an event for the interrupt endpoint (read by camera.SimulatedCamera)."""
        self.events.append((code, params))

    def _files_per_shot(self) -> tuple[bool, bool]:
        """Whether a shot leaves a JPEG and whether an ARW, from the file-format setting."""
        if SonyProp.COMPRESSION in self.props:
            code = self.props[SonyProp.COMPRESSION].current
            if not isinstance(code, int):
                return False, True
            return code in _RAW_AND_JPEG or code in _JPEG_ONLY, code not in _JPEG_ONLY
        still = self.props[SonyProp.STILL_FILE_FORMAT].current
        return (
            _STILL_FORMAT_FILES.get(still, (False, True))
            if isinstance(still, int)
            else (False, True)
        )

    def preload_stale_images(self, shots: int = 1) -> None:
        """Images left in the buffer by an earlier session (they survive power cycles)."""
        with self._lock:
            for _ in range(shots):
                self._sequence += 1
                shot = Shot(
                    number=len(self.shots) + 1,
                    sequence=self._sequence,
                    started_at=self.clock.monotonic() - 3600,
                    exposure_s=10.0,
                    iso=800,
                    shutter=(100 << 16) | 10,
                    stale=True,
                )
                self.shots.append(shot)
                self._deliver(shot)
            self.advance()

    def fill_buffer(self) -> int:
        """Fill the buffer with images nobody downloaded; returns how many were added.

        An earlier host that never downloaded (a crash, a cancelled capture) leaves them; when
        full "the camera freezes with the saving indicator on" and takes no picture until they
        are downloaded (sony-ptp.md 6.1 [BLOG] part 3, 8 row 6, 12.8); libgphoto2 library.c
        camera_sony_capture: "It may even accumulate so we will get images from history".
        """
        with self._lock:
            self.advance()
            waiting = {f.shot.number for f in self.buffer} | {s.number for _, s in self._processing}
            missing = max(0, self.settings.buffer_capacity_shots - len(waiting))
            self.preload_stale_images(missing)
            return missing

    def add_empty_object(self) -> None:
        """An entry that GetObjectInfo describes with size 0: nothing to fetch (libgphoto2)."""
        with self._lock:
            shot = Shot(0, 0, self.clock.monotonic(), 0.0, 0, 0, stale=True)
            self.buffer.appendleft(CapturedFile(shot, FORMAT_JPEG, "", empty=True))
            self.advance()

    def described(self, file: CapturedFile) -> None:
        """GetObjectInfo answered for ``file``: an empty entry is gone once described."""
        with self._lock:
            if file.empty and self.buffer and self.buffer[0] is file:
                self.buffer.popleft()
                self._info_given_for = None
            self.advance()

    # -- downloads ---------------------------------------------------------------------------------

    def next_file(self) -> CapturedFile | None:
        """The file GetObjectInfo(0xFFFFC001) describes, or None (nothing ready)."""
        with self._lock:
            self.advance()
            if not self.buffer:
                self.protocol_violations.append("0xFFFFC001 accessed while 0xD215 < 0x8000")
                return None
            self._info_given_for = self.buffer[0]
            return self.buffer[0]

    def file_for_download(self) -> CapturedFile | None:
        """The file GetObject(0xFFFFC001) returns; Sony requires GetObjectInfo first."""
        with self._lock:
            self.advance()
            if not self.buffer:
                self.protocol_violations.append("GetObject while 0xD215 < 0x8000")
                return None
            if self._info_given_for is not self.buffer[0]:
                self.protocol_violations.append("GetObject without GetObjectInfo first")
            self._info_given_for = None  # one GetObjectInfo per GetObject
            return self.buffer[0]

    def file_transferred(self, file: CapturedFile) -> None:
        """The whole file went over the cable: drop it from the buffer."""
        with self._lock:
            if self.buffer and self.buffer[0] is file:
                self.buffer.popleft()
                file.downloads += 1
                self._info_given_for = None
                # 0xC202 after the host has transferred the file (sony-ptp.md 2.6).
                self._announce(EventCode.SONY_OBJECT_REMOVED, (CAPTURED_IMAGE_HANDLE,))
            self.advance()

    def render(self, file: CapturedFile) -> bytes:
        """The file's bytes, rendered anew on every call (the same bytes each time).

        The body keeps none: the caller holds them while the file waits in the buffer.
        """
        if self._render is None:
            return render_file(self, file)
        return self._render(file)


def _settle_s(settings: BodySettings) -> float:
    # Every body, known or not, from the body's own constant (STARTUP_WINDOW_S above).
    if settings.post_connect_settle_s is not None:
        return settings.post_connect_settle_s
    return STARTUP_WINDOW_S
