"""Remedies for a run on the user's own model and data: a one-click fix only where their
code takes the key (``model.accepts``, read from the file without importing it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from traindoc.diagnostics.remedies import remedy
from traindoc.engine import config as cfg
from traindoc.engine.config_sources import accepted_options

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATA = f"{EXAMPLES / 'digits_data.py'}:load_digits"
MODEL = f"{EXAMPLES / 'digits_model.py'}:make_mlp"

FACTORIES = (
    "def plain(shape, classes):\n    pass\n"
    "def options(shape, classes, hidden=(8,), *, activation='relu'):\n    pass\n"
    "def anything(shape, classes, **options):\n    pass\n"
    "class Net:\n    def __init__(self, shape, classes, dropout=0.0):\n        pass\n"
)


@pytest.fixture
def factories(tmp_path) -> Path:
    path = tmp_path / "nets.py"
    path.write_text(FACTORIES, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "accepted"), [
    ("plain", ()),
    ("options", ("hidden", "activation")),
    ("anything", ("hidden", "dropout", "activation")),
    ("Net", ("dropout",)),
    ("missing", None),
])
def test_accepted_options_are_read_from_the_file(factories, name, accepted):
    assert accepted_options(f"{factories}:{name}") == accepted


def test_accepted_options_of_an_unreadable_file_are_unknown(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def make(:\n", encoding="utf-8")
    assert accepted_options(f"{broken}:make") is None
    assert accepted_options(f"{tmp_path / 'gone.py'}:make") is None


def diagnosis_config(**patch) -> dict:
    return cfg.diagnosis_dict(cfg.apply_patch(cfg.RunConfig(), patch))


def test_the_diagnosis_sees_what_the_factory_accepts_and_the_built_in_config_is_unchanged():
    assert diagnosis_config(**{"model.source": MODEL})["model"]["accepts"] == ["hidden", "dropout"]
    assert diagnosis_config() == cfg.to_dict(cfg.RunConfig())


def test_a_factory_taking_dropout_gets_more_dropout_as_a_one_click_fix():
    fix = remedy("more-dropout", diagnosis_config(**{"model.source": MODEL}), rule="overfitting")
    assert fix.patch == {"model.dropout": 0.3}


def test_a_factory_without_the_key_gets_the_snippet_instead(factories):
    config = diagnosis_config(**{"model.source": f"{factories}:options"})
    dropout = remedy("more-dropout", config, rule="overfitting")
    assert dropout.patch is None and "Dropout" in dropout.snippet and not dropout.already_tried
    assert remedy("smaller-model", config, rule="overfitting").patch == {"model.hidden": [128, 128]}
    assert remedy("gelu", config).patch == {"model.activation": "gelu"}
    unknown = diagnosis_config(**{"model.source": f"{factories}:missing"})
    assert remedy("smaller-model", unknown, rule="overfitting").patch is None


def test_user_data_takes_only_the_batch_size_from_data_remedies():
    config = diagnosis_config(**{"data.source": DATA})
    assert remedy("augment", config, rule="overfitting").patch is None
    assert remedy("augment", diagnosis_config(), rule="overfitting").patch == {"data.augment": True}
    assert remedy("lower-lr", config).patch == {"optim.lr": 0.0001}  # the loop's keys still apply
