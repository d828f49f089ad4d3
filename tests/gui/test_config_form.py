"""The config form: every SPEC §6 key, engine's validation message at the field."""

from __future__ import annotations

import pytest

from traindoc.engine import config as cfg
from traindoc.gui.config_draft import DraftModel
from traindoc.gui.core.config_draft import error_key, validate_values


@pytest.fixture
def form(qtbot):
    from traindoc.gui.widgets.config_form import ConfigForm

    draft = DraftModel()
    widget = ConfigForm(draft)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_every_config_key_has_a_field(form):
    assert set(form.editors) == set(cfg.all_keys())


def test_typing_an_invalid_value_shows_engines_message_at_that_field(qtbot, form):
    lr = form.editors["optim.lr"]
    lr.clear()
    qtbot.keyClicks(lr, "-1")
    assert not form.draft.valid
    label = form.error_labels["optim.lr"]
    assert label.isVisible()
    assert label.text() == "optim.lr = -1.0: expected a finite number > 0"
    assert not form.error_labels["optim.momentum"].isVisible()
    lr.clear()
    qtbot.keyClicks(lr, "0.01")
    assert form.draft.valid and form.draft.config.optim.lr == 0.01
    assert not label.isVisible()


def test_several_bad_fields_each_get_their_message():
    values = cfg.flatten(cfg.RunConfig())
    values.update({"optim.lr": "x", "model.hidden": "a, b", "train.epochs": "0",
                   "data.dataset": "imagenet"})
    config, errors = validate_values(values)
    assert config is None
    assert set(errors) == {"optim.lr", "model.hidden", "train.epochs", "data.dataset"}
    assert errors["train.epochs"] == "train.epochs = 0: expected an integer 1..100000"


def test_cross_field_rule_is_reported_at_the_key_engine_names():
    values = cfg.flatten(cfg.RunConfig())
    values["schedule.decay"] = "0.99"
    _, errors = validate_values(values)
    assert list(errors) == ["schedule.decay"]


def test_choices_checkboxes_and_lists_reach_the_config(form):
    form.editors["optim.name"].setCurrentText("sgd")
    form.editors["data.augment"].setChecked(True)
    form.editors["model.hidden"].setText("")
    form.editors["model.hidden"].textEdited.emit("128, 64")
    form.editors["data.dataset"].setCurrentText("spirals")
    config = form.draft.config
    assert config.optim.name == "sgd" and config.data.augment
    assert config.model.hidden == (128, 64) and config.data.dataset == "spirals"


def test_loading_a_config_fills_every_field(form):
    config = cfg.apply_patch(cfg.RunConfig(), {"optim.lr": 0.05, "train.device": "cpu",
                                               "data.dataset": "csv:/tmp/x.csv"})
    form.draft.load(config)
    assert form.editors["optim.lr"].text() == "0.05"
    assert form.editors["train.device"].currentText() == "cpu"
    assert form.editors["data.dataset"].currentText() == "csv:/tmp/x.csv"
    assert form.draft.config == config


def test_a_patch_set_by_code_shows_in_the_form(form):
    # a finder's "use these settings": the form refills from the draft, no one calls it
    form.draft.apply({"optim.lr": 0.003, "data.batch_size": 32, "train.grad_accum": 2})
    assert form.editors["optim.lr"].text() == "0.003"
    assert form.editors["data.batch_size"].text() == "32"
    assert form.editors["train.grad_accum"].text() == "2"
    assert form.draft.valid and form.draft.config.data.batch_size == 32
    form.draft.apply({"optim.lr": "-1"})
    assert form.editors["optim.lr"].text() == "-1"
    assert form.error_labels["optim.lr"].text().startswith("optim.lr = -1.0")


def test_error_key_parses_engine_messages():
    assert error_key("optim.lr = -1.0: expected ...") == "optim.lr"
    assert error_key("name = '': expected a non-empty run name") == "name"
    assert error_key("nonsense") is None
