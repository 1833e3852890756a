"""The simulated camera reports its own share of a frame, and bench/overhead.py splits the rest."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alpaca_sony.simulator.shots import ShotTimes
from alpaca_sony.sony.capture import plan_exposure
from alpaca_sony.sony.values import SHUTTER_BULB
from bench.overhead import PHASES, DriverLog, split
from tests.conftest import Rig


def test_a_shot_reports_exposure_processing_dark_frame_and_transfer(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0, long_exposure_nr=True, processing_s=0.8)
    rig.capture.set_shutter(SHUTTER_BULB)
    result = rig.capture.expose(plan_exposure(2.0, []))
    assert len(result.files) == 1
    (shot,) = rig.camera.body.own_times()
    assert shot.ended_at is not None and shot.ready_at is not None
    assert shot.ended_at - shot.started_at == pytest.approx(2.0, abs=0.01)
    assert shot.dark_frame_s == pytest.approx(2.0, abs=0.01)  # LENR on, exposure >= 1 s
    assert shot.ready_at == pytest.approx(shot.ended_at + 0.8 + shot.dark_frame_s)
    ((name, started, ended),) = shot.transfers
    assert name.endswith(".ARW") and shot.ready_at <= started <= ended


def test_our_phases_and_the_camera_s_time_add_up_to_the_wall_time() -> None:
    shot = ShotTimes(
        number=1,
        started_at=10.000,
        ended_at=10.008,
        ready_at=10.808,
        dark_frame_s=0.0,
        render_s=0.050,
        transfers=(("DSC01001.ARW", 10.900, 11.000),),
    )
    log = DriverLog(
        reads=[(9.995, 9.997), (10.810, 10.812), (11.005, 11.007)],
        staging=[(11.008, 11.028)],
        decoding=[(11.030, 11.190)],
        bulk_in=[10.950, 11.003],
    )
    phases = split(9.990, 11.200, shot, log)
    assert phases["wall"] == pytest.approx(1.210)
    assert phases["ours"] + phases["camera"] == pytest.approx(phases["wall"])
    assert phases["transfer"] == pytest.approx(0.103)  # to the host's receipt of the last piece
    assert phases["before shutter"] == pytest.approx(0.010)
    assert phases["noticing"] == pytest.approx(0.002)
    assert phases["reads"] == pytest.approx(0.004)
    assert phases["staging"] == pytest.approx(0.020)
    assert phases["decoding"] == pytest.approx(0.160)
    assert all(phases[name] >= 0 for name in PHASES)
