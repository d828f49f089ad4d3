"""`traindoc diagnose` on input a user gets wrong or gives loosely (issue 12, item 16):
a run folder is named by its folder, a file that is not an event file and a --role
naming a missing tag exit 2 with one line, and status.json is strict JSON."""

from __future__ import annotations

import json
import math

import pytest

from traindoc.engine import rundir

from .test_cli_diagnose import healthy_losses, run_cli, write_run


@pytest.fixture
def logs(tmp_path):
    """Two runs: good/ (healthy) and nan/ (NaN from step 151)."""
    train, val = healthy_losses()
    nan_train = train.copy()
    nan_train[150:] = math.nan
    for name, losses in (("good", train), ("nan", nan_train)):
        write_run(tmp_path / name, {"Loss/train": losses, "Loss/test": val},
                  every={"Loss/test": 20})
    return tmp_path


def test_a_run_folder_is_named_by_its_folder_not_dot(logs, capsys, monkeypatch):
    code, out, _ = run_cli(capsys, str(logs / "good"))
    assert code == 0
    assert out.startswith("good: healthy"), out
    monkeypatch.chdir(logs / "nan")
    code, out, _ = run_cli(capsys, ".")
    assert out.startswith("nan: problems"), out
    event_file = next((logs / "good").glob("events.out.tfevents.*"))
    code, out, _ = run_cli(capsys, str(event_file))
    assert out.startswith("good: healthy"), out
    # the JSON keeps the run's path relative to PATH: "." for PATH itself
    code, out, _ = run_cli(capsys, str(logs / "good"), "--json")
    assert json.loads(out)["runs"][0]["run"] == "."


def test_a_tree_keeps_relative_names(logs, capsys):
    code, out, _ = run_cli(capsys, str(logs))
    assert code == 0
    assert "good: healthy" in out and "nan: problems" in out


def test_a_file_that_is_not_an_event_file_exits_2(tmp_path, capsys):
    config = tmp_path / "my.toml"
    config.write_text('name = "digits-adamw"\n[optim]\nlr = 0.01\n')
    code, out, err = run_cli(capsys, str(config))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"traindoc diagnose: {config}: not a TensorBoard event file (give a run folder, "
        "or a file named events.out.tfevents.*)"
    ]
    code, _, err = run_cli(capsys, str(config), "--watch")
    assert code == 2 and "not a TensorBoard event file" in err


def test_an_empty_event_file_is_still_read(tmp_path, capsys):
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"")
    code, out, _ = run_cli(capsys, str(tmp_path / "events.out.tfevents.1.host"))
    assert code == 0 and "insufficient-data" in out


def test_a_role_naming_a_missing_tag_exits_2_naming_the_tags(logs, capsys):
    code, out, err = run_cli(capsys, str(logs), "--role", "val_loss=Loss/val")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines == [
        "traindoc diagnose: --role val_loss=Loss/val: no such tag; "
        "the tags are: Loss/test, Loss/train"
    ]
    # a tag that one run of the tree has is fine (the others keep their own roles)
    code, out, _ = run_cli(capsys, str(logs), "--role", "val_loss=Loss/test")
    assert code == 0
    # so are a sum of existing tags and an unmapping
    code, _, _ = run_cli(capsys, str(logs), "--role", "train_loss=Loss/train+Loss/test")
    assert code == 0
    code, _, _ = run_cli(capsys, str(logs), "--role", "val_loss=")
    assert code == 0


def test_status_json_is_strict_json(tmp_path):
    rundir.write_status(
        tmp_path, "finished", "done", best_val_loss=math.inf, last={"loss": math.nan},
        history=[1.0, -math.inf],
    )
    text = (tmp_path / rundir.STATUS_FILE).read_text()

    def refuse(name):
        pytest.fail(f"non-standard JSON constant {name} in status.json")

    record = json.loads(text, parse_constant=refuse)
    assert record["best_val_loss"] is None
    assert record["last"] == {"loss": None}
    assert record["history"] == [1.0, None]
    assert record["status"] == "finished" and record["reason"] == "done"


def test_parent_json_is_strict_json(tmp_path):
    link = rundir.ParentLink(parent="a", rule="divergence", remedy="lower-lr",
                             patch={"optim.lr": math.nan})
    assert rundir.write_parent(tmp_path, link) is None
    record = json.loads((tmp_path / rundir.PARENT_FILE).read_text(), parse_constant=pytest.fail)
    assert record["patch"] == {"optim.lr": None}

