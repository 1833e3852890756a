"""How a fuzz test runs: short and reproducible in CI, long and random on demand.

CI runs a short pass with a fixed seed per test (``derandomize``), so a CI result never depends on
luck; a long hunt draws fresh random examples and makes as many as it is told, e.g.
    ALPACA_SONY_FUZZ_EXAMPLES=5000 python3 -m pytest tests/fuzz -p no:cacheprovider
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import settings

_FUZZ_EXAMPLES = os.environ.get("ALPACA_SONY_FUZZ_EXAMPLES", "")


def examples(ci_default: int) -> int:
    """Hypothesis examples per test: the CI default unless ALPACA_SONY_FUZZ_EXAMPLES says more."""
    if not _FUZZ_EXAMPLES:
        return ci_default
    if not _FUZZ_EXAMPLES.isdigit() or int(_FUZZ_EXAMPLES) < 1:
        raise ValueError(
            f"ALPACA_SONY_FUZZ_EXAMPLES={_FUZZ_EXAMPLES!r}: "
            "give a whole number of examples, e.g. 5000"
        )
    return int(_FUZZ_EXAMPLES)


def fuzz_settings(ci_examples: int, **overrides: Any) -> settings:
    """Hypothesis settings for a fuzz test: no deadline (a hang is pytest-timeout's to catch),
    no example database (nothing is written into the checkout), derandomized in CI."""
    return settings(
        max_examples=examples(ci_examples),
        derandomize=not _FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        **overrides,
    )
