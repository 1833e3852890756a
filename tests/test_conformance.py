"""The project's ConformU stand-in (``conformance/``) against the server in simulator mode.

The server runs as a real process (``python -m alpaca_sony --simulator``) on a free port with
HTTP Basic authentication on; the checker logs in and talks to it over HTTP exactly as it would
to any Alpaca camera. A loopback camera that
breaks chosen rules shows the checker reports what it must (a checker that always said OK would
pass the simulator run). A few small tests pin the checker's own decoding of ImageBytes and JSON
image replies.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conformance.checker import main, run
from conformance.images import decode_imagebytes, parse_header, scan_json_image
from conformance.report import Level
from conformance.wire import Wire, basic_authorization

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = ("checker", "s3cret:with a colon")
PORT_LINE = re.compile(r"Alpaca server on http://127\.0\.0\.1:(\d+)/")


def _wait_for_port(log: Path, server: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = PORT_LINE.search(log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if server.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the server never said its port:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The simulator server on a free port, authentication on (``CREDENTIALS``). Its log goes to
    a file (a pipe nobody reads could fill up and stall the server); the process is always
    stopped, the file always closed."""
    folder = tmp_path_factory.mktemp("conformance")
    log = folder / "server.log"
    password = folder / "password"
    password.write_text(CREDENTIALS[1] + "\n")
    password.chmod(0o600)
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "alpaca_sony", "--simulator", "--host", "127.0.0.1",
             "--port", "0", "--no-discovery", "--no-mdns", "--save-dir", str(folder / "saved"),
             "--auth-user", CREDENTIALS[0], "--auth-password-file", str(password)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
        try:
            yield f"http://127.0.0.1:{_wait_for_port(log, server)}"
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)


def test_the_simulator_server_passes_the_conformance_checks_with_auth_on(server_url: str) -> None:
    with Wire(server_url) as anonymous:  # authentication really is on
        refused = anonymous.request(
            "PUT", "/api/v1/camera/0/connected", form=[("Connected", "True")]
        )
        assert refused.status == 401
        wrong = {"Authorization": basic_authorization(CREDENTIALS[0], "guess")}
        assert anonymous.request("GET", "/setup", headers=wrong).status == 401
    report = run(server_url, credentials=CREDENTIALS)
    sys.stdout.write(report.full_text())  # shown by pytest when the test fails
    problems = [f"{e.level.value} {e.test}: {e.message}" for e in report.problems()]
    assert not problems, "\n".join(["ISSUE/ERROR lines:", *problems])
    assert report.count(Level.ERROR) == 0
    # The checks really ran: every binning exposed, and JSON matched ImageBytes pixel for pixel.
    messages = [(e.test, e.message) for e in report.entries if e.level is Level.OK]
    exposures = [m for t, m in messages if t == "StartExposure" and "asynchronous" in m]
    assert len(exposures) == 4
    same = [t for t, m in messages if m == "the same pixels as the ImageBytes reply"]
    assert same.count("ImageArray (JSON)") == 4 and same.count("ImageArrayVariant (JSON)") == 4
    assert report.count(Level.OK) > 1000


def test_the_command_line_refuses_a_missing_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["http://127.0.0.1:9"]) == 2
    assert "no Alpaca server" in capsys.readouterr().err
    assert main(["ftp://example"]) == 2


