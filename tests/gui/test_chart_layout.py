"""The first run's charts land in one layout pass and one paint (issue 15: no UI stall over
100 ms while a big tree opens): the charts already laid out stay in place, a chart added
gets its row at once, and nothing above the charts changes height."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import add_run


def _settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


def _first_run(model):
    """Loss, accuracy and learning rate: three charts, the third on a second row."""
    steps = np.arange(50)
    run = add_run(
        model, "first",
        roles={"train_loss": "train/loss", "val_accuracy": "val/acc", "lr": "lr"},
        points={"train/loss": (steps, 1.0 / (steps + 1)), "val/acc": (steps, steps / 50),
                "lr": (steps, np.full(50, 1e-3))},
    )
    model.frame.emit()  # the charts take the series that came after the run
    return run


def _geometry(panel) -> dict[str, tuple[float, float, float, float]]:
    return {key: panel.plots[key].geometry().getRect() for key in panel.shown_charts()}


def test_a_chart_added_below_gets_its_row_at_once_and_the_others_stay(panel, monkeypatch):
    _settle()
    assert panel.shown_charts() == ["loss", "accuracy"]
    removed = []
    real_remove = panel.graphics.ci.removeItem
    monkeypatch.setattr(panel.graphics.ci, "removeItem",
                        lambda item: removed.append(item) or real_remove(item))
    _first_run(panel.model)
    assert panel.shown_charts() == ["loss", "accuracy", "lr"]
    assert removed == []  # loss and accuracy kept their cells: not taken out of the scene
    now = _geometry(panel)
    # The learning rate's row is as tall as the first at once (a chart shown after it was
    # laid out got no room, and a second layout pass and paint followed).
    assert abs(now["lr"][3] - now["loss"][3]) <= 2 and now["lr"][3] > 100
    _settle()
    assert _geometry(panel) == now  # no second layout pass


def test_charts_moving_cells_are_laid_out_again(panel):
    run = _first_run(panel.model)
    panel.model.set_roles(run.id, {"train_loss": "train/loss", "lr": "lr"})
    assert panel.shown_charts() == ["loss", "lr"]
    assert panel.graphics.ci.getItem(0, 1) is panel.plots["lr"]  # moved up to accuracy's cell
    assert not panel.plots["accuracy"].isVisible()
    assert panel.graphics.ci.getItem(1, 0) is None
    panel.model.set_roles(run.id, {})
    assert panel.shown_charts() == ["loss", "accuracy"]
    assert panel.graphics.ci.getItem(0, 1) is panel.plots["accuracy"]
    assert not panel.plots["lr"].isVisible()


def test_the_first_run_does_not_change_the_height_of_the_charts(panel):
    _settle()
    label, charts = panel.legend.height(), panel.graphics.height()
    _first_run(panel.model)
    _settle()
    assert "first" in panel.legend.text()
    assert (panel.legend.height(), panel.graphics.height()) == (label, charts)


def test_a_legend_makes_its_items_only_when_it_shows(model, panel):
    a = _first_run(model)
    legend = panel.plots["loss"].legend_
    assert legend.entries == [("first", a.color)] and legend.item.items == []  # one run
    b = add_run(model, "second", roles={"train_loss": "t"}, points={"t": ([1, 2], [1.0, 0.5])})
    model.set_checked(b.id, True)
    assert legend.names() == ["first", "second"] and len(legend.item.items) == 2
    model.set_checked(b.id, False)
    assert legend.names() == [] and not legend.item.isVisible()
    legend.force(True)  # an exported image names the one run
    assert legend.names() == ["first"] and len(legend.item.items) == 1


def test_nan_markers_are_made_at_the_first_nonfinite_point(model, panel):
    import pyqtgraph as pg

    run = add_run(model, roles={"train_loss": "t"}, points={"t": ([1, 2, 3], [1.0, 0.9, 0.8])})
    model.frame.emit()
    plot = panel.plots["loss"]

    def markers() -> list:
        return [item for item in plot.items if isinstance(item, pg.ScatterPlotItem)]

    assert markers() == []  # finite values only: no marker item in the plot
    model.append_points(run.id, "t", [4, 5], [np.nan, 0.7])
    model.frame.emit()
    (item,) = markers()
    np.testing.assert_array_equal(item.getData()[0], [4])
    panel.curve(run.id, "train_loss").remove()
    assert markers() == []
