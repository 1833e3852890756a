"""No request can make the server read or write a file outside its folders (issue 9 point 8).

An audit hook (``sys.addaudithook``) records every file event of this process - opens, removals,
renames, links, folder listings, copies, temporary files, child processes - while hostile
requests hit a real Runtime on loopback: traversal in paths (plain, percent-encoded, backslashes,
absolute forms), device numbers such as ``../0``, NUL bytes, very long paths, Action names and
parameters and member values that are paths, hostile headers, a body above waitress's spooling
threshold. Every file written must lie in the save folder or the learned-geometry folder; every
file read there too, or be a library's own import. An exposure runs in the same window, so the
recorder is shown to see the server's own writes.

C code (LibRaw, libusb) raises no audit events; what it opens is only ever a path the driver
built (a staged file in the save folder). As a second, independent check no reply may contain
a byte of the planted secret or of /etc/passwd.

Python cannot remove an audit hook: it is installed once and records only while a test asks.
"""

from __future__ import annotations

import functools
import http.client
import importlib.machinery
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

ANSWER_TIMEOUT_S = 30.0  # generous: an answer, not a timing claim
IDS = "ClientID=1&ClientTransactionID=1"
SECRET = "alpaca-sony-secret-4e1f"  # noqa: S105 - not a password: the content of the file outside every folder
MARKERS = ("passwd", "alpaca-sony-secret", "outside-the-folders")  # in no path the server touches

# Events that name a file or folder: event -> positions of the path arguments.
FILE_EVENTS = {
    "open": (0,),
    "os.remove": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.symlink": (0, 1),
    "os.mkdir": (0,),
    "os.rmdir": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.chdir": (0,),
    "os.listdir": (0,),
    "os.scandir": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.copyfile": (0, 1),
    "shutil.copymode": (0, 1),
    "shutil.copystat": (0, 1),
    "shutil.copytree": (0, 1),
    "shutil.rmtree": (0,),
    "shutil.move": (0, 1),
    "shutil.chown": (0,),
    "shutil.make_archive": (0,),
    "shutil.unpack_archive": (0, 1),
    "tempfile.mkstemp": (0,),
    "tempfile.mkdtemp": (0,),
    "glob.glob": (0,),
    "glob.glob/2": (0,),
    "pathlib.Path.glob": (0,),
    "pathlib.Path.rglob": (0,),
}
READ_EVENTS = {"os.listdir", "os.scandir", "glob.glob", "glob.glob/2"}
# No request may start a program or load a library by name.
PROCESS_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "ctypes.dlopen",
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
IMPORT_SUFFIXES = (*importlib.machinery.all_suffixes(), ".pth")


@dataclass(frozen=True)
class FileEvent:
    event: str
    paths: tuple[str, ...]
    writes: bool
    thread: str


class _Recorder:
    """What the audit hook writes to: lists while a test records, None otherwise."""

    def __init__(self) -> None:
        self.events: list[FileEvent] | None = None
        self.imports: list[str] | None = None
        self.installed = False


_RECORDER = _Recorder()


def _path_text(value: Any, dir_fd: Any) -> str | None:
    """An event's path argument as absolute text (None: a file descriptor, not a name)."""
    if isinstance(value, int):
        return None
    path = Path(os.fsdecode(os.fspath(value)))
    if not path.is_absolute() and isinstance(dir_fd, int) and dir_fd >= 0:
        try:  # relative to a folder descriptor: read where it points while it is still open
            return str(Path(f"/proc/self/fd/{dir_fd}").readlink() / path)
        except OSError:
            return f"<relative to fd {dir_fd}>/{path}"
    return str(path.absolute())


def _writes(event: str, args: tuple[Any, ...]) -> bool:
    if event == "open":
        mode, flags = args[1], args[2]
        return bool(set(str(mode or "")) & set("wax+")) or bool(int(flags or 0) & WRITE_FLAGS)
    return event not in READ_EVENTS


