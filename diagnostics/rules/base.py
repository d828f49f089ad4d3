"""What every rule shares: the view of a run it reads, and the ``Rule`` base class.

A rule declares the roles it needs (alternatives: any one set suffices) and how many
finite points each must have; the runner checks that (the insufficient-data gate)
and calls ``check``. Rules are pure: ``RunView`` in, findings out.
"""

from __future__ import annotations

import inspect
from typing import ClassVar

from traindoc.diagnostics import remedies as _remedies
from traindoc.diagnostics.types import Confidence, Finding, Remedy, Severity
from traindoc.diagnostics.view import RunView

__all__ = ["Rule", "RunView"]


class Rule:
    """Base class of the rules: one subclass per file under ``diagnostics/rules``."""

    id: ClassVar[str]
    title: ClassVar[str]
    #: Alternative sets of roles; the rule runs when every role of one set is present.
    needs: ClassVar[tuple[tuple[str, ...], ...]]
    #: Finite points each needed role must have (the insufficient-data gate).
    min_points: ClassVar[int] = 5
    #: False for rules that report facts (a NaN is a NaN even on a 3-point run):
    #: they do not count as "enough data to judge" for the run's status.
    judges: ClassVar[bool] = True

    def applicable(self, view: RunView) -> bool:
        return any(all(view.has(r, self.min_points) for r in alt) for alt in self.needs)

    def check(self, view: RunView) -> list[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- helpers for subclasses ----------------------------------------------------------

    def remedies(self, view: RunView, cause: str | None = None) -> tuple[Remedy, ...]:
        return _remedies.remedies_for(self.id, cause, view.config)

    def finding(
        self, view: RunView, severity: Severity, start: int, end: int, evidence: str, *,
        role: str = "", cause: str | None = None, title: str | None = None,
        confidence: Confidence = Confidence.HIGH, size: float | None = None,
    ) -> Finding:
        """A finding; SPEC §4: weak evidence is ``info``, and an error needs high
        confidence (a medium-confidence error is reported as a warning)."""
        if confidence is Confidence.LOW:
            severity = Severity.INFO
        elif confidence is Confidence.MEDIUM and severity is Severity.ERROR:
            severity = Severity.WARNING
        return Finding(
            self.id, severity, title or self.title, int(start), int(end), evidence,
            remedies=self.remedies(view, cause), role=role, cause=cause, confidence=confidence,
            size=size,
        )

    @classmethod
    def doc(cls) -> str:
        """The rule's documentation (What it detects / Why it matters / Example / Remedies)."""
        return inspect.cleandoc(cls.__doc__ or "")
