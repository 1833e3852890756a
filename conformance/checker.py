"""Command line: ``python -m conformance.checker http://HOST:PORT [--device N] [--report FILE]``.

Runs the Alpaca protocol check, then the camera conformance check, prints a ConformU-style log
and summary, and exits 1 when any ISSUE or ERROR was found (2 for bad arguments, no server, or
a server that refuses the credentials). ``--auth-user`` and ``--auth-password-file`` send HTTP
Basic credentials with every request (the password from a file, so it is not in ``ps``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import conformance
from conformance.camera import CameraCheck
from conformance.protocol import ProtocolCheck
from conformance.report import Report
from conformance.wire import Wire, WireError


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.checker",
        description="Alpaca protocol and camera conformance checks (an independent ConformU).",
    )
    parser.add_argument("url", help="the Alpaca server, e.g. http://127.0.0.1:11111")
    parser.add_argument("--device", type=int, default=0, help="camera device number (0)")
    parser.add_argument("--report", type=Path, help="also write the report here (.json: JSON)")
    parser.add_argument(
        "--only",
        choices=("protocol", "camera"),
        help="run just one of the two checks",
    )
    parser.add_argument(
        "--exposure", type=float, default=2.0, help="exposure length in seconds (2.0)"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="ConformU's wait and download limit (10 s)"
    )
    parser.add_argument("--quiet", action="store_true", help="print only non-OK lines")
    parser.add_argument("--auth-user", metavar="NAME", help="HTTP Basic user name")
    parser.add_argument(
        "--auth-password-file", metavar="FILE", type=Path, help="a file holding the password"
    )
    return parser.parse_args(argv)


def read_credentials(args: argparse.Namespace) -> tuple[str, str] | None:
    """(user, password) from the flags; one trailing line break of the file is dropped.

    Raises:
        ValueError: only one of the two flags, or an unreadable or empty password file.
    """
    if args.auth_user is None and args.auth_password_file is None:
        return None
    if args.auth_user is None or args.auth_password_file is None:
        raise ValueError("--auth-user and --auth-password-file go together")
    try:
        text = args.auth_password_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"cannot read the password file {args.auth_password_file}: {exc}"
        ) from None
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise ValueError(f"the password file {args.auth_password_file} is empty")
    return args.auth_user, password


def run(
    url: str,
    *,
    device: int = 0,
    only: str | None = None,
    exposure_s: float = 2.0,
    timeout_s: float = 10.0,
    stream: TextIO | None = None,
    show_ok: bool = True,
    credentials: tuple[str, str] | None = None,
) -> Report:
    """Run the checks against ``url`` (with HTTP Basic ``credentials``: user, password) and
    return the finished report."""
    report = Report(stream, show_ok=show_ok)
    login = f" as {credentials[0]}" if credentials else ""
    report.text(
        f"Alpaca conformance checker {conformance.__version__}: {url} camera {device}{login}"
    )
    with Wire(url, timeout=max(30.0, 3 * timeout_s), credentials=credentials) as wire:
        if only in (None, "protocol"):
            ProtocolCheck(wire, report, device, exposure_s).run()
        if only in (None, "camera"):
            CameraCheck(wire, report, device, exposure_s, timeout_s).run()
    report.finish()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = sys.stdout
    try:
        Wire(args.url).close()
        credentials = read_credentials(args)
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    try:
        with Wire(args.url, timeout=5.0, credentials=credentials) as probe:
            probe.request("GET", "/management/apiversions")
            # The management GETs may be open to all: a device GET shows whether we may in.
            device = probe.request("GET", f"/api/v1/camera/{args.device}/interfaceversion")
    except WireError as exc:
        sys.stderr.write(f"no Alpaca server at {args.url}: {exc}\n")
        return 2
    if device.status == 401:
        wanted = "refused the user name and password" if credentials else "wants a password"
        sys.stderr.write(
            f"the server at {args.url} {wanted}: give --auth-user NAME --auth-password-file FILE\n"
        )
        return 2
    report = run(
        args.url,
        device=args.device,
        only=args.only,
        exposure_s=args.exposure,
        timeout_s=args.timeout,
        stream=out,
        show_ok=not args.quiet,
        credentials=credentials,
    )
    out.write(report.summary() + "\n")
    if args.report is not None:
        if args.report.suffix.lower() == ".json":
            args.report.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
        else:
            args.report.write_text(report.full_text(), encoding="utf-8")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
