"""The setup pages: rendered from the server's identity and each camera's read-only view."""

from __future__ import annotations

import html
import http.client
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import pytest
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alpaca_sony.alpaca.csrf import FormTokens
from alpaca_sony.alpaca.device_view import DeviceView
from alpaca_sony.alpaca.setup_form import capture_options_from
from alpaca_sony.alpaca.setup_pages import device_page, server_page
from alpaca_sony.camera.decode import demosaic_algorithms
from alpaca_sony.camera.state import CameraState
from tests.alpaca.conftest import SERVER, Api
from tests.camera.conftest import DownloadGate

VIEW = DeviceView(
    number=0,
    unique_id="uid-0",
    name="Sony a7 III",
    model_name="ILCE-7M3",
    serial_number="SERIAL1",
    firmware="3.10",
    connected=True,
    usb_link_up=False,
    state=CameraState.EXPOSING,
    image_ready=False,
    message="",
    disk_trouble="the save folder is full: 2 originals wait in memory <until> it takes them",
    iso=None,
    shutter=None,
    file_format="",
    battery_percent=None,
    images_waiting=2,
    saved_files=tuple(f"DSC{n:05d}.ARW" for n in range(25)),
)


def _row(page: str, label: str) -> str:
    match = re.search(rf"<tr><th>{re.escape(label)}</th><td>(.*?)</td></tr>", page)
    assert match, label
    return match.group(1)


def test_device_page_shows_the_view() -> None:
    page = device_page(SERVER, VIEW)
    assert _row(page, "State") == "exposing" and _row(page, "USB link") == "down"
    assert _row(page, "Saving originals") == (
        "the save folder is full: 2 originals wait in memory &lt;until&gt; it takes them"
    )
    assert (
        _row(page, "Serial number") == "SERIAL1" and _row(page, "Images waiting in camera") == "2"
    )
    for unknown in ("Message", "ISO", "Shutter speed", "File format", "Battery"):
        assert _row(page, unknown) == "-", unknown


def test_device_page_lists_the_newest_twenty_originals_first() -> None:
    names = re.findall(r"<li>(DSC\d+\.ARW)</li>", device_page(SERVER, VIEW))
    assert names == [f"DSC{n:05d}.ARW" for n in range(24, 4, -1)]


def test_pages_escape_what_the_camera_and_files_say() -> None:
    hostile = replace(
        VIEW, name="<b>a7</b>", message="<script>x</script>", saved_files=("<i>.ARW",)
    )
    page = device_page(SERVER, hostile)
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<i>.ARW" not in page and "<b>a7</b>" not in page
    assert "&lt;b&gt;a7&lt;/b&gt;" in server_page(SERVER, [hostile])


def test_server_page_links_every_camera() -> None:
    page = server_page(SERVER, [VIEW, replace(VIEW, number=3, name="Sony a1")])
    assert re.findall(r"href='(/setup/v1/camera/\d+/setup)'", page) == [
        "/setup/v1/camera/0/setup",
        "/setup/v1/camera/3/setup",
    ]
    assert "none found" in server_page(SERVER, [])


def test_the_page_follows_the_live_camera(api: Api) -> None:
    before = api.client.simulate_get("/setup/v1/camera/0/setup").text
    assert _row(before, "Connected") == "False"
    api.connect()
    after = api.client.simulate_get("/setup/v1/camera/0/setup").text
    assert _row(after, "Connected") == "True" and _row(after, "USB link") == "up"
    assert _row(after, "ISO") != "-" and _row(after, "State") == "idle"
    assert api.client.simulate_get("/setup/v1/camera/7/setup").status_code == 404


# -- the capture-settings form (issue 9 point 8) -----------------------------------------------

PAGE = "/setup/v1/camera/0/setup"
SITE = "http://falconframework.org"  # the Host Falcon's test client sends
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}
FORGED = "This form did not come from this server's setup page"


def _token(api: Api) -> str:
    match = re.search(r"name='csrf_token' value='([^']+)'", api.client.simulate_get(PAGE).text)
    assert match
    return match.group(1)


