"""Folders and files that cannot be read are warnings naming the path and the reason,
in ``find_runs`` and in ``diagnose`` (text and ``--json``) (issue 10, item 7).

Permission bits mean nothing to root, and these tests often run as root: the real
scenario runs in a subprocess that drops to ``nobody``; the same faults are also
injected at the discovery layer (``os.scandir``/``os.stat`` raising), which holds
for any user.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from traindoc.engine.cli import diagnose as cli_diagnose
from traindoc.engine.cli.main import main
from traindoc.engine.tb import discovery
from traindoc.engine.tb.discovery import find_runs

from .helpers import records, simple, version_event

ROOT = Path(__file__).resolve().parents[3]
DENIED = os.strerror(errno.EACCES)  # "Permission denied"
NOBODY = 65534


def _write(folder: Path, n: int = 30) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "events.out.tfevents.1.host.1.0"
    path.write_bytes(records([version_event()] + [
        simple("train/loss", 2.0 / (i + 1), i) for i in range(n)]))
    return path


def _tree(top: Path) -> dict[str, Path]:
    """good/ (readable), locked/ (cannot be listed), noexec/ (listed, not entered),
    and a file that cannot be opened."""
    _write(top / "logs" / "good")
    _write(top / "logs" / "locked")
    _write(top / "logs" / "noexec")
    unreadable = _write(top / "file")
    return {"logs": top / "logs", "good": top / "logs" / "good",
            "locked": top / "logs" / "locked", "noexec": top / "logs" / "noexec",
            "file": unreadable}


def _run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["diagnose", *args])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ injected faults


@pytest.fixture
def faults(tmp_path, monkeypatch):
    """The tree, with ``locked`` failing to list and ``noexec``'s entries failing to stat,
    as EACCES does; and ``file`` failing to open."""
    paths = _tree(tmp_path)
    real_scandir, real_stat, real_open = os.scandir, os.stat, open

    def denied(path):
        return PermissionError(errno.EACCES, DENIED, os.fspath(path))

    def scandir(path="."):
        if Path(os.fspath(path)) == paths["locked"]:
            raise denied(path)
        return real_scandir(path)

    def stat(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and Path(os.fspath(path)).parent == paths["noexec"]:
            raise denied(path)
        return real_stat(path, *args, **kwargs)

    def opener(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and Path(os.fspath(path)) == paths["file"]:
            raise denied(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(discovery.os, "stat", stat)
    monkeypatch.setattr(cli_diagnose, "open", opener, raising=False)
    return paths


def test_find_runs_names_each_folder_and_reason(faults):
    warnings: list[str] = []
    runs = find_runs(faults["logs"], warnings=warnings)
    assert [r.name for r in runs] == ["good"]
    assert warnings == [
        f"{faults['locked']}: cannot list it ({DENIED}); skipped",
        f"{faults['noexec']}: cannot enter it ({DENIED}); 1 event file(s) skipped",
    ]


def test_find_runs_logs_them_once_when_no_list_is_given(faults, caplog):
    caplog.set_level("WARNING", logger="traindoc.engine.tb.discovery")
    assert [r.name for r in find_runs(faults["logs"])] == ["good"]
    logged = [r.getMessage() for r in caplog.records]
    assert any(str(faults["locked"]) in m and DENIED in m for m in logged)
    assert any(str(faults["noexec"]) in m and DENIED in m for m in logged)
    caplog.clear()
    find_runs(faults["logs"])  # a follower's next rescan: not again
    assert not caplog.records


def test_json_warnings_name_the_folders(faults, capsys):
    code, out, err = _run_cli(capsys, str(faults["logs"]), "--json")
    assert code == 0
    doc = json.loads(out)
    assert [r["run"] for r in doc["runs"]] == ["good"]
    for name in ("locked", "noexec"):
        assert any(str(faults[name]) in w and DENIED in w for w in doc["warnings"]), name
    assert DENIED not in err  # said once, in the JSON


def test_text_warnings_name_the_folders(faults, capsys):
    code, out, err = _run_cli(capsys, str(faults["logs"]))
    assert code == 0 and "good" in out
    lines = err.strip().splitlines()
    for name in ("locked", "noexec"):
        assert any(ln.startswith("warning: ") and str(faults[name]) in ln and DENIED in ln
                   for ln in lines), (name, lines)


@pytest.mark.parametrize("name", ["noexec", "locked", "file"])
def test_an_unreadable_path_given_directly_says_why(faults, capsys, name):
    code, out, err = _run_cli(capsys, str(faults[name]), "--json")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert str(faults[name]) in err and DENIED in err


def test_an_unreadable_path_next_to_a_good_one_is_a_warning(faults, capsys):
    code, out, _ = _run_cli(capsys, str(faults["file"]), str(faults["good"]), "--json")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["runs"]) == 1 and doc["runs"][0]["points"] == 30
    assert doc["warnings"] == [f"{faults['file']}: cannot read it ({DENIED})"]


# ------------------------------------------------------------------ real permissions


# As root, the child drops to ``nobody`` itself once the CLI's modules are loaded (by
# diagnosing a readable run first, output discarded): our interpreter and its standard
# library may live where ``nobody`` cannot reach them (under /root), so exec'ing it after
# dropping privileges would fail.
DROP_THEN_DIAGNOSE = f"""
import contextlib, io, os, sys
import traindoc.engine.cli.main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    traindoc.engine.cli.main.main(["diagnose", sys.argv[1], "--json"])
    traindoc.engine.cli.main.main(["diagnose", sys.argv[1]])
