"""HTTP Basic authentication (issue 9 point 8): a real server on loopback, so the middleware is
the one the runtime wires in front of every route. Without or with wrong credentials a request
gets 401 and changes nothing; the read-only management GETs stay open for ASCOM discovery; no
credential reaches a log; alpyca logs in. The warning for a server open to the network and UDP
discovery with auth on run in a private network namespace (``unshare -n``), so binding 0.0.0.0
never touches a real network: run as ``unshare -n python tests/alpaca/test_auth.py``.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

USER = "observer"
PASSWORD = "Correct horse: battery staple é"  # noqa: S105 - a test password; ":" and é are legal
IDS = "ClientID=1&ClientTransactionID=7"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CHALLENGE = 'Basic realm="alpaca-sony"'
ROOT = Path(__file__).resolve().parents[2]


def basic(user: str, password: str, scheme: str = "Basic") -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"{scheme} {token}"


GOOD = basic(USER, PASSWORD)


def _ask(
    port: int, method: str, path: str, authorization: str | None = None, body: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request: status, headers (lower-case names) and body."""
    headers = {**(FORM if body is not None else {})}
    if authorization is not None:
        headers["Authorization"] = authorization
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body, headers=headers)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def _value(port: int, member: str) -> Any:
    status, _, body = _ask(port, "GET", f"/api/v1/camera/0/{member}?{IDS}", GOOD)
    reply = orjson.loads(body)
    assert status == 200 and reply["ErrorNumber"] == 0, reply
    return reply["Value"]


def _put(port: int, member: str, form: str, authorization: str | None) -> int:
    return _ask(port, "PUT", f"/api/v1/camera/0/{member}", authorization, f"{form}&{IDS}")[0]


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n", encoding="utf-8")  # as `echo` writes it
    path.chmod(0o600)
    return path


@pytest.fixture
def authed(serve: Callable[..., int], password_file: Path) -> int:
    """A simulator server on loopback with authentication on; its port."""
    return serve(auth_user=USER, auth_password_file=str(password_file))


def _assert_refused(reply: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = reply
    assert status == 401, (status, body)
    assert headers["www-authenticate"] == CHALLENGE
    assert headers["content-type"].startswith("text/plain")
    assert body.decode().startswith("This server needs a user name and password")


WRONG = {
    "none": None,
    "wrong password": basic(USER, "Correct horse"),
    "wrong user": basic("Observer", PASSWORD),
    "password prefix": basic(USER, PASSWORD[:-1]),
    "password with more": basic(USER, PASSWORD + "x"),
    "no password": basic(USER, ""),
    "not base64": "Basic not*base64!",
    "another scheme": GOOD.replace("Basic", "Bearer"),
    "scheme only": "Basic",
}


@pytest.mark.parametrize("authorization", WRONG.values(), ids=WRONG.keys())
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/camera/0/camerastate?{IDS}"),
        ("GET", f"/api/v1/camera/0/imagearray?{IDS}"),
        ("PUT", "/api/v1/camera/0/connected"),
        ("GET", "/setup"),
        ("GET", "/setup/v1/camera/0/setup"),
        ("GET", "/nope"),
        ("PUT", "/management/apiversions"),  # only the management GETs are open
        ("GET", "/management/apiversions/"),  # not an open path: exact match only
    ],
)
def test_without_the_right_credentials_a_request_gets_401_and_the_challenge(
    authed: int, method: str, path: str, authorization: str | None
) -> None:
    body = f"Connected=True&{IDS}" if method == "PUT" else None
    _assert_refused(_ask(authed, method, path, authorization, body))


