"""Command line.

``alpaca-sony [options]`` serves the Alpaca API; ``alpaca-sony list`` prints the Sony cameras on
USB, their mode and what to fix; ``alpaca-sony check`` takes one exposure the way the server does
(the camera layer's ExposureRunner) and saves it. ``--simulator [MODEL]`` uses the built-in
simulated body through the production pyusb code.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from alpaca_sony.camera.exposure import (
    CaptureOptions,
    ExposureControl,
    ExposureRequest,
    ExposureRunner,
)
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.state import CameraState, ExposureStatus
from alpaca_sony.camera.worker import facts_from
from alpaca_sony.clock import Clock, SystemClock
from alpaca_sony.config import load, with_overrides
from alpaca_sony.devices import open_camera, survey
from alpaca_sony.errors import AlpacaSonyError, ConfigError
from alpaca_sony.log import setup_logging
from alpaca_sony.runtime import Runtime
from alpaca_sony.simulator.bodies import DEFAULT_BODY
from alpaca_sony.sony.capture import CaptureSequence
from alpaca_sony.sony.values import Iso, ShutterSpeed
from alpaca_sony.transport.usb import default_backend

log = logging.getLogger("alpaca_sony.cli")


def _backend(args: argparse.Namespace, clock: Clock) -> Any:
    if args.simulator is None and args.simulator_report is None:
        return default_backend()
    from alpaca_sony.simulator.factory import SimulatorChoice, simulated_backend

    choice = SimulatorChoice(args.simulator, args.simulator_report, args.simulator_reports)
    return simulated_backend(choice, clock)


def _list(args: argparse.Namespace) -> int:
    rows = survey(_backend(args, SystemClock()))
    if not rows:
        log.warning("no Sony camera found on USB")
        return 1
    for row in rows:
        line = (
            f"{row.usb.location}  {row.usb.vendor_id:04x}:{row.usb.product_id:04x}  "
            f"{row.model or '?'}  serial {row.usb.serial_number or '?'}  mode: {row.mode}"
        )
        sys.stdout.write(
            line + ("" if row.advice is None else f"\n    to fix: {row.advice}") + "\n"
        )
    return 0


def _check(args: argparse.Namespace) -> int:
    clock = SystemClock()
    camera = open_camera(_backend(args, clock), clock, args.serial)
    try:
        capture = CaptureSequence(camera, clock)
        facts = facts_from(camera, capture.read_settings())
        shutter = ShutterSpeed(facts.shutter) if facts.shutter is not None else "?"
        iso = Iso(facts.iso) if facts.iso is not None else "?"
        sys.stdout.write(
            f"{facts.device_model}: shutter {shutter}, ISO {iso}, format {facts.file_format}, "
            f"battery {facts.battery_percent}%\n"
        )
        runner = ExposureRunner(
            clock, CaptureOptions(keep_jpeg=True), OriginalsFolder(Path(args.check_dir), 0)
        )
        request = ExposureRequest(args.exposure, iso=args.iso or None)
        outcome = runner.run(capture, request, ExposureControl(), _log_phase)
        saved = [*outcome.recovered, *runner.commit(outcome.staged)]
        for path in saved:
            sys.stdout.write(f"saved {path} ({path.stat().st_size} bytes)\n")
    finally:
        camera.close()
        camera.session.transport.close()
    return 0


def _log_phase(state: CameraState, _status: ExposureStatus) -> None:
    log.info("exposure: %s", state.name.lower())


def _serve(args: argparse.Namespace) -> int:
    if args.auth_password is not None:
        raise ConfigError(
            "a password on the command line is visible in `ps` and the shell history: put it "
            "in a file readable only by you and pass --auth-password-file FILE"
        )
    config = with_overrides(
        load(Path(args.config) if args.config else None),
        server={
            "host": args.host,
            "port": args.port,
            "connection_limit": args.connection_limit,
            "connections_per_client": args.connections_per_client,
            "channel_timeout": args.channel_timeout,
            "request_header_timeout": args.request_header_timeout,
            "max_request_header_bytes": args.max_request_header_bytes,
            "max_request_body_bytes": args.max_request_body_bytes,
            "allowed_hosts": tuple(args.allowed_host) if args.allowed_host else None,
            "auth_user": args.auth_user,
            "auth_password_file": args.auth_password_file,
        },
        discovery={
            "port": args.discovery_port,
            "enabled": False if args.no_discovery else None,
            "mdns": False if args.no_mdns else None,
        },
        camera={
            "simulator": args.simulator,
            "simulator_report": args.simulator_report,
            "simulator_reports": args.simulator_reports,
            "save_dir": args.save_dir,
        },
    )
    if args.log_level is None:
        setup_logging(config.logging.level)
    runtime = Runtime(config)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        runtime.start()
        stop.wait()
        log.info("stopping")
    finally:
        runtime.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alpaca-sony", description=__doc__)
    parser.add_argument(
        "--simulator",
        nargs="?",
        const=DEFAULT_BODY,
        metavar="MODEL",
        help=f"use the built-in simulated camera (default {DEFAULT_BODY}) instead of USB",
    )
    parser.add_argument(
        "--simulator-report",
        metavar="FILE",
        default=None,
        help="simulate the body a libgphoto2 camera report (gphoto2 --summary output) describes",
    )
    parser.add_argument(
        "--simulator-reports",
        metavar="DIR",
        default=None,
        help="folder of libgphoto2 reports --simulator takes the model's facts from "
        "(default ../shared/samples/libgphoto2-sony if present)",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--host", default=None, help="address to serve on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default 11111; 0 = any)")
    limits = parser.add_argument_group("HTTP limits (config [server] keys of the same names)")
    limits.add_argument(
        "--connection-limit", type=int, default=None, help="open connections in all (100)"
    )
    limits.add_argument(
        "--connections-per-client",
        type=int,
        default=None,
        help="open connections from one address, below --connection-limit (20)",
    )
    limits.add_argument(
        "--channel-timeout", type=int, default=None, help="seconds before idle ones close (60)"
    )
    limits.add_argument(
        "--request-header-timeout",
        type=int,
        default=None,
        help="seconds a request's line and headers may take to arrive (10)",
    )
    limits.add_argument("--max-request-header-bytes", type=int, default=None, help="(65536)")
    limits.add_argument("--max-request-body-bytes", type=int, default=None, help="(1048576)")
    parser.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        default=None,
        help="a name clients use for this server besides its own (repeatable; '*' = any Host)",
    )
    auth = parser.add_argument_group("HTTP Basic authentication (off unless both are given)")
    auth.add_argument("--auth-user", metavar="NAME", default=None, help="user name clients give")
    auth.add_argument(
        "--auth-password-file",
        metavar="FILE",
        default=None,
        help="a file holding the password (never the password itself on the command line)",
    )
    # Refused with a reason, and so that argparse never reads it as --auth-password-file.
    auth.add_argument("--auth-password", default=None, help=argparse.SUPPRESS)
    discovery = parser.add_mutually_exclusive_group()
    discovery.add_argument(
        "--discovery-port", type=int, default=None, help="Alpaca discovery UDP port (32227)"
    )
    discovery.add_argument("--no-discovery", action="store_true", help="no UDP discovery")
    parser.add_argument("--no-mdns", action="store_true", help="no mDNS/zeroconf advertisement")
    parser.add_argument("--config", default=None, help="a TOML settings file (flags win)")
    parser.add_argument("--save-dir", default=None, help="folder for the camera's original files")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("list", help="list Sony cameras on USB, their mode and what to fix")
    check = commands.add_parser("check", help="connect, take one exposure and save the files")
    check.add_argument("--exposure", type=float, default=0.01, help="seconds (default 0.01)")
    check.add_argument("--iso", type=int, default=None, help="ISO to set first")
    check.add_argument("--serial", default=None, help="the camera's serial number")
    check.add_argument("--save-dir", dest="check_dir", default="captures", help="folder")
    return parser


_COMMANDS = ("list", "check")


def _normalise(argv: list[str]) -> list[str]:
    """``--simulator list`` means the default model, not a model called 'list'."""
    out = list(argv)
    for i, token in enumerate(out[:-1]):
        if token == "--simulator" and out[i + 1] in _COMMANDS:  # noqa: S105 - not a secret
            out.insert(i + 1, DEFAULT_BODY)
            break
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_normalise(sys.argv[1:] if argv is None else argv))
    setup_logging(args.log_level or "INFO")
    try:
        command = {"list": _list, "check": _check}.get(args.command or "", _serve)
        return command(args)
    except AlpacaSonyError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
