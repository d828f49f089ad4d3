"""Plain data of the diagnostics: series in, findings out (SPEC §4).

Every record is a frozen, slotted dataclass; optional arguments are keyword-only.
Role names are plain strings (see ``ROLES``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

#: The canonical roles of SPEC §3, in display order.
ROLES = (
    "train_loss",
    "val_loss",
    "train_accuracy",
    "val_accuracy",
    "lr",
    "grad_norm",
    "samples_per_sec",
    "device_mem_mb",
    "train_metric",
    "val_metric",
)

#: The objective-metric roles (SPEC §3): their direction comes from the tag's name
#: (``traindoc.diagnostics.metrics.higher_is_better``).
METRIC_ROLES = ("train_metric", "val_metric")


class Severity(enum.Enum):
    """How bad a finding is; ``rank`` orders them (0 is the worst)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class Confidence(enum.Enum):
    """How strong a finding's evidence is (points, margin over the curve's own noise)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _CONFIDENCE_RANK[self]


_CONFIDENCE_RANK = {Confidence.HIGH: 0, Confidence.MEDIUM: 1, Confidence.LOW: 2}


class Status(enum.Enum):
    """The verdict on a whole run (SPEC §5)."""

    HEALTHY = "healthy"
    PROBLEMS = "problems"
    INSUFFICIENT_DATA = "insufficient-data"


@dataclass(frozen=True, slots=True)
class Series:
    """One metric: ``steps`` (int64) and ``values`` (float64), in logging order."""

    steps: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        steps = np.ascontiguousarray(self.steps, dtype=np.int64).reshape(-1)
        values = np.ascontiguousarray(self.values, dtype=np.float64).reshape(-1)
        if steps.shape != values.shape:
            raise ValueError(f"steps and values differ in length: {steps.size} != {values.size}")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "values", values)

    @classmethod
    def of(cls, values, *, steps=None, start: int = 0) -> Series:
        """A series from values alone (steps ``start, start+1, ...`` unless given)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if steps is None:
            steps = np.arange(start, start + values.size, dtype=np.int64)
        return cls(np.asarray(steps), values)

    def __len__(self) -> int:
        return int(self.values.size)


@dataclass(frozen=True, slots=True)
class RunData:
    """A run to diagnose: role -> series, plus the run's config when known.

    ``config`` is the nested mapping of SPEC §6 (``{"optim": {"lr": 0.001}, ...}``);
    ``None`` for foreign logs, whose remedies then carry no patch. ``tags`` maps a
    role to the tag it was read from (a metric's direction is inferred from it:
    ``val_metric`` from ``val_MAE`` is lower-is-better); roles without an entry are
    their canonical selves.
    """

    series: Mapping[str, Series]
    config: Mapping[str, Any] | None = field(default=None, kw_only=True)
    name: str = field(default="", kw_only=True)
    tags: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "series", MappingProxyType(dict(self.series)))
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.series.values())


@dataclass(frozen=True, slots=True)
class Remedy:
    """One thing to try. ``patch`` maps dotted config keys to new values (None: text only).

    ``already_tried`` is set when the run's config already has the change in place
    (or the caller said it was applied): such remedies come after the others.
    """

    id: str
    text: str
    snippet: str = field(default="", kw_only=True)
    patch: Mapping[str, Any] | None = field(default=None, kw_only=True)
    already_tried: bool = field(default=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a run, with its evidence and the remedies in order."""

    rule: str
    severity: Severity
    title: str
    step_start: int
    step_end: int
    evidence: str
    remedies: tuple[Remedy, ...] = field(default=(), kw_only=True)
    role: str = field(default="", kw_only=True)
    cause: str | None = field(default=None, kw_only=True)
    confidence: Confidence = field(default=Confidence.HIGH, kw_only=True)
    #: How big the problem is, comparable between two runs' findings of the same rule
    #: and kind (a blow-up's peak over the level before it); None when not measured.
    size: float | None = field(default=None, kw_only=True)

    @property
    def alarm(self) -> bool:
        """A warning or an error (an ``info`` finding is a note, not an alarm)."""
        return self.severity is not Severity.INFO

    def next_remedy(self) -> Remedy | None:
        """The first remedy not yet tried (None when every one was)."""
        return next((r for r in self.remedies if not r.already_tried), None)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The outcome of diagnosing one run: status and findings (worst first, then by step)."""

    status: Status
    findings: tuple[Finding, ...] = ()
    name: str = field(default="", kw_only=True)
    points: int = field(default=0, kw_only=True)
    roles: tuple[str, ...] = field(default=(), kw_only=True)
    rules_run: tuple[str, ...] = field(default=(), kw_only=True)

    @property
    def rules(self) -> frozenset[str]:
        """The ids of the rules that fired."""
        return frozenset(f.rule for f in self.findings)

    @property
    def primary(self) -> Finding | None:
        """The verdict: the first warning or error (findings are sorted worst first)."""
        return next((f for f in self.findings if f.alarm), None)
