"""Shared fixtures: a fake clock, simulated bodies, and driver objects connected to them through
the real pyusb API (the simulator's pyusb backend stands in for libusb only)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alpaca_sony.clock import FakeClock
from alpaca_sony.config import Config, with_overrides
from alpaca_sony.ptp.session import PtpSession
from alpaca_sony.runtime import Runtime
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.sony.capture import CaptureSequence
from alpaca_sony.sony.protocol import SonyCamera
from alpaca_sony.transport.usb import UsbTransport, find_sony_devices
from tests.camera.conftest import GatedClock

# The thread guard fails any test that leaves threads behind; pytester lets its own tests run it.
pytest_plugins = ("tests.thread_guard", "pytester")


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that runs the command line gets its stderr handler (``setup_logging``) removed
    after it: left behind, it writes into that test's closed capture, and it displaces the
    handlers pytest's log capture relies on, for every test after it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@dataclass
class Rig:
    """A simulated camera and the production driver stack talking to it."""

    clock: FakeClock
    camera: SimulatedCamera
    backend: SimulatorBackend
    transport: UsbTransport
    session: PtpSession
    sony: SonyCamera
    capture: CaptureSequence

    def reconnect(self) -> None:
        """Replug the cable and open a new driver session (as after a USB drop)."""
        self.transport.close()
        self.camera.replug()
        device = next(find_sony_devices(self.backend))
        self.transport = UsbTransport.open(device)
        self.session = PtpSession(self.transport)
        self.sony = SonyCamera(self.session, self.clock)
        self.sony.connect()
        self.capture = CaptureSequence(self.sony, self.clock)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


def make_rig(clock: FakeClock, connect: bool = True, **settings: object) -> Rig:
    camera = SimulatedCamera(clock, BodySettings(**settings))  # type: ignore[arg-type]
    # A long poll interval makes a timed-out read cost one fake-clock step, not thousands.
    backend = SimulatorBackend([camera], clock, poll_interval_s=0.5)
    device = next(find_sony_devices(backend))
    transport = UsbTransport.open(device)
    session = PtpSession(transport)
    sony = SonyCamera(session, clock)
    if connect:
        sony.connect()
    return Rig(clock, camera, backend, transport, session, sony, CaptureSequence(sony, clock))


@pytest.fixture
def rig_factory(fake_clock: FakeClock) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def factory(connect: bool = True, **settings: object) -> Rig:
        rig = make_rig(fake_clock, connect, **settings)
        rigs.append(rig)
        return rig

    yield factory
    for rig in rigs:
        rig.transport.close()
    # The body records every wire rule the driver broke; a test that breaks one on purpose
    # clears the list after asserting it.
    assert [r.camera.body.protocol_violations for r in rigs] == [[] for _ in rigs]


@pytest.fixture
def rig(rig_factory: Callable[..., Rig]) -> Rig:
    """An ILCE-7M3 (v2 protocol) in M mode, manual focus, RAW, connected."""
    return rig_factory()


@pytest.fixture(autouse=True)
def _private_config_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes learned sensor sizes into the user's real ~/.config, nor held originals
    into the default fallback folder in ~/.local/state."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Starts a simulator server on 127.0.0.1 with the given [server] settings; its port."""
    runtimes: list[Runtime] = []

    def start(**server: Any) -> int:
        config = with_overrides(
            Config(),
            server={"host": "127.0.0.1", "port": 0, **server},
            discovery={"enabled": False, "mdns": False},
            camera={"simulator": "ILCE-7M3", "save_dir": str(tmp_path)},
        )
        runtime = Runtime(config, clock=GatedClock())
        runtimes.append(runtime)
        return runtime.start()

    yield start
    for runtime in runtimes:
        runtime.stop()
