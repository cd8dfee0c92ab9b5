"""What a proof reports: per account and stack, what fails, the AWS rule it rests on, and the
fix; and, apart from failures, what it cannot decide offline, by name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from itertools import groupby


class Verdict(Enum):
    FAILS = "fails"
    """AWS would refuse it (or the flow would not work): the preflight exits non-zero."""
    UNDECIDED = "cannot decide offline"
    """It depends on something outside the assembly and the config; said, never passed silently."""


@dataclass(frozen=True, order=True)
class Finding:
    proof: str
    """Which proof: "deploy-permissions", "no-escalation", "deploy-actions", "references", ..."""
    where: str
    """The account and region (`ml-prod 777777777777/eu-west-1`), or "organization"."""
    subject: str
    """The stack and resource, action or flow step concerned."""
    problem: str
    rule: str
    """The AWS rule the finding rests on, with its source (a documentation page or AWS data)."""
    fix: str
    verdict: Verdict = Verdict.FAILS

    def render(self) -> str:
        return f"  [{self.proof}] {self.subject}: {self.problem}\n      AWS rule: {self.rule}\n      fix: {self.fix}"


def failures(findings: Iterable[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.verdict is Verdict.FAILS]


def render(findings: Iterable[Finding]) -> str:
    """Failures first, then what could not be decided, each grouped by account."""
    ordered = sorted(findings, key=lambda finding: (finding.verdict is Verdict.UNDECIDED, finding.where, finding))
    lines: list[str] = []
    for (undecided, where), group in groupby(ordered, key=lambda f: (f.verdict is Verdict.UNDECIDED, f.where)):
        label = "cannot decide offline" if undecided else "fails"
        lines.append(f"{where} ({label}):")
        lines += [finding.render() for finding in group]
    return "\n".join(lines)
