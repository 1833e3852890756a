"""ConformU's Connect and Disconnect groups (the ICameraV4 Connect/Connecting/Disconnect path,
Connected for older interfaces); added, binning left behind must be reset by the reconnect."""

from __future__ import annotations

import time

from conformance.alpaca import ProtocolFailure
from conformance.camera.probe import POLL_S, Probe
from conformance.camera.values import show_value
from conformance.wire import WireError

CONNECTING_LIMIT_S = 5.0  # ConformU's ConnectDisconnectTimeout


def connect(probe: Probe) -> bool:
    """Connect the way ConformU does; False (with an ISSUE) stops the check."""
    if probe.facts.interface_version < 4:
        return _set_connected(probe, True, "Connected")
    connecting = probe.get("Connecting")
    if not connecting.ok or not isinstance(connecting.value, bool):
        probe.report.issue(
            "Connecting",
            f"an ICameraV4 device must implement Connecting: "
            f"{connecting.describe()}; the check stops here",
        )
        return False
    probe.report.ok("Connecting", show_value(connecting.value))
    if not connecting.value:
        if not _set_connected(probe, True, "Connected"):
            return False
        # Beyond ConformU: leave 2 x 2 binning behind; after Connect it must read 1 again.
        if probe.put("BinX", BinX=2).ok and probe.put("BinY", BinY=2).ok:
            probe.report.ok("Connected", "set 2 x 2 binning; the reconnect must reset it to 1")
        time.sleep(0.5)  # ConformU's pause between Connected=True and Connected=False
        if not _set_connected(probe, False, "Connected"):
            return False
    started = time.monotonic()
    result = probe.put("Connect")
    if not result.ok:
        probe.report.issue("Connect", f"Connect failed: {result.describe()}")
        return False
    _timing(probe, "Connect", started)
    if not _wait_connecting(probe, "Connect"):
        return False
    return _expect_connected(probe, True, "Connect")


def disconnect(probe: Probe) -> None:
    """Disconnect if the check connected; runs even after a failed check, so it never raises."""
    if not probe.facts.connected:
        return
    probe.report.text("")
    try:
        if probe.facts.interface_version >= 4:
            result = probe.put("Disconnect")
            if not result.ok:
                probe.report.issue("Disconnect", f"Disconnect failed: {result.describe()}")
                return
            if _wait_connecting(probe, "Disconnect"):
                _expect_connected(probe, False, "Disconnect")
        else:
            _set_connected(probe, False, "Connected")
    except (ProtocolFailure, WireError) as exc:
        probe.report.error("Disconnect", f"could not disconnect: {exc}")


def _set_connected(probe: Probe, value: bool, test: str) -> bool:
    result = probe.put("Connected", Connected=value)
    if not result.ok:
        probe.report.issue(test, f"setting Connected {value} failed: {result.describe()}")
        return False
    return _expect_connected(probe, value, test)


def _expect_connected(probe: Probe, value: bool, test: str) -> bool:
    result = probe.get("Connected")
    if result.ok and result.value is value:
        probe.report.ok(test, f"Connected is {value}")
        probe.facts.connected = value
        return True
    probe.report.issue(test, f"Connected should be {value}, got {result.describe()}")
    return False


def _wait_connecting(probe: Probe, test: str) -> bool:
    deadline = time.monotonic() + CONNECTING_LIMIT_S
    while time.monotonic() < deadline:
        result = probe.get("Connecting")
        if not result.ok:
            probe.report.issue(test, f"Connecting failed: {result.describe()}")
            return False
        if result.value is False:
            return True
        time.sleep(POLL_S)
    probe.report.issue(test, "Connecting stayed true for more than 5 s")
    return False


def _timing(probe: Probe, test: str, started: float, limit: float = 1.0) -> None:
    """ConformU's STANDARD timing target for async initiators (reported, never failed)."""
    took = time.monotonic() - started
    if took > limit:
        probe.report.info(test, f"took {took:.2f} s (target {limit:g} s)")