def test_the_command_line_says_when_the_server_wants_other_credentials(
    server_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([server_url, "--only", "protocol"]) == 2
    assert capsys.readouterr().err == (
        f"the server at {server_url} wants a password: give --auth-user NAME "
        "--auth-password-file FILE\n"
    )
    wrong = tmp_path / "wrong"
    wrong.write_text("guess\n")
    login = ["--auth-user", CREDENTIALS[0], "--auth-password-file"]
    assert main([server_url, *login, str(wrong)]) == 2
    assert "refused the user name and password" in capsys.readouterr().err
    assert main([server_url, *login, str(tmp_path / "missing")]) == 2
    assert "cannot read the password file" in capsys.readouterr().err
    assert main([server_url, "--auth-user", CREDENTIALS[0]]) == 2
    assert "go together" in capsys.readouterr().err


# -- a camera that breaks chosen rules -----------------------------------------------------------

NOT_IMPLEMENTED, INVALID_VALUE, VALUE_NOT_SET, NOT_CONNECTED, INVALID_OPERATION = (
    0x400, 0x401, 0x402, 0x407, 0x40B,
)  # fmt: skip
WIDTH, HEIGHT = 4, 3
PIXELS = np.arange(WIDTH * HEIGHT, dtype=np.int64).reshape(WIDTH, HEIGHT) * 100  # [x][y]

# (checker test name, part of its ISSUE message) for each rule the fake camera breaks.
PLANTED = [
    ("Not connected", "GET CameraXSize while disconnected: expected NotConnected"),
    ("Description", "80 characters; more than 68 do not fit a FITS header card"),
    ("DeviceState", "'camerastate' should be spelled 'CameraState'"),
    ("LastExposureDuration", "did not return an error before any exposure was made"),
    ("BinX Write", "invalid value 0 accepted"),
    ("Gains", "GainMin, GainMax and Gains are all readable"),
    ("Gain Read", "cannot tell the gain mode"),
    ("StartExposure", "synchronous exposure: ICameraV4 requires StartExposure"),
    ("LastExposureStartTime", "has a time zone suffix"),
    ("ImageArray (JSON)", "the pixels differ from the ImageBytes reply"),
    ("ImageArrayVariant (JSON)", "the pixels differ from the ImageBytes reply"),
    ("StartExposure", "expected an error for X size larger than binned chip size, Bin 1x1"),
]

FIXED_VALUES: dict[str, Any] = {
    "interfaceversion": 4, "connecting": False, "description": "D" * 80,
    "driverinfo": "rule-breaking test camera", "driverversion": "1.0", "supportedactions": [],
}  # fmt: skip
CONNECTED_VALUES: dict[str, Any] = {
    "name": "Rule breaker", "canabortexposure": True, "canasymmetricbin": False,
    "canfastreadout": False, "cangetcoolerpower": False, "canpulseguide": False,
    "cansetccdtemperature": False, "canstopexposure": True, "camerastate": 0,
    "cameraxsize": WIDTH, "cameraysize": HEIGHT, "maxbinx": 1, "maxbiny": 1,
    "hasshutter": True, "maxadu": 65535, "pixelsizex": 5.9, "pixelsizey": 5.9,
    "sensortype": 0, "exposuremax": 3600.0, "exposuremin": 0.0, "exposureresolution": 0.0,
    "gain": 1, "gainmin": 0, "gainmax": 10, "gains": ["Low", "High"],
    "percentcompleted": 0, "readoutmodes": ["Normal"], "readoutmode": 0, "sensorname": "Fake",
    "devicestate": [{"Name": "camerastate", "Value": 0}, {"Name": "ImageReady", "Value": False}],
}  # fmt: skip


SETTING_PARAMETERS = {
    name.lower(): name for name in ("BinX", "BinY", "StartX", "StartY", "NumX", "NumY")
}
LEGAL_SETTINGS = {"binx": (0, 1), "biny": (1,)}  # BinX 0 is planted


class RuleBreakingCamera:
    """A 4 x 3 monochrome ICameraV4 camera, correct but for the rules in PLANTED: it answers
    CameraXSize with a driver error while disconnected, has a long Description and a mis-cased
    DeviceState name, answers LastExposureDuration before any exposure, accepts BinX 0, offers
    all three gain modes, exposes synchronously, stamps the start time with a Z, sends different
    pixels over JSON than over ImageBytes, and does not check NumX against the chip."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connected = False
        self.settings = {"binx": 1, "biny": 1, "startx": 0, "starty": 0, "numx": 4, "numy": 3}
        self.exposed_at: str | None = None
        self.duration = 0.0
        self.transactions = 0

    def get(self, member: str) -> tuple[Any, int]:
        if member == "connected":
            return self.connected, 0
        if member in FIXED_VALUES:
            return FIXED_VALUES[member], 0
        if not self.connected:
            return None, 0x500 if member == "cameraxsize" else NOT_CONNECTED
        if member in CONNECTED_VALUES:
            return CONNECTED_VALUES[member], 0
        if member in self.settings:
            return self.settings[member], 0
        if member == "imageready":
            return self.exposed_at is not None, 0
        if member == "lastexposureduration":
            return self.duration, 0
        if member == "lastexposurestarttime":
            return (self.exposed_at, 0) if self.exposed_at else (None, VALUE_NOT_SET)
        return None, NOT_IMPLEMENTED

    def put(self, member: str, form: dict[str, str]) -> int:
        if member in ("connected", "connect", "disconnect"):
            wanted = form["Connected"] == "True" if member == "connected" else member == "connect"
            if wanted and not self.connected:
                self.settings.update(binx=1, biny=1)
            self.connected = wanted
            return 0
        if not self.connected:
            return NOT_CONNECTED
        if member in self.settings:
            value = int(form[SETTING_PARAMETERS[member]])
            if value not in LEGAL_SETTINGS.get(member, (value,)):
                return INVALID_VALUE
            self.settings[member] = value
            return 0
        if member in ("abortexposure", "stopexposure"):
            return 0
        if member == "startexposure":
            return self.start_exposure(float(form["Duration"]))
        return NOT_IMPLEMENTED

    def start_exposure(self, duration: float) -> int:
        s = self.settings
        if duration < 0 or s["startx"] >= WIDTH or s["starty"] + s["numy"] > HEIGHT:
            return INVALID_VALUE
        self.duration = duration
        self.exposed_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return 0

    def image(self, imagebytes: bool, transaction: int) -> tuple[str, bytes]:
        server = self.transactions
        if imagebytes:
            dims = (PIXELS.ndim, WIDTH, HEIGHT, 0)
            header = struct.pack("<iiIIiiiiiii", 1, 0, transaction, server, 44, 2, 8, *dims)
            return "application/imagebytes", header + PIXELS.astype("<u2").tobytes()
        changed = PIXELS.copy()
        changed[0, 0] += 1
        body = {"Type": 2, "Rank": 2, "Value": changed.tolist(), "ErrorNumber": 0,
                "ErrorMessage": "", "ClientTransactionID": transaction,
                "ServerTransactionID": server}  # fmt: skip
        return "application/json", json.dumps(body).encode()


class RuleBreakingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the checker keeps one connection alive
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK wait
    server: RuleBreakingServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the checker's report says what happened."""

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        self.answer(url.path, dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)))

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
        self.answer(urllib.parse.urlsplit(self.path).path, dict(form))

    def answer(self, path: str, params: dict[str, str]) -> None:
        camera = self.server.camera
        member = path.rsplit("/", 1)[-1]
        transaction = int(params.get("ClientTransactionID", "0"))
        reading = self.command == "GET"
        with camera.lock:
            camera.transactions += 1
            if reading and member.startswith("imagearray") and camera.exposed_at:
                binary = "application/imagebytes" in self.headers.get("Accept", "")
                content_type, body = camera.image(binary, transaction)
            else:
                value, error = camera.get(member) if reading else (None, camera.put(member, params))
                if reading and member.startswith("imagearray") and camera.connected:
                    error = INVALID_OPERATION  # no image yet
                reply = {"ClientTransactionID": transaction,
                         "ServerTransactionID": camera.transactions, "ErrorNumber": error,
                         "ErrorMessage": f"error 0x{error:X}" if error else ""}  # fmt: skip
                if reading:
                    reply["Value"] = value
                content_type, body = "application/json", json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RuleBreakingServer(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RuleBreakingHandler)
        self.camera = RuleBreakingCamera()


