"""The setup pages: rendered from the server's identity and each camera's read-only view."""

from __future__ import annotations

import re
from dataclasses import replace

from alpaca_sony.alpaca.device_view import DeviceView
from alpaca_sony.alpaca.setup_pages import device_page, server_page
from alpaca_sony.camera.state import CameraState
from tests.alpaca.conftest import SERVER, Api

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
