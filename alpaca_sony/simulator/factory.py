"""The one place a simulated camera is built for the server and the command line.

``alpaca-sony --simulator`` (serving) and ``alpaca-sony --simulator check`` / ``list`` meet the same
body with the same timing: its own startup window (``body.STARTUP_WINDOW_S``), behind the production
pyusb code.
"""

from __future__ import annotations

from dataclasses import dataclass

from alpaca_sony.clock import Clock
from alpaca_sony.errors import ConfigError
from alpaca_sony.simulator.bodies import BODIES, DEFAULT_BODY
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.simulator.report import load_report


@dataclass(frozen=True)
class SimulatorChoice:
    """Which simulated body to serve: a report file, or a model (with its report if found)."""

    model: str | None = None
    report: str | None = None
    reports_dir: str | None = None  # None: report.default_reports_dir(); "": the table only


def body_settings(choice: SimulatorChoice) -> BodySettings:
    """The body ``choice`` names.

    Raises:
        ConfigError: the model is not one the simulator knows (the message lists them).
        ReportError: the report file cannot be read or is not a camera report.
    """
    if choice.report:
        return BodySettings(report=load_report(choice.report))
    model = choice.model or DEFAULT_BODY
    if model not in BODIES:
        raise ConfigError(
            f"unknown model {model!r} for the simulator: choose one of {', '.join(BODIES)}, "
            "or give the body's libgphoto2 report with --simulator-report FILE"
        )
    return BodySettings(model=model, reports_dir=choice.reports_dir)


def simulated_backend(choice: SimulatorChoice, clock: Clock) -> SimulatorBackend:
    """A pyusb backend with the one simulated body ``choice`` names plugged in."""
    return SimulatorBackend([SimulatedCamera(clock, body_settings(choice))], clock)
