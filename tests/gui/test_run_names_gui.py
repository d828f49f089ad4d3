"""Run names in the GUI say what differs (issue 12, item 3): the form's config is named
after its dataset, optimizer and lr; the run list elides in the middle and shows the
full name in a tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import add_run
from traindoc.gui.core.config_draft import ConfigDraft


def test_the_form_names_a_run_after_what_differs():
    draft = ConfigDraft()
    assert draft.config.name == "digits-adamw"
    draft.update({"optim.name": "sgd", "optim.lr": "5"})
    assert draft.config.name == "digits-sgd-lr5"
    draft.update({"data.dataset": "csv:/home/me/mydata.csv", "optim.lr": "0.1"})
    assert draft.config.name == "csv-mydata-sgd"
    draft.update({"name": "baseline"})
    assert draft.config.name == "baseline"


def test_run_list_elides_in_the_middle_and_shows_the_full_name(qtbot, model):
    from traindoc.gui.widgets.run_list import COL_NAME, RunList

    run_list = RunList(model)
    qtbot.addWidget(run_list)
    assert run_list.textElideMode() == Qt.TextElideMode.ElideMiddle
    names = ["csv-mydata-sgd-lr5-20261130-103000", "csv-mydata-sgd-lr5-20261130-103512"]
    runs = [add_run(model, name, kind="launched") for name in names]
    run_list.setColumnWidth(COL_NAME, 120)
    run_list.resize(400, 200)
    run_list.show()
    for run, name in zip(runs, names, strict=True):
        item = run_list.items[run.id]
        assert item.text(COL_NAME) == name
        assert item.toolTip(COL_NAME).splitlines()[0] == name
    # Elided in the middle, both ends stay readable: the two runs remain distinct.
    metrics = run_list.fontMetrics()
    shown = [metrics.elidedText(n, run_list.textElideMode(), 90) for n in names]
    assert shown[0] != shown[1] and all(s.startswith("csv") for s in shown)


def test_the_form_shows_the_name_the_run_will_get(qtbot):
    from traindoc.gui.config_draft import DraftModel
    from traindoc.gui.widgets.config_form import ConfigForm

    draft = DraftModel()
    form = ConfigForm(draft)
    qtbot.addWidget(form)
    name = form.editors["name"]
    assert name.text() == "digits-adamw"
    form.editors["optim.name"].setCurrentText("sgd")
    lr = form.editors["optim.lr"]
    lr.setText("5")
    lr.textEdited.emit("5")
    assert name.text() == "digits-sgd-lr5" and draft.draft.config.name == "digits-sgd-lr5"
    name.setText("baseline")
    name.textEdited.emit("baseline")
    lr.setText("0.1")
    lr.textEdited.emit("0.1")
    assert name.text() == "baseline" and draft.draft.config.name == "baseline"
