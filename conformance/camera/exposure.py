"""The happy-path exposure of ConformU's methods group, one per binning: a full-frame light
exposure followed from StartExposure through Exposing to Idle and ImageReady, then
LastExposureDuration, LastExposureStartTime and both image members. Beyond ConformU, the time
CameraState spends Exposing is measured against the exposure length."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any

from conformance.alpaca import NOT_IMPLEMENTED
from conformance.camera.image_checks import check_image
from conformance.camera.probe import (
    DOWNLOAD,
    ERROR_STATE,
    EXPOSING,
    IDLE,
    POLL_S,
    READING,
    WAITING,
    Probe,
    Required,
)
from conformance.camera.values import is_int, is_number

STATE_NAMES = ("Idle", "Waiting", "Exposing", "Reading", "Download", "Error")
START_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?")
ZONE_SUFFIX = re.compile(r"[+-]\d{2}:?\d{2}$")
START_RETURN_S = 1.0  # ICameraV4: StartExposure returns at once (ConformU's STANDARD target)
TO_EXPOSING_S = 2.0  # ConformU: the exposure duration + 2 s to reach Exposing
DURATION_TOLERANCE = 0.02  # LastExposureDuration within 2 %
START_STAMP_TOLERANCE_S = 2.0  # LastExposureStartTime within 2 s


@dataclass
class ExposureWatch:
    """What was seen while an exposure ran."""

    start_monotonic: float
    exposing_first: float | None = None  # monotonic time Exposing was first seen
    exposing_first_utc: dt.datetime | None = None
    before_exposing: float = 0.0  # the last moment the camera was surely not yet exposing
    exposing_end: float | None = None  # monotonic time it was first seen to have left Exposing
    ready_too_early: bool = False
    states: list[int] = field(default_factory=list)
    percents: list[int] = field(default_factory=list)
    percent_errors: set[str] = field(default_factory=set)
    timed_out: str = ""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_start_time(text: str) -> dt.datetime | None:
    """A FITS-style UTC time without zone (``CCYY-MM-DDThh:mm:ss[.fff...]``), else None."""
    match = START_TIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or "0")[:6].ljust(6, "0")
    try:
        return dt.datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=dt.UTC)
    except ValueError:
        return None


def happy_exposure(probe: Probe, bin_x: int, bin_y: int) -> None:
    """One full-frame exposure at ``bin_x`` x ``bin_y`` and the checks ConformU makes on it."""
    num_x, num_y = probe.facts.x_size // bin_x, probe.facts.y_size // bin_y
    probe.report.text("")
    probe.report.text(f"Take image full frame {bin_x} x {bin_y} bin ({num_x} x {num_y})")
    if probe.wait_state(lambda s: s == IDLE, probe.wait_s) is None:
        probe.report.issue("StartExposure", "the camera is not idle; exposure skipped")
        return
    if not probe.set_frame((bin_x, bin_y, 0, 0, num_x, num_y)):
        return
    started_utc = utc_now()
    started = time.monotonic()
    result = probe.put("StartExposure", Duration=probe.exposure_s, Light=True)
    took = time.monotonic() - started
    if not result.ok:
        probe.report.issue("StartExposure", f"error when exposing: {result.describe()}")
        return
    if not _judge_start_time(probe, took):
        return
    ready, state = probe.get("ImageReady"), probe.get("CameraState")
    if ready.value is True and state.value == IDLE:
        _synchronous(probe, took, started_utc)
    else:
        watch = _watch(probe, started)
        if not _judge_watch(probe, watch, started):
            return
        _test_last(probe, started_utc, watch.exposing_first_utc or started_utc)
    for member in ("ImageArray", "ImageArrayVariant"):
        check_image(probe, member, num_x, num_y)


def _judge_start_time(probe: Probe, took: float) -> bool:
    if took > probe.wait_s:
        probe.report.error(
            "StartExposure",
            f"StartExposure took {took:.1f} s, beyond ConformU's {probe.wait_s:g} s limit",
        )
        return False
    if took > START_RETURN_S:
        probe.report.issue(
            "StartExposure",
            f"StartExposure took {took:.2f} s; ICameraV4 requires it to return quickly (1 s)",
        )
    else:
        probe.report.ok("StartExposure", f"returned in {took * 1000:.0f} ms")
    return True


def _synchronous(probe: Probe, took: float, started_utc: dt.datetime) -> None:
    if probe.facts.interface_version >= 4:
        probe.report.issue(
            "StartExposure",
            "synchronous exposure: ICameraV4 requires StartExposure to be asynchronous",
        )
    elif took < probe.exposure_s:
        probe.report.issue(
            "StartExposure",
            "synchronous exposure returned before the exposure time was complete",
        )
    else:
        probe.report.ok("StartExposure", "synchronous exposure found OK")
    _test_last(probe, started_utc, started_utc)


# -- following the exposure --------------------------------------------------------------------


def _poll_exposure(probe: Probe, watch: ExposureWatch) -> tuple[int | None, bool | None]:
    state = probe.get("CameraState")
    ready = probe.get("ImageReady")
    value = int(state.value) if state.ok and is_int(state.value) else None
    is_ready = ready.value if ready.ok and isinstance(ready.value, bool) else None
    if value is not None:
        watch.states.append(value)
    if value in (WAITING, EXPOSING) and is_ready:
        watch.ready_too_early = True
    if value == EXPOSING:
        percent = probe.get("PercentCompleted")
        if percent.ok and is_int(percent.value):
            watch.percents.append(int(percent.value))
        elif not percent.ok and percent.error != NOT_IMPLEMENTED:
            watch.percent_errors.add(percent.describe())
    return value, is_ready


def _watch(probe: Probe, started: float) -> ExposureWatch:
    """Follow the exposure: to Exposing, through it, to Idle, to ImageReady."""
    watch = ExposureWatch(started, before_exposing=started)
    phase = "reach Exposing"
    deadline = started + probe.exposure_s + TO_EXPOSING_S
    while True:
        before = time.monotonic()
        state, ready = _poll_exposure(probe, watch)
        if state == ERROR_STATE:
            return watch
        phase, deadline = _advance(probe, watch, phase, deadline, (before, state, ready))
        if phase == "done":
            return watch
        if before > deadline:
            watch.timed_out = phase
            return watch
        time.sleep(POLL_S)


def _advance(
    probe: Probe,
    watch: ExposureWatch,
    phase: str,
    deadline: float,
    seen: tuple[float, int | None, bool | None],
) -> tuple[str, float]:
    """Next phase and its deadline after one poll (taken at ``before``)."""
    before, state, ready = seen
    now = time.monotonic()
    if phase == "reach Exposing":
        if state == EXPOSING:
            watch.exposing_first, watch.exposing_first_utc = now, utc_now()
            phase, deadline = "leave Exposing", now + probe.exposure_s + probe.wait_s
        elif state in (READING, DOWNLOAD) or (state == IDLE and ready):
            phase, deadline = "reach Idle", now + probe.wait_s  # Exposing came and went unseen
        else:
            watch.before_exposing = before
    if phase == "leave Exposing" and state not in (EXPOSING, None):
        watch.exposing_end = now
        phase, deadline = "reach Idle", now + probe.wait_s
    if phase == "reach Idle" and state == IDLE:
        phase, deadline = "reach ImageReady", now + probe.wait_s
    if phase == "reach ImageReady" and ready:
        phase = "done"
    return phase, deadline


def _judge_watch(probe: Probe, watch: ExposureWatch, started: float) -> bool:
    test = "StartExposure"
    if watch.exposing_first is None:
        probe.report.issue(
            "CameraState",
            f"CameraState never showed Exposing (states seen: {_state_path(watch.states)})",
        )
    else:
        _judge_exposing_time(probe, watch, started)
    if watch.ready_too_early:
        probe.report.issue(test, "ImageReady was true before the camera completed its exposure")
    if watch.percent_errors:
        probe.report.info(
            "PercentCompleted",
            f"errors while exposing: {'; '.join(sorted(watch.percent_errors))}",
        )
    if watch.timed_out:
        probe.report.error(
            test,
            f"timed out waiting to {watch.timed_out} (ConformU allows {probe.wait_s:g} s per wait)",
        )
        return False
    final = probe.get("CameraState")
    ready = probe.get("ImageReady")
    if not (ready.ok and ready.value is True):
        probe.report.issue(test, f"the camera ended in state {final.describe()} without an image")
        return False
    if final.value != IDLE:
        probe.report.issue(
            test, f"ImageReady is true but CameraState is {final.describe()}, expected Idle"
        )
    total = time.monotonic() - started
    probe.report.ok(
        test,
        f"asynchronous exposure found OK: {probe.exposure_s:g} s, image ready after {total:.2f} s",
    )
    return True


def _judge_exposing_time(probe: Probe, watch: ExposureWatch, started: float) -> None:
    exposure_s = probe.exposure_s
    first = watch.exposing_first if watch.exposing_first is not None else started
    if first - started > 1.0:
        probe.report.info(
            "CameraState",
            f"Exposing began {first - started:.2f} s after StartExposure returned",
        )
    end = watch.exposing_end if watch.exposing_end is not None else time.monotonic()
    # The longest the camera can have been exposing, given when it was polled: from the last
    # poll before Exposing to the first poll after it. Even that must cover the exposure.
    longest = end - watch.before_exposing
    if longest < exposure_s * 0.95:
        probe.report.issue(
            "CameraState",
            f"CameraState left Exposing after at most {longest:.2f} s of a "
            f"{exposure_s:g} s exposure ({_state_path(watch.states)}): clients polling "
            "every 0.5 s, like ConformU, may never see Exposing",
        )
    else:
        probe.report.ok(
            "CameraState",
            f"Exposing for about {end - first:.2f} s of a {exposure_s:g} s exposure "
            f"({_state_path(watch.states)})",
        )
    if watch.percents and (min(watch.percents) < 0 or max(watch.percents) > 100):
        probe.report.issue(
            "PercentCompleted",
            f"outside 0..100 while exposing: {min(watch.percents)}..{max(watch.percents)}",
        )


# -- LastExposureDuration and LastExposureStartTime --------------------------------------------


def _test_last(probe: Probe, started_utc: dt.datetime, exposing_seen_utc: dt.datetime) -> None:
    exposure_s = probe.exposure_s
    result = probe.get("LastExposureDuration")
    if not result.ok:
        probe.handle("LastExposureDuration", Required.OPTIONAL, result)
    elif not is_number(result.value):
        probe.report.issue("LastExposureDuration", f"not a number: {result.value!r}")
    elif abs(result.value - exposure_s) / exposure_s < DURATION_TOLERANCE:
        probe.report.ok("LastExposureDuration", f"{result.value} s")
    else:
        probe.report.issue(
            "LastExposureDuration",
            f"{result.value} s differs from the {exposure_s:g} s requested by 2 % or more",
        )
    result = probe.get("LastExposureStartTime")
    if not result.ok:
        probe.handle("LastExposureStartTime", Required.OPTIONAL, result)
        return
    _judge_start_stamp(probe, result.value, started_utc, exposing_seen_utc)


def _judge_start_stamp(
    probe: Probe, value: Any, started_utc: dt.datetime, exposing_seen_utc: dt.datetime
) -> None:
    test = "LastExposureStartTime"
    if not isinstance(value, str):
        probe.report.issue(test, f"not a string: {value!r}")
        return
    if value.endswith(("Z", "z")) or ZONE_SUFFIX.search(value[19:]):
        probe.report.issue(
            test,
            f"{value!r} has a time zone suffix; the format is "
            "CCYY-MM-DDThh:mm:ss[.fff] in UTC without one (ConformU reads a "
            "'Z' as local time)",
        )
        return
    stamp = parse_start_time(value)
    if stamp is None:
        probe.report.issue(test, f"{value!r} is not in the format CCYY-MM-DDThh:mm:ss[.fff]")
        return
    early = (started_utc - stamp).total_seconds()
    late = (stamp - exposing_seen_utc).total_seconds()
    if early > START_STAMP_TOLERANCE_S or late > START_STAMP_TOLERANCE_S:
        probe.report.issue(
            test,
            f"{value} is more than 2 s away from the exposure start "
            f"(StartExposure called at "
            f"{started_utc.strftime('%H:%M:%S.%f')[:-3]} UTC)",
        )
    else:
        probe.report.ok(test, f"correct to within 2 s: {value} UTC")


def _state_path(states: list[int]) -> str:
    """The states seen, repeats folded: ``Waiting > Exposing > Idle``."""
    path: list[str] = []
    for state in states:
        label = STATE_NAMES[state] if 0 <= state < len(STATE_NAMES) else str(state)
        if not path or path[-1] != label:
            path.append(label)
    return " > ".join(path)
