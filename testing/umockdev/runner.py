"""Run Python code behind a harness: in a fresh ``umockdev-wrapper`` process, or as ``main``.

``python -m testing.umockdev [options] FACTORY TARGET [ARGS...]`` is :func:`main`;
:func:`run_under_harness` starts that command as a child process.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import runpy
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final, NoReturn

from alpaca_sony.simulator.usb_device import UsbFunction
from testing.umockdev.environment import (
    UmockdevUnavailable,
    check_environment,
    ensure_preloaded,
    umockdev_command,
)
from testing.umockdev.harness import UmockdevHarness, discard_all_test_beds
from testing.umockdev.usbfs_abi import (
    DEFAULT_CAPABILITIES,
    USBDEVFS_CAP_BULK_SCATTER_GATHER,
)

PACKAGE: Final = __name__.rpartition(".")[0]  # what ``python -m`` runs (its __main__)
_UNAVAILABLE_EXIT_CODE: Final = 3

_loaded_files: dict[str, ModuleType] = {}


def resolve_reference(reference: str) -> Any:
    """Import ``"pkg.module:attr"`` or ``"path/to/file.py:attr"`` and return the attribute.

    A file is loaded once per process, so two references into it share its objects.

    Raises:
        ValueError: the reference lacks ``:ATTRIBUTE``.
        ImportError: the module or file cannot be loaded.
    """
    module_name, sep, attribute = reference.rpartition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected MODULE:ATTRIBUTE or FILE.py:ATTRIBUTE, got {reference!r}")
    if module_name.endswith(".py"):
        path = str(Path(module_name).resolve())
        module = _loaded_files.get(path)
        if module is None:
            spec = importlib.util.spec_from_file_location(Path(path).stem, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault(spec.name, module)
            spec.loader.exec_module(module)
            _loaded_files[path] = module
    else:
        module = importlib.import_module(module_name)
    return getattr(module, attribute)


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[3])


def run_under_harness(
    factory: str,
    target: str,
    args: Sequence[str] = (),
    *,
    as_module: bool = False,
    scatter_gather: bool = True,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``target`` in a fresh ``umockdev-wrapper`` Python process behind a harness.

    The child runs ``python -m testing.umockdev FACTORY TARGET ARGS...``.

    Args:
        factory: ``"pkg.module:callable"`` or ``"path/file.py:callable"`` returning a
            :class:`UsbFunction` (or a sequence of them).
        target: the same form, called with the started :class:`UmockdevHarness`; its int result
            is the exit code. With ``as_module`` it is a module run as ``__main__`` instead.
        args: the target's ``sys.argv[1:]``.
        as_module: run ``target`` like ``python -m target``.
        scatter_gather: False hides ``USBDEVFS_CAP_BULK_SCATTER_GATHER``, so that libusb
            splits bulk transfers into 16 KiB URBs.
        timeout: seconds before the child is killed (``subprocess.TimeoutExpired``).
        env: the child's environment (default: this one); the package root is added to
            ``PYTHONPATH``.
        cwd: the child's working directory.

    Returns:
        The finished process, with text stdout and stderr captured.

    Raises:
        UmockdevUnavailable: ``umockdev-wrapper`` is not installed.
    """
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_package_root(), child_env.get("PYTHONPATH", "")) if p
    )
    command = [sys.executable, "-m", PACKAGE]
    command += [] if scatter_gather else ["--no-scatter-gather"]
    command.append(factory)
    command += ["-m", target] if as_module else [target]
    command = umockdev_command([*command, *args])
    return subprocess.run(  # noqa: S603 -- fixed argv, no shell
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
        cwd=cwd,
        check=False,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PACKAGE}",
        description="Run Python code with simulated USB devices behind the real libusb (umockdev).",
    )
    parser.add_argument("--check", action="store_true", help="verify the environment and exit")
    parser.add_argument(
        "--no-scatter-gather",
        action="store_true",
        help="hide USBDEVFS_CAP_BULK_SCATTER_GATHER so that libusb splits bulk transfers",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    parser.add_argument("factory", nargs="?", help="MODULE:CALLABLE returning UsbFunction(s)")
    parser.add_argument(
        "rest", nargs=argparse.REMAINDER, help="TARGET [ARGS...] or -m MODULE [ARGS...]"
    )
    return parser


def _functions_from(made: Any) -> list[UsbFunction]:
    if isinstance(made, list | tuple):
        return list(made)
    return [made]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run Python code with simulated USB devices behind the real libusb.

    ``python -m testing.umockdev [options] FACTORY TARGET [ARGS...]``
    calls ``TARGET(harness)`` (its int result is the exit code);
    ``... FACTORY -m MODULE [ARGS...]`` runs ``MODULE`` as ``__main__`` with ``ARGS``.
    ``FACTORY`` (``pkg.module:callable`` or ``file.py:callable``) returns the UsbFunction(s).
    ``--check`` only verifies the environment. The process re-executes itself under
    ``umockdev-wrapper`` when it is not already running there.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: the target's, or 3 when the environment lacks umockdev.
    """
    parser = _parser()
    options = parser.parse_args(argv)
    if options.verbose:
        logging.basicConfig(level=logging.DEBUG)
    try:
        ensure_preloaded()
        if options.check:
            for line in check_environment():
                sys.stdout.write(line + "\n")
            return 0
        rest: list[str] = options.rest
        module = rest[1] if len(rest) >= 2 and rest[0] == "-m" else None
        if options.factory is None or not rest or (rest[0] == "-m" and module is None):
            parser.error("give FACTORY and then TARGET or -m MODULE")
        target_args = rest[2:] if module is not None else rest[1:]
        functions = _functions_from(resolve_reference(options.factory)())
        capabilities = DEFAULT_CAPABILITIES
        if options.no_scatter_gather:
            capabilities &= ~USBDEVFS_CAP_BULK_SCATTER_GATHER
        with UmockdevHarness(*functions, capabilities=capabilities) as harness:
            if module is not None:
                sys.argv = [module, *target_args]
                runpy.run_module(module, run_name="__main__", alter_sys=True)
                return 0
            sys.argv = [rest[0], *target_args]
            result = resolve_reference(rest[0])(harness)
            return int(result or 0)
    except UmockdevUnavailable as exc:
        sys.stderr.write(f"error: {exc}\n")
        return _UNAVAILABLE_EXIT_CODE


def exit_now(code: int) -> NoReturn:
    """End the process without running pyusb's exit-time finalizers.

    A device the target left claimed (typically after a simulated unplug) would be released from
    a finalizer at interpreter exit, when umockdev's ioctl handler no longer answers: the process
    would hang. The kernel closes the descriptors anyway; the test bed's folder is removed first.

    Args:
        code: the process exit status.
    """
    discard_all_test_beds()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
