"""``diagnose(run)``: the insufficient-data gate, every applicable rule, sorted findings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from traindoc.diagnostics.calibration import DEFAULT, Calibration
from traindoc.diagnostics.facts import MIN_POINTS
from traindoc.diagnostics.learning import reported_pair
from traindoc.diagnostics.registry import ALL_RULES
from traindoc.diagnostics.rules.base import Rule
from traindoc.diagnostics.summary import Segments, summarize
from traindoc.diagnostics.types import Diagnosis, Finding, RunData, Status
from traindoc.diagnostics.view import RunView

log = logging.getLogger(__name__)

_ORDER = {rule.id: i for i, rule in enumerate(ALL_RULES)}


def enough_to_judge(view: RunView, rule: Rule) -> bool:
    """A judging rule whose curves have ``MIN_POINTS`` (a verdict, not a glimpse): five
    evaluations of a detector that has just started cannot say it is healthy."""
    return reported_pair(view) or any(
        view.has(role, MIN_POINTS) for alt in rule.needs for role in alt)


def diagnose(run: RunData, *, calibration: Calibration = DEFAULT) -> Diagnosis:
    """Diagnose a whole run (SPEC §4): the same result as ``LiveDiagnoser`` on the same data."""
    summaries = {role: summarize(s.steps, s.values) for role, s in run.series.items()}
    return diagnose_summaries(summaries, config=run.config, name=run.name, tags=run.tags,
                              calibration=calibration)


def diagnose_summaries(
    summaries: Mapping[str, Segments], *, config: Mapping[str, Any] | None = None,
    name: str = "", tags: Mapping[str, str] | None = None,
    calibration: Calibration = DEFAULT,
) -> Diagnosis:
    """Run every rule on per-role summaries (see ``traindoc.diagnostics.summary``).

    Status: ``problems`` when any rule found a warning or an error (an ``info``
    finding is a note on weak evidence, not a verdict); otherwise ``healthy`` when at
    least one judging rule had enough data, else ``insufficient-data`` (no guess). A
    non-finite loss or gradient norm is a fact, not a guess, and is reported even on a
    run too short to judge.
    """
    view = RunView(summaries, config=config, name=name, tags=tags, calibration=calibration)
    findings: list[Finding] = []
    ran: list[str] = []
    judged = False
    for rule in ALL_RULES:
        if not rule.applicable(view):
            continue
        ran.append(rule.id)
        judged = judged or (rule.judges and enough_to_judge(view, rule))
        findings.extend(rule.check(view))
    # Worst first: severity, then confidence, then the registry's order (the most
    # specific explanation of a curve first), then the step.
    findings.sort(key=lambda f: (f.severity.rank, f.confidence.rank, _ORDER.get(f.rule, 99),
                                 f.step_start))
    if any(f.alarm for f in findings):
        status = Status.PROBLEMS
    elif judged:
        status = Status.HEALTHY
    else:
        status = Status.INSUFFICIENT_DATA
    points = sum(s.n_points for s in summaries.values())
    log.debug("diagnosed %s: %s, %d finding(s)", name or "run", status.value, len(findings))
    return Diagnosis(
        status, tuple(findings), name=name, points=points,
        roles=tuple(r for r, s in summaries.items() if s.n_points), rules_run=tuple(ran),
    )
