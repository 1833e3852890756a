"""Several bodies: one device number each, ordered by serial number, UniqueID from the serial."""

from __future__ import annotations

from pathlib import Path

import orjson
from falcon import testing

from alpaca_sony.alpaca.app import create_app
from alpaca_sony.config import Config, with_overrides
from alpaca_sony.runtime import Runtime
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from tests.alpaca.conftest import SERVER
from tests.camera.conftest import GatedClock


def _configured(tmp_path: Path, serials: list[tuple[str, str]]) -> list[dict[str, object]]:
    clock = GatedClock()
    cameras = [
        SimulatedCamera(clock, BodySettings(model=model, serial_number=serial))
        for model, serial in serials
    ]
    # Distinct bus addresses, as real devices have.
    for index, camera in enumerate(cameras):
        object.__setattr__(camera.identity, "address", 2 + index)
    config = with_overrides(Config(), camera={"save_dir": str(tmp_path)})
    runtime = Runtime(config, clock=clock, backend=SimulatorBackend(cameras, clock))
    runtime._build_devices()
    try:
        client = testing.TestClient(create_app(runtime.devices, SERVER))
        reply = client.simulate_get("/management/v1/configureddevices")
        return list(orjson.loads(reply.content)["Value"])
    finally:
        runtime.stop()


def test_device_numbers_follow_serial_numbers_and_survive_restarts(tmp_path: Path) -> None:
    bodies = [("ILCE-7RM4", "0000000000000000SERIAL-B"), ("ILCE-7M3", "0000000000000000SERIAL-A")]
    first = _configured(tmp_path, bodies)
    assert [(d["DeviceNumber"], d["DeviceName"]) for d in first] == [
        (0, "Sony a7 III"),
        (1, "Sony a7R IV"),
    ]
    assert len({d["UniqueID"] for d in first}) == 2
    # Plugged in the other order on the next start: the same numbers and IDs.
    again = _configured(tmp_path, list(reversed(bodies)))
    assert again == first
