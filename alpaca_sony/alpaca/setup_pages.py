"""The /setup HTML pages: live status, the settings in force, and each camera's settings form.

Pure: each page is rendered from the server's identity, the cameras' read-only views and the
form's state; nothing here changes the camera (app.py applies a checked form through the worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from alpaca_sony.alpaca.csrf import TOKEN_FIELD
from alpaca_sony.alpaca.device_view import DeviceView
from alpaca_sony.alpaca.server_info import ServerInfo
from alpaca_sony.alpaca.setup_form import (
    DEMOSAIC,
    RGB_PRIMARIES,
    SWITCHES,
    Choice,
    config_lines,
    primaries_choices,
)
from alpaca_sony.camera.exposure import CaptureOptions

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;background:#111;color:#ddd}"
    "table{border-collapse:collapse}td,th{padding:.25em .8em;text-align:left;"
    "border-bottom:1px solid #333}a{color:#f66}h1,h2{color:#f88}"
    "label{display:block;margin:.3em 0}pre{background:#222;padding:.5em}"
    ".error{color:#f44;font-weight:bold}.notice{color:#8f8}"
)


@dataclass(frozen=True)
class CaptureForm:
    """The device page's settings form: what it shows and where it posts."""

    action: str  # the page's own path: the form posts back to it
    token: str  # the page's CSRF token
    options: CaptureOptions  # what the next exposure uses
    algorithms: tuple[str, ...]  # the demosaic algorithms this LibRaw runs
    notice: str = ""  # what the last submission did
    error: str = ""  # why the last submission changed nothing


def _page(title: str, body: str, refresh: bool = True) -> str:
    # A page with a form does not reload itself: that would wipe what the user is choosing.
    meta = "<meta http-equiv='refresh' content='5'>" if refresh else ""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"{meta}<style>{_STYLE}</style></head><body>{body}</body></html>"
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


def _select(choice: Choice, values: Sequence[str], current: str) -> str:
    options = "".join(
        f"<option value='{escape(v)}'{' selected' if v == current else ''}>{escape(v)}</option>"
        for v in values
    )
    return (
        f"<label>{escape(choice.label)} "
        f"<select name='{choice.name}' id='{choice.name}'>{options}</select></label>"
    )


def _form(form: CaptureForm) -> str:
    options = form.options
    boxes = "".join(
        f"<label><input type='checkbox' name='{s.name}' id='{s.name}'"
        f"{' checked' if getattr(options, s.name) else ''}> {escape(s.label)}</label>"
        for s in SWITCHES
    )
    said = ""
    if form.error:
        said = f"<p class='error' id='form-error' role='alert'>{escape(form.error)}</p>"
    elif form.notice:
        said = f"<p class='notice' id='form-notice'>{escape(form.notice)}</p>"
    return (
        "<h2>Capture settings</h2>"
        + said
        + f"<form method='post' action='{escape(form.action)}'>"
        + f"<input type='hidden' name='{TOKEN_FIELD}' value='{escape(form.token)}'>"
        + boxes
        + _select(DEMOSAIC, form.algorithms, options.decode.algorithm)
        + _select(RGB_PRIMARIES, primaries_choices(), options.decode.colour_space.value)
        + "<button type='submit' id='apply'>Apply</button></form>"
        + "<p>Changes apply to every exposure started after them: one already started "
        "finishes with the settings it started with. They last until the server restarts; to "
        "keep them, put these lines in the settings file (<code>--config</code>):</p>"
        + f"<pre id='config-lines'>{escape(config_lines(options))}</pre>"
    )


def device_page(server: ServerInfo, view: DeviceView, form: CaptureForm | None = None) -> str:
    """One camera: live status, its settings form and its recent saved originals."""
    files = "".join(f"<li>{escape(name)}</li>" for name in reversed(view.saved_files[-20:]))
    body = (
        f"<h1>{escape(view.name)}</h1>"
        + _rows(_status_rows(view))
        + (f"<p><a href='{escape(form.action)}'>Refresh the status</a></p>" if form else "")
        + (_form(form) if form else "")
        + "<h2>Recently saved originals</h2><ul>"
        + (files or "<li>none yet</li>")
        + f"</ul><p><a href='/setup'>{escape(server.name)}</a></p>"
    )
    return _page(view.name, body, refresh=form is None)


def refused_page(server: ServerInfo, message: str, back: str) -> str:
    """A form that changed nothing, when there is no device page to show the sentence on."""
    body = (
        f"<h1>Nothing was changed</h1><p class='error' id='form-error' role='alert'>"
        f"{escape(message)}</p><p><a href='{escape(back)}'>Back to the setup page</a></p>"
    )
    return _page(server.name, body, refresh=False)
