"""The Alpaca protocol check (ConformU's ``alpacaprotocol`` command, strict mode).

Every member is exercised through request templates that vary one thing at a time: the ID
parameters' names and values, the casing of the member's own parameter names, bad parameter
values and an extra unknown parameter. Each reply is checked for its HTTP status, content type,
exact JSON key casing, the ClientTransactionID echo and ServerTransactionID >= 1; ImageBytes
replies are parsed from the raw bytes.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.alpaca import (
    INVALID_VALUE,
    NOT_IMPLEMENTED,
    AlpacaDevice,
    ProtocolFailure,
    error_name,
    format_value,
    loads,
)
from conformance.images import (
    imagebytes_error_message,
    imagebytes_problems,
    parse_header,
    scan_json_image,
)
from conformance.report import Report
from conformance.wire import Params, Reply, Wire, WireError

CLIENT_ID = "123456"
TRANSACTION_ID = "67890"
BAD_VALUE = "asduio6fghZZ"
EXTRA = ("ExtraParameter", "ExtraValue")
BAD_CLIENT_IDS = ("", "     ", "-12345", "asdasd")
BAD_TRANSACTION_IDS = ("", "     ", "-67890", "qweqwe")
BAD_URL_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 406, 407, 409, 410})
UINT32_MAX = 2**32 - 1
STANDARD_KEYS = ("ClientTransactionID", "ServerTransactionID", "ErrorNumber", "ErrorMessage")
IMAGE_ACCEPT = {"Accept": "application/imagebytes, application/json", "base64handoff": "true"}
DEVICE_STATE_TYPES = {
    "CameraState": int,
    "CCDTemperature": float,
    "CoolerPower": float,
    "HeatSinkTemperature": float,
    "ImageReady": bool,
    "IsPulseGuiding": bool,
    "PercentCompleted": int,
    "TimeStamp": str,
}

# The camera properties in ConformU's order, with the type of the PUT parameter when writable.
CAMERA_PROPERTIES: tuple[tuple[str, str | None], ...] = (
    ("BayerOffsetX", None),
    ("BayerOffsetY", None),
    ("BinX", "int"),
    ("BinY", "int"),
    ("CameraState", None),
    ("CameraXSize", None),
    ("CameraYSize", None),
    ("CanAbortExposure", None),
    ("CanAsymmetricBin", None),
    ("CanFastReadout", None),
    ("CanGetCoolerPower", None),
    ("CanPulseGuide", None),
    ("CanSetCCDTemperature", None),
    ("CanStopExposure", None),
    ("CCDTemperature", None),
    ("CoolerOn", "bool"),
    ("CoolerPower", None),
    ("ElectronsPerADU", None),
    ("ExposureMax", None),
    ("ExposureMin", None),
    ("ExposureResolution", None),
    ("FastReadout", "bool"),
    ("FullWellCapacity", None),
    ("Gain", "int"),
    ("GainMax", None),
    ("GainMin", None),
    ("Gains", None),
    ("HasShutter", None),
    ("HeatSinkTemperature", None),
    ("ImageReady", None),
    ("IsPulseGuiding", None),
    ("MaxADU", None),
    ("MaxBinX", None),
    ("MaxBinY", None),
    ("NumX", "int"),
    ("NumY", "int"),
    ("Offset", "int"),
    ("OffsetMax", None),
    ("OffsetMin", None),
    ("Offsets", None),
    ("PercentCompleted", None),
    ("PixelSizeX", None),
    ("PixelSizeY", None),
    ("ReadoutMode", "int"),
    ("ReadoutModes", None),
    ("SensorName", None),
    ("SensorType", None),
    ("SetCCDTemperature", "float"),
    ("StartX", "int"),
    ("StartY", "int"),
    ("SubExposureDuration", "float"),
)
FALLBACK = {"int": "1", "float": "1", "bool": "False"}
NO_FALLBACK = frozenset({"NumX", "NumY"})


class Kind(enum.Enum):
    PLAIN = "plain"
    DEVICE_STATE = "devicestate"
    IMAGE = "image"


def invert_case(name: str) -> str:
    return name.swapcase()


def _uint32(text: str) -> int:
    """The value a ClientTransactionID text should round-trip as (0 when it does not parse)."""
    stripped = text.strip()
    if not stripped or not stripped.isdigit() or stripped != text:
        return 0
    value = int(stripped)
    return value if value <= UINT32_MAX else 0


def _is_uint32(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= UINT32_MAX


@dataclass(frozen=True)
class Probe:
    """One request of a template and what it should produce."""

    label: str
    verb: str
    params: Params
    expect_400: bool = False
    accept_invalid_value: bool = False

    @property
    def echo(self) -> int | None:
        """The ClientTransactionID a 200 reply must carry (None when no ID was sent).

        GET names are case-insensitive; a PUT form key in other casing is not the ID (echo 0).
        """
        for name, value in self.params:
            if name.lower() != "clienttransactionid":
                continue
            if self.verb == "PUT" and name != "ClientTransactionID":
                return 0
            return _uint32(value)
        return None


@dataclass(frozen=True)
class Parsed:
    client_transaction_id: int
    server_transaction_id: int
    error_number: int
    error_message: str
    form: str = "JSON"


def _ids(client_name: str = "ClientID", transaction_name: str = "ClientTransactionID") -> Params:
    return [(client_name, CLIENT_ID), (transaction_name, TRANSACTION_ID)]


def bad_id_probes(verb: str, params: Params) -> list[Probe]:
    """ConformU's eight malformed-ID requests; strict mode wants 400 (or 200 + InvalidValue)."""
    probes = [
        Probe(
            f"ClientID is {_describe(bad)}",
            verb,
            [("ClientID", bad), ("ClientTransactionID", TRANSACTION_ID), *params],
            True,
            True,
        )
        for bad in BAD_CLIENT_IDS
    ]
    probes += [
        Probe(
            f"ClientTransactionID is {_describe(bad)}",
            verb,
            [("ClientID", CLIENT_ID), ("ClientTransactionID", bad), *params],
            True,
            True,
        )
        for bad in BAD_TRANSACTION_IDS
    ]
    return probes