def _fields(token: str | None, **changes: str) -> str:
    fields = {"save_originals": "on", "demosaic": "AHD", "rgb_primaries": "camera", **changes}
    if token is not None:
        fields["csrf_token"] = token
    return urlencode(fields)


def _post(api: Api, body: str, **headers: str) -> testing.Result:
    return api.client.simulate_post(PAGE, body=body, headers={**FORM_TYPE, **headers})


def _error(page: str) -> str:
    match = re.search(r"id='form-error' role='alert'>(.*?)</p>", page)
    assert match, page
    return html.unescape(match.group(1))


def test_the_page_form_applies_and_says_so(api: Api) -> None:
    reply = _post(api, _fields(_token(api), keep_jpeg="on", demosaic="VNG"), Origin=SITE)
    assert reply.status_code == 303 and reply.headers["location"] == f"{PAGE}?applied=1"
    options = api.device.worker.capture_options
    assert options.keep_jpeg and options.decode.algorithm == "VNG"
    page = api.client.simulate_get(PAGE, query_string="applied=1").text
    assert "Applied: the next exposure uses these settings." in page
    assert re.search(r"name='keep_jpeg' id='keep_jpeg' checked", page)


@pytest.mark.parametrize(
    "token",
    [None, "", "wrong", FormTokens().token(PAGE)],
    ids=["none", "empty", "wrong", "another-process"],
)
def test_a_post_without_the_page_token_is_refused_and_changes_nothing(
    api: Api, token: str | None
) -> None:
    before = api.device.worker.capture_options
    reply = _post(api, _fields(token, keep_jpeg="on", save_originals="off"))
    assert reply.status_code == 403 and _error(reply.text).startswith(FORGED)
    assert api.device.worker.capture_options == before


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Referer": "http://evil.example/x"}],
)
def test_a_post_from_another_site_is_refused_even_with_the_token(
    api: Api, headers: dict[str, str]
) -> None:
    before = api.device.worker.capture_options
    reply = _post(api, _fields(_token(api), keep_jpeg="on"), **headers)
    assert reply.status_code == 403 and _error(reply.text).startswith(FORGED)
    assert api.device.worker.capture_options == before


def test_a_get_with_the_fields_changes_nothing(api: Api) -> None:
    before = api.device.worker.capture_options
    query = _fields(_token(api), keep_jpeg="on", save_originals="off")
    assert api.client.simulate_get(PAGE, query_string=query).status_code == 200
    assert api.device.worker.capture_options == before


def test_one_bad_value_shows_a_sentence_and_changes_nothing(api: Api) -> None:
    before = api.device.worker.capture_options
    # keep_jpeg is valid and comes first: it must not apply alone.
    reply = _post(api, _fields(_token(api), keep_jpeg="on", demosaic="AMAZE2"), Origin=SITE)
    assert reply.status_code == 400
    assert _error(reply.text).startswith("Demosaic algorithm (RGB readout modes) must be one of")
    assert api.device.worker.capture_options == before
    assert not re.search(r"id='keep_jpeg' checked", reply.text)  # the page shows what holds


def test_saving_turned_on_to_a_folder_that_refuses_files_changes_nothing(
    api: Api, tmp_path: Path
) -> None:
    token = _token(api)
    assert _post(api, _fields(token, save_originals="off")).status_code == 303
    folder = tmp_path / "orig"
    shutil.rmtree(folder, ignore_errors=True)
    folder.write_text("a file where the folder should be")
    before = api.device.worker.capture_options
    reply = _post(api, _fields(token, save_originals="on", keep_jpeg="on"))
    assert reply.status_code == 400
    error = _error(reply.text)
    assert error.startswith(f"Originals cannot be saved because {folder} cannot be written (")
    assert error.endswith("): fix the folder or leave saving off; nothing was changed.")
    assert api.device.worker.capture_options == before


