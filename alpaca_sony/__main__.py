"""``python -m alpaca_sony`` works like the ``alpaca-sony`` command."""

from __future__ import annotations

import sys

from alpaca_sony.cli import main

sys.exit(main())