def _describe(bad: str) -> str:
    if bad == "":
        return "empty"
    if not bad.strip():
        return "white space"
    return "negative" if bad.startswith("-") else f"a string ({bad!r})"


class ProtocolCheck:
    """Runs the protocol check against ``/api/v1/camera/{number}``."""

    def __init__(
        self, wire: Wire, report: Report, number: int = 0, exposure_s: float = 2.0
    ) -> None:
        self.wire = wire
        self.report = report
        self.number = number
        self.exposure_s = exposure_s
        self.device = AlpacaDevice(wire, "camera", number)
        self.interface_version = 0

    # -- plumbing ------------------------------------------------------------------------------

    def path(self, member: str) -> str:
        return f"/api/v1/camera/{self.number}/{member.lower()}"

    def send(
        self,
        member: str,
        probe: Probe,
        *,
        kind: Kind = Kind.PLAIN,
        headers: dict[str, str] | None = None,
    ) -> Reply | None:
        test = f"{probe.verb} {member}"
        try:
            if probe.verb == "GET":
                reply = self.wire.request(
                    "GET", self.path(member), query=probe.params, headers=headers
                )
            else:
                reply = self.wire.request(
                    probe.verb, self.path(member), form=probe.params, headers=headers
                )
        except WireError as exc:
            self.report.error(test, f"{probe.label} - the request failed: {exc}")
            return None
        parsed = self._parse(test, probe, reply, kind) if reply.status == 200 else None
        self._judge_status(test, probe, reply, parsed)
        return reply

    def _parse(self, test: str, probe: Probe, reply: Reply, kind: Kind) -> Parsed | None:
        if reply.is_imagebytes:
            if kind is not Kind.IMAGE:
                self.report.issue(
                    test,
                    f"{probe.label} - an ImageBytes reply to a request that did not accept one",
                    reply.content_type,
                )
            return self._parse_imagebytes(test, probe, reply)
        if not reply.is_json:
            self.report.issue(
                test,
                f"{probe.label} - Content-Type is {reply.content_type!r}, "
                "expected application/json",
                reply.snippet(),
            )
        try:
            if kind is Kind.IMAGE:
                body: Any = scan_json_image(reply.body).envelope
            else:
                body = loads(reply.body)
        except ValueError as exc:
            self.report.error(
                test, f"{probe.label} - HTTP 200 but the body is not JSON: {exc}", reply.snippet()
            )
            return None
        if not isinstance(body, dict):
            self.report.issue(
                test, f"{probe.label} - the JSON body is not an object", reply.snippet()
            )
            return None
        for problem in self._json_problems(probe, body, kind):
            self.report.issue(test, f"{probe.label} - {problem}", reply.snippet())
        message = body.get("ErrorMessage")
        return Parsed(
            _get_int(body, "ClientTransactionID"),
            _get_int(body, "ServerTransactionID"),
            _get_int(body, "ErrorNumber"),
            message if isinstance(message, str) else "",
        )

    def _json_problems(self, probe: Probe, body: dict[str, Any], kind: Kind) -> list[str]:
        wanted = list(STANDARD_KEYS)
        if probe.verb == "GET":
            wanted.append("Value")
        handoff = kind is Kind.IMAGE and "Dimension0Length" in body
        if kind is Kind.IMAGE and body.get("ErrorNumber") == 0:
            wanted += ["Type", "Rank"]
            if handoff:
                wanted += ["Dimension0Length", "Dimension1Length", "Dimension2Length"]
        problems = [_key_problem(body, key) for key in wanted]
        found = [p for p in problems if p]
        for key in ("ClientTransactionID", "ServerTransactionID"):
            if key in body and not _is_uint32(body[key]):
                found.append(f"{key} {body[key]!r} is not an unsigned 32-bit integer")
        number = body.get("ErrorNumber")
        if "ErrorNumber" in body and (not isinstance(number, int) or isinstance(number, bool)):
            found.append(f"ErrorNumber {number!r} is not an integer")
        if "ErrorMessage" in body and not isinstance(body["ErrorMessage"], str):
            found.append(f"ErrorMessage {body['ErrorMessage']!r} is not a string")
        elif isinstance(number, int) and number != 0 and not body.get("ErrorMessage"):
            found.append(f"ErrorNumber {number} comes with an empty ErrorMessage")
        if kind is Kind.DEVICE_STATE and number == 0:
            found += _device_state_problems(body.get("Value"))
        return found

    def _parse_imagebytes(self, test: str, probe: Probe, reply: Reply) -> Parsed | None:
        try:
            header = parse_header(reply.body)
        except ValueError as exc:
            self.report.issue(test, f"{probe.label} - unreadable ImageBytes reply: {exc}")
            return None
        if header.metadata_version != 1:
            self.report.issue(
                test,
                f"{probe.label} - ImageBytes metadata version "
                f"{header.metadata_version}, expected 1",
            )
        message = ""
        if header.error_number != 0:
            message = imagebytes_error_message(reply.body, header)
            self.report.info(
                test,
                f"{probe.label} - an ASCOM error sent as ImageBytes "
                "(clients handle JSON error replies better)",
                message,
            )
        else:
            if header.data_start != 44:
                self.report.info(
                    test,
                    f"{probe.label} - DataStart {header.data_start}; 44 is "
                    "safest (the .NET Object-array decoder reads from 44)",
                )
            variant = test.endswith("Variant")
            for problem in imagebytes_problems(reply.body, header, variant=variant):
                self.report.issue(test, f"{probe.label} - {problem}")
        return Parsed(
            header.client_transaction_id,
            header.server_transaction_id,
            header.error_number,
            message,
            "ImageBytes",
        )

    def _judge_status(self, test: str, probe: Probe, reply: Reply, parsed: Parsed | None) -> None:
        if reply.status == 200 and parsed is not None:
            self._check_ids(test, probe, reply, parsed)
        if probe.expect_400:
            self._judge_rejection(test, probe, reply, parsed)
            return
        if reply.status != 200:
            self.report.issue(
                test,
                f"{probe.label} - expected HTTP status 200 but received {reply.status}",
                reply.snippet(),
            )
            return
        if parsed is None:
            return
        ids = (
            f"{parsed.form}, ClientTransactionID {parsed.client_transaction_id}, "
            f"ServerTransactionID {parsed.server_transaction_id}"
        )
        if parsed.error_number in (0, NOT_IMPLEMENTED) and (
            not parsed.error_message or parsed.error_number == NOT_IMPLEMENTED
        ):
            self.report.ok(test, f"{probe.label} - HTTP 200 as expected ({ids})")
        else:
            self.report.info(
                test,
                f"{probe.label} - HTTP 200 as expected but the device reported an ASCOM error",
                f"{error_name(parsed.error_number)}: {parsed.error_message}",
            )

    def _judge_rejection(
        self, test: str, probe: Probe, reply: Reply, parsed: Parsed | None
    ) -> None:
        if reply.status == 400:
            self.report.ok(test, f"{probe.label} - HTTP 400 as expected")
            if reply.is_json:
                self.report.info(
                    test,
                    f"{probe.label} - the 400 reply is JSON; the Alpaca "
                    "reference asks for a plain-text message",
                    reply.snippet(),
                )
            return
        number = parsed.error_number if parsed is not None else None
        if reply.status == 200 and probe.accept_invalid_value and number == INVALID_VALUE:
            self.report.ok(test, f"{probe.label} - HTTP 200 with InvalidValue (0x401), accepted")
            return
        allowed = "400" + (
            " (or 200 with InvalidValue 0x401)" if probe.accept_invalid_value else ""
        )
        got = f"{reply.status}" + (f" with {error_name(number)}" if number else "")
        self.report.issue(
            test,
            f"{probe.label} - expected HTTP status {allowed} but received {got}",
            reply.snippet(),
        )

    def _check_ids(self, test: str, probe: Probe, reply: Reply, parsed: Parsed) -> None:
        expected = probe.echo
        if expected is not None and parsed.client_transaction_id != expected:
            self.report.issue(
                test,
                f"{probe.label} - ClientTransactionID "
                f"{parsed.client_transaction_id} returned, expected {expected}",
                reply.snippet(),
            )
        if parsed.server_transaction_id < 1:
            self.report.issue(
                test,
                f"{probe.label} - ServerTransactionID "
                f"{parsed.server_transaction_id}, expected 1 or greater",
            )

    # -- templates -----------------------------------------------------------------------------

    def get_template(
        self, member: str, *, kind: Kind = Kind.PLAIN, headers: dict[str, str] | None = None
    ) -> None:
        probes = [
            Probe("Good parameters", "GET", _ids()),
            Probe("Extra parameter", "GET", [*_ids(), EXTRA]),
            Probe("Bad ClientID casing", "GET", _ids("clientid")),
            Probe(
                "Bad ClientTransactionID casing",
                "GET",
                _ids(transaction_name="clienttransactionid"),
            ),
            *bad_id_probes("GET", []),
        ]
        for probe in probes:
            self.send(member, probe, kind=kind, headers=headers)

    def put_template(
        self, member: str, params: Params, after: Callable[[], None] | None = None
    ) -> None:
        probes = [
            Probe("Good parameters", "PUT", [*_ids(), *params]),
            Probe("Extra parameter", "PUT", [*_ids(), *params, EXTRA]),
        ]
        for index, (name, _value) in enumerate(params):
            bad = [(n, BAD_VALUE if i == index else v) for i, (n, v) in enumerate(params)]
            probes.append(
                Probe(f"Parameter {name} (Bad value)", "PUT", [*_ids(), *bad], True, True)
            )
        for index, (name, _value) in enumerate(params):
            cased = [(invert_case(n) if i == index else n, v) for i, (n, v) in enumerate(params)]
            probes.append(Probe(f"Parameter {name} (Bad casing)", "PUT", [*_ids(), *cased], True))
        probes += [
            Probe("Bad ClientID casing", "PUT", [*_ids("clientid"), *params]),
            Probe(
                "Bad ClientTransactionID casing",
                "PUT",
                [*_ids(transaction_name="clienttransactionid"), *params],
            ),
            *bad_id_probes("PUT", params),
        ]
        for probe in probes:
            self.send(member, probe)
            if after is not None:
                after()

    # -- the sequence --------------------------------------------------------------------------

    def run(self) -> None:
        self.report.section("Alpaca protocol check")
        try:
            self._connect()
            self._common()
            self._camera()
        except ProtocolFailure as exc:
            self.report.error("Protocol", f"the check could not continue: {exc}")
        except WireError as exc:
            self.report.error("Protocol", f"the server stopped answering: {exc}")
        finally:
            self.report.text("")
            self.send(
                "Connected", Probe("Set Connected False", "PUT", [*_ids(), ("Connected", "False")])
            )

    def _connect(self) -> None:
        self.send("Connected", Probe("Set Connected True", "PUT", [*_ids(), ("Connected", "True")]))
        self.send(
            "Connected", Probe("Set Connected False", "PUT", [*_ids(), ("Connected", "False")])
        )
        self.send(
            "Connected",
            Probe(
                "Set Connected True (parameters in another order)",
                "PUT",
                [
                    ("ClientTransactionID", TRANSACTION_ID),
                    ("Connected", "True"),
                    ("ClientID", CLIENT_ID),
                ],
            ),
        )
        result = self.device.get("InterfaceVersion")
        if result.ok and isinstance(result.value, int):
            self.interface_version = result.value
            self.report.info(
                "GET InterfaceVersion", f"Device exposes interface version {result.value}"
            )
        else:
            self.report.issue("GET InterfaceVersion", f"cannot read it: {result.describe()}")

    def _common(self) -> None:
        self.report.text("")
        self._bad_urls()
        self.get_template("Connected")
        for bad in ("", "123456", "asdqwe"):
            self.send(
                "Connected",
                Probe(
                    f"Connected set to {bad!r}", "PUT", [*_ids(), ("Connected", bad)], True, True
                ),
            )
        self.put_template("Connected", [("Connected", "True")])
        for member in (
            "Description",
            "DriverInfo",
            "DriverVersion",
            "InterfaceVersion",
            "Name",
            "SupportedActions",
        ):
            self.get_template(member)
        if self.interface_version >= 4:
            self.get_template("DeviceState", kind=Kind.DEVICE_STATE)

    def _bad_urls(self) -> None:
        urls = (
            ("device type in upper case", "/api/v1/CAMERA/{n}/description"),
            ("unknown device type", "/api/v1/baddevicetype/{n}/description"),
            ("device number -1", "/api/v1/camera/-1/description"),
            ("device number 99999", "/api/v1/camera/99999/description"),
            ("device number A", "/api/v1/camera/A/description"),
            ("unknown member", "/api/v1/camera/{n}/descrip"),
        )
        for label, template in urls:
            path = template.format(n=self.number)
            try:
                reply = self.wire.request("GET", path, query=_ids())
            except WireError:
                self.report.ok("Bad URL", f"{label} ({path}) - the connection was refused")
                continue
            if reply.status in BAD_URL_STATUSES:
                self.report.ok("Bad URL", f"{label} ({path}) - HTTP {reply.status} as expected")
            else:
                self.report.issue(
                    "Bad URL",
                    f"{label} ({path}) - expected a 4xx status "
                    f"(400-410) but received {reply.status}",
                    reply.snippet(),
                )

    def _camera(self) -> None:
        self.report.text("")
        if self.interface_version >= 4:
            self.put_template("Disconnect", [], after=self._wait_connecting)
            self.put_template("Connect", [], after=self._wait_connecting)
            self.get_template("Connecting")
            connected = self.device.get("Connected")
            if not (connected.ok and connected.value is True):
                self.report.issue(
                    "PUT Connect", f"Connected is not true after Connect: {connected.describe()}"
                )
                self.device.put("Connected", Connected=True)
        for member, kind in CAMERA_PROPERTIES:
            self.get_template(member)
            if kind is not None:
                self._write_back(member, kind)
        self.put_template("AbortExposure", [], after=self._wait_idle)
        self.put_template(
            "PulseGuide", [("Direction", "0"), ("Duration", "1")], after=self._wait_pulse_guide
        )
        self.put_template(
            "StartExposure",
            [("Duration", format_value(self.exposure_s)), ("Light", "False")],
            after=self._wait_idle,
        )
        self.put_template("StopExposure", [], after=self._wait_idle)
        for member in ("ImageArray", "ImageArrayVariant"):
            self.get_template(member, kind=Kind.IMAGE, headers=IMAGE_ACCEPT)
        for member in ("LastExposureDuration", "LastExposureStartTime"):
            self.get_template(member)
        self._wait_idle()

    def _write_back(self, member: str, kind: str) -> None:
        """PUT template writing back the value just read (ConformU's fallbacks when unreadable)."""
        result = self.device.get(member)
        value: str | None = None
        if result.ok and result.value is not None and not isinstance(result.value, (list, dict)):
            value = format_value(result.value)
        elif member in NO_FALLBACK:
            self.report.issue(
                f"PUT {member}", f"cannot read the current value to write back: {result.describe()}"
            )
            return
        else:
            value = FALLBACK[kind]
        self.put_template(member, [(member, value)])

    # -- waits ---------------------------------------------------------------------------------

    def _poll(self, member: str, done: Callable[[Any], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            result = self.device.get(member)
            if not result.ok or done(result.value):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    def _wait_connecting(self) -> None:
        if not self._poll("Connecting", lambda v: v is False, 5.0):
            self.report.issue("GET Connecting", "Connecting stayed true for more than 5 s")

    def _wait_idle(self) -> None:
        # Idle (0) or Error (5); ConformU allows 10 s per wait, the exposure comes on top.
        if not self._poll("CameraState", lambda v: v in (0, 5), 10.0 + self.exposure_s):
            self.report.error("GET CameraState", "the camera did not return to Idle in time")

    def _wait_pulse_guide(self) -> None:
        if not self._poll("IsPulseGuiding", lambda v: v is False, 5.0):
            self.report.issue("GET IsPulseGuiding", "IsPulseGuiding stayed true for 5 s")


def _get_int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _key_problem(body: dict[str, Any], key: str) -> str:
    if key in body:
        return ""
    others = [k for k in body if k.lower() == key.lower()]
    if others:
        return f"key {others[0]!r} should be spelled {key!r}"
    return f"no {key} key"


def _device_state_problems(value: Any) -> list[str]:
    if not isinstance(value, list):
        return [f"DeviceState Value is {type(value).__name__}, expected an array"]
    problems: list[str] = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"Name", "Value"}:
            problems.append(f"DeviceState element {item!r} does not have exactly Name and Value")
    return problems
