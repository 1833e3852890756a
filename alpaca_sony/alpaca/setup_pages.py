"""The /setup HTML pages: live status and the settings in force (read-only for now).

Pure: each page is rendered from the server's identity and the cameras' read-only views.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from alpaca_sony.alpaca.device_view import DeviceView
from alpaca_sony.alpaca.server_info import ServerInfo

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


def _status_rows(view: DeviceView) -> list[tuple[str, object]]:
    return [
        ("Device number", view.number),
        ("Unique ID", view.unique_id),
        ("Model", view.model_name),
        ("Serial number", view.serial_number),
        ("Firmware", view.firmware),
        ("Connected", view.connected),
        ("USB link", "up" if view.usb_link_up else "down"),
        ("State", view.state.name.lower()),
        ("Image ready", view.image_ready),
        ("Message", view.message or "-"),
        ("Saving originals", view.disk_trouble or "ok"),
        ("ISO", view.iso if view.iso is not None else "-"),
        ("Shutter speed", view.shutter if view.shutter is not None else "-"),
        ("File format", view.file_format or "-"),
        ("Battery", f"{view.battery_percent} %" if view.battery_percent is not None else "-"),
        ("Images waiting in camera", view.images_waiting),
    ]


def server_page(server: ServerInfo, cameras: Sequence[DeviceView]) -> str:
    """The main page: server identity, settings, and one line per camera."""
    items = "".join(
        f"<li><a href='/setup/v1/camera/{view.number}/setup'>Camera {view.number}: "
        f"{escape(view.name)} ({escape(view.model_name)})</a></li>"
        for view in cameras
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
        + (items or "<li>none found</li>")
        + "</ul><h2>Settings</h2>"
        + _rows(sorted(server.settings.items()))
    )
    return _page(server.name, body)


def device_page(server: ServerInfo, view: DeviceView) -> str:
    """One camera: live status and its recent saved originals."""
    files = "".join(f"<li>{escape(name)}</li>" for name in reversed(view.saved_files[-20:]))
    body = (
        f"<h1>{escape(view.name)}</h1>"
        + _rows(_status_rows(view))
        + "<h2>Recently saved originals</h2><ul>"
        + (files or "<li>none yet</li>")
        + f"</ul><p><a href='/setup'>{escape(server.name)}</a></p>"
    )
    return _page(view.name, body)
