"""The Falcon application: an explicit route table, one error-mapping point, plain-text 400s."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import falcon

from alpaca_sony.alpaca import responses
from alpaca_sony.alpaca.camera_device import CameraDevice
from alpaca_sony.alpaca.errors import AlpacaError, BadRequest, DriverError
from alpaca_sony.alpaca.image_payload import ImagePayloads
from alpaca_sony.alpaca.members import IMAGE_MEMBERS, MEMBERS
from alpaca_sony.alpaca.params import AlpacaRequest, parse_form, parse_query
from alpaca_sony.alpaca.setup_pages import device_page, server_page
from alpaca_sony.errors import AlpacaSonyError

log = logging.getLogger(__name__)

JSON = "application/json"
IMAGEBYTES = "application/imagebytes"
MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class ServerInfo:
    """What /management/v1/description and the setup page say about this server."""

    name: str
    manufacturer: str
    version: str
    location: str
    settings: dict[str, str]


def _plain(resp: falcon.Response, status: str, text: str) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_TEXT
    resp.text = text


def _json(resp: falcon.Response, body: dict[str, Any]) -> None:
    resp.status = falcon.HTTP_200
    resp.content_type = JSON
    resp.data = responses.dumps(body)


class _Base:
    def __init__(self, counter: responses.TransactionCounter):
        self.counter = counter

    def _parse(self, req: falcon.Request, put: bool) -> AlpacaRequest:
        if not put:
            return parse_query(req.query_string)
        length = req.content_length or 0
        if length > MAX_FORM_BYTES:
            raise BadRequest("the form body is too large")
        return parse_form(req.bounded_stream.read() if length else b"")

    def _answer(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        put: bool,
        action: Callable[[AlpacaRequest], Any],
        has_value: bool,
    ) -> None:
        """Parse, run, and answer: 400 for bad requests, 200 + ErrorNumber for ASCOM errors."""
        try:
            request = self._parse(req, put)
        except BadRequest as exc:
            _plain(resp, falcon.HTTP_400, str(exc))
            return
        server_tid = self.counter.next()
        error: AlpacaError | None = None
        value: Any = None
        try:
            value = action(request)
        except BadRequest as exc:
            _plain(resp, falcon.HTTP_400, str(exc))
            return
        except AlpacaError as exc:
            error = exc
        except AlpacaSonyError as exc:
            log.warning("%s %s failed: %s", req.method, req.path, exc)
            error = DriverError(str(exc))
        body = responses.envelope(
            request.client_transaction_id, server_tid, error, value=value, has_value=has_value
        )
        _json(resp, body)
        if put:
            log.info("%s %s -> %s", req.method, req.path, body["ErrorNumber"])
        else:
            log.debug("%s %s -> %s", req.method, req.path, body["ErrorNumber"])


class DeviceResource(_Base):
    """/api/v1/camera/{device_number}/{member}."""

    def __init__(self, counter: responses.TransactionCounter, devices: Sequence[CameraDevice]):
        super().__init__(counter)
        self.devices = {d.number: d for d in devices}
        self.payloads = {d.number: ImagePayloads() for d in devices}

    def _device(self, resp: falcon.Response, number: str) -> CameraDevice | None:
        """The device, or None after answering 400 (an unknown number is a bad request)."""
        if not number.isdigit() or not number.isascii() or int(number) not in self.devices:
            _plain(resp, falcon.HTTP_400, f"there is no camera number {number}")
            return None
        return self.devices[int(number)]

    def on_get(self, req: falcon.Request, resp: falcon.Response, number: str, member: str) -> None:
        device = self._device(resp, number)
        if device is None:
            return
        if member in IMAGE_MEMBERS:
            self._image(req, resp, device)
            return
        entry = MEMBERS.get(member)
        if entry is None or entry.get is None:
            _plain(resp, falcon.HTTP_400, f"{member} is not a camera property that can be read")
            return
        getter = entry.get
        self._answer(req, resp, False, lambda _r: getter(device), has_value=True)

    def on_put(self, req: falcon.Request, resp: falcon.Response, number: str, member: str) -> None:
        device = self._device(resp, number)
        if device is None:
            return
        entry = MEMBERS.get(member)
        if entry is None or entry.put is None:
            _plain(resp, falcon.HTTP_400, f"{member} is not a camera member that can be written")
            return
        putter = entry.put
        returns_value = member in ("action", "commandbool", "commandstring")
        self._answer(req, resp, True, lambda r: putter(device, r), has_value=returns_value)

    def _image(self, req: falcon.Request, resp: falcon.Response, device: CameraDevice) -> None:
        try:
            request = parse_query(req.query_string)
        except BadRequest as exc:
            _plain(resp, falcon.HTTP_400, str(exc))
            return
        server_tid = self.counter.next()
        try:
            frame = device.frame()
        except AlpacaError as exc:
            # Errors always go as JSON: clients mishandle ImageBytes error bodies.
            body = responses.envelope(
                request.client_transaction_id, server_tid, exc, has_value=True
            )
            _json(resp, body)
            return
        payloads = self.payloads[device.number]
        number = device.image_number()
        wants_bytes = IMAGEBYTES in (req.get_header("Accept") or "")
        build = payloads.image_bytes if wants_bytes else payloads.json
        length, chunks = build(number, frame, request.client_transaction_id, server_tid)
        resp.status = falcon.HTTP_200
        resp.content_type = IMAGEBYTES if wants_bytes else JSON
        resp.content_length = length
        resp.stream = chunks


class ManagementResource(_Base):
    """/management/apiversions, /management/v1/description, /management/v1/configureddevices."""

    def __init__(
        self,
        counter: responses.TransactionCounter,
        devices: Sequence[CameraDevice],
        server: ServerInfo,
        what: str,
    ):
        super().__init__(counter)
        self.devices = devices
        self.server = server
        self.what = what

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._answer(req, resp, False, lambda _r: self._value(), has_value=True)

    def _value(self) -> Any:
        if self.what == "apiversions":
            return [1]
        if self.what == "description":
            return {
                "ServerName": self.server.name,
                "Manufacturer": self.server.manufacturer,
                "ManufacturerVersion": self.server.version,
                "Location": self.server.location,
            }
        return [
            {
                "DeviceName": d.name(),
                "DeviceType": "Camera",
                "DeviceNumber": d.number,
                "UniqueID": d.unique_id,
            }
            for d in self.devices
        ]


class SetupResource:
    """/setup and /setup/v1/camera/{n}/setup: status and settings as HTML."""

    def __init__(self, devices: Sequence[CameraDevice], server: ServerInfo):
        self.devices = {d.number: d for d in devices}
        self.server = server

    def on_get(self, req: falcon.Request, resp: falcon.Response, number: str | None = None) -> None:
        if number is None:
            resp.text = server_page(self.server, list(self.devices.values()))
        elif number.isdigit() and int(number) in self.devices:
            resp.text = device_page(self.server, self.devices[int(number)])
        else:
            _plain(resp, falcon.HTTP_404, f"there is no camera number {number}")
            return
        resp.content_type = falcon.MEDIA_HTML


def create_app(devices: Sequence[CameraDevice], server: ServerInfo) -> falcon.App[Any, Any]:
    """The WSGI application with every Alpaca route."""
    app = falcon.App(media_type=JSON)
    app.req_options.keep_blank_qs_values = True
    counter = responses.TransactionCounter()
    app.add_route("/api/v1/camera/{number}/{member}", DeviceResource(counter, devices))
    for what, path in (
        ("apiversions", "/management/apiversions"),
        ("description", "/management/v1/description"),
        ("configureddevices", "/management/v1/configureddevices"),
    ):
        app.add_route(path, ManagementResource(counter, devices, server, what))
    setup = SetupResource(devices, server)
    app.add_route("/setup", setup)
    app.add_route("/setup/v1/camera/{number}/setup", setup)

    def unexpected(
        req: falcon.Request, resp: falcon.Response, exc: Exception, _params: Any
    ) -> None:
        if isinstance(exc, falcon.HTTPError):
            raise exc
        log.error("internal error answering %s %s", req.method, req.path, exc_info=exc)
        _plain(resp, falcon.HTTP_500, f"internal server error: {exc}")

    app.add_error_handler(Exception, unexpected)
    return app
