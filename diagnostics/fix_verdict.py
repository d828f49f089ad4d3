"""The fix loop's verdict (SPEC §7): did a child run, started with a remedy applied,
resolve its parent's finding, and how did the best metrics move.

Pure and numpy-free: the caller (the GUI's fix loop, or a command that reads
``parent.json`` through :mod:`traindoc.engine.rundir`) passes the child's diagnosis,
whether it finished, and the best value of each compared role for both runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from traindoc.diagnostics.types import Diagnosis, Status

# Roles compared before/after; the training loss only for runs with no validation series.
VERDICT_ROLES = ("val_loss", "val_accuracy")
FALLBACK_ROLE = "train_loss"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Before/after of a fix: is the finding gone, and the best validation metrics of each.

    ``metrics`` holds ``(role, parent's best, child's best)``; a value is None when
    the run has no finite point of that role.
    """

    rule: str
    resolved: bool | None  # None: inconclusive (the child failed, or has too little data)
    metrics: tuple[tuple[str, float | None, float | None], ...] = ()
    why: str = ""  # for an inconclusive verdict, or what else the child shows

    def text(self) -> str:
        if self.resolved is None:
            outcome = f"inconclusive ({self.why})"
        else:
            outcome = "resolved" if self.resolved else "still present"
            outcome += f" ({self.why})" if self.why else ""
        parts = [f"{self.rule}: {outcome}"]
        for role, before, after in self.metrics:
            parts.append(f"best {role.replace('_', ' ')} {_fmt(before)} → {_fmt(after)}")
        return " · ".join(parts)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def compared_roles(available: Iterable[str]) -> tuple[str, ...]:
    """The roles a verdict compares, given the child's roles with a series."""
    have = set(available)
    roles = tuple(r for r in VERDICT_ROLES if r in have)
    if not roles and FALLBACK_ROLE in have:
        roles = (FALLBACK_ROLE,)
    return roles


def alarm_rules(diagnosis: Diagnosis) -> frozenset[str]:
    """The rules with a warning or an error in ``diagnosis`` (info notes left out)."""
    return frozenset(f.rule for f in diagnosis.findings if f.alarm)


def judge_fix(
    rule: str,
    diagnosis: Diagnosis,
    *,
    finished: bool,
    status: str = "",
    metrics: Iterable[tuple[str, float | None, float | None]] = (),
) -> Verdict:
    """The verdict on a child run that targeted ``rule``.

    ``finished``: the child ran to its end (else the verdict is inconclusive and
    ``status``, how it ended, says why). Only alarms count: an info finding is a note
    on weak evidence, not the problem.
    """
    alarms = alarm_rules(diagnosis)
    resolved: bool | None = rule not in alarms
    why = ""
    if not finished:
        resolved, why = None, f"the fixed run ended {status}"
    elif diagnosis.status == Status.INSUFFICIENT_DATA:
        resolved, why = None, "the fixed run has too little data to judge"
    if resolved is not None and diagnosis.findings:
        parts = []
        others = sorted(alarms - {rule})
        if others:
            parts.append("new: " + ", ".join(others))
        if resolved and rule in diagnosis.rules - alarms:
            parts.append(f"{rule} remains only as a note")
        why = "; ".join(parts)
    return Verdict(rule=rule, resolved=resolved, metrics=tuple(metrics), why=why)
