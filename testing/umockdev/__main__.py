"""``python -m testing.umockdev``: see :func:`runner.main`."""

from __future__ import annotations

from testing.umockdev.runner import exit_now, main

if __name__ == "__main__":
    exit_now(main())
