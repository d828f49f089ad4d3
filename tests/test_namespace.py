"""traindoc installs as one namespace: a user's own ``engine``, ``gui`` or ``diagnostics``
beside their script never shadows ours (SPEC §2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SHADOW = "raise SystemExit('the user\\'s own {name} was imported instead of traindoc\\'s')\n"


def user_project(tmp_path: Path) -> Path:
    """A training repository of the detectron2 kind: its own engine.py, engine/ and gui.py."""
    project = tmp_path / "project"
    (project / "diagnostics").mkdir(parents=True)
    (project / "engine.py").write_text(SHADOW.format(name="engine.py"))
    (project / "gui.py").write_text(SHADOW.format(name="gui.py"))
    (project / "diagnostics" / "__init__.py").write_text(SHADOW.format(name="diagnostics/"))
    return project


def run(args: list[str], cwd: Path, timeout: float = 200) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(cwd)  # the user's folder first on the path, as for their scripts
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_train_and_diagnose_from_a_folder_with_its_own_engine(tmp_path):
    project = user_project(tmp_path)
    trained = run(["-m", "traindoc", "train", "--set", "train.epochs=2", "--quiet",
                   "--logdir", "runs"], project)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "was imported instead" not in trained.stdout + trained.stderr
    (run_dir,) = (project / "runs").iterdir()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"

    diagnosed = run(["-m", "traindoc", "diagnose", "runs", "--json"], project)
    assert diagnosed.returncode == 0, diagnosed.stderr[-2000:]
    report = json.loads(diagnosed.stdout)
    assert len(report["runs"]) == 1


def test_the_names_resolve_to_traindoc_not_the_users_files(tmp_path):
    project = user_project(tmp_path)
    code = ("import traindoc.engine.cli.main as m, traindoc.diagnostics as d; "
            "print(m.__file__); print(d.__file__)")
    out = run(["-c", code], project)
    assert out.returncode == 0, out.stderr[-2000:]
    files = [Path(line) for line in out.stdout.split()]
    assert all(project not in f.parents for f in files), files
    assert files[0].parts[-3:] == ("engine", "cli", "main.py")
