"""A diagnosis as the JSON run object of ``diagnose --json``, and as a plain-text block
for the terminal (numbers, counts and config changes worded by ``diagnostics.wording``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from traindoc.diagnostics.types import Diagnosis, Finding, Remedy, Severity
from traindoc.diagnostics.wording import patch_text, plural

#: Remedies shown per finding in the text block (the JSON carries all of them).
TEXT_REMEDIES = 2

#: The severity column of the text block; an ``info`` finding is a note, not an alarm.
_MARK = {Severity.ERROR: "ERROR", Severity.WARNING: "WARN ", Severity.INFO: "note "}


def _plain(value: Any) -> Any:
    """JSON-safe values: numpy scalars to Python, tuples to lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def remedy_json(remedy: Remedy) -> dict[str, Any]:
    """``{"id", "text"[, "patch"]}``; ``patch`` is omitted when the config is unknown."""
    out: dict[str, Any] = {"id": remedy.id, "text": remedy.text}
    if remedy.patch is not None:
        out["patch"] = _plain(dict(remedy.patch))
    return out


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "title": finding.title,
        "step_start": int(finding.step_start),
        "step_end": int(finding.step_end),
        "evidence": finding.evidence,
        "confidence": finding.confidence.value,
        "remedies": [remedy_json(r) for r in finding.remedies],
    }


def confidence_text(finding: Finding) -> str:
    """``"medium confidence"``: how strong the finding's evidence is."""
    return f"{finding.confidence.value} confidence"


def run_json(
    diagnosis: Diagnosis, *, run: str = ".", roles: Mapping[str, str] | None = None,
    points: int | None = None,
) -> dict[str, Any]:
    """The JSON run object: run, roles, points, status, findings.

    ``roles`` maps each canonical role found to its source tag (the reader knows the
    tags; without it each role maps to itself). ``points`` counts every scalar point
    read for the run, all tags included (the reader's count; default: the points
    diagnosed).
    """
    if roles is None:
        roles = {r: r for r in diagnosis.roles}
    return {
        "run": run,
        "roles": dict(roles),
        "points": int(diagnosis.points if points is None else points),
        "status": diagnosis.status.value,
        "findings": [finding_json(f) for f in diagnosis.findings],
    }


def document_json(runs: Iterable[Mapping[str, Any]], warnings: Iterable[str] = ()) -> dict:
    """The whole ``diagnose --json`` object: version, runs, warnings."""
    return {"version": 1, "runs": list(runs), "warnings": list(warnings)}


def text_block(
    diagnosis: Diagnosis, *, run: str = ".", remedies: int = TEXT_REMEDIES,
    width: int = 100,
) -> str:
    """A plain-text block, readable at a glance::

        runs/exp1: problems (2 findings, 1 note, 12,345 points)
          ERROR nan-loss  steps 400-420  Loss became NaN  [high confidence]
                train_loss became NaN at step 400 ...
                -> 1. lower-lr: Lower the learning rate ten-fold ...  (config: optim.lr = 0.0001)
          note  overfitting  steps 10-90  Overfitting  [low confidence]
                ...

    Warnings and errors count as findings; ``info`` findings are notes (weak
    evidence, not an alarm) and are marked ``note``.
    """
    alarms = sum(1 for f in diagnosis.findings if f.alarm)
    notes = len(diagnosis.findings) - alarms
    counts = ([plural(alarms, "finding")] if alarms else []) + (
        [plural(notes, "note")] if notes else [])
    head = f"{run}: {diagnosis.status.value} ("
    head += ", ".join([*counts, plural(diagnosis.points, "point")]) + ")"
    lines = [head]
    for f in diagnosis.findings:
        lines.append(f"  {_MARK[f.severity]} {f.rule}  steps {f.step_start}-{f.step_end}  "
                     f"{f.title}  [{confidence_text(f)}]")
        lines.extend(_wrap(f.evidence, "        ", width))
        shown = [r for r in f.remedies if not r.already_tried][:remedies]
        for i, r in enumerate(shown, 1):
            patch = f"  (config: {patch_text(r.patch)})" if r.patch else ""
            lines.extend(_wrap(f"-> {i}. {r.id}: {r.text}{patch}", "        ", width))
    return "\n".join(lines)


def _wrap(text: str, indent: str, width: int) -> list[str]:
    words = text.split()
    lines, line = [], indent
    for w in words:
        if len(line) + len(w) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent + "   "
        line += w + " "
    if line.strip():
        lines.append(line.rstrip())
    return lines
