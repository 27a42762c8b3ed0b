"""The result model of ``hexpack verify``: gates, their findings and the report.

A *gate* is one row of the report (``freshness``, ``build``, ``required files``,
``smoke 3.12 latest``, ...). Each gate collects *findings*; its status is the
worst of them (``fail`` > ``warn`` > ``pass``), or ``skip`` when it did not run.
The report renders as a table of gates with their reasons and as JSON for CI.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..errors import CommandFailed, HexpackError, Problems


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    def __str__(self) -> str:
        return self.value


_RANK = {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True)
class Finding:
    """One reason: what is wrong (or noteworthy), which input, and the fix."""

    status: Status
    message: str
    subject: str | None = None
    hint: str | None = None

    def one_line(self) -> str:
        text = f"{self.subject}: {self.message}" if self.subject else self.message
        if self.hint:
            text += f"; {self.hint}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status.value, "message": self.message, "subject": self.subject, "hint": self.hint}


def fail(message: str, *, subject: str | None = None, hint: str | None = None) -> Finding:
    return Finding(Status.FAIL, message, subject, hint)


def warn(message: str, *, subject: str | None = None, hint: str | None = None) -> Finding:
    return Finding(Status.WARN, message, subject, hint)


def note(message: str, *, subject: str | None = None) -> Finding:
    """A passing finding: shown as information (e.g. what an exclude removed)."""
    return Finding(Status.PASS, message, subject)


def findings_from_error(exc: HexpackError, status: Status = Status.FAIL) -> list[Finding]:
    """A hexpack error (or several, as ``Problems``) as findings, keeping subject and hint."""
    errors = exc.problems if isinstance(exc, Problems) else [exc]
    found = []
    for error in errors:
        what = error.what
        if isinstance(error, CommandFailed):
            what = f"`{' '.join(error.argv)}` {error.what}"
        found.append(Finding(status, what, error.subject if not isinstance(error, CommandFailed) else None, error.hint))
    return found


@dataclass
class Gate:
    """One row of the report."""

    name: str
    group: str
    findings: list[Finding] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        if self.skipped is not None and not self.findings:
            return Status.SKIP
        worst = Status.PASS
        for finding in self.findings:
            if _RANK[finding.status] > _RANK[worst]:
                worst = finding.status
        return worst

    def add(self, *findings: Finding) -> Gate:
        self.findings.extend(findings)
        return self

    def extend(self, findings: list[Finding]) -> Gate:
        self.findings.extend(findings)
        return self

    def reasons(self) -> list[str]:
        """The lines the table shows: problems first, then notes."""
        if self.status is Status.SKIP:
            return [f"skipped: {self.skipped}"]
        ordered = sorted(self.findings, key=lambda f: -_RANK[f.status])
        return [f.one_line() if f.status is Status.PASS else f"{f.status.value}: {f.one_line()}" for f in ordered]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "findings": [f.to_json() for f in self.findings],
            "details": self.details,
        }

    @contextmanager
    def timed(self) -> Iterator[Gate]:
        """Time the block; a HexpackError (or OSError) inside becomes this gate's failure."""
        start = time.monotonic()
        try:
            yield self
        except HexpackError as exc:
            self.extend(findings_from_error(exc))
        except OSError as exc:  # a file system problem is this gate's failure, not a crash of the report
            self.add(Finding(Status.FAIL, exc.strerror or str(exc), exc.filename and str(exc.filename)))
        finally:
            self.seconds += time.monotonic() - start


def failing_gates(report: Mapping[str, Any]) -> list[str]:
    """One line per gate that failed or warned in a report as :meth:`Report.to_json` writes it
    (``hexpack verify --json``): its group, name and status, and the first reason the table shows."""
    lines = []
    for gate in report["gates"]:
        status = Status(gate["status"])
        if status not in (Status.FAIL, Status.WARN):
            continue
        findings = [
            Finding(Status(f["status"]), f["message"], f.get("subject"), f.get("hint")) for f in gate["findings"]
        ]
        problems = [f for f in findings if f.status in (Status.FAIL, Status.WARN)]
        problem = max(problems, key=lambda f: _RANK[f.status], default=None)  # the first of the worst
        reason = f": {problem.one_line()}" if problem else ""
        lines.append(f"{gate['group']} {gate['name']} {status.value}{reason}")
    return lines


@dataclass
class Report:
    """Every gate of one ``hexpack verify`` run, in report order."""

    gates: list[Gate] = field(default_factory=list)
    subject: str = ""
    seconds: float = 0.0

    def add(self, gate: Gate) -> Gate:
        self.gates.append(gate)
        return gate

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for gate in self.gates:
            counts[gate.status.value] += 1
        return counts

    def ok(self, *, allow_warnings: bool = False) -> bool:
        """True when every gate passed (warnings allowed only on request; skips are requested, so allowed)."""
        allowed = {Status.PASS, Status.SKIP} | ({Status.WARN} if allow_warnings else set())
        return all(gate.status in allowed for gate in self.gates)

    def problems(self) -> list[tuple[Gate, Finding]]:
        return [(g, f) for g in self.gates for f in g.findings if f.status in (Status.FAIL, Status.WARN)]

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(group, gate, status, reason) rows; a gate with several reasons spans several rows."""
        rows = []
        for gate in self.gates:
            reasons = gate.reasons() or [""]
            for index, reason in enumerate(reasons):
                first = index == 0
                rows.append(
                    (
                        gate.group if first else "",
                        gate.name if first else "",
                        gate.status.value if first else "",
                        reason,
                    )
                )
        return rows

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[s]} {s}" for s in ("pass", "warn", "fail", "skip") if counts[s]]
        return f"{len(self.gates)} gates: " + ", ".join(parts) + f" ({self.seconds:.1f} s)"

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "ok": self.ok(),
            "seconds": round(self.seconds, 3),
            "counts": self.counts(),
            "gates": [g.to_json() for g in self.gates],
        }
