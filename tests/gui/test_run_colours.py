"""Issue 12 item 2: the run list shows each run's chart colour, unchanged by selection."""

from __future__ import annotations

from PySide6.QtGui import QColor

from tests.gui.conftest import add_run


def _swatch(run_list, run_id) -> str:
    icon = run_list.items[run_id].icon(0)
    return icon.pixmap(12, 12).toImage().pixelColor(6, 6).name().upper()


def test_the_run_list_shows_the_run_colour_across_selections(qtbot, model):
    from traindoc.gui.widgets.run_list import RunList

    run_list = RunList(model)
    qtbot.addWidget(run_list)
    runs = [add_run(model, name) for name in ("a", "b", "c")]
    want = [QColor(r.color).name().upper() for r in runs]
    assert [_swatch(run_list, r.id) for r in runs] == want
    assert len(set(want)) == 3
    model.set_checked(runs[2].id, True)
    model.set_current(runs[1].id)
    assert [_swatch(run_list, r.id) for r in runs] == want


def test_colours_stay_distinct_as_runs_come_and_go(model):
    from traindoc.gui.core.state import PALETTE

    runs = [model.add_run(f"r{i}", "log", "finished") for i in range(len(PALETTE))]
    assert [r.color for r in runs] == list(PALETTE)  # one each, in palette order
    model.remove_run(runs[3].id)
    assert model.add_run("next", "log", "finished").color == PALETTE[3]  # the freed one
    extra = model.add_run("extra", "log", "finished")
    assert extra.color == PALETTE[0]  # all used once: the first again


def test_a_run_added_off_the_charts_does_not_redraw_them(qtbot, model):
    first = model.add_run("first", "log", "finished")  # the current run: on the charts
    with qtbot.waitSignal(model.visible_changed, timeout=100, raising=False) as signal:
        model.add_run("second", "log", "finished")
    assert not signal.signal_triggered
    assert model.visible_runs() == [first.id]
