"""The HTTP server: waitress serving the Alpaca app within limits no LAN host can exhaust.

waitress's one home. Besides its own limits (connections in all, idle timeout, header and body
sizes) it gets two it lacks: a cap on the connections one address may hold, and a deadline for a
request's line and headers, so a client sending them a byte at a time (slowloris) cannot keep a
connection forever (waitress's channel_timeout only counts silence). A slow body or a slow
reader of a large image is left alone: a WiFi client downloading ImageBytes is not an attack.

Request bodies stay in memory up to the body limit (waitress would spool those above 512 KiB
to a temporary file, outside every folder the server is given); images are sent from memory by
``wsgi.file_wrapper``, so serving writes no file at all.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from alpaca_sony.config import ServerSettings

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0  # waitress lets requests in service finish for up to 5 s itself


def _peer(addr: Any) -> str:
    return str(addr[0]) if isinstance(addr, tuple) else str(addr)


def _timeout_reply(seconds: int) -> bytes:
    text = (
        f"The request line and headers did not all arrive within {seconds} s: send each "
        "request whole, or raise request_header_timeout in the [server] section.\n"
    ).encode()
    return (
        b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s"
        % (len(text), text)
    )


def channel_class(settings: ServerSettings) -> type[HTTPChannel]:
    """waitress's channel class with the per-address cap and the header deadline."""
    cap = settings.connections_per_client
    header_timeout = settings.request_header_timeout
    timeout_reply = _timeout_reply(header_timeout)
    # Addresses warned about since their last admitted connection (or last request whose
    # headers arrived in time): a flood logs once, not a line per connection.
    over_cap: set[str] = set()
    too_slow: set[str] = set()

    class LimitedChannel(HTTPChannel):
        # When the server began waiting for the current request's line and headers (None: it is
        # not waiting on the client for them).
        _headers_since: float | None = None

        def __init__(
            self, server: Any, sock: socket.socket, addr: Any, adj: Any, map: Any = None
        ) -> None:
            peer = _peer(addr)
            open_from_peer = sum(
                1
                for ch in (map or {}).values()
                if isinstance(ch, HTTPChannel) and _peer(ch.addr) == peer
            )
            super().__init__(server, sock, addr, adj, map)
            if open_from_peer < cap:
                over_cap.discard(peer)
                return
            self.handle_close()
            if peer not in over_cap:
                over_cap.add(peer)
                log.warning(
                    "%s has %d connections open, the most one client may have "
                    "(server.connections_per_client): refusing more",
                    peer,
                    open_from_peer,
                )

        def readable(self) -> bool:
            # waitress's loop asks every channel this at least once a second (its poll
            # timeout), which is when an overdue request is noticed.
            if self._headers_overdue(time.monotonic()):
                self._refuse_slow_headers()
                return False
            return bool(super().readable())

        def received(self, data: bytes) -> bool:
            more = bool(super().received(data))
            if self.request is None or self.request.headers_finished:
                too_slow.discard(_peer(self.addr))  # its headers came in time
            return more

        def _headers_overdue(self, now: float) -> bool:
            partial = self.request
            # Counted only while the server waits on the client for them: a request that
            # arrived behind a response still being sent (pipelining) starts its clock once
            # that response is out, so a slow download is never cut short.
            waiting = (
                partial is not None
                and not partial.headers_finished
                and not partial.completed
                and not self.requests
                and not self.total_outbufs_len
                and not self.will_close
                and not self.close_when_flushed
            )
            if not waiting:
                self._headers_since = None
                return False
            if self._headers_since is None:
                self._headers_since = now
            return now - self._headers_since > header_timeout

        def _refuse_slow_headers(self) -> None:
            peer = _peer(self.addr)
            if peer not in too_slow:
                too_slow.add(peer)
                log.warning(
                    "%s did not send a request's headers within %d s "
                    "(server.request_header_timeout): closing its connection",
                    peer,
                    header_timeout,
                )
            with self.outbuf_lock:
                self.outbufs[-1].append(timeout_reply)
                self.current_outbuf_count += len(timeout_reply)
                self.total_outbufs_len += len(timeout_reply)
            self.close_when_flushed = True  # the reply goes out, then the connection closes

    return LimitedChannel


class HttpServer:
    """waitress serving one WSGI app on the configured address, in a thread of its own.

    Args:
        app: the WSGI application (the Alpaca app behind its middleware).
        settings: address, port, threads and the HTTP limits.
    """

    def __init__(self, app: Any, settings: ServerSettings):
        self._sockets: dict[int, Any] = {}  # waitress's socket map: the listener and every client
        self._server: BaseWSGIServer | MultiSocketServer = create_server(
            app,
            map=self._sockets,
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            connection_limit=settings.connection_limit,
            channel_timeout=settings.channel_timeout,
            # waitress looks for idle connections every cleanup_interval (30 s by default): no
            # less often than the timeout itself, or a short timeout would not be kept.
            cleanup_interval=min(30, settings.channel_timeout),
            max_request_header_size=settings.max_request_header_bytes,
            max_request_body_size=settings.max_request_body_bytes,
            inbuf_overflow=settings.max_request_body_bytes,  # bodies in memory, never a file
            # select() cannot watch a descriptor above 1023: with a high connection_limit the
            # loop would die on the first one.
            asyncore_use_poll=True,
        )
        limited = channel_class(settings)
        for listener in list(self._sockets.values()):
            if isinstance(listener, BaseWSGIServer):
                listener.channel_class = limited
        self.port = int(getattr(self._server, "effective_port", settings.port))
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a thread named "http" until :meth:`stop`."""
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self._server.run()
        except OSError:
            # stop() from another thread pulls the sockets out from under waitress's loop
            # (EBADF); only an error while still serving is one.
            if not self._closing.is_set():
                raise

    def stop(self) -> None:
        """Stop serving: requests in service finish first, then every connection is closed."""
        self._closing.set()
        # Requests in service finish first (waitress waits up to 5 s): they still write to their
        # sockets and wake the loop. A one-socket server's close() ends neither its worker
        # threads nor the open connections, which keep-alive clients hold for up to
        # channel_timeout, so both are ended here: stop() really stops serving.
        self._server.task_dispatcher.shutdown()
        self._server.close()
        wasyncore.close_all(self._sockets)
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT_S)
