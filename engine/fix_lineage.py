"""A run's fix lineage, for the command line: the run it was fixed from and whether the
fix worked.

The record is ``parent.json`` (:func:`traindoc.engine.rundir.read_parent`, written when
the GUI's fix loop starts a child run); the verdict is the one the GUI shows,
:func:`traindoc.diagnostics.fix_verdict.judge_fix`, over the best validation metrics of
both runs read from their logs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from traindoc.diagnostics.fix_verdict import compared_roles, judge_fix
from traindoc.diagnostics.types import Diagnosis
from traindoc.engine import rundir
from traindoc.engine.events import FINISHED
from traindoc.engine.tb.reader import RunLog, load_path


def fix_line(run_log: RunLog, diagnosis: Diagnosis) -> str:
    """``fix of PARENT (REMEDY for RULE): VERDICT`` for a run with a ``parent.json``,
    else the empty string."""
    if run_log.source is None:
        return ""
    folder = run_log.source.root
    link, _problems = rundir.read_parent(folder)
    if link is None or not link.rule:
        return ""
    parent_log = _parent_log(link.parent)
    roles = compared_roles(role for role in run_log.roles if _best(run_log, role) is not None)
    metrics = [(role, _best(parent_log, role), _best(run_log, role)) for role in roles]
    status, _reason, _ = rundir.checked_status(folder)
    verdict = judge_fix(link.rule, diagnosis, finished=status == FINISHED,
                        status=status or "unknown", metrics=metrics)
    parent = link.parent_name or (Path(link.parent).name if link.parent else "an unknown run")
    remedy = f"{link.remedy} for " if link.remedy else ""
    return f"fix of {parent} ({remedy}{link.rule}): {verdict.text()}"


def _parent_log(parent: str | None) -> RunLog | None:
    if not parent or not Path(parent).is_dir():
        return None
    logs = load_path(parent)
    return logs[0] if len(logs) == 1 else None


def _best(run_log: RunLog | None, role: str) -> float | None:
    """The best finite value of a compared role: least loss, most accuracy."""
    tag = run_log.roles.get(role) if run_log is not None else None
    if tag is None or tag not in run_log.scalars:
        return None
    values = run_log.scalars[tag].values
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    return float(values.min() if role.endswith("_loss") else values.max())
