"""One settings read where the protocol needs one (sony-ptp.md 14.11): the seed's read before S1
and reads while waiting for the image, nothing more. Counted on the camera's side, by opcode."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from alpaca_sony.camera.exposure import (
    CaptureOptions,
    ExposureControl,
    ExposureRequest,
    ExposureRunner,
)
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.ptp.codes import OpCode
from alpaca_sony.simulator.arw import read_sequence
from alpaca_sony.sony.codes import SonyOp
from tests.conftest import Rig


@pytest.mark.parametrize("model", ["ILCE-7M3", "ILCE-7RM4", "ILCE-7SM3"])
def test_a_fixed_speed_exposure_costs_at_most_four_settings_reads(
    rig_factory: Callable[..., Rig], model: str
) -> None:
    rig = rig_factory(model=model, controls_in_prop_list=True, post_connect_settle_s=0.0)
    runner = ExposureRunner(rig.clock, CaptureOptions(save_originals=False), None)
    rig.clock.advance(5)  # past the startup wait
    start = len(rig.camera.wire_log)
    outcome = runner.run(rig.capture, ExposureRequest(1 / 125), ExposureControl(), lambda *_: None)
    assert outcome.frame is not None
    ops = Counter(op for op, _, _ in rig.camera.wire_log[start:])
    assert ops[SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO] <= 4
    # Releases (only where S1/S2 do not read 1), two presses, two releases, one download.
    assert ops[OpCode.GET_OBJECT_INFO] == ops[OpCode.GET_OBJECT] == 1
    assert sum(ops.values()) <= 4 + 2 + 4 + 2


def test_images_waiting_at_the_start_are_saved_and_never_the_new_frame(
    rig_factory: Callable[..., Rig], tmp_path: Path
) -> None:
    rig = rig_factory(post_connect_settle_s=0.0)
    runner = ExposureRunner(rig.clock, CaptureOptions(), OriginalsFolder(tmp_path, 0))
    rig.camera.body.preload_stale_images(2)  # left by a crashed host after we connected
    outcome = runner.run(rig.capture, ExposureRequest(1 / 125), ExposureControl(), lambda *_: None)
    assert outcome.frame is not None and read_sequence(outcome.frame.pixels.T) == 3
    assert len(outcome.recovered) == 2 and all("_recovered" in p.name for p in outcome.recovered)
    assert len(outcome.staged) == 1
