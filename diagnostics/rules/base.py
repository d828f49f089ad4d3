"""What every rule shares: the view of a run it reads, and the ``Rule`` base class.

A rule declares the roles it needs (alternatives: any one set suffices) and how many
finite points each must have; the runner checks that (the insufficient-data gate)
and calls ``check``. Rules are pure: ``RunView`` in, findings out.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

from diagnostics import remedies as _remedies
from diagnostics.calibration import DEFAULT, Calibration
from diagnostics.metrics import higher_is_better
from diagnostics.signals import Curve, curve
from diagnostics.summary import Segments
from diagnostics.types import METRIC_ROLES, Confidence, Finding, Remedy, Severity


class RunView:
    """A run as the rules see it: per-role summaries (``Segments``), the config, the
    tags the roles came from, the calibration, and a cache of shared facts."""

    __slots__ = ("_curves", "cal", "config", "facts", "name", "summaries", "tags")

    def __init__(
        self, summaries: Mapping[str, Segments], *, config: Mapping[str, Any] | None = None,
        name: str = "", tags: Mapping[str, str] | None = None,
        calibration: Calibration = DEFAULT,
    ) -> None:
        self.summaries = summaries
        self.config = config
        self.name = name
        self.tags = dict(tags or {})
        self.cal = calibration
        self.facts: dict[str, Any] = {}  # diagnostics.facts caches here, per run
        self._curves: dict[str, Curve] = {}

    def tag(self, role: str) -> str:
        """The tag a role was read from (the role itself for canonical runs)."""
        return self.tags.get(role, role)

    def higher_is_better(self, role: str) -> bool | None:
        """Which way is better for a role: losses down, accuracies up, metrics by name."""
        if role.endswith("_loss"):
            return False
        if role.endswith("_accuracy"):
            return True
        if role in METRIC_ROLES:
            return higher_is_better(self.tag(role))
        return None

    def has(self, role: str, min_points: int = 1) -> bool:
        seg = self.summaries.get(role)
        return seg is not None and seg.n_finite >= min_points

    def curve(self, role: str) -> Curve:
        c = self._curves.get(role)
        if c is None:
            c = self._curves[role] = curve(self.summaries[role])
        return c


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
        confidence: Confidence = Confidence.HIGH,
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
        )

    @classmethod
    def doc(cls) -> str:
        """The rule's documentation (What it detects / Why it matters / Example / Remedies)."""
        return inspect.cleandoc(cls.__doc__ or "")