def _hook(event: str, args: tuple[Any, ...]) -> None:
    events, imports = _RECORDER.events, _RECORDER.imports
    if events is None or imports is None:
        return
    if event == "import":
        imports.append(str(args[0]))
        return
    if event in PROCESS_EVENTS:
        events.append(FileEvent(event, (repr(args)[:300],), True, _thread_name()))
        return
    positions = FILE_EVENTS.get(event)
    if positions is None:
        return
    dir_fd = args[-1] if event.startswith("os.") else None
    paths = tuple(p for p in (_path_text(args[i], dir_fd) for i in positions if i < len(args)) if p)
    if paths:
        events.append(FileEvent(event, paths, _writes(event, args), _thread_name()))


def _thread_name() -> str:
    return threading.current_thread().name


@contextmanager
def _file_events() -> Iterator[tuple[list[FileEvent], list[str]]]:
    """Every file event and import of the process while the block runs."""
    if not _RECORDER.installed:
        sys.addaudithook(_hook)
        _RECORDER.installed = True
    events: list[FileEvent] = []
    imports: list[str] = []
    _RECORDER.events, _RECORDER.imports = events, imports
    try:
        yield events, imports
    finally:
        _RECORDER.events, _RECORDER.imports = None, None


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root + os.sep) for root in roots)


def _a_librarys_import(event: FileEvent, library_roots: list[str]) -> bool:
    """A read-only open of a module file, or a listing of a folder, on Python's import path."""
    if event.writes or not _inside(event.paths[0], library_roots):
        return False
    return event.event in READ_EVENTS or event.paths[0].endswith(IMPORT_SUFFIXES)


def _escapes(events: list[FileEvent], folders: list[str]) -> list[FileEvent]:
    """The events touching anything outside ``folders`` that is not a library import."""
    library_roots = [os.path.realpath(p) for p in sys.path if p and Path(p).is_dir()]
    return [
        e
        for e in events
        if not all(_inside(p, folders) for p in e.paths)
        and not _a_librarys_import(e, library_roots)
    ]


# -- hostile requests -----------------------------------------------------------------------------


@dataclass
class Reply:
    head: bytes  # the first 64 KiB: status line, headers, a short body whole
    leaked: bool  # the secret's or /etc/passwd's bytes appeared anywhere in it


@functools.cache
def _forbidden() -> tuple[bytes, ...]:
    """Read once, before recording starts: the test itself opens nothing while it records."""
    return (SECRET.encode(), Path("/etc/passwd").read_bytes().splitlines()[0])


def _send(port: int, request: bytes) -> Reply:
    """One request on its own connection, read until the server closes it (images included,
    scanned as they stream instead of being kept)."""
    forbidden = _forbidden()
    head = b""
    tail = b""  # the end of the previous chunk: a leak split across two chunks is still seen
    leaked = False
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_S) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before all of it went: the reply is there
        while True:
            try:
                chunk = sock.recv(1 << 20)
            except ConnectionResetError:
                break
            if not chunk:
                break
            window = tail + chunk
            leaked = leaked or any(f in window for f in forbidden)
            tail = window[-256:]
            if len(head) < 1 << 16:
                head += chunk[: (1 << 16) - len(head)]
    return Reply(head, leaked)


def _get(target: str | bytes, headers: bytes = b"Host: 127.0.0.1\r\n") -> bytes:
    raw = target.encode("latin-1") if isinstance(target, str) else target
    return b"GET %s HTTP/1.1\r\n%sConnection: close\r\n\r\n" % (raw, headers)


def _put(path: str, form: str) -> bytes:
    body = form.encode("latin-1")
    return (
        b"PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
        % (path.encode("latin-1"), len(body), body)
    )


