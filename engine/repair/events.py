"""What a repair session reports while it runs: one record per thing that happened.

:meth:`traindoc.engine.repair.session.RepairSession.events` yields these, in order:
``AttemptStarted`` and ``AttemptEnded`` for every run (the first run is attempt 0),
then one ``RepairEnded``. A command prints them; the GUI can grow its lineage tree
from them. The runs' own progress (steps, epochs) goes to the session's
``on_run_events`` callback instead: it is far more frequent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traindoc.diagnostics.repair_policy import Attempt, Skip, StopReason
from traindoc.engine.repair.outcome import RunRecord


@dataclass(frozen=True, slots=True)
class AttemptStarted:
    """A run began: attempt ``index`` (0: the first run), started from attempt ``parent``
    with ``remedy`` for ``rule``; ``changes`` is ``(key, old, new)`` of its patch."""

    index: int
    run_dir: Path
    parent: int | None = None
    rule: str = ""
    remedy: str = ""
    patch: Mapping[str, Any] = field(default_factory=dict)
    changes: tuple[tuple[str, Any, Any], ...] = ()
    skipped: tuple[Skip, ...] = ()  # remedies passed over to get to this one


@dataclass(frozen=True, slots=True)
class AttemptEnded:
    """A run ended and was judged: ``attempt`` has its outcome and effect (None for the
    first run); ``verdict`` is the fix verdict's text (as ``traindoc diagnose`` shows it)."""

    attempt: Attempt
    record: RunRecord
    verdict: str = ""


@dataclass(frozen=True, slots=True)
class RepairResult:
    """How a repair ended: every attempt and run record, why it stopped, the final run."""

    attempts: tuple[Attempt, ...]
    records: tuple[RunRecord, ...]
    verdicts: tuple[str, ...]
    skipped: tuple[tuple[Skip, ...], ...]
    reason: StopReason
    final: int  # index of the final run (the healthy one, else the best so far)
    seconds: float
    budget: int  # attempts allowed after the first run

    @property
    def healthy(self) -> bool:
        outcome = self.attempts[self.final].outcome
        return outcome is not None and outcome.healthy

    @property
    def final_dir(self) -> Path:
        return self.records[self.final].run_dir

    @property
    def first_dir(self) -> Path:
        return self.records[0].run_dir


@dataclass(frozen=True, slots=True)
class RepairEnded:
    """The last event: the result, and the report written (or why it was not)."""

    result: RepairResult
    report: Path | None = None
    problems: tuple[str, ...] = ()


RepairEvent = AttemptStarted | AttemptEnded | RepairEnded
