"""Schema-based fuzzing of the HTTP API from the official ASCOM OpenAPI files.

schemathesis turns every camera and management operation of ``../shared/spec/*.yaml`` into requests
(valid and deliberately invalid ones) sent to a real waitress server on loopback in simulator mode
(an ILCE-7SM3, the smallest sensor, on virtual time so exposures cost nothing). Every answer must be
one the Alpaca API allows (docs/alpaca.md §0 items 1-6 and §1.6): a JSON envelope with HTTP 200, a
plain-text 400 for a request the server cannot parse or route, a 4xx for a path it does not serve;
never a 5xx, never a hang. After the run the server still answers a status read.

CI makes a few examples per operation; a long hunt is the same file with more:
    ALPACA_SONY_FUZZ_EXAMPLES=5000 python3 -m pytest tests/fuzz/test_http_schema.py
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck

from alpaca_sony.config import Config, with_overrides
from alpaca_sony.runtime import Runtime
from tests.camera.conftest import GatedClock
from tests.fuzz.budget import fuzz_settings

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec"
REQUEST_TIMEOUT_S = 30  # a hang fails the example instead of the whole run
ENVELOPE_KEYS = {"ClientTransactionID", "ServerTransactionID", "ErrorNumber", "ErrorMessage"}
UINT32_MAX = 0xFFFFFFFF
# Members that need a finished exposure to do more than refuse.
IMAGE_READS = ("imagearray", "imagearrayvariant", "lastexposureduration", "lastexposurestarttime")
SETTINGS = fuzz_settings(4, suppress_health_check=list(HealthCheck))


def _load(name: str) -> Any:
    path = SPEC / name
    # A missing spec must fail loudly: the tests need ../shared beside the checkout.
    assert path.is_file(), f"{path} is missing: the fuzz tests read the ASCOM OpenAPI files there"
    return schemathesis.openapi.from_path(str(path))


# The device spec describes every device type; this server serves cameras: the camera paths and
# the members common to all devices.
DEVICE_API = _load("AlpacaDeviceAPI_v1P7.yaml").include(path_regex=r"^/(camera|\{device_type\})/")
MANAGEMENT_API = _load("AlpacaManagementAPI_v1.yaml")


# Device types this server does not serve, aimed at the camera instead; "telescope" (and any
# non-enum value the negative mode makes) stays, to probe the router.
OTHER_TYPES = {"covercalibrator", "dome", "filterwheel", "focuser", "observingconditions"}
OTHER_TYPES |= {"rotator", "safetymonitor", "switch"}


@DEVICE_API.hook("map_path_parameters")  # type: ignore[untyped-decorator]  # schemathesis
def _mostly_camera_zero(_context: Any, path: dict[str, Any]) -> dict[str, Any]:
    """Aim most requests at the one camera, so they reach the device and not just the router."""
    if path.get("device_type") in OTHER_TYPES:
        path["device_type"] = "camera"
    number = path.get("device_number")
    if isinstance(number, int) and number % 4:
        path["device_number"] = 0
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server in simulator mode serving camera 0; yields its base URL."""
    config = with_overrides(
        Config(),
        server={"host": "127.0.0.1", "port": 0},
        discovery={"enabled": False, "mdns": False},
        camera={"simulator": "ILCE-7SM3", "save_dir": str(tmp_path_factory.mktemp("originals"))},
    )
    runtime = Runtime(config, clock=GatedClock())
    port = runtime.start()
    base = f"http://127.0.0.1:{port}"
    try:
        yield base
        _assert_still_serving(base)
    finally:
        runtime.stop()