os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})
assert os.geteuid() == {NOBODY}
sys.exit(traindoc.engine.cli.main.main(["diagnose", *sys.argv[2:]]))
"""


@pytest.fixture
def unprivileged():
    """``run(args) -> CompletedProcess`` of ``traindoc diagnose`` as a user bound by
    permission bits (``nobody`` when we are root), and a folder it may traverse."""
    top = Path(tempfile.mkdtemp(prefix="traindoc-perm-"))
    os.chmod(top, 0o755)
    if os.geteuid() == 0:
        warm = Path(tempfile.mkdtemp(prefix="traindoc-warm-"))
        _write(warm / "run")
        head = [sys.executable, "-c", DROP_THEN_DIAGNOSE, str(warm)]
    else:
        head = [sys.executable, "-m", "traindoc", "diagnose"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*head, *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})

    try:
        probe = run(str(top))  # no runs there: exit 2, one line
        if probe.returncode != 2 or "no TensorBoard event files" not in probe.stderr:
            pytest.skip(f"cannot run the CLI as an unprivileged user: {probe.stderr[-300:]!r}")
        yield top, run
    finally:
        for folder, dirs, _ in os.walk(top):
            for d in dirs:
                os.chmod(Path(folder) / d, 0o755)
        shutil.rmtree(top, ignore_errors=True)
        if os.geteuid() == 0:
            shutil.rmtree(warm, ignore_errors=True)


@pytest.mark.slow
def test_real_permissions_as_an_unprivileged_user(unprivileged):
    top, run = unprivileged
    paths = _tree(top)
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chmod(Path(folder) / name, 0o755 if name in dirs else 0o644)
    os.chmod(paths["locked"], 0o000)
    os.chmod(paths["noexec"], 0o644)
    os.chmod(paths["file"], 0o000)
    if os.geteuid() != 0 and os.access(paths["locked"], os.R_OK):
        pytest.skip("permission bits are not enforced for this user")

    done = run(str(paths["logs"]), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [r["run"] for r in doc["runs"]] == ["good"]
    assert f"{paths['locked']}: cannot list it ({DENIED}); skipped" in doc["warnings"]
    assert f"{paths['noexec']}: cannot enter it ({DENIED}); 1 event file(s) skipped" \
        in doc["warnings"]
    assert "Traceback" not in done.stderr and DENIED not in done.stderr

    done = run(str(paths["logs"]))
    assert done.returncode == 0 and "good" in done.stdout
    warned = [ln for ln in done.stderr.splitlines() if ln.startswith("warning: ")]
    assert any(str(paths["locked"]) in ln and DENIED in ln for ln in warned), done.stderr
    assert any(str(paths["noexec"]) in ln and DENIED in ln for ln in warned), done.stderr

    for name in ("noexec", "locked", "file"):
        done = run(str(paths[name]), "--json")
        assert done.returncode == 2 and done.stdout == "", (name, done.stdout)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert str(paths[name]) in done.stderr and DENIED in done.stderr, done.stderr

    inside = paths["noexec"] / "events.out.tfevents.1.host.1.0"  # its folder cannot be entered
    done = run(str(inside), str(paths["good"]), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["runs"]) == 1
    assert doc["warnings"] == [f"{inside}: cannot examine it ({DENIED})"]


def test_a_follower_reports_unreadable_folders_once_in_its_updates(faults):
    # diagnose --watch and the GUI show a follower's update warnings: the folder and the
    # reason reach them once, not at every rescan.
    from traindoc.engine.tb.follow import LogFollower

    follower = LogFollower(faults["logs"], rescan_secs=0.0)
    first = follower.poll()
    assert any(str(faults["locked"]) in w and DENIED in w for w in first.warnings)
    assert any(str(faults["noexec"]) in w and DENIED in w for w in first.warnings)
    assert "good" in first.new_runs
    again = follower.poll()
    assert not any(DENIED in w for w in again.warnings)
