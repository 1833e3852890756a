"""An independent Alpaca camera conformance checker (a stand-in for ConformU).

``python -m conformance.checker http://HOST:PORT`` runs the Alpaca protocol check and the camera
conformance check against a live server and prints a ConformU-style report. It talks HTTP with the
standard library only, so it tests the wire format independently of any Alpaca client library.
"""

from __future__ import annotations

__version__ = "1.0"