def _hostile_values(secret: Path, save_dir: Path) -> list[str]:
    """Paths as a request value: traversal out of the save folder, absolute, NUL, very long."""
    climb = "../" * len(save_dir.parts)
    return [
        "/etc/passwd",
        f"{climb}etc/passwd",
        str(secret),
        os.path.relpath(secret, save_dir),
        f"{save_dir}/{climb}etc/passwd",
        "..\\..\\..\\etc\\passwd",
        "/etc/passwd\x00.arw",
        "file:///etc/passwd",
        "~/../../etc/passwd",
        "../" * 1500 + "etc/passwd",
        "/dev/zero",
    ]


def _hostile_requests(port: int, secret: Path, save_dir: Path) -> list[bytes]:
    enc = str(secret).replace("/", "%2f")
    targets: list[str | bytes] = [
        "/setup/../../../../etc/passwd",
        "/setup/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/setup/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/setup/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/setup/v1/camera/../0/setup",
        "/setup/v1/camera/..%2f0/setup",
        "/setup/v1/camera/%2e%2e/setup",
        "/setup/v1/camera/..%2f..%2fetc%2fpasswd/setup",
        "/setup/v1/camera/0/../../../../etc/passwd",
        f"/api/v1/camera/../0/connected?{IDS}",
        f"/api/v1/camera/..%2f0/connected?{IDS}",
        f"/api/v1/camera/%2e%2e%2f0/connected?{IDS}",
        f"/api/v1/camera/0/..%2f..%2f..%2fetc%2fpasswd?{IDS}",
        f"/api/v1/camera/{enc}/connected?{IDS}",
        f"/api/v1/camera/0/imagearray/../../../../etc/passwd?{IDS}",
        f"/api/v1/camera/0%00/connected?{IDS}",
        f"/api/v1/camera/0/connected%00.txt?{IDS}",
        "/setup/%00../../etc/passwd",
        b"/setup/\x00/../../etc/passwd",
        "/..\\..\\..\\..\\etc\\passwd",
        "/setup/..%5c..%5c..%5cetc%5cpasswd",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/etc/passwd",
        str(secret),
        "file:///etc/passwd",
        "http://127.0.0.1/../../../etc/passwd",
        "/management/v1/configureddevices/../../../etc/passwd",
        "/management/%2e%2e/%2e%2e/etc/passwd",
        "/setup/" + "../" * 2000 + "etc/passwd",  # 6 KB, under the header limit
        "/api/v1/camera/0/" + "a" * 60_000,  # near the header limit
        "/api/v1/camera/0/" + "a" * 70_000,  # over it: 431
        f"/setup?file={quote(str(secret))}&path=../../etc/passwd",
        f"/api/v1/camera/0/imagearray?{IDS}&file={quote(str(secret))}",
    ]
    requests = [_get(t) for t in targets]
    for host in (b"../../etc/passwd", b"192.0.2.9", b"[2001:db8::1]:11111"):
        # An unknown address makes the Host check read the interfaces again.
        requests.append(_get(f"/api/v1/camera/0/camerastate?{IDS}", b"Host: %s\r\n" % host))
    for header in (b"Accept", b"Cookie", b"Referer", b"X-Forwarded-For"):
        requests.append(
            _get(
                f"/api/v1/camera/0/imagearray?{IDS}",
                b"Host: 127.0.0.1\r\n%s: ../../../etc/passwd\r\n" % header,
            )
        )
    values = _hostile_values(secret, save_dir)
    actions = ["savedfiles", "camerainfo", *_supported_actions(port)]
    for action in actions:
        for value in values:
            requests.append(
                _put("/api/v1/camera/0/action", f"Action={action}&Parameters={quote(value)}&{IDS}")
            )
    for value in values:
        requests.append(_put("/api/v1/camera/0/action", f"Action={quote(value)}&Parameters=&{IDS}"))
        for member, key in (
            ("gain", "Gain"),
            ("readoutmode", "ReadoutMode"),
            ("binx", "BinX"),
            ("startx", "StartX"),
            ("connected", "Connected"),
            ("startexposure", "Duration"),
        ):
            requests.append(_put(f"/api/v1/camera/0/{member}", f"{key}={quote(value)}&{IDS}"))
        requests.append(_put("/setup", f"save_dir={quote(value)}"))
    # Above waitress's own 512 KiB threshold for spooling a body to a temporary file.
    requests.append(_put("/api/v1/camera/0/gain", f"Gain=1&{IDS}&pad=" + "p" * 900_000))
    return requests


