"""Remembered between sessions: the form, the chart options, the window and dock layout,
the runs folder; the app opens its own runs folder's runs at start."""

from __future__ import annotations

import os
import time

import numpy as np

from tests.gui.test_logs import LOAD_MS, healthy, write_run
from traindoc.engine import rundir
from traindoc.gui import session


def new_window(qtbot, settings, **kw):
    from traindoc.gui.main_window import MainWindow

    window = MainWindow(settings=settings, **kw)
    qtbot.addWidget(window)
    window.show()
    return window


def test_form_chart_options_layout_and_runs_folder_come_back(qtbot, settings, tmp_path):
    runs = tmp_path / "my-runs"
    first = new_window(qtbot, settings, logdir=runs)
    first.draft.set("optim.name", "sgd")
    first.draft.set("optim.lr", "0.05")
    first.draft.set("schedule.kind", "cosine")
    first.model.set_smoothing(0.3)
    first.model.set_log_y(True)
    first.model.set_x_axis("relative")
    first.details_dock.hide()
    first.resize(1300, 760)
    assert first.close()

    again = new_window(qtbot, settings)  # no logdir: the remembered one
    try:
        assert again.logdir == runs
        assert again.runs.logdir == runs
        config = again.draft.config
        assert (config.optim.name, config.optim.lr, config.schedule.kind) == ("sgd", 0.05,
                                                                              "cosine")
        assert again.form.editors["optim.name"].currentText() == "sgd"
        assert again.form.editors["optim.lr"].text() == "0.05"
        state = again.model.state
        assert (state.smoothing, state.log_y, state.x_axis) == (0.3, True, "relative")
        assert again.controls.slider.value() == 30
        assert again.details_dock.isHidden() and not again.findings_dock.isHidden()
        # the offscreen screen clamps a restored width; the geometry itself came back
        assert again.height() == 760
    finally:
        again.shutdown()


def test_an_invalid_form_keeps_the_last_valid_values(qtbot, settings, tmp_path):
    first = new_window(qtbot, settings, logdir=tmp_path / "r")
    first.draft.set("optim.lr", "0.2")
    first.close()
    second = new_window(qtbot, settings, logdir=tmp_path / "r")
    second.draft.set("optim.lr", "-1")  # invalid at close: not remembered
    second.close()
    third = new_window(qtbot, settings, logdir=tmp_path / "r")
    try:
        assert third.draft.config.optim.lr == 0.2
    finally:
        third.shutdown()


def test_damaged_settings_keep_the_defaults(qtbot, settings, tmp_path):
    settings.setValue(session.FORM, "optim = [")
    settings.setValue(session.SMOOTHING, "lots")
    settings.setValue(session.LAYOUT, "not a layout")
    window = new_window(qtbot, settings, logdir=tmp_path / "r")
    try:
        assert window.draft.valid and window.model.state.smoothing == 0.6
    finally:
        window.shutdown()


def test_the_runs_folder_opens_at_start_oldest_first(qtbot, settings, tmp_path):
    runs = tmp_path / "runs"
    for index, name in enumerate(("digits-adamw", "digits-sgd-lr5")):
        folder = runs / name
        write_run(folder, {"train/loss": healthy(60), "val/loss": healthy(60)})
        rundir.write_status(folder, "finished")
        os.utime(folder / rundir.STATUS_FILE, (time.time() - 100 + index,) * 2)
    (runs / "not-a-run").mkdir()
    assert [p.name for p in session.own_runs(runs)] == ["digits-adamw", "digits-sgd-lr5"]
    assert [p.name for p in session.own_runs(runs, limit=1)] == ["digits-sgd-lr5"]
    window = new_window(qtbot, settings, logdir=runs)
    try:
        qtbot.waitUntil(lambda: len(window.model.runs()) == 2, timeout=LOAD_MS)
        assert sorted(r.name for r in window.model.runs()) == ["digits-adamw", "digits-sgd-lr5"]
        assert all(r.status == "finished" for r in window.model.runs())
        assert window.recent_paths() == []  # reopened, not "opened by the user"
        run = window.model.runs()[0]
        qtbot.waitUntil(lambda: len(run.tags.get("train/loss", ())) == 60, timeout=LOAD_MS)
        assert np.isclose(run.tags["train/loss"].last(), healthy(60)[-1])
    finally:
        window.shutdown()


def test_reopened_fix_runs_nest_under_their_parent_whatever_loads_first(qtbot, settings,
                                                                        tmp_path):
    runs = tmp_path / "runs"
    parent, child = runs / "digits-adamw-lr5", runs / "digits-adamw-lr5-lower-lr"
    for folder in (parent, child):
        write_run(folder, {"train/loss": healthy(40)})
        rundir.write_status(folder, "finished")
    rundir.write_parent(child, rundir.ParentLink(parent=str(parent), rule="divergence",
                                                 remedy="lower-lr", patch={"optim.lr": 0.5}))
    now = time.time()
    os.utime(child / rundir.STATUS_FILE, (now - 50,) * 2)  # the fix opens first
    os.utime(parent / rundir.STATUS_FILE, (now - 10,) * 2)
    window = new_window(qtbot, settings, logdir=runs)
    try:
        qtbot.waitUntil(lambda: len(window.model.runs()) == 2, timeout=LOAD_MS)
        by_name = {r.name: r for r in window.model.runs()}
        qtbot.waitUntil(lambda: by_name[child.name].fix is not None, timeout=LOAD_MS)
        fix = by_name[child.name].fix
        assert fix.parent == by_name[parent.name].id
        assert (fix.rule, fix.remedy, fix.patch) == ("divergence", "lower-lr", {"optim.lr": 0.5})
        assert window.model.state.children_of(by_name[parent.name].id) == [by_name[child.name]]
    finally:
        window.shutdown()
