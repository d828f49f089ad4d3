""""Fix until healthy" in the window: the repair loop's attempts are the window's own
launched runs, linked into a tree as they start, with a progress window and Stop."""

from __future__ import annotations

import itertools

import pytest

from tests.gui.conftest import add_run
from traindoc.engine import config as config_module
from traindoc.gui.core.lineage import repair_blocker

SGD_LR_20 = {"optim.name": "sgd", "optim.lr": 20.0, "schedule.kind": "constant",
             "train.epochs": 4, "train.device": "cpu", "name": "sgd20"}
REPAIR_MS = 240_000  # three or four short trainings on a busy 2-core machine


@pytest.fixture(autouse=True)
def quit_without_asking(monkeypatch):
    """Closing the window after a failed check must not wait on the quit question."""
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kw: QMessageBox.StandardButton.Yes)


def test_only_an_ended_launched_run_with_an_alarm_can_be_repaired(model):
    from traindoc.diagnostics.types import Diagnosis, Finding, Severity, Status

    run = add_run(model, "a", kind="launched", status="finished")
    assert "started here" in repair_blocker(run, running=False)  # no config, no folder
    run.config, run.run_dir = config_module.RunConfig(), "/tmp/x"
    assert "no warning or error" in repair_blocker(run, running=False)
    warn = Finding("divergence", Severity.WARNING, "t", 0, 1, "e")
    run.diagnosis = Diagnosis(Status.PROBLEMS, (warn,))
    assert repair_blocker(run, running=False) is None
    assert repair_blocker(run, running=True) == "a repair is already running"
    run.status = "running"
    assert repair_blocker(run, running=False) == "the run has not ended yet"
    log = add_run(model, "b", kind="log", status="finished")
    assert "started here" in repair_blocker(log, running=False)


@pytest.mark.slow
def test_fix_until_healthy_grows_the_tree_and_ends_healthy(window, qtbot):
    from traindoc.gui import menus

    window.build_heavy()
    config = config_module.apply_patch(config_module.RunConfig(), SGD_LR_20)
    first = window.runs.start(config)
    window.model.set_current(first)
    qtbot.waitUntil(lambda: window.model.run(first).status in ("finished", "diverged")
                    and window.model.run(first).diagnosis is not None
                    and first not in window.runs.drivers, timeout=REPAIR_MS)
    assert window.repair_action.isEnabled()
    dialog = menus.fix_until_healthy(window)
    assert dialog is not None and dialog.isVisible()
    assert not window.repair_action.isEnabled()  # one repair at a time
    repairs = window.repairs
    qtbot.waitUntil(lambda: not repairs.running, timeout=REPAIR_MS)
    repair = repairs.repair
    assert repair.error == "" and repair.ended.result.healthy, repair.lines
    ids = repair.attempt_ids
    assert ids[0] == first and len(ids) >= 2
    for parent, child in itertools.pairwise(ids):  # a chain: each fixed from the last
        run = window.model.run(child)
        assert run.fix is not None and run.fix.parent == parent and run.fix.remedy == "lower-lr"
        assert run.kind == "launched" and run.status == "finished" and run.verdict is not None
    final = window.model.run(ids[-1])
    assert final.config.optim.lr == pytest.approx(20.0 / 10 ** (len(ids) - 1))
    assert not any(f.alarm for f in final.findings())
    assert window.model.state.current == final.id
    items = window.run_list.items  # attempt 1 nested under the first run, and so on
    assert [items[p].indexOfChild(items[c]) for p, c in itertools.pairwise(ids)] == [
        0] * (len(ids) - 1)
    assert repair.lines[0].startswith("first run ") and repair.lines[1].startswith(
        "attempt 1: lower-lr (optim.lr 20 → 2)")
    assert any(line.startswith("repair: healthy after") for line in repair.lines)
    assert dialog.bar.value() == dialog.bar.maximum() and not dialog.stop_button.isEnabled()
    assert (repair.ended.report is not None and repair.ended.report.is_file())


@pytest.mark.slow
def test_stop_ends_the_repair_and_its_running_attempt(window, qtbot):
    from traindoc.gui import menus

    window.build_heavy()
    patch = {**SGD_LR_20, "train.epochs": 200}  # attempts long enough to be stopped
    first = window.runs.start(config_module.apply_patch(config_module.RunConfig(),
                                                        {**patch, "train.epochs": 3}))
    window.model.set_current(first)
    qtbot.waitUntil(lambda: window.model.run(first).diagnosis is not None
                    and first not in window.runs.drivers, timeout=REPAIR_MS)
    window.model.run(first).config = config_module.apply_patch(
        config_module.RunConfig(), patch)  # its children train 200 epochs
    dialog = menus.fix_until_healthy(window)
    repairs = window.repairs
    qtbot.waitUntil(lambda: len(repairs.repair.attempt_ids) == 2, timeout=REPAIR_MS)
    child = repairs.repair.attempt_ids[1]
    qtbot.waitUntil(lambda: window.model.run(child).status == "running", timeout=REPAIR_MS)
    dialog.stop_button.click()
    qtbot.waitUntil(lambda: not repairs.running, timeout=60_000)
    assert window.model.run(child).status == "stopped"
    assert not window.runs.drivers
    assert repairs.repair.ended.result.reason.value == "interrupted"