def test_a_change_during_an_exposure_leaves_that_exposure_alone(api: Api, tmp_path: Path) -> None:
    api.connect()
    gate = DownloadGate(api.camera.body)
    assert api.put("startexposure", "Duration=1&Light=true").json["ErrorNumber"] == 0
    assert gate.reached.wait(10)  # the exposure is downloading, with saving on
    # Answered at once (the worker is busy), and the page shows what the next exposure uses.
    assert _post(api, _fields(_token(api), save_originals="off")).status_code == 303
    assert not re.search(r"id='save_originals' checked", api.client.simulate_get(PAGE).text)
    gate.release()
    api.wait_image()
    assert len(api.wait_saved(1)) == 1  # saved under the options it started with
    assert api.put("startexposure", "Duration=1&Light=true").json["ErrorNumber"] == 0
    api.wait_image()
    api.device.worker.call(lambda: None)  # runs once the exposure, its saving included, is done
    assert len(api.device.worker.snapshot().saved_files) == 1
    assert len(list((tmp_path / "orig").rglob("*.ARW"))) == 1


def test_the_form_refuses_other_encodings_and_pages(api: Api) -> None:
    token = _token(api)
    reply = api.client.simulate_post(
        PAGE, body=_fields(token), headers={"Content-Type": "text/plain"}
    )
    assert reply.status_code == 400
    assert _error(reply.text) == "Send the form as application/x-www-form-urlencoded."
    for path in ("/setup", "/setup/v1/camera/7/setup"):
        assert (
            api.client.simulate_post(path, body=_fields(token), headers=FORM_TYPE).status_code
            == 404
        )


def test_setup_pages_cannot_be_framed_or_cached(api: Api) -> None:
    for path in ("/setup", PAGE):
        headers = api.client.simulate_get(path).headers
        assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    page = api.client.simulate_get(PAGE).text
    assert "http-equiv='refresh'" not in page  # a reload would wipe the form being filled in


def test_the_host_check_stands_in_front_of_the_form(serve: Callable[..., int]) -> None:
    """A rebound name (DNS rebinding) is refused before the form is read, token or not."""
    port = serve()

    def ask(method: str, host: str, body: str | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            headers = {"Host": host, "Origin": f"http://{host}", **(FORM_TYPE if body else {})}
            conn.request(method, PAGE, body, headers)
            reply = conn.getresponse()
            return reply.status, reply.read().decode()
        finally:
            conn.close()

    own = f"127.0.0.1:{port}"
    status, page = ask("GET", own)
    match = re.search(r"name='csrf_token' value='([^']+)'", page)
    assert status == 200 and match
    status, text = ask("POST", f"evil.example:{port}", _fields(match.group(1), keep_jpeg="on"))
    assert status == 400 and text.startswith("This server does not answer to the name")
    assert "keep_jpeg = false" in ask("GET", own)[1]


SWITCH_NAMES = ("save_originals", "keep_jpeg", "also_save_to_card", "prefer_builtin_speeds")
VALID_FORMS = st.fixed_dictionaries(
    {
        "demosaic": st.sampled_from(demosaic_algorithms()),
        "rgb_primaries": st.sampled_from(["camera", "srgb"]),
    },
    optional={name: st.sampled_from(["on", "off"]) for name in SWITCH_NAMES},
)
SPOILERS = st.dictionaries(
    st.sampled_from([*SWITCH_NAMES, "demosaic", "rgb_primaries", "save_dir", "Demosaic"]),
    st.one_of(st.sampled_from(["on", "AMAZE", "", "sRGB"]), st.text(max_size=8)),
    max_size=2,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(valid=VALID_FORMS, spoilers=SPOILERS)
def test_any_form_applies_whole_or_not_at_all(
    api: Api, valid: dict[str, str], spoilers: dict[str, str]
) -> None:
    fields = {**valid, **spoilers}
    before = api.device.worker.capture_options
    reply = _post(api, urlencode({**fields, "csrf_token": _token(api)}))
    after = api.device.worker.capture_options
    if reply.status_code == 303:
        assert after == capture_options_from(fields, before, demosaic_algorithms())
    else:
        assert reply.status_code == 400 and after == before, reply.text
        assert _error(reply.text).endswith(".")
