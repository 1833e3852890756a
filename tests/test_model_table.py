"""The driver's model table: every Sony body the peers and the real reports name, each entry's facts
as its sources give them, and each size it tells clients as the bundled LibRaw decodes it from the
simulator's file of that body (the two tables are written apart, so a wrong size on one side shows).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import numpy as np
import pytest
import rawpy

from alpaca_sony.simulator.arw import write_arw
from alpaca_sony.simulator.bodies import BODIES
from alpaca_sony.sony.models import MODELS, model_for
from tests.samples import GPHOTO_REPORTS

REPORTS = GPHOTO_REPORTS

# peers.md 4 (the DLL, INDIGO and libgphoto2 tables), sony-ptp.md 1.3 and 14, and issue 7's list.
REQUIRED = (
    "ILCE-1", "ILCE-1M2", "ILCE-5000", "ILCE-5100", "ILCE-6000", "ILCE-6100", "ILCE-6300",
    "ILCE-6400", "ILCE-6500", "ILCE-6600", "ILCE-6700", "ILCE-7", "ILCE-7M2", "ILCE-7M3",
    "ILCE-7M4", "ILCE-7M5", "ILCE-7C", "ILCE-7CM2", "ILCE-7CR", "ILCE-7R", "ILCE-7RM2",
    "ILCE-7RM3", "ILCE-7RM3A", "ILCE-7RM4", "ILCE-7RM4A", "ILCE-7RM5", "ILCE-7S", "ILCE-7SM2",
    "ILCE-7SM3", "ILCE-9", "ILCE-9M2", "ILCE-9M3", "ZV-E10", "ZV-E1", "ZV-1", "ILCA-68",
    "ILCA-77M2", "ILCA-99M2", "SLT-A58", "SLT-A99V", "DSC-RX10M3", "DSC-RX10M4",
    "DSC-RX100M5", "DSC-RX100M5A", "DSC-RX100M6", "DSC-RX100M7", "DSC-RX1RM2", "DSC-RX0",
    "DSC-RX0M2", "ILME-FX3", "ILX-LR1",
)  # fmt: skip

# PC Remote product ids as libgphoto2's library.c lists them (verified at commit 813de344);
# 0x0C43 from INDIGO's ptp_camera_model.h, 0x0E8C from libgphoto2 issue #1304.
CONTROL_PIDS = {
    "ILCE-1": 0x0D1C, "ILCE-1M2": 0x0EED, "ILCE-6700": 0x0E78, "ILCE-7RM5": 0x0E0C,
    "ILCE-7RM2": 0x0A6B, "ILCE-7RM3": 0x0C33, "ILCE-7RM3A": 0x0D9B, "ILCE-7S": 0x0954,
    "ILCE-7SM2": 0x0A71, "ILCE-7M5": 0x0F56, "ILCE-7CM2": 0x0E8C, "ILCE-9": 0x0C2A,
    "ILCE-9M2": 0x0C43, "ILCE-9M3": 0x0E80, "DSC-RX100M7": 0x0CAE, "DSC-RX10M4": 0x0C2F,
    "DSC-RX1RM2": 0x0A70, "ZV-1": 0x0C44, "ILCA-99M2": 0x079E, "ILCA-77M2": 0x0953,
    "ILCA-68": 0x079B, "SLT-A58": 0x0737, "ILME-FX3": 0x0DA3, "ILX-LR1": 0x0E90,
    "DSC-RX0": 0x0C32, "DSC-RX0M2": 0x0CA6,
}  # fmt: skip

# Visible frames as the DLL's CameraManager.cpp gives them where that agrees with the bundled
# LibRaw (the DLL's own LibRaw predates some crop rules: 7RM4 9600, a1 8672, a7 IV 7040).
DLL_VISIBLE = {
    "ILCE-5000": (5472, 3656), "ILCE-5100": (6024, 4024), "ILCE-7S": (4256, 2848),
    "ILCE-7SM2": (4256, 2848), "ILCE-7SM3": (4256, 2848), "ILCE-7R": (7362, 4920),
    "ILCE-7RM3": (7968, 5320), "ILCE-7RM3A": (7968, 5320), "ILCE-7RM5": (9568, 6376),
    "ILCE-9": (6024, 4024), "ILCA-99M2": (7968, 5320), "ILCA-77M2": (6024, 4024),
    "ILCA-68": (6024, 4016), "SLT-A58": (5472, 3656), "DSC-RX10M4": (5496, 3672),
    "ILCE-6700": (6272, 4168), "ILX-LR1": (9568, 6376),
}  # fmt: skip


def _report_models() -> list[str]:
    models = []
    for path in sorted(REPORTS.glob("sony-*.txt")):
        found = re.search(r"^\s*Mod(?:el|ell):\s*(\S+)", path.read_text(errors="replace"), re.M)
        if found:
            models.append(found.group(1))
    return models


def test_every_named_body_is_in_the_table() -> None:
    missing = [name for name in REQUIRED if model_for(name) is None]
    assert not missing


def test_every_report_names_a_body_in_the_table() -> None:
    reported = _report_models()
    assert len(reported) >= 19  # a report whose Model line we miss would hide here
    assert [name for name in reported if model_for(name) is None] == []


@pytest.mark.parametrize(("name", "pid"), sorted(CONTROL_PIDS.items()))
def test_control_pids_match_the_peers(name: str, pid: int) -> None:
    assert pid in MODELS[name].control_pids


@pytest.mark.parametrize(("name", "size"), sorted(DLL_VISIBLE.items()))
def test_visible_sizes_match_the_dll(name: str, size: tuple[int, int]) -> None:
    sensor = MODELS[name].sensor
    assert (sensor.visible_width, sensor.visible_height) == size


def test_every_entry_cites_sources_and_unknown_facts_are_none() -> None:
    for model in MODELS.values():
        assert len(model.sources) > 20, model.model
        pitch = model.sensor.pixel_size_um
        assert pitch is None or 2.0 < pitch < 10.0, model.model
    # No source gives these; the table says so instead of inventing them.
    for name in ("ILCE-9M3", "ILCE-7M5", "DSC-RX0", "DSC-RX0M2"):
        assert MODELS[name].sensor.pixel_size_um is None
        assert not MODELS[name].sensor.sizes_published
    assert not MODELS["ILCE-1M2"].sensor.sizes_published
    assert not MODELS["ILCE-7CM2"].sensor.sizes_published


def test_pc_remote_reports_have_pc_remote_ids() -> None:
    # A report with Sony's vendor capture is a PC Remote body: the table must know its USB id.
    for path in sorted(REPORTS.glob("sony-*.txt")):
        text = path.read_text(errors="replace")
        found = re.search(r"^\s*Mod(?:el|ell):\s*(\S+)", text, re.M)
        if found and "Sony Capture" in text:
            assert MODELS[found.group(1)].control_pids, path.name


def test_the_simulator_plays_every_body_the_driver_knows() -> None:
    assert sorted(BODIES) == sorted(MODELS)
    for body in BODIES.values():  # each camera-side fact names where it comes from
        assert len(body.sources) > 20, body.model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_both_tables_give_the_same_usb_ids(name: str) -> None:
    # Each table took the ids from libgphoto2 on its own: a slip on either side shows here.
    driver, camera = MODELS[name], BODIES[name]
    assert (driver.control_pids, driver.mtp_pids) == (camera.control_pids, camera.mtp_pids)


def _libraw_sizes(name: str) -> Any:
    sensor = BODIES[name].sensor
    zeros = np.zeros((sensor.raw_height, sensor.raw_width), dtype=np.uint16)
    data = write_arw(BODIES[name], zeros, exposure_s=1.0, iso=100, when=dt.datetime.now(dt.UTC))
    with rawpy.imread(io.BytesIO(data)) as raw:  # lazy: only the header is parsed
        return raw.sizes


@pytest.mark.parametrize("name", sorted(MODELS))
def test_libraw_decodes_the_size_the_driver_tells_clients(name: str) -> None:
    sizes = _libraw_sizes(name)
    sensor = MODELS[name].sensor
    if sensor.sizes_published:
        assert (sizes.width, sizes.height) == (sensor.visible_width, sensor.visible_height)
    else:  # nothing invented: the driver learns it from the body's first frame
        assert (sensor.visible_width, sensor.visible_height) == (0, 0)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_libraw_lights_the_window_the_simulator_renders(name: str) -> None:
    sizes, sensor = _libraw_sizes(name), BODIES[name].sensor
    assert (sizes.raw_width, sizes.raw_height) == (sensor.raw_width, sensor.raw_height)
    assert (sizes.width, sizes.height) == (sensor.visible_width, sensor.visible_height)
    assert (sizes.left_margin, sizes.top_margin) == (sensor.left_margin, sensor.top_margin)
