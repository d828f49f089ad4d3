"""Exports: the charts as PNG, the scalars as CSV, the diagnosis as a Markdown report.

Images are rendered, not grabbed from the screen: the chart panel at twice its size
on screen (:data:`PNG_SCALE`, or a chosen scale), and each chart of a report at
least :data:`REPORT_WIDTH` pixels wide with its legend naming the runs, even one.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter

from traindoc.diagnostics import wording
from traindoc.gui.model import AppModel

PNG_SCALE = 2.0  # exported pixels per on-screen pixel
REPORT_WIDTH = 1400  # px, the least width of a report's chart image


def charts_png(charts, path: str | Path, scale: float = PNG_SCALE) -> Path:
    """The whole chart panel as one PNG, ``scale`` times its on-screen size."""
    path = Path(path)
    size = charts.size()
    image = QImage(round(size.width() * scale), round(size.height() * scale),
                   QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(scale)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    charts.render(painter, QPoint())
    painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


def chart_pngs(charts, folder: str | Path, stem: str) -> dict[str, Path]:
    """Each chart that has data as its own PNG (``{chart key: path}``), at least
    :data:`REPORT_WIDTH` px wide, its legend shown for one run too."""
    from pyqtgraph.exporters import ImageExporter  # only when a report is written

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for key, plot in charts.plots.items():
        if not any(c.plot is plot and len(c.series) for c in charts.curves.values()):
            continue
        target = folder / f"{stem}-{key}.png"
        exporter = ImageExporter(plot)
        width = max(REPORT_WIDTH, round(PNG_SCALE * plot.sceneBoundingRect().width()))
        exporter.parameters()["width"] = width
        plot.legend_.force(True)
        try:
            exporter.export(str(target))
        finally:
            plot.legend_.force(False)
        if target.exists():
            out[key] = target
    return out


# A text cell starting with one of these is read by spreadsheets as a formula (CSV
# injection); OWASP's escape is a leading single quote, which shows the text as it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: str) -> str:
    """A text cell safe to open in a spreadsheet: ``=cmd|' /C calc'!A0`` → ``'=cmd…``.

    For text columns only: numbers (``-0.5`` in the value column) are written as they are.
    """
    text = str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def scalars_csv(model: AppModel, run_ids: list[str], path: str | Path) -> int:
    """Every point of every tag of the runs, long format: run, tag, role, step, value.

    Run, tag and role are text (escaped against formulas, :func:`text_cell`); step
    and value are numbers, written unchanged.
    """
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "tag", "role", "step", "value"])
        for run_id in run_ids:
            run = model.run(run_id)
            role_of = {tag: role for role, tag in run.roles.items()}
            name = text_cell(run.name)
            for tag, series in run.tags.items():
                steps, values = series.steps, series.values
                tag_text, role = text_cell(tag), text_cell(role_of.get(tag, ""))
                for step, value in zip(steps.tolist(), values.tolist(), strict=True):
                    writer.writerow([name, tag_text, role, step, repr(value)])
                rows += len(steps)
    return rows


def report_markdown(model: AppModel, charts, run_ids: list[str], path: str | Path) -> Path:
    """The diagnosis of the runs with the chart images (saved next to the report)."""
    path = Path(path)
    images = chart_pngs(charts, path.parent / f"{path.stem}-charts", "charts")
    lines = ["# traindoc diagnosis report", ""]
    if images:
        lines += ["## Charts", ""]
        for key, image in images.items():
            plot = charts.plots[key]
            names = ", ".join(name for name, _ in plot.legend_.entries)
            lines.append(f"![{key}]({image.relative_to(path.parent).as_posix()})")
            lines += ["", f"*{plot.titleLabel.text}: {names}*", ""]
        lines.append("")
    for run_id in run_ids:
        lines += _run_section(model, model.run(run_id))
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _run_section(model: AppModel, run) -> list[str]:
    """One run: its facts, then each finding with its remedies, then its traceback."""
    lines = [f"## {run.name}", "", f"- status: {run.status}"]
    if run.reason:
        lines.append(f"- reason: {run.reason}")
    if run.run_dir is not None:
        lines.append(f"- folder: `{run.run_dir}`")
    for role in ("val_loss", "val_accuracy", "train_loss"):
        best = run.best(role)
        if best is not None and np.isfinite(best[0]):
            lines.append(f"- best {role.replace('_', ' ')}: {best[0]:.4g} (step {best[1]})")
    if run.fix is not None:
        parent = model.run(run.fix.parent)
        lines.append(f"- fix of {parent.name if parent else '?'}: `{run.fix.remedy}` "
                     f"for `{run.fix.rule}` ({wording.patch_text(run.fix.patch)})")
    if run.verdict is not None:
        lines.append(f"- verdict: {run.verdict.text()}")
    diagnosis = run.diagnosis
    lines.append(f"- diagnosis: {diagnosis.status.value if diagnosis else 'not run'}")
    lines.append("")
    for finding in run.findings():
        lines += _finding_section(finding, own_run=run.config is not None)
    if run.traceback:
        lines += ["### Traceback", "", "```", run.traceback.rstrip(), "```", ""]
    return lines


def _finding_section(finding, *, own_run: bool = False) -> list[str]:
    """A finding's heading, evidence and numbered remedies (patch and snippet under each).

    As in the findings panel, a run traindoc trained (``own_run``: its config is known)
    gets a remedy's config change, not PyTorch code to paste."""
    confidence = getattr(getattr(finding, "confidence", None), "value", "high")
    note = finding.severity.value == "info"  # weak evidence: a note, not an alarm
    kind = "note" if note else finding.severity.value
    lines = [
        f"### {kind}: {finding.title} (`{finding.rule}`, {confidence} confidence)",
        "",
        f"Steps {finding.step_start}–{finding.step_end}. {finding.evidence}",
        "",
    ]
    if note:
        lines += ["*A note on weak evidence, not an alarm.*", ""]
    for index, remedy in enumerate(finding.remedies, 1):
        tried = " *(already tried)*" if remedy.already_tried else ""
        lines.append(f"{index}. **{remedy.id}**{tried}: {remedy.text}")
        if remedy.patch:
            change = ", ".join(f"`{wording.patch_text({k: v})}`" for k, v in remedy.patch.items())
            lines.append(f"   Config change: {change}")
        if remedy.snippet and not (own_run and remedy.patch):
            body = remedy.snippet.strip("\n").splitlines()
            snippet = "\n".join("   " + ln for ln in body)
            lines += ["", "   ```python", snippet, "   ```"]
    lines.append("")
    return lines
