"""The New-run form: moot fields disabled, Browse for the runs folder and file datasets,
error text that wraps instead of being cut off."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QGroupBox

from traindoc.gui.core.field_rules import inapplicable
from traindoc.gui.widgets.config_form import ZERO_WIDTH_SPACE


def test_rules_name_the_fields_that_do_not_apply():
    base = {"optim.name": "adamw", "schedule.kind": "warmup-plateau-decay",
            "train.early_stopping": True}
    assert set(inapplicable(base)) == {"optim.momentum"}
    assert set(inapplicable(dict(base, **{"optim.name": "momentum"}))) == set()
    assert "optim.momentum" in inapplicable(dict(base, **{"optim.name": "sgd"}))
    constant = inapplicable(dict(base, **{"schedule.kind": "constant"}))
    assert {"schedule.warmup", "schedule.decay", "schedule.final_lr_ratio"} <= set(constant)
    assert set(inapplicable(dict(base, **{"schedule.kind": "cosine"}))) == {
        "optim.momentum", "schedule.decay"}
    assert "train.patience" in inapplicable(dict(base, **{"train.early_stopping": False}))


def test_momentum_is_enabled_only_for_the_momentum_optimizer(form):
    momentum = form.editors["optim.momentum"]
    form.editors["optim.name"].setCurrentText("adam")
    assert not momentum.isEnabled()
    assert "only the momentum optimizer" in momentum.toolTip()
    form.editors["optim.name"].setCurrentText("momentum")
    assert momentum.isEnabled()
    form.editors["optim.name"].setCurrentText("adamw")
    assert not momentum.isEnabled()
    form.editors["schedule.kind"].setCurrentText("constant")
    assert not form.editors["schedule.warmup"].isEnabled()
    form.editors["schedule.kind"].setCurrentText("warmup-plateau-decay")
    assert form.editors["schedule.decay"].isEnabled()


def test_dataset_browse_fills_a_file_dataset(form, monkeypatch, tmp_path):
    data = tmp_path / "mydata.csv"
    data.write_text("x,y\n1,0\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: (str(data), ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: str(tmp_path))
    actions = {a.objectName(): a for a in form.dataset_browse.menu().actions()}
    assert set(actions) == {"csv:", "npz:", "mnist:", "cifar10:"}
    actions["csv:"].trigger()
    assert form.draft.values["data.dataset"] == f"csv:{data}"
    assert form.editors["data.dataset"].currentText() == f"csv:{data}"
    assert form.draft.valid and form.draft.config.data.dataset == f"csv:{data}"
    actions["mnist:"].trigger()
    assert form.draft.values["data.dataset"] == f"mnist:{tmp_path}"


def test_runs_folder_is_a_field_with_browse(qtbot, window, monkeypatch, tmp_path):
    field = window.form.runs_dir
    assert field.edit.text() == str(window.logdir)
    chosen = tmp_path / "elsewhere"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: str(chosen))
    field.button.click()
    assert window.logdir == chosen and window.runs.logdir == chosen
    assert field.edit.text() == str(chosen)
    assert Path(window.settings.value("runs_dir")) == chosen
    field.edit.setText(str(tmp_path / "typed"))
    field.edit.editingFinished.emit()
    assert window.runs.logdir == tmp_path / "typed"


def test_a_long_error_wraps_and_is_never_cut_off(qtbot, form):
    form.resize(330, 600)
    long_path = "/data/" + "/".join(["a_very_long_folder_name"] * 6) + "/file.bin"
    form.draft.set("data.dataset", "tsv:" + long_path)
    label = form.error_labels["data.dataset"]
    assert label.isVisible()
    assert label.toolTip().startswith("data.dataset = ")
    assert label.text().replace(ZERO_WIDTH_SPACE, "") == label.toolTip()
    qtbot.waitUntil(lambda: label.width() > 0)
    qtbot.wait(20)
    assert label.width() <= form.viewport().width()
    assert label.height() >= label.heightForWidth(label.width())  # every line has room
    # no run of text without a break chance is wider than the label (it would be cut)
    pieces = label.text().replace(ZERO_WIDTH_SPACE, " ").split()
    metrics = label.fontMetrics()
    assert max(metrics.horizontalAdvance(p) for p in pieces) <= label.width()


def test_the_process_count_and_the_machines_are_fields_that_reach_the_config(form):
    # Issue 15: the New-run form has the process count; the multi-machine fields sit
    # in their own "Advanced" box, the rank greyed out while there is one machine.
    form.editors["train.nproc_per_node"].setCurrentText("gpu")
    assert form.draft.config.train.nproc_per_node == "gpu"
    form.editors["train.nproc_per_node"].setCurrentText("2")
    assert form.draft.config.train.nproc_per_node == 2
    rank = form.editors["train.node_rank"]
    assert not rank.isEnabled() and "several machines" in rank.toolTip()
    form.draft.apply({"train.nnodes": "2", "train.rdzv_endpoint": "10.0.0.1:29500",
                       "train.node_rank": "1"})
    assert rank.isEnabled()
    train = form.draft.config.train
    assert (train.nnodes, train.node_rank, train.rdzv_endpoint) == (2, 1, "10.0.0.1:29500")
    titles = [box.title() for box in form.findChildren(QGroupBox)]
    assert "Advanced: several machines" in titles


def test_a_machine_count_without_node_0s_address_is_reported_at_that_field(form):
    form.draft.apply({"train.nnodes": "2"})
    assert form.draft.config is None
    assert "every machine needs HOST:PORT of node 0" in form.draft.errors["train.rdzv_endpoint"]
    assert form.error_labels["train.rdzv_endpoint"].isVisibleTo(form)