def test_a_refused_request_changes_nothing(authed: int) -> None:
    """Connected, Gain and StartExposure without (or with wrong) credentials: state unchanged."""
    port = authed
    assert _put(port, "connected", "Connected=True", None) == 401
    assert _put(port, "connected", "Connected=True", WRONG["wrong password"]) == 401
    assert _value(port, "connected") is False
    assert _put(port, "connected", "Connected=True", GOOD) == 200
    assert _value(port, "connected") is True
    gain = _value(port, "gain")
    assert _put(port, "gain", f"Gain={gain + 1}", None) == 401
    assert _value(port, "gain") == gain
    assert _put(port, "startexposure", "Duration=1&Light=True", None) == 401
    assert _put(port, "startexposure", "Duration=1&Light=True", WRONG["password prefix"]) == 401
    assert _value(port, "camerastate") == 0
    assert _value(port, "imageready") is False
    assert _put(port, "connected", "Connected=False", None) == 401
    assert _value(port, "connected") is True


def test_the_right_credentials_open_every_route(authed: int) -> None:
    port = authed
    for path in (f"/api/v1/camera/0/camerastate?{IDS}", "/setup", "/setup/v1/camera/0/setup"):
        status, _, body = _ask(port, "GET", path, GOOD)
        assert status == 200, (path, body)
    assert _ask(port, "GET", "/nope", GOOD)[0] == 404  # past the check, the app's own answer
    # The scheme name is case-insensitive (RFC 7235); spaces around the token are tolerated.
    assert (
        _ask(port, "GET", f"/api/v1/camera/0/name?{IDS}", basic(USER, PASSWORD, "basic"))[0] == 200
    )
    assert _ask(port, "GET", f"/api/v1/camera/0/name?{IDS}", f"  {GOOD}  ")[0] == 200
    # The password in Latin-1, as requests sends it (RFC 7617 lets the client choose).
    latin1 = base64.b64encode(f"{USER}:{PASSWORD}".encode("latin-1")).decode()
    assert _ask(port, "GET", f"/api/v1/camera/0/name?{IDS}", f"Basic {latin1}")[0] == 200
    setup = _ask(port, "GET", "/setup", GOOD)[2].decode()
    assert f"on (user {USER})" in setup and PASSWORD not in setup


@pytest.mark.parametrize(
    "path",
    ["/management/apiversions", "/management/v1/description", "/management/v1/configureddevices"],
)
def test_the_management_gets_discovery_reads_need_no_credentials(authed: int, path: str) -> None:
    """ASCOM's AlpacaDiscovery reads these three anonymously right after the UDP reply."""
    for authorization in (None, WRONG["wrong password"], GOOD):
        status, headers, body = _ask(authed, "GET", f"{path}?{IDS}", authorization)
        assert status == 200 and headers["content-type"] == "application/json", body
        assert orjson.loads(body)["ErrorNumber"] == 0


def test_the_application_never_sees_the_authorization_header() -> None:
    """Dropped once checked, so no error handler or debug log behind the check can show it."""
    from alpaca_sony.alpaca.auth import BasicAuth, Credentials

    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.append(dict(environ))
        start_response("200 OK", [])
        return [b""]

    guarded = BasicAuth(app, Credentials(USER, PASSWORD))
    for path in ("/setup", "/management/apiversions"):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_AUTHORIZATION": GOOD}
        assert guarded(environ, lambda *_: None) == [b""]
    assert len(seen) == 2 and all("HTTP_AUTHORIZATION" not in e for e in seen)


def test_authentication_is_off_by_default(serve: Callable[..., int]) -> None:
    port = serve()
    status, headers, _ = _ask(port, "GET", f"/api/v1/camera/0/camerastate?{IDS}")
    assert status == 200 and "www-authenticate" not in headers