def _connect(base: str) -> None:
    reply = requests.put(
        f"{base}/api/v1/camera/0/connected",
        data={"Connected": "True", "ClientID": "1", "ClientTransactionID": "1"},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert reply.json()["ErrorNumber"] == 0, reply.text


def _value(base: str, member: str) -> Any:
    reply = requests.get(f"{base}/api/v1/camera/0/{member}", timeout=REQUEST_TIMEOUT_S)
    body = reply.json()
    assert body["ErrorNumber"] == 0, body
    return body["Value"]


def _put(base: str, member: str, **form: str) -> None:
    reply = requests.put(f"{base}/api/v1/camera/0/{member}", data=form, timeout=REQUEST_TIMEOUT_S)
    assert reply.json()["ErrorNumber"] == 0, (member, form, reply.text)


def _ensure_image(base: str) -> None:
    """A full frame ready to download, so image reads reach the image code, not just 'no image'.

    Earlier examples leave random binning and subframes behind: reset them first.
    """
    if _value(base, "imageready"):
        return
    for member, name, value in (
        ("binx", "BinX", "1"),
        ("biny", "BinY", "1"),
        ("startx", "StartX", "0"),
        ("starty", "StartY", "0"),
        ("numx", "NumX", str(_value(base, "cameraxsize"))),
        ("numy", "NumY", str(_value(base, "cameraysize"))),
    ):
        _put(base, member, **{name: value})
    _put(base, "startexposure", Duration="0.5", Light="true")
    deadline = time.monotonic() + 60
    while not _value(base, "imageready"):
        assert _value(base, "camerastate") != 5, "the camera went into its error state"
        assert time.monotonic() < deadline, "the image never became ready"
        time.sleep(0.01)


def _assert_still_serving(base: str) -> None:
    """The server answers and its camera worker still works: a fresh connection (which forgets
    the last image) shoots a new frame that downloads whole."""
    _put(base, "connected", Connected="false")
    _connect(base)
    reply = requests.get(
        f"{base}/api/v1/camera/0/camerastate?ClientID=1&ClientTransactionID=7", timeout=10
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["ClientTransactionID"], body["ErrorNumber"], body["Value"]) == (7, 0, 0), body
    assert not _value(base, "imageready")
    _ensure_image(base)
    reply = requests.get(
        f"{base}/api/v1/camera/0/imagearray",
        headers={"Accept": "application/imagebytes"},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert reply.headers["Content-Type"] == "application/imagebytes", reply.text[:200]
    width, height = _value(base, "cameraxsize"), _value(base, "cameraysize")
    assert len(reply.content) == 44 + width * height * 2  # header + UInt16 pixels (alpaca.md §4.3)


def _header(reply: schemathesis.Response, name: str) -> str:
    values = reply.headers.get(name.lower(), [])
    return values[0] if values else ""


def _sent_ids(reply: schemathesis.Response) -> dict[str, str]:
    """ClientID and ClientTransactionID as sent on the wire (GET names in any casing, PUT names
    exactly; the first of duplicates counts), keyed by their documented names."""
    sent = reply.request
    if sent.method == "GET":
        pairs = parse_qsl(urlsplit(sent.url or "").query, keep_blank_values=True)
        canonical = {"clientid": "ClientID", "clienttransactionid": "ClientTransactionID"}
        pairs = [(canonical.get(k.lower(), k), v) for k, v in pairs]
    else:
        raw = sent.body or b""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        pairs = parse_qsl(text, keep_blank_values=True)
    found: dict[str, str] = {}
    for key, value in pairs:
        if key in ("ClientID", "ClientTransactionID"):
            found.setdefault(key, value)
    return found


def _is_uint32(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= UINT32_MAX


def _ids_are_valid(reply: schemathesis.Response) -> bool:
    """Absent or uint32: anything else must be refused with 400 (alpaca.md §1.4)."""
    return all(_is_uint32(v) for v in _sent_ids(reply).values())


def _check_envelope(reply: schemathesis.Response, has_value: bool) -> None:
    assert _header(reply, "Content-Type").startswith("application/json"), reply.headers
    body = orjson.loads(reply.content)  # strict JSON: no NaN, no Infinity
    assert isinstance(body, dict), body
    assert body.keys() >= ENVELOPE_KEYS, body
    assert isinstance(body["ErrorNumber"], int), body
    assert isinstance(body["ErrorMessage"], str), body
    assert 1 <= body["ServerTransactionID"] <= UINT32_MAX, body
    assert body["ErrorNumber"] == 0 or 0x400 <= body["ErrorNumber"] <= 0xFFF, body
    assert (body["ErrorNumber"] == 0) == (body["ErrorMessage"] == ""), body
    if has_value:
        assert "Value" in body, body
    # The echo is the parsed value, 0 when absent (alpaca.md §1.4).
    sent = int(_sent_ids(reply).get("ClientTransactionID", "0"))
    assert body["ClientTransactionID"] == sent, (sent, body)


def _check_other_method(reply: schemathesis.Response) -> None:
    """Alpaca has GET and PUT only; Falcon answers OPTIONS with the allowed verbs, others 405
    (404 where the path itself is not served)."""
    if reply.request.method == "OPTIONS" and reply.status_code == 200:
        assert "GET" in _header(reply, "Allow"), reply.headers
        return
    assert reply.status_code in (404, 405), (reply.status_code, reply.text)


def _check_bad_request(reply: schemathesis.Response) -> None:
    """A request the server could not take: a short plain-text sentence, never a traceback."""
    assert reply.status_code == 400, (reply.status_code, reply.text)
    assert _header(reply, "Content-Type").startswith("text/plain"), reply.headers
    assert reply.text and "Traceback" not in reply.text, reply.text


def _check_device_reply(reply: schemathesis.Response) -> None:
    if reply.request.method not in ("GET", "PUT"):
        _check_other_method(reply)
        return
    # What was really sent: /api/v1/{type}/{number}/{member}.
    parts = urlsplit(reply.request.url or "").path.split("/")
    routed = parts[3] == "camera"
    member = parts[-1]
    if routed and not _ids_are_valid(reply):
        _check_bad_request(reply)  # malformed IDs: 400 before any work (alpaca.md §0 item 3)
        return
    if reply.status_code == 200:
        assert routed, (parts, reply.text)
        if _header(reply, "Content-Type") == "application/imagebytes":
            assert member in ("imagearray", "imagearrayvariant"), parts
            return
        has_value = reply.request.method == "GET" or member in (
            "action",
            "commandbool",
            "commandstring",
        )
        _check_envelope(reply, has_value)
        return
    assert reply.status_code < 500, (reply.status_code, reply.text)
    if routed and reply.status_code == 400:
        _check_bad_request(reply)
        return
    # Another device type, or a path element the router rejects: any 4xx is allowed (§1.6).
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)


@DEVICE_API.parametrize()  # type: ignore[untyped-decorator]  # schemathesis
@SETTINGS
def test_device_api(server: str, case: schemathesis.Case[Any]) -> None:
    _connect(server)  # an earlier example may have disconnected: aim past NotConnected
    headers = {}
    if case.path.rsplit("/", 1)[1] in IMAGE_READS:
        _ensure_image(server)
        headers["Accept"] = "application/imagebytes"  # as NINA and alpyca ask; JSON is 5x longer
    reply = case.call(base_url=f"{server}/api/v1", headers=headers, timeout=REQUEST_TIMEOUT_S)
    _check_device_reply(reply)


@MANAGEMENT_API.parametrize()  # type: ignore[untyped-decorator]  # schemathesis
@SETTINGS
def test_management_api(server: str, case: schemathesis.Case[Any]) -> None:
    reply = case.call(base_url=server, timeout=REQUEST_TIMEOUT_S)
    assert reply.status_code < 500, (reply.status_code, reply.text)
    if reply.request.method != "GET":
        _check_other_method(reply)
        return
    if case.path.startswith("/management/"):
        if reply.status_code == 200 and _ids_are_valid(reply):
            _check_envelope(reply, has_value=True)
        else:
            _check_bad_request(reply)
        return
    # Setup pages: HTML for the server and each served camera; any other device is a 4xx.
    if reply.status_code == 200:
        assert _header(reply, "Content-Type").startswith("text/html"), reply.headers
        return
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
