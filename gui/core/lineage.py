"""The fix loop, Qt-free: a child config from a remedy, and the verdict when it ends (SPEC §7)."""

from __future__ import annotations

import dataclasses
from typing import Any

from traindoc.engine import config as config_module
from traindoc.engine.config import RunConfig
from traindoc.engine.events import FINISHED
from traindoc.gui.core.state import AppState, FixInfo, RunState, Verdict

# Roles compared before/after, with the direction that is better.
VERDICT_ROLES = ("val_loss", "val_accuracy")
FALLBACK_ROLE = "train_loss"  # runs with no validation series
MAX_NAME = 120


def child_name(parent: RunConfig, remedy_id: str) -> str:
    """``digits-adamw``, ``lower-lr`` → ``digits-adamw-fix-lower-lr``: the name records the fix."""
    return f"{parent.name}-fix-{remedy_id}"[-MAX_NAME:].lstrip("-_.")


def child_config(parent: RunConfig, remedy_id: str, patch: dict[str, Any]) -> RunConfig:
    """The parent's config with the remedy's patch, validated by engine; raises ConfigError."""
    return config_module.apply_patch(parent, {**patch, "name": child_name(parent, remedy_id)})


def fix_info(parent: RunState, finding: Any, remedy: Any) -> FixInfo:
    return FixInfo(parent=parent.id, rule=finding.rule, remedy=remedy.id, patch=dict(remedy.patch))


def verdict(state: AppState, child: RunState) -> Verdict | None:
    """Whether the child still has its parent's finding, and the best metrics of both."""
    if child.fix is None or child.diagnosis is None:
        return None
    parent = state.runs.get(child.fix.parent)
    # Only alarms count: an info finding is a note on weak evidence, not the problem.
    alarms = alarm_rules(child.diagnosis)
    resolved: bool | None = child.fix.rule not in alarms
    why = ""
    if child.status != FINISHED:
        resolved, why = None, f"the fixed run ended {child.status}"
    elif child.diagnosis.status.value == "insufficient-data":
        resolved, why = None, "the fixed run has too little data to judge"
    if resolved is not None and child.diagnosis.findings:
        parts = []
        others = sorted(alarms - {child.fix.rule})
        if others:
            parts.append("new: " + ", ".join(others))
        noted = sorted(child.diagnosis.rules - alarms)
        if resolved and child.fix.rule in noted:
            parts.append(f"{child.fix.rule} remains only as a note")
        why = "; ".join(parts)
    roles = [r for r in VERDICT_ROLES if child.series(r) is not None]
    if not roles and child.series(FALLBACK_ROLE) is not None:
        roles = [FALLBACK_ROLE]
    metrics = []
    for role in roles:
        before = parent.best(role) if parent is not None else None
        after = child.best(role)
        metrics.append((role, before[0] if before else None, after[0] if after else None))
    return Verdict(rule=child.fix.rule, resolved=resolved, metrics=tuple(metrics), why=why)


def alarm_rules(diagnosis: Any) -> frozenset[str]:
    """The rules with a warning or an error in ``diagnosis`` (info notes left out)."""
    return frozenset(
        f.rule for f in diagnosis.findings if getattr(f, "alarm", f.severity.value != "info")
    )


def mark_tried(diagnosis: Any, tried: dict[str, set[str]]) -> Any:
    """Remedies applied along the lineage (``tried[rule]``) become already-tried, listed last.

    The diagnosis only knows the config, where ``lower-lr`` applied once still has
    room to apply again; lineage says it was tried, so the next remedy is offered.
    """
    if diagnosis is None or not any(tried.values()):
        return diagnosis
    findings = []
    for finding in diagnosis.findings:
        done = tried.get(finding.rule, set())
        if not done:
            findings.append(finding)
            continue
        marked = [
            dataclasses.replace(r, already_tried=True) if r.id in done else r
            for r in finding.remedies
        ]
        ordered = [r for r in marked if not r.already_tried]
        ordered += [r for r in marked if r.already_tried]
        findings.append(dataclasses.replace(finding, remedies=tuple(ordered)))
    return dataclasses.replace(diagnosis, findings=tuple(findings))
