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
