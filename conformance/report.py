"""Outcomes and the report: every check ends as one OK / INFO / ISSUE / ERROR line.

The levels mean what they mean in ConformU:

- OK: the behaviour matches the specification.
- INFO: accepted, but worth knowing (an ASCOM error on a good call, a tolerated variant).
- ISSUE: a deviation from the Alpaca/ASCOM specification that a client may trip over.
- ERROR: the check itself could not be carried out (no reply, a timeout, a body that cannot be
  parsed) or the device stalled beyond ConformU's hard limits.
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

TEST_WIDTH = 35
LEVEL_WIDTH = 8


class Level(enum.Enum):
    OK = "OK"
    INFO = "INFO"
    ISSUE = "ISSUE"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Entry:
    """One logged outcome."""

    stamp: str
    section: str
    test: str
    level: Level
    message: str
    detail: str = ""

    def line(self) -> str:
        text = f"{self.stamp} {self.test:<{TEST_WIDTH}} {self.level.value:<{LEVEL_WIDTH}} "
        text += self.message
        if self.detail:
            text += f"\n{'':<{len(self.stamp) + TEST_WIDTH + LEVEL_WIDTH + 2}}  Response: "
            text += self.detail
        return text


@dataclass
class Report:
    """Collects entries; optionally echoes each one to a stream as it happens."""

    stream: TextIO | None = None
    show_ok: bool = True
    entries: list[Entry] = field(default_factory=list)
    section_name: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    _lines: list[str] = field(default_factory=list)

    # -- writing -----------------------------------------------------------------------------

    def _emit(self, text: str, *, always: bool = True) -> None:
        self._lines.append(text)
        if self.stream is not None and always:
            self.stream.write(text + "\n")
            self.stream.flush()

    def text(self, message: str) -> None:
        """A free-form line (headings, context)."""
        self._emit(message)

    def section(self, title: str) -> None:
        self.section_name = title
        self._emit("")
        self._emit(f"=== {title} ===")

    def add(self, level: Level, test: str, message: str, detail: str = "") -> Entry:
        stamp = dt.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        entry = Entry(stamp, self.section_name, test, level, message, detail)
        self.entries.append(entry)
        self._emit(entry.line(), always=self.show_ok or level is not Level.OK)
        return entry

    def ok(self, test: str, message: str, detail: str = "") -> Entry:
        return self.add(Level.OK, test, message, detail)

    def info(self, test: str, message: str, detail: str = "") -> Entry:
        return self.add(Level.INFO, test, message, detail)

    def issue(self, test: str, message: str, detail: str = "") -> Entry:
        return self.add(Level.ISSUE, test, message, detail)

    def error(self, test: str, message: str, detail: str = "") -> Entry:
        return self.add(Level.ERROR, test, message, detail)

    def finish(self) -> None:
        self.finished = time.monotonic()

    # -- reading -----------------------------------------------------------------------------

    def count(self, level: Level) -> int:
        return sum(1 for entry in self.entries if entry.level is level)

    def problems(self) -> list[Entry]:
        """Every ISSUE and ERROR entry, in order."""
        return [e for e in self.entries if e.level in (Level.ISSUE, Level.ERROR)]

    @property
    def failed(self) -> bool:
        return bool(self.problems())

    @property
    def elapsed(self) -> float:
        end = self.finished if self.finished is not None else time.monotonic()
        return end - self.started

    def summary_line(self) -> str:
        return (
            f"Summary: {self.count(Level.OK)} OK, {self.count(Level.INFO)} INFO, "
            f"{self.count(Level.ISSUE)} ISSUE, {self.count(Level.ERROR)} ERROR "
            f"in {self.elapsed:.1f} s"
        )

    def summary(self) -> str:
        """ConformU-style closing blocks: errors, issues and information messages, then counts."""
        out: list[str] = [""]
        for level, title in (
            (Level.ERROR, "Error Summary"),
            (Level.ISSUE, "Issue Summary"),
            (Level.INFO, "Information Message Summary"),
        ):
            chosen = [e for e in self.entries if e.level is level]
            if not chosen:
                continue
            out.append(f"{title} ({len(chosen)})")
            for entry in chosen:
                out.append(f"  [{entry.section}] {entry.test} ==> {entry.message}")
                if entry.detail:
                    out.append(f"      Response: {entry.detail}")
            out.append("")
        if not self.failed:
            out.append("No errors or issues were found.")
        out.append(self.summary_line())
        return "\n".join(out)

    def full_text(self) -> str:
        """Everything written so far (with OK lines hidden from the stream) plus the summary."""
        return "\n".join([*self._lines, self.summary()]) + "\n"

    def as_json(self) -> dict[str, Any]:
        """Shaped like ConformU's results file, plus every entry."""

        def pairs(level: Level) -> list[dict[str, str]]:
            return [{"Key": e.test, "Value": e.message} for e in self.entries if e.level is level]

        return {
            "ErrorCount": self.count(Level.ERROR),
            "IssueCount": self.count(Level.ISSUE),
            "InformationCount": self.count(Level.INFO),
            "OkCount": self.count(Level.OK),
            "ElapsedSeconds": round(self.elapsed, 3),
            "Errors": pairs(Level.ERROR),
            "Issues": pairs(Level.ISSUE),
            "Information": pairs(Level.INFO),
            "Entries": [
                {
                    "Time": e.stamp,
                    "Section": e.section,
                    "Test": e.test,
                    "Level": e.level.value,
                    "Message": e.message,
                    "Detail": e.detail,
                }
                for e in self.entries
            ],
        }