def test_the_comparison_is_constant_time(authed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every presented credential goes through hmac.compare_digest whole (never ==, never a
    prefix test), so the reply time does not tell how much of a guess was right."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest  # the module auth.py calls it through

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    guess = f"{USER}:{PASSWORD[:3]}"
    assert _ask(authed, "GET", "/setup", basic(USER, PASSWORD[:3]))[0] == 401
    assert _ask(authed, "GET", "/setup", GOOD)[0] == 200
    tokens = [f"{USER}:{PASSWORD}".encode(enc) for enc in ("utf-8", "latin-1")]
    assert compared == [(guess.encode(), t) for t in tokens] + [(tokens[0], t) for t in tokens]


def test_refusals_are_logged_once_per_address_without_flooding(
    authed: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="alpaca_sony.alpaca.auth")
    for _ in range(5):
        assert _ask(authed, "GET", f"/api/v1/camera/0/camerastate?{IDS}")[0] == 401
    refusals = [r for r in caplog.records if r.name == "alpaca_sony.alpaca.auth"]
    assert [r.getMessage() for r in refusals] == [
        "refused GET /api/v1/camera/0/camerastate from 127.0.0.1: no credentials "
        "(logged once per address until it logs in)"
    ]
    assert _ask(authed, "GET", "/setup", GOOD)[0] == 200  # logged in: the next refusal is news
    assert _ask(authed, "GET", "/setup", WRONG["wrong user"])[0] == 401
    refusals = [r for r in caplog.records if r.name == "alpaca_sony.alpaca.auth"]
    assert len(refusals) == 2 and "wrong or malformed credentials" in refusals[1].getMessage()


def test_no_credential_appears_in_any_log(
    authed: int, caplog: pytest.LogCaptureFixture, password_file: Path
) -> None:
    """Every logger at DEBUG (waitress's too) through authenticated, refused and failing
    requests: neither a password (right or wrongly guessed) nor a header value is logged."""
    caplog.set_level(logging.DEBUG)
    for name in ["waitress", "falcon", *logging.root.manager.loggerDict]:
        caplog.set_level(logging.DEBUG, logger=name)
    port = authed
    typo = PASSWORD[:-1] + "3"
    sent = [GOOD, basic(USER, typo), basic(typo, PASSWORD), "Basic not*base64!"]
    for authorization in sent:
        for method, path, body in (
            ("GET", f"/api/v1/camera/0/camerastate?{IDS}", None),
            ("PUT", "/api/v1/camera/0/connected", f"Connected=True&{IDS}"),
            ("PUT", "/api/v1/camera/0/gain", f"Gain=banana&{IDS}"),  # a 400
            ("PUT", "/api/v1/camera/0/nomember", IDS),  # a 400
            ("GET", "/setup", None),
            ("GET", "/nope", None),
            ("GET", "/management/v1/configureddevices", None),
        ):
            _ask(port, method, path, authorization, body)
    assert _value(port, "connected") is True  # the authenticated requests did run
    records = caplog.records
    assert any(r.name == "alpaca_sony.alpaca.auth" for r in records)  # refusals were logged
    assert any(r.levelno == logging.DEBUG for r in records)  # DEBUG really was captured
    text = caplog.text + "".join(repr(r.args) + repr(r.__dict__) for r in records)
    secrets = [PASSWORD, typo, *(a.split(" ", 1)[-1] for a in sent if a.startswith("Basic "))]
    for secret in secrets:
        assert secret not in text
    assert str(password_file.read_text()) not in text


def test_alpyca_logs_in_with_the_credentials_in_its_address(authed: int, tmp_path: Path) -> None:
    """alpyca (3.x) has no credential parameter; it uses requests, which takes Basic
    credentials from the address's user:password@ part (percent-encoded), the ImageBytes
    download included (alpyca fetches that with requests.get, not its session)."""
    from alpaca.camera import Camera
    from alpaca.exceptions import AlpacaRequestException

    from tests.alpaca.conftest import saved_by_server

    anonymous = Camera(f"127.0.0.1:{authed}", 0)
    with pytest.raises(AlpacaRequestException) as refused:
        anonymous.Connected = True
    assert refused.value.number == 401
    login = f"{urllib.parse.quote(USER, safe='')}:{urllib.parse.quote(PASSWORD, safe='')}"
    camera = Camera(f"{login}@127.0.0.1:{authed}", 0)
    camera.Connected = True
    assert camera.Connected
    camera.BinX = camera.BinY = 4  # a small image: the download is not what is tested
    camera.StartExposure(1.0, True)
    deadline = time.monotonic() + 60
    while not camera.ImageReady:
        assert time.monotonic() < deadline, "the image never became ready"
        time.sleep(0.02)
    image = camera.ImageArray  # ImageBytes through requests.get
    assert len(image) == 6024 // 4 and len(image[0]) == 4024 // 4
    assert len(saved_by_server(camera, 1)) == 1
    camera.Connected = False


# -- a server open to the network, in a private network namespace ------------------------------


def _namespace_facts() -> dict[str, Any]:
    """Runs this file under ``unshare -n``; the JSON line it printed."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("`unshare` (util-linux) not found: run the tests as root", pytrace=False)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [unshare, "-n", sys.executable, "-W", "error", __file__],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"the namespace run failed:\n{done.stdout}\n{done.stderr}"
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


def test_serving_every_address_without_auth_warns_once_and_with_auth_discovery_stays_open() -> None:
    facts = _namespace_facts()
    without, with_auth = facts["without auth"], facts["with auth"]
    assert without["warnings"] == [
        "serving 0.0.0.0 without authentication: anyone on the network can drive the camera and "
        "read its images; to require a password set auth_user and auth_password_file in the "
        "[server] settings (or --auth-user NAME --auth-password-file FILE)"
    ]
    assert with_auth["warnings"] == []
    assert with_auth["discovery"] == {"AlpacaPort": with_auth["port"]}
    assert with_auth["statuses"] == {"apiversions": 200, "camerastate": 401, "logged in": 200}


@pytest.mark.parametrize(
    ("host", "open_to_network"),
    [
        ("127.0.0.1", False), ("127.0.0.2", False), ("::1", False), ("localhost", False),
        ("0.0.0.0", True), ("::", True), ("", True), ("192.168.1.20", True),
        ("fe80::1%eth0", True), ("observatory.lan", True),
    ],
)  # fmt: skip
def test_which_addresses_are_open_to_the_network(host: str, open_to_network: bool) -> None:
    from alpaca_sony.alpaca.auth import serves_beyond_loopback

    assert serves_beyond_loopback(host) is open_to_network


def _in_namespace() -> dict[str, Any]:
    """The child side: a Runtime on 0.0.0.0 with discovery on, without and then with auth."""
    from alpaca_sony.config import Config, with_overrides
    from alpaca_sony.runtime import Runtime

    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        sys.exit("refusing to bind 0.0.0.0 outside a fresh network namespace")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"alpaca-sony-auth-{os.getpid()}"
    folder.mkdir()
    (folder / "password").write_text(PASSWORD, encoding="utf-8")
    (folder / "password").chmod(0o600)
    warnings: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record)

    handler = Keep(logging.WARNING)
    logging.getLogger().addHandler(handler)
    facts: dict[str, Any] = {}
    for case, auth in (
        ("without auth", {}),
        ("with auth", {"auth_user": USER, "auth_password_file": str(folder / "password")}),
    ):
        warnings.clear()
        config = with_overrides(
            Config(),
            server={"host": "0.0.0.0", "port": 0, **auth},
            discovery={"enabled": True, "mdns": False},
            camera={"simulator": "ILCE-7M3", "save_dir": str(folder / "saved")},
        )
        runtime = Runtime(config)
        port = runtime.start()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.settimeout(5)
                udp.sendto(b"alpacadiscovery1", ("127.0.0.1", config.discovery.port))
                discovery = json.loads(udp.recv(1024))
            statuses = {
                "apiversions": _ask(port, "GET", "/management/apiversions")[0],
                "camerastate": _ask(port, "GET", f"/api/v1/camera/0/camerastate?{IDS}")[0],
                "logged in": _ask(port, "GET", f"/api/v1/camera/0/camerastate?{IDS}", GOOD)[0],
            }
        finally:
            runtime.stop()
        facts[case] = {
            "port": port,
            "discovery": discovery,
            "statuses": statuses,
            "warnings": [
                r.getMessage() for r in warnings if "without authentication" in r.getMessage()
            ],
        }
    return facts


if __name__ == "__main__":
    sys.stdout.write(json.dumps(_in_namespace()) + "\n")
