"""The repair's Markdown report, written to the first run's folder.

``repair.md`` holds what the command line printed (one line per attempt, the ending,
the config diff, the final run) plus a table of the attempts with their patches and
verdicts, the remedies skipped and why, and ``repair.png``: the curves of every
attempt over each other (drawn by :mod:`traindoc.engine.repair.plot`). If the chart
cannot be drawn, the report says why and lists everything else. ``repair.json`` is
the ``--json`` object, for tools.
"""

from __future__ import annotations

from pathlib import Path

from traindoc.engine import rundir
from traindoc.engine.repair import text
from traindoc.engine.repair.events import RepairResult

REPORT_FILE = "repair.md"
CHART_FILE = "repair.png"
JSON_FILE = "repair.json"


def write_report(result: RepairResult, *, chart: bool = True) -> tuple[Path | None, list[str]]:
    """Write ``repair.md``, ``repair.json`` and ``repair.png`` into the first run's folder;
    returns the report's path (None when it could not be written) and the problems."""
    folder = result.first_dir
    problems: list[str] = []
    chart_problem: str | None = "not drawn"
    if chart:
        from traindoc.engine.repair.plot import render_attempts

        chart_problem = render_attempts(result, folder / CHART_FILE)
        if chart_problem:
            problems.append(f"{folder / CHART_FILE}: {chart_problem}")
    path = folder / REPORT_FILE
    body = markdown(result, None if chart_problem else CHART_FILE, chart_problem)
    for name, data in ((REPORT_FILE, body.encode("utf-8")),
                       (JSON_FILE, rundir.strict_json(text.as_json(result, str(path))))):
        try:
            rundir.atomic_write(folder / name, lambda f, d=data: f.write(d))
        except OSError as exc:
            problems.append(f"could not write {folder / name}: {exc.strerror or exc}")
            if name == REPORT_FILE:
                path = None
    return path, problems


def markdown(result: RepairResult, chart: str | None, chart_problem: str | None) -> str:
    """The report's text."""
    lines = [f"# Repair of {result.first_dir.name}", "", text.ending_line(result), ""]
    lines += ["## Attempts", "", "| # | run | from | remedy | patch | outcome | "
              f"best {text.role_words(result.records[0].outcome.objective.role)} |",
              "|---|---|---|---|---|---|---|"]
    for attempt, record in zip(result.attempts, result.records, strict=True):
        base = result.attempts[attempt.parent].config if attempt.parent is not None else {}
        changes = tuple((k, base.get(k), attempt.config.get(k)) for k in attempt.patch)
        outcome = (text.alarms_text(record) if attempt.parent is None else
                   text.effect_text(attempt, record, result.records[attempt.parent]))
        lines.append(
            f"| {attempt.index} | `{record.run_dir.name}` | "
            f"{'—' if attempt.parent is None else attempt.parent} | "
            f"{attempt.remedy or '(first run)'} | {text.changes_text(changes) or '—'} | "
            f"{_cell(outcome)} | {text.show(record.outcome.objective.value)} |")
    lines += ["", "## What each attempt did", ""]
    lines += _details(result)
    lines += ["## Config diff", ""] + [f"    {line}" for line in text.diff_lines(result)] + [""]
    lines += ["## Charts", ""]
    if chart:
        lines += [f"![every attempt's curves over each other]({chart})", ""]
    else:
        lines += [f"The chart was not drawn: {chart_problem}.", ""]
    lines += [f"final run: {result.final_dir}", ""]
    return "\n".join(lines)


def _details(result: RepairResult) -> list[str]:
    lines = []
    for attempt, record, verdict, skips in zip(result.attempts, result.records, result.verdicts,
                                               result.skipped, strict=True):
        lines.append("- " + text.attempt_line(list(result.attempts), list(result.records),
                                              attempt, record))
        if verdict:
            lines.append(f"  - verdict: {verdict}")
        lines.append(f"  - run: `{record.run_dir}` (status {record.status}"
                     f"{', ' + record.reason if record.reason else ''})")
        if skips:
            lines.append("  - skipped: " + "; ".join(f"{s.remedy} for {s.rule} ({s.why})"
                                                     for s in skips))
    return [*lines, ""]


def _cell(value: str) -> str:
    return value.replace("|", "\\|")
