"""Runs launched from the window: real training processes on the bundled digits (few epochs)."""

from __future__ import annotations

import numpy as np
import pytest

from traindoc.engine import rundir

pytestmark = pytest.mark.slow

RUN_TIMEOUT_MS = 90_000


def set_fields(window, **values):
    for key, value in values.items():
        window.draft.set(key.replace("__", "."), value)
    assert window.draft.valid, window.draft.errors


def wait_ended(qtbot, window, run_id, timeout=RUN_TIMEOUT_MS):
    qtbot.waitUntil(
        lambda: not window.model.run(run_id).active and run_id not in window.runs.drivers,
        timeout=timeout,
    )
    return window.model.run(run_id)


def test_start_streams_every_metric_to_the_charts(qtbot, window):
    set_fields(window, train__epochs=2)
    run_id = window.start_run()
    run = wait_ended(qtbot, window, run_id)
    assert run.status == "finished", run.reason
    total = run.info["total_steps"]
    assert total == 2 * run.info["train_size"] // 64 + 2 - (run.info["train_size"] % 64 == 0) * 2
    loss = run.series("train_loss")
    np.testing.assert_array_equal(loss.steps, np.arange(1, total + 1))  # no metric lost
    assert len(run.series("val_loss")) == 2 and len(run.series("val_accuracy")) == 2
    curve = window.charts.curve(run_id, "train_loss")
    np.testing.assert_array_equal(curve.raw.xData, loss.steps)
    assert run.diagnosis is not None
    assert (run.run_dir / rundir.CONFIG_FILE).is_file()
    assert window.compare.values()[0][0] == run.name


def test_stop_ends_the_run_within_five_seconds(qtbot, window):
    set_fields(window, train__epochs=2000)
    run_id = window.start_run()
    qtbot.waitUntil(lambda: len(window.model.run(run_id).tags.get("train/loss", ())) > 0,
                    timeout=RUN_TIMEOUT_MS)
    assert window.stop_action.isEnabled()
    window.stop_action.trigger()
    run = wait_ended(qtbot, window, run_id, timeout=5_000)
    assert run.status == "stopped", run.reason
    assert not window.stop_action.isEnabled()


def test_a_failed_run_shows_its_traceback(qtbot, window, tmp_path):
    set_fields(window, data__dataset=f"csv:{tmp_path / 'missing.csv'}")
    run_id = window.start_run()
    run = wait_ended(qtbot, window, run_id)
    assert run.status == "failed"
    assert "missing.csv" in run.reason
    assert "Traceback" in run.traceback
    window.model.set_current(run_id)
    assert window.details.traceback.isVisible()
    assert "missing.csv" in window.details.traceback.toPlainText()


def test_apply_fix_runs_a_child_and_reports_the_verdict(qtbot, window):
    set_fields(window, train__epochs=2, optim__name="sgd", optim__lr="5",
               schedule__kind="constant")
    parent_id = window.start_run()
    parent = wait_ended(qtbot, window, parent_id)
    assert "divergence" in parent.diagnosis.rules
    window.model.set_current(parent_id)
    window.findings.select_finding("divergence")
    assert window.model.state.highlight[0] == parent_id
    button = window.findings.fix_button("lower-lr")
    assert button is not None and button.isEnabled()
    button.click()
    child_id = window.model.state.current
    assert child_id != parent_id
    child = window.model.run(child_id)
    assert child.fix.parent == parent_id and child.fix.remedy == "lower-lr"
    assert child.config.optim.lr == pytest.approx(0.5)
    assert child.config.name == "digits-sgd-lr5-fix-lower-lr"  # the parent was SGD at lr 5
    assert set(window.model.visible_runs()) == {parent_id, child_id}  # overlaid
    child = wait_ended(qtbot, window, child_id)
    assert child.status == "finished"
    assert child.verdict is not None and child.verdict.resolved
    role, before, after = child.verdict.metrics[0]
    assert role == "val_loss" and after < before
    assert "resolved" in window.findings.verdict.text()
    assert (child.run_dir / rundir.PARENT_FILE).is_file()
    assert window.run_list.items[child_id].parent() is window.run_list.items[parent_id]


def test_compare_optimizers_queues_four_runs_and_overlays_them(qtbot, window, monkeypatch):
    monkeypatch.setenv("TRAINDOC_MNIST", "")
    monkeypatch.setattr("traindoc.gui.core.presets.find_mnist", lambda extra=(): None)
    ids = window.queue_comparison(epochs=1)
    runs = [window.model.run(i) for i in ids]
    assert [r.config.optim.name for r in runs] == ["sgd", "momentum", "adam", "adamw"]
    assert all(r.config.data.dataset == "digits" for r in runs)
    assert sum(r.status == "queued" for r in runs) == 3  # one at a time
    assert set(window.model.visible_runs()) == set(ids)
    for run_id in ids:
        wait_ended(qtbot, window, run_id)
    assert [window.model.run(i).status for i in ids] == ["finished"] * 4
    rows = window.compare.values()
    assert [row[2].split()[0] for row in rows] == ["sgd", "momentum", "adam", "adamw"]
    assert all(row[5] != "—" for row in rows)  # best val loss of each
    assert all(window.charts.curve(i, "val_loss") is not None for i in ids)


def test_a_run_that_cannot_start_does_not_stall_the_queue(qtbot, window, monkeypatch):
    import traindoc.gui.launch
    from traindoc.engine import config as cfg

    real_start = traindoc.gui.launch.RunHandle.start

    def start(handle):
        if handle.config.name == "bad":
            raise OSError("disk full")
        return real_start(handle)

    monkeypatch.setattr(traindoc.gui.launch.RunHandle, "start", start)
    base = cfg.apply_patch(cfg.RunConfig(), {"train.epochs": 1, "train.device": "cpu"})
    bad, good = cfg.apply_patch(base, {"name": "bad"}), cfg.apply_patch(base, {"name": "good"})
    bad_id, good_id = window.runs.queue([bad, good])
    assert window.model.run(bad_id).status == "failed"
    assert "disk full" in window.model.run(bad_id).reason
    assert wait_ended(qtbot, window, good_id).status == "finished"
