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
from typing import Any, ClassVar

import falcon

from alpaca_sony.alpaca import responses
from alpaca_sony.alpaca.camera_device import CameraDevice
from alpaca_sony.alpaca.csrf import TOKEN_FIELD, FormTokens, same_origin
from alpaca_sony.alpaca.errors import AlpacaError, BadRequest, DriverError
from alpaca_sony.alpaca.image_payload import ImagePayloads
from alpaca_sony.alpaca.members import MEMBERS
from alpaca_sony.alpaca.params import AlpacaRequest, parse_form, parse_query
from alpaca_sony.alpaca.server_info import ServerInfo
from alpaca_sony.alpaca.setup_form import FormRefused, capture_options_from, read_fields
from alpaca_sony.alpaca.setup_pages import CaptureForm, device_page, refused_page, server_page
from alpaca_sony.camera.decode import demosaic_algorithms
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
    """/setup and /setup/v1/camera/{n}/setup: status and settings as HTML; a camera's capture
    settings change only by a POST of its page's form, with the page's CSRF token."""

    # Pages with a form must not be framed (clickjacking), cached or left to run scripts.
    HEADERS: ClassVar[dict[str, str]] = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
    }
    APPLIED = "Applied: the next exposure uses these settings."
    FORGED = (
        "This form did not come from this server's setup page, or the server restarted since "
        "the page was opened: reload the setup page and apply again."
    )

    def __init__(
        self, devices: Sequence[CameraDevice], server: ServerInfo, tokens: FormTokens
    ) -> None:
        self.devices = {d.number: d for d in devices}
        self.server = server
        self.tokens = tokens
        self.algorithms = demosaic_algorithms()

    def _html(self, resp: falcon.Response, status: str, text: str) -> None:
        resp.status = status
        resp.content_type = falcon.MEDIA_HTML
        resp.set_headers(self.HEADERS)
        resp.text = text

    def _device(self, number: str) -> CameraDevice | None:
        return self.devices.get(int(number)) if number.isdigit() and number.isascii() else None

    def _device_page(
        self, resp: falcon.Response, device: CameraDevice, path: str, status: str, **said: str
    ) -> None:
        form = CaptureForm(
            path, self.tokens.token(path), device.worker.capture_options, self.algorithms, **said
        )
        self._html(resp, status, device_page(self.server, device.view(), form))

    def on_get(self, req: falcon.Request, resp: falcon.Response, number: str | None = None) -> None:
        if number is None:
            views = [d.view() for d in self.devices.values()]
            self._html(resp, falcon.HTTP_200, server_page(self.server, views))
            return
        device = self._device(number)
        if device is None:
            _plain(resp, falcon.HTTP_404, f"there is no camera number {number}")
            return
        # Fields in a query change nothing: only the redirect after a POST says it applied.
        notice = self.APPLIED if req.get_param("applied") == "1" else ""
        self._device_page(resp, device, req.path, falcon.HTTP_200, notice=notice)

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, number: str | None = None
    ) -> None:
        device = self._device(number) if number is not None else None
        if device is None:
            _plain(resp, falcon.HTTP_404, "there is no settings form here: use a camera's page")
            return
        path = req.path
        origin, referer = req.get_header("Origin"), req.get_header("Referer")
        if not same_origin(req.get_header("Host"), origin, referer):
            self._refuse(req, resp, falcon.HTTP_403, self.FORGED, path)
            return
        try:
            fields = self._fields(req)
        except FormRefused as exc:
            self._refuse(req, resp, falcon.HTTP_400, str(exc), path)
            return
        if not self.tokens.valid(path, fields.get(TOKEN_FIELD)):
            self._refuse(req, resp, falcon.HTTP_403, self.FORGED, path)
            return
        try:
            options = capture_options_from(fields, device.worker.capture_options, self.algorithms)
            device.worker.set_capture_options(options)
        except (FormRefused, AlpacaSonyError) as exc:
            error = str(exc)
            if not isinstance(exc, FormRefused):  # the worker's cause, as a sentence
                error = f"{error[:1].upper()}{error[1:]}; nothing was changed."
            log.info("setup form for camera %s refused: %s", number, error)
            self._device_page(resp, device, path, falcon.HTTP_400, error=error)
            return
        log.info("camera %s capture settings changed from the setup page: %s", number, options)
        resp.status = falcon.HTTP_303
        resp.set_headers(self.HEADERS)
        resp.content_type = falcon.MEDIA_HTML
        resp.location = f"{path}?applied=1"  # a reload of the page then cannot post again

    @staticmethod
    def _fields(req: falcon.Request) -> dict[str, str]:
        media = (req.content_type or "").split(";", 1)[0].strip().lower()
        if media != falcon.MEDIA_URLENCODED:
            raise FormRefused("Send the form as application/x-www-form-urlencoded.")
        length = req.content_length or 0
        if length > MAX_FORM_BYTES:
            raise FormRefused("The form is too large: use the setup page's form.")
        return read_fields(req.bounded_stream.read() if length else b"")

    def _refuse(
        self, req: falcon.Request, resp: falcon.Response, status: str, message: str, back: str
    ) -> None:
        log.warning("refused a setup form POST to %s from %s: %s", back, req.remote_addr, message)
        self._html(resp, status, refused_page(self.server, message, back))


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
    setup = SetupResource(devices, server, FormTokens())  # a new secret for each process
    app.add_route("/setup", setup)
    app.add_route("/setup/v1/camera/{number}/setup", setup)
    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(AlpacaSonyError, _driver_error)
    app.add_error_handler(AlpacaError, _ascom_error)
    app.add_error_handler(BadRequest, _bad_request)
    return app