def _supported_actions(port: int) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT_S)
    try:
        conn.request("GET", f"/api/v1/camera/0/supportedactions?{IDS}")
        actions: list[str] = orjson.loads(conn.getresponse().read())["Value"]
    finally:
        conn.close()
    return actions


def _value(port: int, member: str) -> Any:
    reply = _send(port, _get(f"/api/v1/camera/0/{member}?{IDS}"))
    body = orjson.loads(reply.head.split(b"\r\n\r\n", 1)[1])
    assert body["ErrorNumber"] == 0, body
    return body["Value"]


def _expose_and_download(port: int) -> None:
    """An exposure saved to the save folder and its image downloaded: the server's own files."""
    for member, form in (
        ("connected", "Connected=True"),
        ("startexposure", "Duration=0.1&Light=True"),
    ):
        reply = _send(port, _put(f"/api/v1/camera/0/{member}", f"{form}&{IDS}"))
        assert b'"ErrorNumber":0' in reply.head, reply.head
    deadline = time.monotonic() + 60
    while not _value(port, "imageready"):
        assert time.monotonic() < deadline, "no image"
        time.sleep(0.05)
    image = _get(
        f"/api/v1/camera/0/imagearray?{IDS}",
        b"Host: 127.0.0.1\r\nAccept: application/imagebytes\r\n",
    )
    assert _send(port, image).head.startswith(b"HTTP/1.1 200 OK")


@pytest.fixture
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file outside every folder the server is given, that no request may reach."""
    path = tmp_path_factory.mktemp("outside-the-folders") / "secret.txt"
    path.write_text(SECRET)
    return path


def test_no_request_reads_or_writes_outside_the_servers_folders(
    serve: Callable[..., int], tmp_path: Path, secret: Path
) -> None:
    port = serve()  # saves originals to tmp_path
    folders = [
        os.path.realpath(tmp_path),  # the save folder
        os.path.realpath(Path(os.environ["XDG_CONFIG_HOME"]) / "alpaca-sony"),  # learned sizes
        # held originals' fallback (camera/held_originals.py): checked for leftovers at start
        os.path.realpath(Path(os.environ["XDG_STATE_HOME"]) / "alpaca-sony"),
    ]
    requests = _hostile_requests(port, secret, tmp_path)
    _forbidden()
    with _file_events() as (events, imports):
        replies = [_send(port, request) for request in requests]
        _expose_and_download(port)
        replies += [_send(port, request) for request in requests]  # with an image to serve
    statuses = [reply.head.split(b"\r\n", 1)[0] for reply in replies]
    assert [s for s in statuses if not s.startswith((b"HTTP/1.0 ", b"HTTP/1.1 "))] == []
    assert [s for s in statuses if s[9:10] == b"5"] == []  # no internal error
    assert set(statuses) >= {b"HTTP/1.1 404 Not Found", b"HTTP/1.1 400 Bad Request"}
    assert [r.head[:300] for r in replies if r.leaked] == []
    # The recorder saw the server's own work: the original staged and saved in the save folder.
    saved = [e for e in events if e.writes and _inside(e.paths[0], folders[:1])]
    assert {e.event for e in saved} >= {"open", "os.link"}, events
    assert _escapes(events, folders) == []
    touched = [p for e in events for p in e.paths] + imports
    assert [p for p in touched if any(m in p for m in MARKERS)] == []
    assert _value(port, "camerastate") == 0  # still serving
