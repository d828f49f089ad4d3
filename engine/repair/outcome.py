"""What one run of a repair showed, read back from its folder: diagnosis, objective, curves.

A run is judged from its own logs, as ``traindoc diagnose`` would judge it
(:func:`traindoc.engine.run_diagnosis.diagnose_log`, so remedies carry patches from
the stored config), plus its ``status.json``. The objective is the best value of the
run's validation accuracy (else its objective metric, its validation loss, its
training loss): what "better" and "worse" mean when the loop compares runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from traindoc.diagnostics.metrics import higher_is_better
from traindoc.diagnostics.repair_policy import Objective, Outcome
from traindoc.diagnostics.types import Diagnosis, Status
from traindoc.engine import rundir
from traindoc.engine.events import DIVERGED, FINISHED
from traindoc.engine.run_diagnosis import diagnose_log
from traindoc.engine.tb.reader import RunLog, load_path

#: The roles tried for the objective, in order.
OBJECTIVE_ROLES = ("val_accuracy", "val_metric", "val_loss", "train_loss")
#: The curves drawn in the report, one panel each.
CURVE_ROLES = ("train_loss", "val_loss", "val_accuracy")
#: Points kept per curve for the report's chart (every point up to this; then strided).
MAX_CURVE_POINTS = 2000
#: Statuses of a run that trained until it ended by itself (a blow-up stops a run early).
JUDGEABLE = (FINISHED, DIVERGED)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run folder's outcome plus what the report shows of it."""

    run_dir: Path
    outcome: Outcome
    status: str
    reason: str = ""
    best: dict[str, float | None] = field(default_factory=dict)  # role -> best value
    curves: dict[str, tuple[list[int], list[float | None]]] = field(default_factory=dict)


def read_record(run_dir: str | Path) -> RunRecord:
    """Diagnose the run in ``run_dir`` and read its status, best values and curves."""
    run_dir = Path(run_dir)
    logs = load_path(run_dir) if run_dir.is_dir() else []
    run_log = logs[0] if len(logs) == 1 else None
    diagnosis = diagnose_log(run_log) if run_log is not None else Diagnosis(
        Status.INSUFFICIENT_DATA, name=run_dir.name)
    status, reason, _problems = rundir.checked_status(run_dir)
    status = status or "unknown"
    best = {role: best_value(run_log, role) for role in (*OBJECTIVE_ROLES, *CURVE_ROLES)}
    main = objective(run_log, best)
    outcome = Outcome(
        diagnosis=diagnosis,
        objective=main,
        finished=status in JUDGEABLE and diagnosis.status is not Status.INSUFFICIENT_DATA,
        total_steps=_last_step(run_log),
        others=tuple(Objective(role, best[role], _higher(run_log, role))
                     for role in OBJECTIVE_ROLES
                     if role != main.role and _has(run_log, role) and best[role] is not None),
    )
    curves = {role: curve(run_log, role) for role in CURVE_ROLES if _has(run_log, role)}
    return RunRecord(run_dir, outcome, status, reason, best, curves)


def objective(run_log: RunLog | None, best: dict[str, float | None]) -> Objective:
    """The first role of :data:`OBJECTIVE_ROLES` the run has, with its best value."""
    for role in OBJECTIVE_ROLES:
        if run_log is not None and role in run_log.roles:
            return Objective(role, best.get(role), _higher(run_log, role))
    return Objective("val_loss", None, False)


def _higher(run_log: RunLog, role: str) -> bool:
    if role == "val_accuracy":
        return True
    if role == "val_metric":
        return higher_is_better(run_log.roles[role]) is not False
    return False


def _has(run_log: RunLog | None, role: str) -> bool:
    if run_log is None or role not in run_log.roles:
        return False
    scalars = run_log.scalars.get(run_log.roles[role])
    return scalars is not None and len(scalars) > 0


def best_value(run_log: RunLog | None, role: str) -> float | None:
    """The best finite value of a role: the least of a loss, the most of anything else
    (a ``val_metric`` by its name's direction)."""
    if not _has(run_log, role):
        return None
    values = run_log.scalars[run_log.roles[role]].values
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    lower = role.endswith("_loss") or (role == "val_metric" and not _higher(run_log, role))
    return float(values.min() if lower else values.max())


def curve(run_log: RunLog, role: str) -> tuple[list[int], list[float | None]]:
    """A role's steps and values for the chart (non-finite values as None), strided to
    at most :data:`MAX_CURVE_POINTS`."""
    scalars = run_log.scalars[run_log.roles[role]]
    stride = max(1, math.ceil(len(scalars) / MAX_CURVE_POINTS))
    steps = scalars.steps[::stride].tolist()
    values = [v if math.isfinite(v) else None for v in scalars.values[::stride].tolist()]
    return steps, values


def _last_step(run_log: RunLog | None) -> int:
    if not _has(run_log, "train_loss"):
        return 0
    return int(run_log.scalars[run_log.roles["train_loss"]].steps.max())
