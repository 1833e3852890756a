"""How many examples a fuzz test makes: short in CI, long on demand."""

from __future__ import annotations

import os

# CI runs a short pass; a long hunt is the same tests with more examples, e.g.
#   ALPACA_SONY_FUZZ_EXAMPLES=5000 python3 -m pytest tests/fuzz -p no:cacheprovider
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
