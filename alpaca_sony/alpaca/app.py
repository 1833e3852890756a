"""The Falcon application: an explicit route table, errors mapped by Falcon's error handlers.

Responders only parse, call the member table and answer success. Whatever they raise is answered
by one handler per kind (alpaca.md 0.4, 0.6 and 1.6): :class:`BadRequest` as a plain-text 400;
an ASCOM error as HTTP 200 JSON with its ErrorNumber, the ClientTransactionID echoed and ``Value``
null where the member answers one; any other error of this package as a driver error (0x500);
anything unexpected as a plain-text 500. An image request's error is JSON like any other, even
when the client asked for ImageBytes (alpaca.md 0.22).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import falcon

from alpaca_sony.alpaca import responses
from alpaca_sony.alpaca.camera_device import CameraDevice
from alpaca_sony.alpaca.errors import AlpacaError, BadRequest, DriverError
from alpaca_sony.alpaca.image_payload import ImagePayloads
from alpaca_sony.alpaca.members import MEMBERS
from alpaca_sony.alpaca.params import AlpacaRequest, parse_form, parse_query
from alpaca_sony.alpaca.server_info import ServerInfo
from alpaca_sony.alpaca.setup_pages import device_page, server_page
from alpaca_sony.camera.state import LatestImage
from alpaca_sony.errors import AlpacaSonyError

log = logging.getLogger(__name__)

JSON = "application/json"
IMAGEBYTES = "application/imagebytes"
MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class _Transaction:
    """A parsed request's IDs, kept on ``req.context`` for the error handlers."""

    client_transaction_id: int
    server_transaction_id: int
    has_value: bool  # the reply carries ``Value`` (null on errors)


def _plain(resp: falcon.Response, status: str, text: str) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_TEXT
    resp.text = text


def _json(resp: falcon.Response, body: dict[str, Any]) -> None:
    resp.status = falcon.HTTP_200
    resp.content_type = JSON
    resp.data = responses.dumps(body)


def _log_answer(req: falcon.Request, error_number: int) -> None:
    level = logging.INFO if req.method == "PUT" else logging.DEBUG
    log.log(level, "%s %s -> %s", req.method, req.path, error_number)


def _parse(req: falcon.Request) -> AlpacaRequest:
    """The query of a GET or the form of a PUT.

    Raises:
        BadRequest: malformed IDs, a non-UTF-8 or over-long form.
    """
    if req.method != "PUT":
        return parse_query(req.query_string)
    length = req.content_length or 0
    if length > MAX_FORM_BYTES:
        raise BadRequest("the form body is too large")
    return parse_form(req.bounded_stream.read() if length else b"")


def _begin(
    req: falcon.Request, counter: responses.TransactionCounter, has_value: bool
) -> tuple[AlpacaRequest, _Transaction]:
    """Parse the request (a 400 takes no ServerTransactionID) and open its transaction."""
    request = _parse(req)
    transaction = _Transaction(request.client_transaction_id, counter.next(), has_value)
    req.context.transaction = transaction
    return request, transaction


def _answer(
    req: falcon.Request, resp: falcon.Response, transaction: _Transaction, value: Any
) -> None:
    body = responses.envelope(
        transaction.client_transaction_id,
        transaction.server_transaction_id,
        value=value,
        has_value=transaction.has_value,
    )
    _json(resp, body)
    _log_answer(req, 0)


