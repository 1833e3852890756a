"""ConformU's pre-run (first use) group: no exposure since connecting, so LastExposureDuration
and LastExposureStartTime must return errors (any error will do)."""

from __future__ import annotations

from conformance.alpaca import error_name
from conformance.camera.probe import Probe
from conformance.camera.values import show_value


def first_use(probe: Probe) -> None:
    probe.report.text("")
    probe.report.text("Pre-run checks (first use)")
    for member in ("LastExposureDuration", "LastExposureStartTime"):
        result = probe.get(member)
        if result.ok:
            probe.report.issue(
                member,
                f"{member} did not return an error before any "
                f"exposure was made: {show_value(result.value)}",
            )
        else:
            probe.report.ok(
                member,
                f"{member} correctly returned an error before an "
                f"exposure was made ({error_name(result.error)})",
            )
