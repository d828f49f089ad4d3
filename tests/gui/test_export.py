"""Exports: charts to PNG, scalars to CSV, the diagnosis as Markdown with chart images."""

from __future__ import annotations

import csv

import numpy as np
from PySide6.QtGui import QImage

from tests.gui.conftest import add_run
from traindoc.diagnostics.types import Diagnosis, Finding, Remedy, Severity, Status
from traindoc.gui import export


def _run(window):
    run = add_run(
        window.model, "exported", roles={"train_loss": "train/loss", "val_loss": "val/loss"},
        points={"train/loss": (np.arange(1, 101), np.linspace(2, 0.5, 100)),
                "val/loss": ([50, 100], [1.2, np.nan])},
    )
    remedy = Remedy("lower-lr", "Lower the learning rate.", snippet="opt = SGD(lr=0.01)",
                    patch={"optim.lr": 0.01})
    finding = Finding("nan-loss", Severity.ERROR, "Loss became NaN", 100, 100,
                      "val/loss is NaN at step 100", remedies=(remedy,))
    window.model.set_diagnosis(run.id, Diagnosis(Status.PROBLEMS, (finding,)))
    window.model.frame.emit()
    return run


def test_charts_png(window, tmp_path):
    _run(window)
    path = export.charts_png(window.charts, tmp_path / "charts.png")
    image = QImage(str(path))
    assert image.width() == 2 * window.charts.width()
    assert image.height() == 2 * window.charts.height()


def test_scalars_csv_has_every_point(window, tmp_path):
    run = _run(window)
    rows = export.scalars_csv(window.model, [run.id], tmp_path / "s.csv")
    with open(tmp_path / "s.csv", newline="") as f:
        table = list(csv.reader(f))
    assert rows == 102 and len(table) == 103
    assert table[0] == ["run", "tag", "role", "step", "value"]
    assert table[1] == ["exported", "train/loss", "train_loss", "1", "2.0"]
    assert table[-1] == ["exported", "val/loss", "val_loss", "100", "nan"]


def test_markdown_report_with_findings_remedies_and_images(window, tmp_path):
    run = _run(window)
    path = export.report_markdown(window.model, window.charts, [run.id], tmp_path / "report.md")
    text = path.read_text()
    assert "## exported" in text
    assert "### error: Loss became NaN (`nan-loss`, high confidence)" in text
    assert "1. **lower-lr**: Lower the learning rate." in text
    assert "`optim.lr = 0.01`" in text and "opt = SGD(lr=0.01)" in text
    assert "![loss](report-charts/charts-loss.png)" in text
    assert (tmp_path / "report-charts" / "charts-loss.png").stat().st_size > 1000
    assert not (tmp_path / "report-charts" / "charts-accuracy.png").exists()  # no data there


def test_report_gives_own_runs_the_config_change_not_code(window, tmp_path):
    from traindoc.engine.config import RunConfig

    run = _run(window)
    window.model.update_run(run.id, config=RunConfig())  # a run traindoc trained
    path = export.report_markdown(window.model, window.charts, [run.id], tmp_path / "report.md")
    text = path.read_text()
    assert "`optim.lr = 0.01`" in text
    assert "opt = SGD(lr=0.01)" not in text and "```python" not in text


def test_markdown_report_shows_confidence_and_notes(window, tmp_path):
    from traindoc.diagnostics.types import Confidence

    run = add_run(window.model, "noted")
    note = Finding("metric-mismatch", Severity.INFO, "Loss and metric disagree", 5, 50,
                   "val_loss fell 10% while val_f1 fell 3%", confidence=Confidence.LOW)
    warn = Finding("overfitting", Severity.WARNING, "Overfitting", 10, 90, "val_loss rose",
                   confidence=Confidence.MEDIUM)
    window.model.set_diagnosis(run.id, Diagnosis(Status.PROBLEMS, (warn, note)))
    path = export.report_markdown(window.model, window.charts, [run.id], tmp_path / "r.md")
    text = path.read_text()
    assert "### warning: Overfitting (`overfitting`, medium confidence)" in text
    assert "### note: Loss and metric disagree (`metric-mismatch`, low confidence)" in text
    assert "*A note on weak evidence, not an alarm.*" in text


def test_png_export_is_twice_the_screen_size_or_a_chosen_scale(window, tmp_path):
    _run(window)
    size = window.charts.size()
    image = QImage(str(export.charts_png(window.charts, tmp_path / "c.png")))
    assert (image.width(), image.height()) == (2 * size.width(), 2 * size.height())
    pixels = {image.pixel(x, y) for x in range(0, image.width(), 7)
              for y in range(0, image.height(), 7)}
    assert len(pixels) > 10  # drawn, not blank
    image = QImage(str(export.charts_png(window.charts, tmp_path / "c1.png", scale=1.0)))
    assert image.width() == size.width()


def test_report_charts_are_large_with_legends_naming_the_runs(window, tmp_path, monkeypatch):
    from pyqtgraph.exporters import ImageExporter

    run = _run(window)
    legends = []
    real = ImageExporter.export

    def spy(self, *args, **kwargs):
        legends.append(self.item.legend_.names())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ImageExporter, "export", spy)
    path = export.report_markdown(window.model, window.charts, [run.id], tmp_path / "report.md")
    assert legends == [["exported"]]  # one run: the legend is shown for the image
    assert window.charts.plots["loss"].legend_.names() == []  # and hidden again on screen
    image = QImage(str(tmp_path / "report-charts" / "charts-loss.png"))
    assert image.width() >= export.REPORT_WIDTH
    assert "*Loss: exported*" in path.read_text()
