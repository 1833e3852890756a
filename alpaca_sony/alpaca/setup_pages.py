"""The /setup HTML pages: live status and the settings in force (read-only for now)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from alpaca_sony.camera.state import CameraState
from alpaca_sony.sony.values import Iso, ShutterSpeed

if TYPE_CHECKING:
    from alpaca_sony.alpaca.app import ServerInfo
    from alpaca_sony.alpaca.camera_device import CameraDevice

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;background:#111;color:#ddd}"
    "table{border-collapse:collapse}td,th{padding:.25em .8em;text-align:left;"
    "border-bottom:1px solid #333}a{color:#f66}h1,h2{color:#f88}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<meta http-equiv='refresh' content='5'><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def _rows(rows: list[tuple[str, object]]) -> str:
    cells = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape('' if v is None else str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{cells}</table>"


def _status_rows(device: CameraDevice) -> list[tuple[str, object]]:
    snap = device.worker.snapshot()
    facts = snap.facts
    return [
        ("Device number", device.number),
        ("Unique ID", device.unique_id),
        ("Model", device.model_name),
        ("Serial number", facts.serial_number or device.serial_number),
        ("Firmware", facts.firmware),
        ("Connected", snap.connected),
        ("USB link", "up" if snap.online else "down"),
        ("State", CameraState(snap.state).name.lower()),
        ("Image ready", snap.image_ready),
        ("Message", snap.message or "-"),
        ("ISO", Iso(facts.iso) if facts.iso is not None else "-"),
        ("Shutter speed", ShutterSpeed(facts.shutter) if facts.shutter is not None else "-"),
        ("File format", facts.file_format or "-"),
        ("Battery", f"{facts.battery_percent} %" if facts.battery_percent is not None else "-"),
        ("Images waiting in camera", facts.images_waiting),
    ]


def server_page(server: ServerInfo, devices: list[CameraDevice]) -> str:
    """The main page: server identity, settings, and one line per camera."""
    cameras = "".join(
        f"<li><a href='/setup/v1/camera/{d.number}/setup'>Camera {d.number}: "
        f"{escape(d.name())} ({escape(d.model_name)})</a></li>"
        for d in devices
    )
    body = (
        f"<h1>{escape(server.name)}</h1>"
        + _rows(
            [
                ("Manufacturer", server.manufacturer),
                ("Version", server.version),
                ("Location", server.location),
            ]
        )
        + "<h2>Cameras</h2><ul>"
        + (cameras or "<li>none found</li>")
        + "</ul><h2>Settings</h2>"
        + _rows(sorted(server.settings.items()))
    )
    return _page(server.name, body)


def device_page(server: ServerInfo, device: CameraDevice) -> str:
    """One camera: live status and its recent saved originals."""
    snap = device.worker.snapshot()
    files = "".join(f"<li>{escape(name)}</li>" for name in reversed(snap.saved_files[-20:]))
    body = (
        f"<h1>{escape(device.name())}</h1>"
        + _rows(_status_rows(device))
        + "<h2>Recently saved originals</h2><ul>"
        + (files or "<li>none yet</li>")
        + f"</ul><p><a href='/setup'>{escape(server.name)}</a></p>"
    )
    return _page(device.name(), body)
