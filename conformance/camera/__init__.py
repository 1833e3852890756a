"""The camera conformance check, one module per ConformU CameraTester group.

``check`` runs the groups in ConformU's order over one shared ``probe.Probe`` (the device calls,
ConformU's judging rules, and the facts learned so far); ``values`` holds the value judgments.
"""

from __future__ import annotations

from conformance.camera.check import CameraCheck

__all__ = ["CameraCheck"]
