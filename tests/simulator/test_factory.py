"""The one factory of simulated cameras that the server and the command line share."""

from __future__ import annotations

import pytest

from alpaca_sony.clock import FakeClock
from alpaca_sony.devices import survey
from alpaca_sony.errors import ConfigError
from alpaca_sony.simulator.bodies import BODIES, DEFAULT_BODY
from alpaca_sony.simulator.body import STARTUP_WINDOW_S, SimulatedBody
from alpaca_sony.simulator.factory import SimulatorChoice, body_settings, simulated_backend
from tests.samples import GPHOTO_REPORTS


def test_every_choice_gets_the_body_s_own_startup_window() -> None:
    # cli.py once asked for 0.5 s and runtime.py for the body's 3 s: one body for both now.
    for choice in (SimulatorChoice(), SimulatorChoice("ILCE-7RM4", reports_dir="")):
        settings = body_settings(choice)
        assert settings.post_connect_settle_s is None
        assert SimulatedBody(FakeClock(), settings).settle_s == STARTUP_WINDOW_S


def test_a_model_a_report_or_the_default() -> None:
    assert body_settings(SimulatorChoice()).model == DEFAULT_BODY
    assert body_settings(SimulatorChoice("ILCE-6400", reports_dir="x")).reports_dir == "x"
    report = body_settings(SimulatorChoice(report=str(GPHOTO_REPORTS / "sony-a7r4.txt"))).report
    assert report is not None and report.model == "ILCE-7RM4"


def test_an_unknown_model_is_a_config_error_that_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'ILCE-9999'.*ILCE-7M3, ") as caught:
        body_settings(SimulatorChoice("ILCE-9999"))
    assert all(name in str(caught.value) for name in BODIES)


def test_the_backend_shows_the_chosen_body_on_usb() -> None:
    backend = simulated_backend(SimulatorChoice("ILCE-7RM4", reports_dir=""), FakeClock())
    (row,) = survey(backend)
    assert (row.usb.vendor_id, row.usb.product_id) == (0x054C, 0x0CCC)
    assert row.mode == "PC Remote"
