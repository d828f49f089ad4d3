"""Every config value has a checked range, and any bad value or bad TOML is one line, exit 2.

Issue 10, items 4 and 5: ``--set seed=4294967296`` crashed in the worker and kept the
run folder; a 50,000-deep TOML value gave a 3,000-line RecursionError.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from traindoc.engine import config as cfg
from traindoc.engine import config_limits as limits

from .cli_helpers import traindoc

pytestmark = pytest.mark.timeout(120)

DEEP = "[" * 50_000 + "]" * 50_000


def assert_one_line_exit_2(result, logdir: Path, *words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert not logdir.exists() or not any(logdir.iterdir()), list(logdir.iterdir())


# ---------------------------------------------------------------- the real CLI

BAD_SETS = [
    ("train", "seed=4294967296", ["seed", "4294967296", "0..4294967295"]),
    ("train", "seed=18446744073709551616", ["seed", "18446744073709551616", "0..4294967295"]),
    ("train", "seed=-1", ["seed", "-1", "0..4294967295"]),
    ("train", f"optim.lr={DEEP}", ["optim.lr", "nested", "32"]),
    ("train", "optim.lr=1" + "0" * 400, ["optim.lr", "out of range"]),
    ("train", "seed=" + "9" * 5000, ["seed", "cannot read the value"]),
    ("train", "optim.lr=1e999", ["optim.lr", "inf", "finite"]),
    ("train", "optim.lr=1e16", ["optim.lr", "1e+16", "≤ 1e+15"]),
    ("train", "model.hidden=[65536, 65536]", ["model.hidden", "parameters", "1,000,000,000"]),
    ("train", "model.hidden=[" + ", ".join(["8"] * 65) + "]", ["model.hidden", "64"]),
    ("train", "train.device=cuda:99999999999999999999", ["train.device", "0..1023"]),
    ("train", "train.epochs=100001", ["train.epochs", "100001", "1..100000"]),
    ("lr-find", "seed=4294967296", ["seed", "0..4294967295"]),
    ("lr-find", f"optim.lr={DEEP}", ["optim.lr", "nested"]),
    ("batch-find", "model.hidden=[65536, 65536]", ["model.hidden", "parameters"]),
    ("batch-find", "data.batch_size=65537", ["data.batch_size", "1..65536"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "override", "words"), BAD_SETS, ids=lambda v: str(v)[:30])
def test_bad_set_exits_2_with_one_line_and_no_run_folder(tmp_path, command, override, words):
    logdir = tmp_path / "runs"
    result = traindoc(command, "--set", override, "--logdir", str(logdir), cwd=tmp_path)
    assert_one_line_exit_2(result, logdir, *words)


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


BAD_FILES = {
    "deep-array": ("[optim]\nlr = " + DEEP + "\n", ["nested", "50,000"]),
    "deep-table": ("[model]\nhidden = " + "{a = " * 20_000 + "1" + "}" * 20_000, ["nested"]),
    "syntax": ("[optim\nlr = 1\n", ["not valid TOML"]),
    "wrong-type": ('[optim]\nlr = "fast"\n', ["optim.lr", "fast", "number"]),
    "not-a-table": ("optim = 3\n", ["[optim]", "table"]),
    "big-seed": ("seed = 4294967296\n", ["seed", "0..4294967295"]),
    "huge-int": ("seed = " + "9" * 5000 + "\n", ["not a usable TOML file"]),
    "not-utf8": (b"name = '\xff\xfe'\n", ["not a UTF-8 text file"]),
    "too-long": ("# " + "x" * 1_100_000 + "\n", ["too long", "1,000,000"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_config_file_exits_2_with_one_line(tmp_path, case):
    content, words = BAD_FILES[case]
    path = _write(tmp_path / "bad.toml", content)
    logdir = tmp_path / "runs"
    result = traindoc("train", str(path), "--logdir", str(logdir), cwd=tmp_path)
    assert_one_line_exit_2(result, logdir, "bad.toml", *words)


@pytest.mark.slow
def test_directory_as_config_exits_2(tmp_path):
    (tmp_path / "conf").mkdir()
    logdir = tmp_path / "runs"
    result = traindoc("train", str(tmp_path / "conf"), "--logdir", str(logdir), cwd=tmp_path)
    assert_one_line_exit_2(result, logdir, "conf", "not a config file")


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_config_exits_2(tmp_path):
    path = _write(tmp_path / "secret.toml", "seed = 1\n")
    path.chmod(0)
    logdir = tmp_path / "runs"
    result = traindoc("train", str(path), "--logdir", str(logdir), cwd=tmp_path)
    assert_one_line_exit_2(result, logdir, "secret.toml", "cannot read config")


# ---------------------------------------------------------------- validation units

AT_THE_LIMIT = {
    "seed": (limits.MAX_SEED, limits.MAX_SEED + 1),
    "data.batch_size": (limits.MAX_BATCH_SIZE, limits.MAX_BATCH_SIZE + 1),
    "train.epochs": (limits.MAX_EPOCHS, limits.MAX_EPOCHS + 1),
    "train.grad_accum": (limits.MAX_GRAD_ACCUM, limits.MAX_GRAD_ACCUM + 1),
    "train.patience": (limits.MAX_PATIENCE, limits.MAX_PATIENCE + 1),
    "optim.lr": (limits.MAX_LR, limits.MAX_LR * 1.01),
    "optim.weight_decay": (limits.MAX_WEIGHT_DECAY, limits.MAX_WEIGHT_DECAY * 1.01),
    "optim.momentum": (0.99, 1.0),
    "train.clip_grad_norm": (limits.MAX_CLIP_GRAD_NORM, limits.MAX_CLIP_GRAD_NORM * 1.01),
    "data.val_fraction": (0.99, 1.0),
    "schedule.final_lr_ratio": (1.0, 1.01),
    "schedule.warmup": (0.0, -0.01),
    "schedule.decay": (0.0, -0.01),
    "model.hidden": ([limits.MAX_WIDTH], [limits.MAX_WIDTH + 1]),
    "name": ("n" * limits.MAX_NAME_LENGTH, "n" * (limits.MAX_NAME_LENGTH + 1)),
    "train.device": (f"cuda:{limits.MAX_CUDA_INDEX}", f"cuda:{limits.MAX_CUDA_INDEX + 1}"),
}


@pytest.mark.parametrize("key", sorted(AT_THE_LIMIT))
def test_the_limit_is_allowed_and_one_past_it_is_not(key):
    good, bad = AT_THE_LIMIT[key]
    cfg.apply_patch(cfg.RunConfig(), {key: good})
    with pytest.raises(cfg.ConfigError) as info:
        cfg.apply_patch(cfg.RunConfig(), {key: bad})
    message = str(info.value)
    assert message.startswith(f"{key} = "), message
    assert "expected" in message and "\n" not in message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize(
    "key",
    ["optim.lr", "optim.momentum", "optim.weight_decay", "schedule.warmup", "schedule.decay",
     "schedule.final_lr_ratio", "train.clip_grad_norm", "data.val_fraction", "model.dropout"],
)
def test_non_finite_numbers_are_refused(key, value):
    with pytest.raises(cfg.ConfigError, match=key.replace(".", r"\.")):
        cfg.apply_patch(cfg.RunConfig(), {key: value})


def test_hidden_layers_are_bounded_in_count_and_by_the_parameter_budget():
    cfg.apply_patch(cfg.RunConfig(), {"model.hidden": [8] * limits.MAX_LAYERS})
    with pytest.raises(cfg.ConfigError, match="at most 64 widths"):
        cfg.apply_patch(cfg.RunConfig(), {"model.hidden": [8] * (limits.MAX_LAYERS + 1)})
    # 64 layers of 65,536 units: 2.7e11 weights, even without knowing the data
    for dataset in ("digits", "npz:/data/x.npz", "csv:/x.csv", "mnist:/m", "cifar10:/c"):
        with pytest.raises(cfg.ConfigError, match="parameters"):
            cfg.apply_patch(
                cfg.RunConfig(), {"data.dataset": dataset, "model.hidden": [65536] * 64}
            )
    # the budget is exact for bundled data: 64 x 65,536 inputs on digits is fine
    cfg.apply_patch(cfg.RunConfig(), {"model.hidden": [65536]})
    with pytest.raises(cfg.ConfigError, match="would have"):
        cfg.apply_patch(cfg.RunConfig(), {"model.arch": "resnet", "model.hidden": [4096]})


@pytest.mark.parametrize(
    ("arch", "hidden", "shape", "classes"),
    [
        ("mlp", (256, 256), (1, 8, 8), 10),
        ("mlp", (3,), (2,), 4),
        ("cnn", (8, 16, 32), (1, 8, 8), 10),
        ("cnn", (4,), (3, 32, 32), 10),
        ("resnet", (4,), (3, 32, 32), 10),
        ("resnet", (4, 4, 8), (1, 8, 8), 10),
        ("resnet", (4, 8), (1, 2, 2), 3),  # too small to stride: projection only on width
    ],
)
def test_parameter_count_matches_the_built_model(arch, hidden, shape, classes):
    from traindoc.engine.train.models import build_model, count_parameters

    model_cfg = cfg.ModelConfig(arch=arch, hidden=hidden)
    expected = count_parameters(build_model(model_cfg, shape, classes))
    assert limits.parameter_count(arch, hidden, shape, classes) == expected


def test_patches_that_grow_a_value_stop_at_the_limit_engine_accepts():
    # The ceilings are defined once (diagnostics.patch_limits) for validation and remedies.
    from traindoc.diagnostics.remedies import remedy

    config = cfg.apply_patch(cfg.RunConfig(), {"model.hidden": [limits.MAX_WIDTH - 1],
                                               "train.epochs": limits.MAX_EPOCHS - 1})
    nested = cfg.to_dict(config)
    wider = remedy("bigger-model", nested, rule="underfitting").patch
    longer = remedy("train-longer", nested, rule="underfitting").patch
    assert wider == {"model.hidden": [limits.MAX_WIDTH]}
    assert longer == {"train.epochs": limits.MAX_EPOCHS}
    patched = cfg.apply_patch(config, {**wider, **longer})
    assert patched.model.hidden == (limits.MAX_WIDTH,)
    assert patched.train.epochs == limits.MAX_EPOCHS


def test_nesting_depth_ignores_strings_and_comments():
    text = cfg.dumps(cfg.RunConfig())
    assert limits.nesting_depth(text) == 1
    assert limits.nesting_depth('a = "[[[[[["\nb = \'[[[[\'  # [[[[[[\nc = [[1], [2]]') == 2
    assert limits.nesting_depth('a = """\n[[[[[[\n"""\nb = {c = [1]}') == 2
    assert limits.nesting_depth("[[tables]]\nx = 1") == 2
    assert limits.nesting_depth("x = " + DEEP) == 50_000


def test_parse_override_refuses_deep_and_unreadable_values():
    with pytest.raises(cfg.ConfigError, match="nested"):
        cfg.parse_override("optim.lr=" + DEEP)
    with pytest.raises(cfg.ConfigError, match="seed"):
        cfg.parse_override("seed=" + "1" * 5000)
    # a bare word with a bracket is still a string (and then rejected by its key's type)
    assert cfg.parse_override("data.dataset=csv:/data/[x].csv") == (
        "data.dataset",
        "csv:/data/[x].csv",
    )


def test_messages_are_one_short_line():
    with pytest.raises(cfg.ConfigError) as info:
        cfg.apply_patch(cfg.RunConfig(), {"name": "a\nb" * 10_000})
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    with pytest.raises(cfg.ConfigError) as info:
        cfg.apply_patch(cfg.RunConfig(), {"model.hidden": list(range(1, 100_000))})
    assert "99999 items" in str(info.value) and len(str(info.value)) < 300
    with pytest.raises(cfg.ConfigError) as info:
        cfg.apply_patch(cfg.RunConfig(), {"seed": 10**5000})
    assert "digits" in str(info.value) and len(str(info.value)) < 300


def test_load_refuses_folders_and_special_files(tmp_path):
    with pytest.raises(cfg.ConfigError, match="not a config file"):
        cfg.load(tmp_path)
    if Path("/dev/zero").exists():
        with pytest.raises(cfg.ConfigError, match="not a config file"):
            cfg.load("/dev/zero")
    with pytest.raises(cfg.ConfigError, match="cannot read config"):
        cfg.load(tmp_path / "missing.toml")


def test_load_names_the_file_when_it_cannot_be_read(tmp_path):
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)  # open() fails with ELOOP, even for root
    with pytest.raises(cfg.ConfigError, match=r"loop\.toml: cannot read config"):
        cfg.load(loop)


@pytest.mark.slow
def test_a_file_dataset_whose_real_input_passes_the_parameter_budget_fails_before_the_run(
        tmp_path):
    # Validation only knows the hidden layers' own weights for a file (268M here); the
    # worker checks the real input (100,000 features: 1.9e9 parameters) before training.
    import numpy as np

    data = tmp_path / "wide.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x=rng.standard_normal((20, 100_000)).astype(np.float32),
             y=np.arange(20) % 2)
    logdir = tmp_path / "runs"
    result = traindoc("train", "--set", f"data.dataset=npz:{data}", "--set",
                      "model.hidden=[16384, 16384]", "--logdir", str(logdir), cwd=tmp_path)
    assert_one_line_exit_2(result, logdir, "model.hidden", "parameters")


def test_raise_lr_patch_stays_within_the_lr_limit():
    from traindoc.diagnostics.remedies import remedy

    patch = remedy("raise-lr", {"optim": {"lr": 5e14}}, rule="slow-descent").patch
    assert patch == {"optim.lr": limits.MAX_LR}
