"""The probe every camera check group shares: Alpaca calls judged the way ConformU judges them.

A ``Probe`` holds the device, the report, the run's settings and the ``Facts`` learned so far
(interface version, Can* flags, sizes ...), which later groups read.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.alpaca import (
    INVALID_VALUE,
    NOT_IMPLEMENTED,
    AlpacaDevice,
    Result,
    Scalar,
    error_name,
)
from conformance.camera.values import (
    bool_problem,
    float_problem,
    int_problem,
    is_int,
    is_number,
    show_value,
    strings_problem,
)
from conformance.report import Report
from conformance.wire import Wire

POLL_S = 0.1  # ConformU polls every 0.5 s; faster polling only sharpens the timing checks
IDLE, WAITING, EXPOSING, READING, DOWNLOAD, ERROR_STATE = range(6)  # ICamera CameraState
INT16 = (-32768, 32767)
INT32 = (-(2**31), 2**31 - 1)

# BinX, BinY, StartX, StartY, NumX, NumY
Frame = tuple[int, int, int, int, int, int]


class Required(enum.Enum):
    """How an error reply is judged (ConformU's Required enumeration)."""

    OPTIONAL = "optional"  # NotImplemented is OK, any other error is an issue
    MANDATORY = "mandatory"  # every error is an issue
    MUST_NOT_BE_IMPLEMENTED = "must not be implemented"  # only NotImplemented is OK
    MUST_BE_IMPLEMENTED = "must be implemented"  # every error is an issue


@dataclass
class Facts:
    """What the check has learned about the camera; later groups depend on earlier ones."""

    interface_version: int = 0
    can: dict[str, bool] = field(default_factory=dict)
    max_bin_x: int = 1
    max_bin_y: int = 1
    x_size: int = 0
    y_size: int = 0
    max_adu: int = 0
    sensor_type: int | None = None
    pulse_guiding_readable: bool = False
    cooler_on: bool | None = None
    setpoint: float | None = None
    connected: bool = False

    def binnings(self) -> list[tuple[int, int]]:
        """Every legal binning: all pairs when asymmetric, else the diagonal (ConformU's order)."""
        if self.can.get("CanAsymmetricBin", False):
            return [
                (bx, by)
                for by in range(1, self.max_bin_y + 1)
                for bx in range(1, self.max_bin_x + 1)
            ]
        return [(b, b) for b in range(1, self.max_bin_x + 1)]


class Probe:
    """Calls on ``/api/v1/camera/{number}`` and the judgments every check group uses."""

    def __init__(
        self, wire: Wire, report: Report, number: int, exposure_s: float, wait_s: float
    ) -> None:
        self.report = report
        self.cam = AlpacaDevice(wire, "camera", number)
        self.exposure_s = exposure_s
        self.wait_s = wait_s
        self.facts = Facts()

    # -- outcome helpers -----------------------------------------------------------------------

    def handle(self, test: str, required: Required, result: Result, context: str = "") -> None:
        """Judge an error reply the way ConformU's HandleException does."""
        suffix = f" ({context})" if context else ""
        what = result.describe()
        if result.error == NOT_IMPLEMENTED and required in (
            Required.OPTIONAL,
            Required.MUST_NOT_BE_IMPLEMENTED,
        ):
            self.report.ok(test, f"NotImplemented, as allowed{suffix}")
        elif result.error == NOT_IMPLEMENTED:
            self.report.issue(test, f"this member is {required.value} but returned {what}{suffix}")
        elif required is Required.MUST_NOT_BE_IMPLEMENTED:
            self.report.issue(test, f"expected NotImplemented (0x400), got {what}{suffix}")
        else:
            self.report.issue(test, f"unexpected error: {what}{suffix}")

    def handle_allowing(
        self, test: str, required: Required, result: Result, allowed: int, note: str
    ) -> None:
        """ConformU's Handle...ExceptionAsOK: one extra error number counts as OK."""
        if result.error == allowed:
            self.report.ok(test, f"{error_name(allowed)} - {note}")
        else:
            self.handle(test, required, result)

    # -- calls ---------------------------------------------------------------------------------

    def get(self, member: str) -> Result:
        return self.cam.get(member)

    def put(self, member: str, **params: Scalar) -> Result:
        return self.cam.put(member, **params)

    def read(
        self,
        member: str,
        test: str,
        check: Callable[[Any], str],
        required: Required = Required.MANDATORY,
        show: Callable[[Any], str] | None = None,
    ) -> Any:
        """GET a property; ``check`` returns '' when the value is acceptable, else the problem."""
        result = self.get(member)
        if not result.ok:
            self.handle(test, required, result)
            return None
        problem = check(result.value)
        if problem:
            self.report.issue(test, problem)
            return None
        self.report.ok(test, (show or show_value)(result.value))
        return result.value

    def read_int(
        self,
        member: str,
        test: str,
        low: float,
        high: float,
        required: Required = Required.MANDATORY,
    ) -> int | None:
        value = self.read(member, test, lambda v: int_problem(v, low, high), required)
        return value if is_int(value) else None

    def read_float(
        self,
        member: str,
        test: str,
        low: float,
        high: float,
        required: Required = Required.OPTIONAL,
    ) -> float | None:
        value = self.read(member, test, lambda v: float_problem(v, low, high), required)
        return float(value) if is_number(value) else None

    def read_bool(
        self, member: str, test: str, required: Required = Required.MANDATORY
    ) -> bool | None:
        value = self.read(member, test, bool_problem, required)
        return value if isinstance(value, bool) else None

    def read_strings(self, member: str, test: str, required: Required) -> list[str] | None:
        value = self.read(member, test, strings_problem, required)
        return value if isinstance(value, list) else None

    # -- camera state --------------------------------------------------------------------------

    def wait_state(self, done: Callable[[int], bool], timeout: float) -> int | None:
        """Poll CameraState until ``done`` accepts it; None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.get("CameraState")
            if result.ok and is_int(result.value) and done(result.value):
                return int(result.value)
            if time.monotonic() > deadline:
                return None
            time.sleep(POLL_S)

    def set_frame(self, frame: Frame) -> bool:
        """BinX, BinY, StartX, StartY, NumX, NumY in ConformU's order; every write must work."""
        names = ("BinX", "BinY", "StartX", "StartY", "NumX", "NumY")
        for member, value in zip(names, frame, strict=True):
            result = self.put(member, **{member: value})
            if result.ok:
                continue
            if member.startswith("Bin") and result.error == INVALID_VALUE:
                self.report.info(
                    "BinXY Write", f"exposure skipped: {member}={value} rejected ({result.message})"
                )
            else:
                self.report.issue(
                    "StartExposure",
                    f"unable to set {member} to {value}: {result.describe()}; exposure skipped",
                )
            return False
        return True
