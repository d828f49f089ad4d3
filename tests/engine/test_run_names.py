"""Default run names say what differs (issue 12, item 3): dataset, optimizer, and the
learning rate when it is not the optimizer's usual one; a chosen name is kept."""

from __future__ import annotations

import pytest

from traindoc.diagnostics.learning_rate import REFERENCE_LR
from traindoc.engine import config as cfg
from traindoc.engine import rundir
from traindoc.engine.config_names import USUAL_LR, dataset_part, default_name, is_automatic


@pytest.mark.parametrize(("patch", "name"), [
    ({}, "digits-adamw"),
    ({"optim.name": "sgd", "optim.lr": 5}, "digits-sgd-lr5"),
    ({"optim.name": "sgd", "optim.lr": 0.1}, "digits-sgd"),
    ({"optim.name": "sgd"}, "digits-sgd-lr0.001"),  # adamw's lr is not sgd's usual one
    ({"optim.lr": 1e-5}, "digits-adamw-lr1e-05"),
    ({"data.dataset": "csv:/data/mydata.csv"}, "csv-mydata-adamw"),
    ({"data.dataset": "csv:/data/mydata.csv", "optim.name": "sgd", "optim.lr": 0.1},
     "csv-mydata-sgd"),
    ({"data.dataset": "npz:/d/my data (v2).npz"}, "npz-my-data-v2-adamw"),
    ({"data.dataset": "mnist:/data/MNIST/raw", "optim.name": "momentum", "optim.lr": 0.1},
     "mnist-momentum"),
    ({"data.dataset": "spirals", "optim.name": "adam", "optim.lr": 0.01}, "spirals-adam-lr0.01"),
])
def test_the_default_name_follows_the_config(patch, name):
    config = cfg.apply_patch(cfg.RunConfig(), patch)
    assert config.name == name
    cfg.validate(config)


def test_an_automatic_name_follows_later_changes_and_a_chosen_one_stays():
    sgd = cfg.apply_patch(cfg.RunConfig(), {"optim.name": "sgd", "optim.lr": 5})
    assert cfg.apply_patch(sgd, {"optim.lr": 0.1}).name == "digits-sgd"
    assert cfg.apply_patch(sgd, {"name": "baseline", "optim.lr": 0.1}).name == "baseline"
    baseline = cfg.apply_patch(cfg.RunConfig(), {"name": "baseline"})
    assert cfg.apply_patch(baseline, {"optim.lr": 0.5}).name == "baseline"
    fix = cfg.apply_patch(sgd, {"name": "digits-sgd-lr5-fix-lower-lr", "optim.lr": 0.5})
    assert fix.name == "digits-sgd-lr5-fix-lower-lr"  # a fix's name is chosen, not automatic
    csv = cfg.apply_patch(cfg.RunConfig(), {"data.dataset": "csv:a/my-data.csv",
                                            "optim.name": "sgd", "optim.lr": 0.1})
    assert csv.name == "csv-my-data-sgd"
    child = cfg.apply_patch(csv, {"name": "csv-my-data-sgd-fix-switch-to-adam",
                                  "optim.name": "adamw", "optim.lr": 0.001})
    assert child.name == "csv-my-data-sgd-fix-switch-to-adam"
    assert cfg.apply_patch(csv, {"data.dataset": "csv:b.csv"}).name == "csv-b-sgd"


def test_the_form_and_config_files_get_the_name_of_what_they_hold():
    # The GUI's form and a TOML file give every key, the stale default name included.
    values = {**cfg.flatten(cfg.RunConfig()), "optim.name": "sgd", "optim.lr": 5}
    assert cfg.apply_patch(cfg.RunConfig(), values).name == "digits-sgd-lr5"
    text = 'name = "digits-adamw"\n[data]\ndataset = "csv:runs/mydata.csv"\n[optim]\nname = "sgd"\n'
    assert cfg.loads(text).name == "csv-mydata-sgd-lr0.001"
    assert cfg.loads(cfg.dumps(cfg.loads(text))).name == "csv-mydata-sgd-lr0.001"


def test_long_or_odd_file_names_still_make_a_valid_name():
    long = "csv:/d/" + "x" * 300 + ".csv"
    config = cfg.apply_patch(cfg.RunConfig(), {"data.dataset": long})
    assert config.name == "csv-" + "x" * 40 + "-adamw"
    assert dataset_part("csv:/d/???.csv") == "csv" and dataset_part("npz:") == "npz"
    assert is_automatic(default_name(config)) and not is_automatic("baseline")
    assert not is_automatic("compare-digits-sgd")


def test_usual_rates_match_the_diagnosis_reference():
    assert USUAL_LR == REFERENCE_LR


def test_run_folders_of_the_same_name_stay_unique(tmp_path):
    a = rundir.make_run_dir(tmp_path, "digits-sgd-lr5")
    b = rundir.make_run_dir(tmp_path, "digits-sgd-lr5")
    assert a != b and a.name.startswith("digits-sgd-lr5-") and b.name.startswith(a.name)


def test_a_fix_name_records_the_fix_within_the_name_limit():
    from traindoc.engine.config_limits import MAX_NAME_LENGTH
    from traindoc.engine.config_names import fix_name

    assert fix_name("digits-adamw", "lower-lr") == "digits-adamw-fix-lower-lr"
    long = fix_name("x" * 200, "lower-lr")
    assert len(long) == MAX_NAME_LENGTH and long.endswith("-fix-lower-lr")
    assert fix_name("-" * 99, "augment") == "fix-augment"  # no leading separators