class DeviceResource:
    """/api/v1/camera/{device_number}/{member}."""

    def __init__(self, counter: responses.TransactionCounter, devices: Sequence[CameraDevice]):
        self.counter = counter
        self.devices = {d.number: d for d in devices}
        self.payloads = {d.number: ImagePayloads() for d in devices}

    def _device(self, number: str) -> CameraDevice:
        """The device (an unknown number is a bad request: alpaca.md 1.6)."""
        if not number.isdigit() or not number.isascii() or int(number) not in self.devices:
            raise BadRequest(f"there is no camera number {number}")
        return self.devices[int(number)]

    def on_get(self, req: falcon.Request, resp: falcon.Response, number: str, member: str) -> None:
        device = self._device(number)
        row = MEMBERS.get(member)
        if row is None or row.get is None:
            raise BadRequest(f"{member} is not a camera property that can be read")
        request, transaction = _begin(req, self.counter, has_value=True)
        value = row.read(device)
        if row.image:
            self._send_image(req, resp, device, value, request, transaction)
        else:
            _answer(req, resp, transaction, value)

    def on_put(self, req: falcon.Request, resp: falcon.Response, number: str, member: str) -> None:
        device = self._device(number)
        row = MEMBERS.get(member)
        if row is None or row.put is None:
            raise BadRequest(f"{member} is not a camera member that can be written")
        request, transaction = _begin(req, self.counter, has_value=row.put.returns_value)
        _answer(req, resp, transaction, row.write(device, request))

    def _send_image(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        device: CameraDevice,
        image: LatestImage,
        request: AlpacaRequest,
        transaction: _Transaction,
    ) -> None:
        payloads = self.payloads[device.number]
        wants_bytes = IMAGEBYTES in (req.get_header("Accept") or "")
        build = payloads.image_bytes if wants_bytes else payloads.json
        length, chunks = build(
            image.number,
            image.frame,
            request.client_transaction_id,
            transaction.server_transaction_id,
        )
        resp.status = falcon.HTTP_200
        resp.content_type = IMAGEBYTES if wants_bytes else JSON
        resp.content_length = length
        resp.stream = chunks


class ManagementResource:
    """/management/apiversions, /management/v1/description, /management/v1/configureddevices."""

    def __init__(
        self,
        counter: responses.TransactionCounter,
        devices: Sequence[CameraDevice],
        server: ServerInfo,
        what: str,
    ):
        self.counter = counter
        self.devices = devices
        self.server = server
        self.what = what

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _, transaction = _begin(req, self.counter, has_value=True)
        _answer(req, resp, transaction, self._value())

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
            resp.text = server_page(self.server, [d.view() for d in self.devices.values()])
        elif number.isdigit() and int(number) in self.devices:
            resp.text = device_page(self.server, self.devices[int(number)].view())
        else:
            _plain(resp, falcon.HTTP_404, f"there is no camera number {number}")
            return
        resp.content_type = falcon.MEDIA_HTML


# -- error handlers (Falcon picks the most specific class registered) ----------------------------


def _bad_request(req: falcon.Request, resp: falcon.Response, exc: BadRequest, _: Any) -> None:
    _plain(resp, falcon.HTTP_400, str(exc))


def _ascom_error(req: falcon.Request, resp: falcon.Response, exc: AlpacaError, params: Any) -> None:
    transaction: _Transaction | None = getattr(req.context, "transaction", None)
    if transaction is None:  # raised before the request was parsed: a bug, not a client error
        _unexpected(req, resp, exc, params)
        return
    body = responses.envelope(
        transaction.client_transaction_id,
        transaction.server_transaction_id,
        exc,
        has_value=transaction.has_value,
    )
    _json(resp, body)
    _log_answer(req, exc.error_number)


def _driver_error(
    req: falcon.Request, resp: falcon.Response, exc: AlpacaSonyError, params: Any
) -> None:
    """A camera or USB failure the device layer did not turn into an ASCOM error."""
    log.warning("%s %s failed: %s", req.method, req.path, exc)
    _ascom_error(req, resp, DriverError(str(exc)), params)


def _unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, _: Any) -> None:
    """A bug: a plain-text 500 (Falcon's own errors, 404 and 405, keep their own handlers)."""
    log.error("internal error answering %s %s", req.method, req.path, exc_info=exc)
    _plain(resp, falcon.HTTP_500, f"internal server error: {exc}")


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
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(AlpacaSonyError, _driver_error)
    app.add_error_handler(AlpacaError, _ascom_error)
    app.add_error_handler(BadRequest, _bad_request)
    return app