@pytest.fixture
def rule_breaker_url() -> Iterator[str]:
    server = RuleBreakingServer()
    thread = threading.Thread(target=server.serve_forever, name="rule-breaking camera")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()  # joins the connection threads (the checker has closed its end)
        thread.join()


def test_the_camera_check_reports_every_planted_rule_break(rule_breaker_url: str) -> None:
    report = run(rule_breaker_url, only="camera")
    sys.stdout.write(report.full_text())  # shown by pytest when the test fails
    issues = [(e.test, e.message) for e in report.entries if e.level is Level.ISSUE]
    for test, fragment in PLANTED:
        assert any(t == test and fragment in m for t, m in issues), f"{test}: {fragment}"
    assert len(issues) == len(PLANTED), "\n".join(f"{t}: {m}" for t, m in issues)
    assert report.count(Level.ERROR) == 0
    infos = [(e.test, e.message) for e in report.entries if e.level is Level.INFO]
    assert any(t == "Not connected" and m.startswith("Name returns NotConnected") for t, m in infos)
    assert any(
        t == "DeviceState" and "not included: CameraState, CCDTemperature" in m for t, m in infos
    )


def _imagebytes(pixels: np.ndarray, transmission: int, dtype: str) -> bytes:
    dims = [*pixels.shape, 0][:3]
    header = struct.pack("<iiIIiiiiiii", 1, 0, 7, 9, 44, 2, transmission, pixels.ndim, *dims)
    return header + pixels.astype(dtype).tobytes()


def test_imagebytes_is_decoded_from_little_endian_bytes() -> None:
    pixels = np.arange(12, dtype=np.int64).reshape(4, 3) * 1000  # X = 4 columns, Y = 3 rows
    body = _imagebytes(pixels, 8, "<u2")
    header = parse_header(body)
    assert (header.client_transaction_id, header.server_transaction_id) == (7, 9)
    assert header.shape == (4, 3) and header.dotnet_decodable()
    assert np.array_equal(decode_imagebytes(body, header), pixels)
    with pytest.raises(ValueError, match="data bytes"):
        decode_imagebytes(body[:-1], header)


def test_json_images_are_scanned_without_building_lists() -> None:
    body = b'{"Type":2,"Rank":2,"Value":[[1, 2, 3],[4,5,6]],"ErrorNumber":0,"ErrorMessage":""}'
    image = scan_json_image(body)
    assert image.shape == (2, 3) and image.integral and image.pixels is not None
    assert image.pixels.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert image.envelope["Rank"] == 2 and image.envelope["Value"] is None
    rank3 = scan_json_image(b'{"Value":[[[1,2,3],[4,5,6]],[[7,8,9],[1,2,3]]],"Type":2}')
    assert rank3.shape == (2, 2, 3) and rank3.pixels is not None
    assert rank3.pixels[1, 0].tolist() == [7, 8, 9]
    ragged = scan_json_image(b'{"Value":[[1,2],[3]]}')
    assert ragged.ragged and ragged.pixels is None
