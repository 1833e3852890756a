"""What the umockdev harness needs from the system, and the error that says what is missing.

umockdev's preload library (``LD_PRELOAD``, set by ``umockdev-wrapper``) must be in place from
process start. PyGObject has no wheels on PyPI, so ``gi`` may come from Debian's dist-packages; it
is imported only by :func:`load_umockdev`, never at import time.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

DEBIAN_PACKAGES: Final = "umockdev libumockdev0 gir1.2-umockdev-1.0 python3-gi"
WRAPPER: Final = "umockdev-wrapper"
PRELOAD_LIBRARY: Final = "libumockdev-preload"
_DEBIAN_DIST_PACKAGES: Final = "/usr/lib/python3/dist-packages"


class UmockdevUnavailable(RuntimeError):
    """The environment cannot run the umockdev harness (packages or LD_PRELOAD missing)."""


def unavailable(reason: str) -> UmockdevUnavailable:
    """The error for ``reason``, with the packages to install and how to start the process."""
    return UmockdevUnavailable(
        f"{reason}. The umockdev harness needs the Debian packages {DEBIAN_PACKAGES} "
        f"(apt-get install {DEBIAN_PACKAGES}) and the process must run under {WRAPPER} "
        f"(e.g. `{WRAPPER} python -m pytest ...` or `{WRAPPER} python script.py`)."
    )


def preload_active() -> bool:
    """True when this process runs with umockdev's preload library (under ``umockdev-wrapper``)."""
    return PRELOAD_LIBRARY in os.environ.get("LD_PRELOAD", "")


def require_preload() -> None:
    """Fail unless this process runs with umockdev's preload library.

    Raises:
        UmockdevUnavailable: ``LD_PRELOAD`` lacks the library.
    """
    if not preload_active():
        raise unavailable(
            f"this process was not started under {WRAPPER} (LD_PRELOAD lacks {PRELOAD_LIBRARY}.so)"
        )


def load_umockdev() -> tuple[Any, Any]:
    """Import PyGObject's ``UMockdev`` and ``GLib`` bindings.

    PyGObject has no wheels on PyPI: when ``gi`` is not importable, Debian's dist-packages (built
    for the same Python 3.11) is appended to ``sys.path``, after every other entry.

    Returns:
        The ``(UMockdev, GLib)`` modules.

    Raises:
        UmockdevUnavailable: python3-gi or the UMockdev typelib is missing.
    """
    try:
        import gi  # optional system dependency, imported on demand
    except ImportError:
        if Path(_DEBIAN_DIST_PACKAGES).is_dir() and _DEBIAN_DIST_PACKAGES not in sys.path:
            sys.path.append(_DEBIAN_DIST_PACKAGES)
        try:
            import gi
        except ImportError as exc:
            raise unavailable(f"PyGObject (gi) cannot be imported: {exc}") from exc
    try:
        gi.require_version("UMockdev", "1.0")
        from gi.repository import GLib, UMockdev
    except (ValueError, ImportError) as exc:
        raise unavailable(f"the UMockdev GObject typelib is missing: {exc}") from exc
    return UMockdev, GLib


def wrapper_path() -> str:
    """Absolute path of ``umockdev-wrapper``.

    Raises:
        UmockdevUnavailable: it is not on ``PATH``.
    """
    path = shutil.which(WRAPPER)
    if path is None:
        raise unavailable(f"{WRAPPER} is not on PATH")
    return path


def umockdev_command(args: Sequence[str]) -> list[str]:
    """``args`` prefixed with ``umockdev-wrapper`` (which sets ``LD_PRELOAD``)."""
    return [wrapper_path(), *args]


def ensure_preloaded() -> None:
    """Re-execute this Python process under ``umockdev-wrapper`` unless it already runs there.

    Call it first thing in a script: the preload library must be in place from process start.
    """
    if preload_active():
        return
    command = umockdev_command([sys.executable, *sys.orig_argv[1:]])
    logger.debug("re-executing under %s: %s", WRAPPER, command)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # noqa: S606 -- replaces this process with the same command


def check_environment() -> list[str]:
    """Describe the umockdev environment.

    Raises:
        UmockdevUnavailable: a package or the wrapper is missing.
    """
    load_umockdev()
    return [
        f"{WRAPPER}: {wrapper_path()}",
        "PyGObject with the UMockdev 1.0 typelib: importable",
        f"LD_PRELOAD has {PRELOAD_LIBRARY}: {preload_active()}",
    ]
