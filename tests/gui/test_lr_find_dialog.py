"""The LR-finder and batch-size dialogs: plot data, the chosen values, real background runs."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import Qt

from traindoc.engine import config as cfg
from traindoc.engine.find import suggest as ls
from traindoc.engine.find.results import BatchFindResult, BatchTrial, LrFindResult
from traindoc.gui.dialogs.batch_find import BatchFindDialog
from traindoc.gui.dialogs.lr_find import LrFindDialog
from traindoc.gui.pump import Pump

pytestmark = pytest.mark.timeout(180)

LRS = np.geomspace(1e-7, 10, 100)


def cpu_config(**patch) -> cfg.RunConfig:
    return cfg.apply_patch(cfg.RunConfig(), {"train.device": "cpu", **patch})


def synthetic_sweep(losses: np.ndarray) -> LrFindResult:
    return LrFindResult(
        device="cpu",
        lrs=LRS,
        losses=losses,
        suggestion=ls.suggest_lr(LRS, losses),
        configured_lr=0.001,
        end_reason="completed the sweep (100 steps)",
    )


def descent() -> np.ndarray:
    x = np.log10(LRS)
    rng = np.random.default_rng(0)
    return (2.3 - 1.8 / (1 + np.exp(-(x + 3) / 0.35))) * (1 + 0.02 * rng.standard_normal(100))


def test_result_is_plotted_with_the_suggestion_marked_and_used(qtbot):
    dialog = LrFindDialog(cpu_config())
    qtbot.addWidget(dialog)
    found = synthetic_sweep(descent())
    dialog.show_result(found)
    lr = found.suggestion.lr
    curve = dialog.items["smoothed"]
    assert np.allclose(curve.xData, LRS) and np.allclose(curve.yData, found.smoothed)
    assert np.allclose(curve.getData()[0], np.log10(LRS))  # drawn on a log-lr axis
    assert dialog.items["marker"].xData[0] == pytest.approx(lr)
    assert dialog.items["line"].value() == pytest.approx(np.log10(lr))  # log-x axis
    assert dialog.plot.ctrl.logXCheck.isChecked()
    assert dialog.use_button.isEnabled()
    assert dialog.found.suggested_lr == float(f"{lr:.3g}") == dialog.chosen_lr
    assert dialog.found.patch() == {"optim.lr": dialog.chosen_lr}
    assert "Suggested lr" in dialog.result_label.text()
    with qtbot.waitSignal(dialog.lr_chosen) as chosen:
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert chosen.args == [float(f"{lr:.3g}")]
    assert dialog.result() == LrFindDialog.DialogCode.Accepted


def test_an_alternative_can_be_chosen_instead(qtbot):
    dialog = LrFindDialog(cpu_config())
    qtbot.addWidget(dialog)
    found = synthetic_sweep(descent())
    dialog.show_result(found)
    labels = [dialog.choice.itemText(i) for i in range(dialog.choice.count())]
    assert labels[0].startswith("suggested") and any(t.startswith("min/10") for t in labels)
    dialog.choice.setCurrentIndex(next(i for i, t in enumerate(labels) if t.startswith("min/10")))
    expected = float(f"{found.suggestion.alternatives['min/10']:.3g}")
    with qtbot.waitSignal(dialog.lr_chosen) as chosen:
        dialog.use_button.click()
    assert chosen.args == [expected]


def test_flat_sweep_says_so_and_keeps_the_configured_rate(qtbot):
    dialog = LrFindDialog(cpu_config())
    qtbot.addWidget(dialog)
    dialog.show_result(synthetic_sweep(np.full(100, 2.3)))
    assert dialog.found.suggested_lr is None and dialog.found.patch() == {}
    assert "No suggestion" in dialog.result_label.text() and "0.001" in dialog.result_label.text()
    assert "marker" not in dialog.items
    assert not dialog.choice.itemText(0).startswith("suggested")


@pytest.mark.slow
def test_real_sweep_runs_in_the_background_and_streams_points(qtbot, model, tmp_path):
    pump = Pump(model)  # the window's pump drives the sweep: no timer of the dialog's own
    dialog = LrFindDialog(cpu_config(), logdir=tmp_path, num_steps=40, pump=pump)
    qtbot.addWidget(dialog)
    assert not pump.sources and dialog.handle is None  # it waits for Start
    assert dialog.start_button.isEnabled() and not dialog.stop_button.isEnabled()
    dialog.start_button.click()
    assert pump.sources and pump.timer.isActive()
    assert not dialog.start_button.isEnabled() and dialog.stop_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.found is not None, timeout=120_000)
    found = dialog.found
    assert isinstance(found, LrFindResult)
    assert len(dialog.live_lrs) == len(found.lrs) > 20  # every point streamed live
    assert dialog.driver.lost == 0
    assert found.suggestion.lr is not None and dialog.use_button.isEnabled()
    assert not dialog.stop_button.isEnabled()
    dialog.reject()
    dialog.closer.join(10)
    assert not dialog.handle._process.is_alive()


@pytest.mark.slow
def test_closing_during_a_sweep_ends_the_process(qtbot, tmp_path):
    dialog = LrFindDialog(cpu_config(), logdir=tmp_path, num_steps=100_000, end_lr=1e-3)
    qtbot.addWidget(dialog)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: len(dialog.live_lrs) > 0, timeout=120_000)
    dialog.reject()
    assert dialog.pump.sources == []
    dialog.closer.join(10)
    assert not dialog.handle._process.is_alive()
    assert dialog.found is None


def test_batch_dialog_shows_the_plan_and_emits_the_patch(qtbot):
    config = cpu_config(**{"data.batch_size": 16, "optim.lr": 0.001})
    dialog = BatchFindDialog(config)
    qtbot.addWidget(dialog)
    assert dialog.target.value() == 16
    found = BatchFindResult(
        device="cpu",
        memory_limit_mb=1.39,
        memory_limit_source="--memory-limit",
        train_size=1437,
        max_batch=1437,
        tried=(BatchTrial(8, True, 0.5), BatchTrial(32, False, 0.0), BatchTrial(30, True, 1.3)),
        largest_fit=30,
        first_failure=32,
        capped=False,
        recommended=16,
        target=64,
        configured_batch=16,
        configured_accum=1,
        configured_lr=0.001,
        plan=ls.accumulation_plan(16, 64, base_lr=0.001, base_batch=16),
    )
    dialog.show_result(found)
    text = dialog.result_label.text()
    assert "<b>16</b>" in text and "<b>4</b>" in text and "<b>0.004</b>" in text
    # One recommendation, the plan's; the memory ceiling is not called "recommended" too.
    assert text.count("Recommended") == 1 and "<b>16</b> × <b>4</b>" in text
    assert "memory allows batches up to 16" in text
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
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.found is not None, timeout=120_000)
    found = dialog.found
    assert "out of memory" in dialog.log.toPlainText()
    assert found.plan.micro_batch * found.plan.accum_steps == 64
    assert found.patch()["optim.lr"] == pytest.approx(0.004)
    dialog.reject()
