"""The GUI's fix loop, Qt-free wiring: a child config from a remedy, the verdict when it ends.

The verdict itself is :func:`traindoc.diagnostics.fix_verdict.judge_fix`, the
remedies tried along a lineage are marked by :func:`traindoc.diagnostics.remedies.mark_tried`
and the ``parent.json`` record is :mod:`traindoc.engine.rundir`'s; this module only
reads them out of, and into, the :class:`AppState` (SPEC §7).
"""

from __future__ import annotations

from typing import Any

from traindoc.diagnostics.fix_verdict import Verdict, compared_roles, judge_fix
from traindoc.engine import config as config_module
from traindoc.engine.config import RunConfig
from traindoc.engine.config_names import fix_name
from traindoc.engine.events import FINISHED, TERMINAL_STATUSES
from traindoc.gui.core.state import AppState, FixInfo, RunState


def child_config(parent: RunConfig, remedy_id: str, patch: dict[str, Any]) -> RunConfig:
    """The parent's config with the remedy's patch, validated by engine; raises ConfigError."""
    return config_module.apply_patch(parent, {**patch, "name": fix_name(parent.name, remedy_id)})


def fix_info(parent: RunState, finding: Any, remedy: Any) -> FixInfo:
    return FixInfo(parent=parent.id, rule=finding.rule, remedy=remedy.id, patch=dict(remedy.patch))


def verdict(state: AppState, child: RunState) -> Verdict | None:
    """Whether the child still has its parent's finding, and the best metrics of both."""
    if child.fix is None or child.diagnosis is None:
        return None
    parent = state.runs.get(child.fix.parent)
    roles = compared_roles(role for role in child.roles if child.series(role) is not None)
    metrics = [(role, _best(parent, role), _best(child, role)) for role in roles]
    return judge_fix(
        child.fix.rule, child.diagnosis, finished=child.status == FINISHED,
        status=child.status, metrics=metrics,
    )


def _best(run: RunState | None, role: str) -> float | None:
    best = run.best(role) if run is not None else None
    return best[0] if best else None


def repair_blocker(run: RunState | None, *, running: bool) -> str | None:
    """Why "Fix until healthy" cannot start on ``run`` (``running``: a repair is going
    already), or None when it can: a launched run (its config known) that ended with a
    warning or an error."""
    if running:
        return "a repair is already running"
    if run is None or run.kind != "launched" or run.config is None or run.run_dir is None:
        return "only runs started here can be repaired (their config is known)"
    if run.status not in TERMINAL_STATUSES:
        return "the run has not ended yet"
    if run.diagnosis is None or not any(f.alarm for f in run.findings()):
        return "the run has no warning or error to fix"
    return None
