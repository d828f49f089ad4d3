"""The repair's words: one line per attempt, the ending, the config diff, the JSON object.

The command line prints these lines; the Markdown report (:mod:`traindoc.engine.repair.report`)
and ``--json`` carry the same content.
"""

from __future__ import annotations

import math
from typing import Any

from traindoc.diagnostics import repair_policy as policy
from traindoc.diagnostics.repair_policy import Attempt, Effect, StopReason
from traindoc.engine.repair.events import RepairResult
from traindoc.engine.repair.outcome import RunRecord

#: Skips worth a line in the text output (a text-only remedy is skipped every time).
HISTORY_SKIPS = ("did not help before", "made things worse before", "that config was already run")


def show(value: Any) -> str:
    """A config value as the user wrote it: 0.2, 1e-05, true, [256, 256], adamw."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return "—" if value is None else str(value)


def changes_text(changes: tuple[tuple[str, Any, Any], ...]) -> str:
    """``optim.lr 20 → 2, train.clip_grad_norm 0 → 1``."""
    return ", ".join(f"{key} {show(old)} → {show(new)}" for key, old, new in changes)


def role_words(role: str) -> str:
    return role.replace("_", " ")


def _number(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4g}"


def alarms_text(record: RunRecord) -> str:
    """``divergence (error), nan-loss (warning)``, or ``healthy``."""
    alarms = record.outcome.alarms
    if not alarms:
        return "healthy" if record.outcome.finished else f"no finding (run {record.status})"
    seen: dict[str, str] = {}
    for finding in alarms:
        seen.setdefault(finding.rule, finding.severity.value)
    return ", ".join(f"{rule} ({severity})" for rule, severity in seen.items())


def objective_move(parent: RunRecord | None, child: RunRecord) -> str:
    """``best val accuracy 0.1003 → 0.4312`` (just the child's value for a first run)."""
    objective = child.outcome.objective
    if parent is None:
        return f"best {role_words(objective.role)} {_number(objective.value)}"
    both = policy.compared(child.outcome, parent.outcome)
    role = objective.role if both is None else both[0]
    return (f"best {role_words(role)} {_number(parent.best.get(role))} → "
            f"{_number(child.best.get(role))}")


def effect_text(attempt: Attempt, record: RunRecord, parent: RunRecord) -> str:
    """What the attempt did: ``divergence resolved; new: slow-descent``, ``... helped``."""
    rule = attempt.rule
    if attempt.effect is None:
        return f"stopped before its end ({record.status})"
    if attempt.effect is Effect.RESOLVED:
        new = sorted(record.outcome.alarm_rules() - parent.outcome.alarm_rules())
        text = f"{rule} resolved"
        if record.outcome.healthy:
            return text + "; healthy"
        others = sorted(record.outcome.alarm_rules() - set(new))
        if new:
            text += "; new: " + ", ".join(new)
        if others:
            text += "; still: " + ", ".join(others)
        return text
    if attempt.effect is Effect.HELPED:
        return f"{rule} still present, but better"
    if attempt.effect is Effect.NO_HELP:
        return f"{rule} still present; did not help"
    new_errors = sorted(policy.new_errors(parent.outcome, record.outcome, rule))
    why = f"new error: {', '.join(new_errors)}" if new_errors else "worse objective"
    if not record.outcome.finished:
        why = f"the run {record.status}"
    return f"made things worse ({why}); rolled back"


def attempt_line(result_attempts: list[Attempt], records: list[RunRecord],
                 attempt: Attempt, record: RunRecord) -> str:
    """One line per attempt, e.g. ``attempt 2: lower-lr (optim.lr 2 → 0.2): divergence
    resolved; healthy (best val accuracy 0.43 → 0.95)``."""
    if attempt.parent is None:
        verdict = alarms_text(record)
        if record.outcome.healthy:
            verdict += ", nothing to fix"
        return f"first run {record.run_dir.name}: {verdict} ({objective_move(None, record)})"
    parent = records[attempt.parent]
    base = result_attempts[attempt.parent].config
    changes = tuple((k, base.get(k), attempt.config.get(k)) for k in attempt.patch)
    start = "" if attempt.parent == attempt.index - 1 else f", from attempt {attempt.parent}"
    return (f"attempt {attempt.index}: {attempt.remedy} ({changes_text(changes)}{start}): "
            f"{effect_text(attempt, record, parent)} ({objective_move(parent, record)})")


def skip_lines(skips: tuple[policy.Skip, ...]) -> list[str]:
    return [f"  skipped {s.remedy} for {s.rule}: {s.why}" for s in skips if s.why in HISTORY_SKIPS]


def ending_line(result: RepairResult) -> str:
    """``repair: healthy after 2 attempts (41 s)`` or why it stopped short."""
    used = len(result.attempts) - 1
    took = f"{used} attempt{'s' if used != 1 else ''}, {result.seconds:.0f} s"
    if result.reason is StopReason.HEALTHY:
        if used == 0:
            return "repair: the first run is healthy; nothing to repair"
        return f"repair: healthy after {took}"
    final = "the first run" if result.final == 0 else f"attempt {result.final}"
    return f"repair: not healthy — {result.reason.value} ({took}); best run: {final}"


def diff_lines(result: RepairResult) -> list[str]:
    """The path from the first config to the final one, as a config diff."""
    diff = policy.config_diff(result.attempts[0].config, result.attempts[result.final].config)
    if not diff:
        return ["config diff (first → final): none"]
    return ["config diff (first → final):"] + [
        f"  {key}: {show(old)} → {show(new)}" for key, old, new in diff]


def as_json(result: RepairResult, report: str | None) -> dict[str, Any]:
    """``--json``: the attempts, patches, verdicts and the final run."""
    attempts = []
    for attempt, record, verdict, skips in zip(result.attempts, result.records, result.verdicts,
                                               result.skipped, strict=True):
        objective = record.outcome.objective
        attempts.append({
            "index": attempt.index, "run": str(record.run_dir), "parent": attempt.parent,
            "rule": attempt.rule or None, "remedy": attempt.remedy or None,
            "patch": dict(attempt.patch), "status": record.status,
            "effect": attempt.effect.value if attempt.effect else None,
            "verdict": verdict or None, "healthy": record.outcome.healthy,
            "alarms": sorted(record.outcome.alarm_rules()),
            "objective": {"role": objective.role, "best": objective.value},
            "skipped": [{"rule": s.rule, "remedy": s.remedy, "why": s.why} for s in skips],
        })
    diff = policy.config_diff(result.attempts[0].config, result.attempts[result.final].config)
    return {
        "version": 1, "healthy": result.healthy, "stopped": result.reason.value,
        "attempts_used": len(result.attempts) - 1, "budget": result.budget,
        "seconds": round(result.seconds, 2), "attempts": attempts,
        "config_diff": [{"key": k, "first": a, "final": b} for k, a, b in diff],
        "first_run": str(result.first_dir), "final_run": str(result.final_dir), "report": report,
    }
