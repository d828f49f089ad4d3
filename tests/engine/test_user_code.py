"""``model.source`` / ``data.source``: the config keys and loading the user's code (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from traindoc.engine import config as cfg
from traindoc.engine.data.files import DataError
from traindoc.engine.find.finders.prepare import prepare
from traindoc.engine.train import user_code
from traindoc.engine.train.models import ModelError
from traindoc.engine.train.setup import build_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATA = f"{EXAMPLES / 'digits_data.py'}:load_digits"
MODEL = f"{EXAMPLES / 'digits_model.py'}:make_mlp"


def user_config(**patch) -> cfg.RunConfig:
    base = {"data.source": DATA, "model.source": MODEL, "train.device": "cpu"}
    return cfg.apply_patch(cfg.RunConfig(), {**base, **patch})


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- config


def test_sources_default_to_empty_and_relative_set_paths_follow_the_current_folder(
        tmp_path, monkeypatch):
    assert cfg.RunConfig().model.source == cfg.RunConfig().data.source == ""
    write(tmp_path, "net.py", "def make(shape, classes): pass\n")
    monkeypatch.chdir(tmp_path)
    config = cfg.apply_patch(cfg.RunConfig(), {"model.source": "net.py:make"})
    assert config.model.source == f"{tmp_path / 'net.py'}:make"


def test_relative_paths_in_a_config_file_follow_the_files_folder(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    write(project, "data.py", "def load(): pass\n")
    toml = write(project, "run.toml", '[data]\nsource = "data.py:load"\n')
    monkeypatch.chdir(tmp_path)
    config = cfg.load(toml)
    assert config.data.source == f"{project / 'data.py'}:load"
    assert config.name == "py-data-adamw"  # the automatic name says whose data
    assert cfg.loads(cfg.dumps(config)) == config  # stored absolute: the worker reads it back


@pytest.mark.parametrize(("value", "words"), [
    ("nowhere.py:make", "file not found"),
    ("net.txt:make", "'net.txt' is not a .py file"),
    ("net.py:1make", "'1make' is not a Python function name"),
    ("net.py", "expected FILE.py:NAME"),
    ("net.py:", "expected FILE.py:NAME"),
])
def test_a_bad_source_is_one_line_naming_the_key(tmp_path, monkeypatch, value, words):
    write(tmp_path, "net.py", "def make(shape, classes): pass\n")
    write(tmp_path, "net.txt", "")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cfg.ConfigError) as info:
        cfg.apply_patch(cfg.RunConfig(), {"model.source": value})
    message = str(info.value)
    assert message.startswith("model.source = ") and words in message and "\n" not in message


def test_a_config_file_naming_a_missing_source_is_refused_but_a_stored_one_still_reads(tmp_path):
    toml = write(tmp_path, "run.toml", '[model]\nsource = "gone.py:make"\n')
    missing = r"run.toml: model.source = '.*/gone.py:make': file not found"
    with pytest.raises(cfg.ConfigError, match=missing):
        cfg.load(toml)
    # a run's stored config stays readable after its model file moved away
    assert cfg.loads(toml.read_text(), base=tmp_path).model.source.endswith("gone.py:make")


# ---------------------------------------------------------------- loading


def test_the_example_pair_builds_a_run_with_the_configs_options():
    run = build_run(user_config(**{"model.hidden": [32, 16], "model.dropout": 0.25}))
    assert run.x_train.shape[1:] == (1, 8, 8) and run.y_train.dtype == torch.int64
    assert len(run.y_train) + len(run.y_val) == 1797
    linear = [m for m in run.model.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == [32, 16, 10]
    dropouts = [m.p for m in run.model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.25, 0.25]


def test_finders_prepare_loads_the_same_user_code():
    setup = prepare(user_config(**{"model.hidden": [20]}))
    assert setup.x.shape[1:] == (1, 8, 8) and len(setup.y) == 1438
    assert [m.out_features for m in setup.model.modules() if isinstance(m, torch.nn.Linear)] \
        == [20, 10]


def test_a_dataset_of_pairs_is_stacked_and_the_folder_can_import_its_siblings(tmp_path):
    write(tmp_path, "helpers.py", "SIZE = 3\n")
    write(tmp_path, "pairs.py", (
        "import torch\nfrom torch.utils.data import Dataset\nimport helpers\n"
        "class Pairs(Dataset):\n"
        "    def __len__(self): return 10\n"
        "    def __getitem__(self, i): return torch.full((helpers.SIZE,), float(i)), i % 2\n"
        "def load(): return Pairs(), Pairs()\n"))
    data = user_code.load_user_data(f"{tmp_path / 'pairs.py'}:load")
    assert data.train.x.shape == (10, 3) and data.num_classes == 2
    assert data.train.y.tolist() == [0, 1] * 5


def test_accepted_options_follow_the_signature():
    def plain(shape, classes): ...
    def some(shape, classes, hidden=(8,), *, dropout=0.0): ...
    def anything(shape, classes, **options): ...
    assert user_code.accepted_options(plain) == ()
    assert user_code.accepted_options(some) == ("hidden", "dropout")
    assert user_code.accepted_options(anything) == ("hidden", "dropout", "activation")


# ---------------------------------------------------------------- bad code


MODEL_CASES = {
    "raises": ("def make(shape, classes):\n    raise ValueError('too deep')\n",
               "model.source: make() raised ValueError: too deep"),
    "wrong type": ("def make(shape, classes):\n    return 42\n",
                   "model.source: make() returned a int; expected a torch.nn.Module"),
    "no function": ("def other(shape, classes): pass\n", "has no function 'make'"),
    "bad shape": ("import torch\ndef make(shape, classes):\n"
                  "    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 5))\n",
                  "maps a batch of shape (2, 1, 8, 8) to (2, 5); expected (2, 10) (10 classes)"),
    "forward fails": ("import torch\ndef make(shape, classes):\n"
                      "    return torch.nn.Linear(3, classes)\n",
                      "the model fails on a batch of shape (2, 1, 8, 8): RuntimeError"),
    "import fails": ("import not_a_module_anywhere\n",
                     "model.source: importing net.py failed: ModuleNotFoundError"),
    "exits on import": ("import sys\nsys.exit(3)\n",
                        "model.source: importing net.py failed: SystemExit: 3"),
}


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_bad_model_code_is_a_one_line_model_error(tmp_path, case):
    text, words = MODEL_CASES[case]
    write(tmp_path, "net.py", text)
    with pytest.raises(ModelError) as info:
        build_run(user_config(**{"model.source": f"{tmp_path / 'net.py'}:make"}))
    assert words in str(info.value) and "\n" not in str(info.value)


DATA_CASES = {
    "raises": ("def load():\n    raise OSError('no disk')\n",
               "data.source: load() raised OSError: no disk"),
    "not a pair": ("def load():\n    return [1, 2, 3]\n",
                   "load() returned a list of 3; expected (train, val)"),
    "not a split": ("def load():\n    return 'a', 'b'\n",
                    "the train split is a str; expected a torch Dataset"),
    "mixed kinds": ("import torch\ndef load():\n"
                    "    return (torch.zeros(4, 2), torch.zeros(4)), "
                    "(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))\n",
                    "train and val targets differ in kind"),
}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_code_is_a_one_line_data_error(tmp_path, case):
    text, words = DATA_CASES[case]
    write(tmp_path, "data.py", text)
    with pytest.raises(DataError) as info:
        user_code.load_user_data(f"{tmp_path / 'data.py'}:load")
    assert words in str(info.value) and "\n" not in str(info.value)
