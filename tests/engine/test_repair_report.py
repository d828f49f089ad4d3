"""The repair report's chart: drawn by ``python -m traindoc.gui.repair_plot`` in a
subprocess (slow: it starts Python with Qt), and the report when drawing fails."""

from __future__ import annotations

import pytest

from traindoc.engine.repair import plot
from traindoc.engine.repair.report import CHART_FILE, write_report
from traindoc.engine.repair.session import RepairSession

from .repair_fakes import FakeRuns, sgd

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def repaired(tmp_path):
    session = RepairSession(sgd(20.0), tmp_path / "runs", runs=FakeRuns(), report=False)
    for _ in session.events():
        pass
    return session.result


def test_the_chart_shows_every_attempt_and_the_report_links_it(tmp_path):
    result = repaired(tmp_path)
    doc = plot.chart_document(result)
    assert [r["label"] for r in doc["runs"]] == ["first run", "1: lower-lr", "2: lower-lr"]
    assert [r["final"] for r in doc["runs"]] == [False, False, True]
    assert set(doc["runs"][2]["curves"]) == {"train_loss", "val_loss", "val_accuracy"}
    path, problems = write_report(result)
    assert problems == []
    png = result.first_dir / CHART_FILE
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert f"]({CHART_FILE})" in path.read_text(encoding="utf-8")


def test_a_chart_that_cannot_be_drawn_is_explained_and_the_rest_is_written(tmp_path, monkeypatch):
    result = repaired(tmp_path)
    monkeypatch.setattr(plot, "PLOT_MODULE", "traindoc.gui.no_such_plot")
    path, problems = write_report(result)
    assert len(problems) == 1 and "plot not written" in problems[0]
    body = path.read_text(encoding="utf-8")
    assert "The chart was not drawn: plot not written (" in body
    assert "no_such_plot" in body and "| 2 | `" in body
    assert not (result.first_dir / CHART_FILE).exists()
