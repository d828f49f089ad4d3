"""`traindoc diagnose` shows a fixed run's lineage: its parent, the fix, and the verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.engine.test_cli_diagnose import healthy_losses, run_cli, write_run
from traindoc.engine import rundir


def nan_run(folder: Path) -> None:
    train, val = healthy_losses(seed=1)
    train = train.copy()
    train[150:] = np.nan
    write_run(folder, {"Loss/train": train, "Loss/test": val + 0.2}, every={"Loss/test": 20})


def child_of(parent: Path, folder: Path, *, healthy: bool) -> None:
    if healthy:
        train, val = healthy_losses(seed=2)
        write_run(folder, {"Loss/train": train, "Loss/test": val}, every={"Loss/test": 20})
    else:
        nan_run(folder)
    rundir.write_status(folder, "finished")
    link = rundir.ParentLink(parent=str(parent), rule="nan-loss", remedy="lower-lr",
                             parent_name="first-try")
    assert rundir.write_parent(folder, link) is None


def test_a_fixed_run_shows_its_parent_and_a_resolved_verdict(tmp_path, capsys):
    nan_run(tmp_path / "first-try")
    child_of(tmp_path / "first-try", tmp_path / "fixed", healthy=True)
    code, out, _ = run_cli(capsys, str(tmp_path / "fixed"))
    assert code == 0
    (line,) = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("fix of")]
    assert line.startswith("fix of first-try (lower-lr for nan-loss): nan-loss: resolved")
    best_parent = healthy_losses(seed=1)[1].min() + 0.2
    best_child = healthy_losses(seed=2)[1].min()
    assert f"best val loss {best_parent:.4g} → {best_child:.4g}" in line


def test_a_fix_that_did_not_work_says_still_present(tmp_path, capsys):
    nan_run(tmp_path / "first-try")
    child_of(tmp_path / "first-try", tmp_path / "again", healthy=False)
    _, out, _ = run_cli(capsys, str(tmp_path / "again"))
    assert "fix of first-try (lower-lr for nan-loss): nan-loss: still present" in out


def test_a_parent_gone_leaves_the_verdict_without_its_numbers(tmp_path, capsys):
    child_of(tmp_path / "deleted", tmp_path / "fixed", healthy=True)
    _, out, _ = run_cli(capsys, str(tmp_path / "fixed"))
    assert "nan-loss: resolved · best val loss — →" in out


def test_a_run_without_parent_json_has_no_lineage_line(tmp_path, capsys):
    nan_run(tmp_path / "plain")
    _, out, _ = run_cli(capsys, str(tmp_path / "plain"))
    assert "fix of" not in out
