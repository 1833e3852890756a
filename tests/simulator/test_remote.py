"""The simulated camera in a child process (used by the benchmarks) works through pyusb."""

from __future__ import annotations

from alpaca_sony.clock import SystemClock
from alpaca_sony.devices import open_camera
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.sony.capture import CaptureSequence, CaptureTiming, plan_exposure, shutter_ladder
from testing.remote import RemoteCamera


def test_remote_camera_takes_and_delivers_a_picture() -> None:
    camera = RemoteCamera(
        BodySettings(model="ILCE-7SM3", post_connect_settle_s=0.0, processing_s=0.05)
    )
    try:
        clock = SystemClock()
        sony = open_camera(SimulatorBackend([camera]), clock)
        # No wait after connecting: the body in the child process has none (settle 0).
        timing = CaptureTiming(poll_interval_s=0.02, startup_wait_s=0.0)
        capture = CaptureSequence(sony, clock, timing)
        plan = plan_exposure(1 / 500, shutter_ladder(capture.read_settings(), sony.model))
        capture.set_shutter(plan.shutter_raw)
        result = capture.expose(plan)
        assert [f.data.head(4) for f in result.files] == [b"II*\x00"]
        assert camera.call("body.protocol_violations") == []
        assert len(camera.call("body.shots")) == 1
        sony.session.transport.close()
    finally:
        camera.close()
