"""The camera conformance check (ConformU's ``conformance`` command for an ICameraV4 device).

The order and pass criteria follow ConformU's CameraTester: connect, common members, Can*
properties, first-use checks, properties (binning, subframe, cooling, sensor, exposure limits,
gain/offset modes, readout modes), methods (abort/stop while idle, pulse guiding, one 2 s exposure
per binning with its timing, LastExposure* and image checks, the StartExposure error cases), the
post-run reset and the disconnect. A few checks ConformU lacks are added: members called while
disconnected, how long CameraState stays Exposing, ImageArray over JSON as well as ImageBytes
(and the two carrying the same pixels), and index-mode Gain writes.
"""

from __future__ import annotations

from conformance.alpaca import ProtocolFailure
from conformance.camera.can_properties import can_properties
from conformance.camera.common import common_members
from conformance.camera.connection import connect, disconnect
from conformance.camera.create import create, disconnected_probes
from conformance.camera.first_use import first_use
from conformance.camera.methods import methods
from conformance.camera.post_run import post_run
from conformance.camera.probe import Probe
from conformance.camera.properties import properties
from conformance.report import Report
from conformance.wire import Wire, WireError


class CameraCheck:
    """Runs the conformance sequence against ``/api/v1/camera/{number}``."""

    def __init__(
        self,
        wire: Wire,
        report: Report,
        number: int = 0,
        exposure_s: float = 2.0,
        wait_s: float = 10.0,
    ) -> None:
        self.report = report
        self.probe = Probe(wire, report, number, exposure_s, wait_s)

    def run(self) -> None:
        probe = self.probe
        self.report.section("Camera conformance check")
        try:
            if not create(probe):
                return
            disconnected_probes(probe)
            if not connect(probe):
                return
            common_members(probe)
            can_properties(probe)
            first_use(probe)
            properties(probe)
            methods(probe)
            post_run(probe)
        except ProtocolFailure as exc:
            self.report.error("Conformance", f"the check could not continue: {exc}")
        except WireError as exc:
            self.report.error("Conformance", f"the server stopped answering: {exc}")
        finally:
            disconnect(probe)
