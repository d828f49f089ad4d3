"""gui.core.config_draft: the config form's draft without Qt."""

from __future__ import annotations

import pytest

from traindoc.engine import config as cfg
from traindoc.gui.core.config_draft import ConfigDraft


def test_a_new_draft_holds_the_default_config():
    draft = ConfigDraft()
    assert draft.valid and draft.errors == {}
    assert draft.config == cfg.RunConfig()
    assert draft.values == cfg.flatten(cfg.RunConfig())


def test_each_invalid_field_keeps_its_message_until_it_is_fixed():
    draft = ConfigDraft()
    assert draft.set("optim.lr", "-1") is True
    assert draft.set("train.epochs", "0") is True
    assert not draft.valid and draft.config is None
    assert set(draft.errors) == {"optim.lr", "train.epochs"}
    assert draft.errors["train.epochs"] == "train.epochs = 0: expected an integer 1..100000"
    assert draft.set("optim.lr", "0.01") is True
    assert set(draft.errors) == {"train.epochs"}
    assert draft.set("train.epochs", "3") is True
    assert draft.valid and draft.config.optim.lr == 0.01 and draft.config.train.epochs == 3


def test_update_sets_several_fields_and_reports_whether_any_changed():
    draft = ConfigDraft()
    assert draft.update({"data.batch_size": 32, "train.grad_accum": 2}) is True
    assert (draft.config.data.batch_size, draft.config.train.grad_accum) == (32, 2)
    assert draft.update({"data.batch_size": 32}) is False
    assert draft.set("train.grad_accum", 2) is False


def test_unknown_keys_are_refused_and_change_nothing():
    draft = ConfigDraft()
    with pytest.raises(KeyError):
        draft.update({"optim.lr": 0.5, "optim.nope": 1})
    assert draft.values["optim.lr"] == cfg.RunConfig().optim.lr


def test_load_replaces_every_field():
    draft = ConfigDraft()
    draft.set("optim.lr", "x")
    config = cfg.apply_patch(cfg.RunConfig(), {"optim.lr": 0.05, "seed": 7})
    draft.load(config)
    assert draft.valid and draft.config == config and draft.errors == {}
