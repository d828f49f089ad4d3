"""traindoc.engine.config: typed data, TOML round-trip, overrides and validation messages."""

from __future__ import annotations

import pytest

from traindoc.engine import config as cfg


def test_default_matches_spec_section_6():
    c = cfg.RunConfig()
    assert c.data.dataset == "digits" and c.data.batch_size == 64
    assert c.model.arch == "mlp" and c.model.hidden == (256, 256)
    assert c.optim.name == "adamw" and c.optim.lr == 0.001 and c.optim.weight_decay == 0.01
    assert c.schedule.kind == "warmup-plateau-decay"
    assert (c.schedule.warmup, c.schedule.decay, c.schedule.final_lr_ratio) == (0.05, 0.25, 0.1)
    assert c.train.epochs == 20 and c.train.amp == "auto" and c.train.device == "auto"


def test_toml_round_trip(tmp_path):
    c = cfg.apply_patch(
        cfg.RunConfig(),
        {"model.hidden": [64, 32, 16], "optim.name": "momentum", "train.clip_grad_norm": 1.0},
    )
    path = tmp_path / "run.toml"
    cfg.save(c, path)
    assert cfg.load(path) == c
    assert cfg.loads(cfg.dumps(c)) == c


def test_partial_toml_keeps_defaults():
    c = cfg.loads('name = "x"\n[optim]\nlr = 0.1\n')
    assert c.name == "x" and c.optim.lr == 0.1 and c.optim.name == "adamw"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("optim.lr=0.01", ("optim.lr", 0.01)),
        ("model.hidden=[512, 256]", ("model.hidden", [512, 256])),
        ("data.dataset=mnist:/data/MNIST/raw", ("data.dataset", "mnist:/data/MNIST/raw")),
        ("train.early_stopping=true", ("train.early_stopping", True)),
        ("optim.name=sgd", ("optim.name", "sgd")),
    ],
)
def test_parse_override(text, expected):
    assert cfg.parse_override(text) == expected


def test_override_strings_are_coerced():
    c = cfg.apply_patch(cfg.RunConfig(), {"data.batch_size": "32", "model.hidden": "128,64"})
    assert c.data.batch_size == 32 and c.model.hidden == (128, 64)


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        ({"optim.lr": -1}, ["optim.lr", "-1", "> 0"]),
        ({"optim.lr": float("nan")}, ["optim.lr", "nan"]),
        ({"optim.name": "lion"}, ["optim.name", "lion", "adamw"]),
        ({"optim.lrate": 1}, ["optim.lrate", "unknown key"]),
        ({"epochs": 3}, ["epochs", "unknown key", "train.epochs"]),
        ({"data.batch_size": 0}, ["data.batch_size", "0"]),
        ({"data.batch_size": 1.5}, ["data.batch_size", "integer"]),
        ({"data.val_fraction": 1.0}, ["data.val_fraction", "(0, 1)"]),
        ({"data.dataset": "imagenet"}, ["data.dataset", "imagenet", "mnist:DIR"]),
        ({"data.dataset": "mnist:"}, ["data.dataset", "needs a path"]),
        ({"model.hidden": []}, ["model.hidden", "non-empty"]),
        ({"model.dropout": 1.0}, ["model.dropout"]),
        ({"model.activation": "tanh"}, ["model.activation", "relu, gelu"]),
        ({"schedule.kind": "linear"}, ["schedule.kind", "cosine"]),
        ({"schedule.warmup": 0.9, "schedule.decay": 0.5}, ["schedule.decay", "warmup"]),
        ({"train.amp": "fp8"}, ["train.amp", "auto, off"]),
        ({"train.device": "tpu"}, ["train.device", "cuda:N"]),
        ({"train.early_stopping": "maybe"}, ["train.early_stopping", "true or false"]),
        ({"name": "a/b"}, ["name", "a/b"]),
    ],
)
def test_invalid_values_name_key_value_and_allowed(patch, words):
    with pytest.raises(cfg.ConfigError) as info:
        cfg.apply_patch(cfg.RunConfig(), patch)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_invalid_toml_file_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim\nlr = 1")
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.load(bad)
    with pytest.raises(cfg.ConfigError, match="cannot read"):
        cfg.load(tmp_path / "missing.toml")
    with pytest.raises(cfg.ConfigError, match=r"\[optim\]: expected a table"):
        cfg.loads("optim = 3")


def test_flatten_lists_every_key():
    keys = cfg.all_keys()
    assert "optim.lr" in keys and "train.clip_grad_norm" in keys and "seed" in keys
    assert len(keys) == len(set(keys)) == 32  # 28 + the 4 distributed keys (issue 15)
