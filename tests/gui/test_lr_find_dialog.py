"""The LR-finder and batch-size dialogs: plot data, the chosen values, real background runs."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import Qt

from traindoc.engine import config as cfg
from traindoc.engine.find import suggest as ls
from traindoc.gui.dialogs.batch_find import BatchFindDialog
from traindoc.gui.dialogs.lr_find import LrFindDialog

pytestmark = pytest.mark.timeout(180)

LRS = np.geomspace(1e-7, 10, 100)


def cpu_config(**patch) -> cfg.RunConfig:
    return cfg.apply_patch(cfg.RunConfig(), {"train.device": "cpu", **patch})


def synthetic_summary(losses: np.ndarray) -> dict:
    suggestion = ls.suggest_lr(LRS, losses)
    return {
        "kind": "lr-find",
        "lrs": LRS.tolist(),
        "losses": losses.tolist(),
        "smoothed": [None if np.isnan(v) else float(v) for v in suggestion.smoothed],
        "suggestion": suggestion.as_dict(),
        "configured_lr": 0.001,
    }


def descent() -> np.ndarray:
    x = np.log10(LRS)
    rng = np.random.default_rng(0)
    return (2.3 - 1.8 / (1 + np.exp(-(x + 3) / 0.35))) * (1 + 0.02 * rng.standard_normal(100))


def test_result_is_plotted_with_the_suggestion_marked_and_used(qtbot):
    dialog = LrFindDialog(cpu_config(), autostart=False)
    qtbot.addWidget(dialog)
    summary = synthetic_summary(descent())
    dialog.show_result(summary)
    lr = summary["suggestion"]["lr"]
    curve = dialog.items["smoothed"]
    assert np.allclose(curve.xData, LRS) and np.allclose(curve.yData, summary["smoothed"])
    assert np.allclose(curve.getData()[0], np.log10(LRS))  # drawn on a log-lr axis
    assert dialog.items["marker"].xData[0] == pytest.approx(lr)
    assert dialog.items["line"].value() == pytest.approx(np.log10(lr))  # log-x axis
    assert dialog.plot.ctrl.logXCheck.isChecked()
    assert dialog.use_button.isEnabled()
    assert dialog.suggested_lr == float(f"{lr:.3g}") == dialog.chosen_lr
    assert "Suggested lr" in dialog.result_label.text()
    with qtbot.waitSignal(dialog.lr_chosen) as chosen:
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert chosen.args == [float(f"{lr:.3g}")]
    assert dialog.result() == LrFindDialog.DialogCode.Accepted


def test_an_alternative_can_be_chosen_instead(qtbot):
    dialog = LrFindDialog(cpu_config(), autostart=False)
    qtbot.addWidget(dialog)
    summary = synthetic_summary(descent())
    dialog.show_result(summary)
    labels = [dialog.choice.itemText(i) for i in range(dialog.choice.count())]
    assert labels[0].startswith("suggested") and any(t.startswith("min/10") for t in labels)
    dialog.choice.setCurrentIndex(next(i for i, t in enumerate(labels) if t.startswith("min/10")))
    expected = float(f"{summary['suggestion']['alternatives']['min/10']:.3g}")
    with qtbot.waitSignal(dialog.lr_chosen) as chosen:
        dialog.use_button.click()
    assert chosen.args == [expected]


def test_flat_sweep_says_so_and_keeps_the_configured_rate(qtbot):
    dialog = LrFindDialog(cpu_config(), autostart=False)
    qtbot.addWidget(dialog)
    dialog.show_result(synthetic_summary(np.full(100, 2.3)))
    assert dialog.suggested_lr is None
    assert "No suggestion" in dialog.result_label.text() and "0.001" in dialog.result_label.text()
    assert "marker" not in dialog.items
    assert not dialog.choice.itemText(0).startswith("suggested")


@pytest.mark.slow
def test_real_sweep_runs_in_the_background_and_streams_points(qtbot, tmp_path):
    dialog = LrFindDialog(cpu_config(), logdir=tmp_path, num_steps=40)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.sweep_done, timeout=120_000) as done:
        pass
    summary = done.args[0]
    assert len(dialog.live_lrs) == len(summary["lrs"]) > 20  # every point streamed live
    assert dialog.handle.sequence.missing == []
    assert summary["suggestion"]["lr"] is not None and dialog.use_button.isEnabled()
    assert not dialog.stop_button.isEnabled()
    dialog.reject()
    dialog.closer.join(10)
    assert not dialog.handle._process.is_alive()


@pytest.mark.slow
def test_closing_during_a_sweep_ends_the_process(qtbot, tmp_path):
    dialog = LrFindDialog(cpu_config(), logdir=tmp_path, num_steps=100_000, end_lr=1e-3)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: len(dialog.live_lrs) > 0, timeout=120_000)
    dialog.reject()
    dialog.closer.join(10)
    assert not dialog.handle._process.is_alive()
    assert dialog.summary is None


def test_batch_dialog_shows_the_plan_and_emits_the_patch(qtbot):
    config = cpu_config(**{"data.batch_size": 16, "optim.lr": 0.001})
    dialog = BatchFindDialog(config)
    qtbot.addWidget(dialog)
    assert dialog.target.value() == 16
    summary = {
        "kind": "batch-find",
        "largest_fit": 30,
        "recommended": 16,
        "capped": False,
        "target": 64,
        "configured": {"batch_size": 16, "grad_accum": 1, "lr": 0.001},
        "plan": {"micro_batch": 16, "accum_steps": 4, "effective_batch": 64, "lr": 0.004},
    }
    dialog.show_result(summary)
    text = dialog.result_label.text()
    assert "<b>16</b>" in text and "<b>4</b>" in text and "<b>0.004</b>" in text
    with qtbot.waitSignal(dialog.patch_chosen) as chosen:
        dialog.use_button.click()
    assert chosen.args == [{"data.batch_size": 16, "train.grad_accum": 4, "optim.lr": 0.004}]
    assert cfg.apply_patch(config, chosen.args[0]).train.grad_accum == 4


@pytest.mark.slow
def test_batch_dialog_runs_the_search_in_the_background(qtbot, tmp_path):
    config = cpu_config(**{"data.batch_size": 16, "optim.lr": 0.001})
    dialog = BatchFindDialog(config, logdir=tmp_path)
    qtbot.addWidget(dialog)
    dialog.target.setValue(64)
    dialog.memory_limit.setValue(1.39)
    with qtbot.waitSignal(dialog.search_done, timeout=120_000) as done:
        dialog.start_button.click()
    summary = done.args[0]
    assert "out of memory" in dialog.log.toPlainText()
    assert summary["plan"]["micro_batch"] * summary["plan"]["accum_steps"] == 64
    assert dialog.patch["optim.lr"] == pytest.approx(0.004)
    dialog.reject()
