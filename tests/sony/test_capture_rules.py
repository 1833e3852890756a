"""The four rules of Sony's shutter protocol (the project seed). Each test fails if the driver
ignores its rule, because the simulated body enforces it the way the real bodies do."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from alpaca_sony.errors import NoImageTaken
from alpaca_sony.sony.capture import (
    CaptureSequence,
    ExposurePlan,
    plan_exposure,
    shutter_ladder,
)
from alpaca_sony.sony.codes import ButtonState, SonyControl, SonyOp, SonyProp
from alpaca_sony.sony.values import SHUTTER_BULB
from tests.conftest import Rig


def _fixed_plan(rig: Rig, seconds: float = 1 / 125) -> ExposurePlan:
    plan = plan_exposure(seconds, shutter_ladder(rig.capture.read_settings(), rig.sony.model))
    rig.capture.set_shutter(plan.shutter_raw)
    return plan


# -- rule 1: with autofocus on, pause between S1 and S2 -------------------------------------------


def test_autofocus_pause_gets_the_photo(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(focus="AF-S")
    result = rig.capture.expose(_fixed_plan(rig))
    assert len(result.files) == 1
    assert rig.camera.body.refusals == []


def test_the_body_drops_a_shot_when_s2_follows_s1_too_soon(rig_factory: Callable[..., Rig]) -> None:
    # What the pause protects against: the same capture without it takes no picture.
    rig = rig_factory(focus="AF-S")
    with pytest.raises(NoImageTaken):
        rig.capture.expose(_fixed_plan(rig), af_pause_s=0.0)
    assert rig.camera.body.refusals == ["S2 came too soon after S1 with autofocus on"]


def test_manual_focus_skips_the_pause(rig: Rig) -> None:
    plan = _fixed_plan(rig)
    rig.capture.settle_after_connect()
    before = rig.clock.monotonic()
    rig.capture.expose(plan)
    # MF: no 0.6 s autofocus pause (fixed hold 0.1 s + processing 0.8 s + polling).
    assert rig.clock.monotonic() - before < 1.5


# -- rule 2: once S2 is pressed, follow through and download, even on cancel ----------------------


def test_cancelled_bulb_still_downloads_and_keeps_the_buffer_clear(rig: Rig) -> None:
    rig.capture.set_shutter(SHUTTER_BULB)
    capacity = rig.camera.settings.buffer_capacity_shots
    cancel = threading.Event()
    cancel.set()  # cancelled at once: the hold ends, the image must still come off the camera
    for _ in range(capacity + 2):
        result = rig.capture.expose(plan_exposure(600, []), cancel=cancel)
        assert result.cancelled and len(result.files) == 1
    body = rig.camera.body
    assert len(body.shots) == capacity + 2
    assert all(f.downloads == 1 for shot in body.shots for f in shot.files)
    assert not body.buffer and body.refusals == []


def test_buttons_are_released_when_the_hold_fails(rig: Rig) -> None:
    rig.capture.set_shutter(SHUTTER_BULB)

    class Boom(threading.Event):
        def is_set(self) -> bool:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        rig.capture.expose(plan_exposure(60, []), cancel=Boom())
    body = rig.camera.body
    assert body.value(SonyControl.S1_BUTTON) == ButtonState.UP
    assert body.value(SonyControl.S2_BUTTON) == ButtonState.UP


def test_images_left_behind_are_downloaded_before_the_next_shot(rig: Rig) -> None:
    rig.camera.body.preload_stale_images(3)
    result = rig.capture.expose(_fixed_plan(rig))
    assert [f.info.sequence_number for f in result.stale_files] == [1, 2, 3]
    assert [f.info.sequence_number for f in result.files] == [4]


# -- rule 3: poll the photo-buffer status until ready; never download before ----------------------


def test_polls_until_ready_and_never_touches_the_buffer_early(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(processing_s=7.5, long_exposure_nr=True)
    plan = _fixed_plan(rig, 4.0)
    result = rig.capture.expose(plan)
    assert len(result.files) == 1
    body = rig.camera.body
    # 0xFFFFC001 accessed while 0xD215 < 0x8000 crashes real firmware; the body records it.
    assert body.protocol_violations == []
    # With long-exposure NR the camera needs the exposure time again: polling waited it out.
    assert rig.clock.monotonic() - result.ended_at >= 7.5 + 4.0


# -- rule 4: read the settings before a capture --------------------------------------------------


def test_the_body_ignores_the_shutter_unless_settings_were_read(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    # Pressing the buttons on a fresh session without a 0x9209 takes no picture.
    rig.sony.press(SonyControl.S1_BUTTON, ButtonState.DOWN)
    rig.sony.press(SonyControl.S2_BUTTON, ButtonState.DOWN)
    rig.sony.press(SonyControl.S2_BUTTON, ButtonState.UP)
    rig.sony.press(SonyControl.S1_BUTTON, ButtonState.UP)
    assert rig.camera.body.refusals == ["settings were not read before the shutter was pressed"]
    assert rig.camera.body.protocol_violations == ["shutter pressed without a settings read first"]
    rig.camera.body.protocol_violations.clear()  # broken on purpose


def _s1_presses(rig: Rig) -> list[int]:
    wire = rig.camera.wire_log
    return [
        i
        for i, (op, params, data) in enumerate(wire)
        if op == SonyOp.SDIO_CONTROL_DEVICE
        and params[:1] == (SonyControl.S1_BUTTON,)
        and data == b"\x02\x00"
    ]


def test_every_capture_reads_settings_right_before_pressing(rig: Rig) -> None:
    plan = _fixed_plan(rig)
    for _ in range(3):
        rig.capture.expose(plan)
    wire = rig.camera.wire_log
    presses = _s1_presses(rig)
    # Each S1 press comes right after a 0x9209, with nothing sent in between.
    assert len(presses) == 3
    assert all(wire[i - 1][0] == SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO for i in presses)
    assert len(rig.camera.body.shots) == 3


def test_a_driver_that_skips_the_read_gets_no_photo(rig: Rig) -> None:
    # Guard for the guard: the same sequence with settings served from a cache takes no picture.
    plan = _fixed_plan(rig)
    rig.capture.expose(plan)  # the shot consumes the last read
    cached = rig.capture.read_settings()
    rig.clock.advance(60)  # the read is no longer recent
    rig.capture.expose(plan)  # the real sequence reads afresh and shoots
    rig.clock.advance(60)

    class CachedSettings(CaptureSequence):
        def read_settings(self):  # type: ignore[no-untyped-def]
            return cached

    with pytest.raises(NoImageTaken):
        CachedSettings(rig.sony, rig.clock).expose(plan)
    assert rig.camera.body.refusals == ["settings were not read before the shutter was pressed"]
    assert rig.camera.body.protocol_violations == ["shutter pressed without a settings read first"]
    rig.camera.body.protocol_violations.clear()  # broken on purpose


def test_bodies_that_move_one_step_per_notch_still_reach_the_speed(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(notch_moves_one_step=True)
    rig.capture.set_shutter(SHUTTER_BULB)  # 1/125 -> BULB: some 30 single steps
    assert rig.camera.body.value(SonyProp.SHUTTER_SPEED) == SHUTTER_BULB
    before = rig.clock.monotonic()
    rig.capture.set_iso(6400)
    assert rig.camera.body.value(SonyProp.ISO) == 6400
    # Each step costs the notch delay plus a short settle, not the 2.5 s give-up time.
    assert rig.clock.monotonic() - before < 9 * 1.0


def test_an_abort_ends_the_wait_after_connecting_within_a_poll(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wait after connecting (3 s from the handshake, sony-ptp.md 14.6) comes just before S1
    # of an exposure: an abort during it must not sit the window out.
    abort = threading.Event()
    sleep = rig.clock.sleep

    def abort_after_the_first_slice(seconds: float) -> None:
        sleep(seconds)
        abort.set()

    monkeypatch.setattr(rig.clock, "sleep", abort_after_the_first_slice)
    before = rig.clock.monotonic()
    assert rig.capture.settle_after_connect(abort)
    assert rig.clock.monotonic() - before == pytest.approx(rig.capture.timing.poll_interval_s)
    monkeypatch.setattr(rig.clock, "sleep", sleep)
    assert rig.capture.settle_after_connect()  # without an abort it waits the window out
    connected = rig.sony.connected_at
    assert connected is not None
    assert rig.clock.monotonic() >= connected + rig.capture.timing.startup_wait_s
