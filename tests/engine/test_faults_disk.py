"""A full disk (issue 10): one line and exit 1 during training, exit 2 and no run
folder at start, checkpoints and status.json replaced atomically, every event
record written before the failure kept.

Every variant runs with a fault-injecting writer (ENOSPC raised from the write
path), so it is tested where mounting is not allowed; the tmpfs variant runs
where ``mount -t tmpfs`` works (root) and is skipped elsewhere.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.cli_helpers import ROOT
from traindoc.engine import rundir
from traindoc.engine.cli import main as cli

FAULTS_DIR = Path(__file__).with_name("faults_site")
ENOSPC_TEXT = os.strerror(errno.ENOSPC)


def enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, ENOSPC_TEXT)


def traindoc(*args: str, cwd: Path, fault: str = "") -> subprocess.CompletedProcess:
    paths = ([str(FAULTS_DIR)] if fault else []) + [str(ROOT)]
    return subprocess.run(
        [sys.executable, "-m", "traindoc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=220,
        env={**os.environ, "TRAINDOC_TEST_FAULT": fault, "PYTHONPATH": os.pathsep.join(paths)},
    )


# ------------------------------------------------------------------ atomic files


def test_a_failed_checkpoint_write_keeps_the_good_one_and_no_temporary(tmp_path):
    path = tmp_path / rundir.CHECKPOINT_FILE
    rundir.atomic_write(path, lambda f: f.write(b"good checkpoint"))

    def torn(f):
        f.write(b"half a chec")
        enospc()

    with pytest.raises(OSError) as caught:
        rundir.atomic_write(path, torn)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(path)
    assert path.read_bytes() == b"good checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == [rundir.CHECKPOINT_FILE]


def test_a_full_disk_wrapped_by_the_serializer_is_still_named(tmp_path):
    # torch.save turns a failed write into a RuntimeError raised from the OSError.
    def wrapped(f):
        try:
            enospc()
        except OSError as exc:
            raise RuntimeError("unexpected pos 704 vs 598") from exc

    with pytest.raises(OSError) as caught:
        rundir.atomic_write(tmp_path / "checkpoint.pt", wrapped)
    assert rundir.disk_error_text(caught.value) == (f"{ENOSPC_TEXT} ({tmp_path / 'checkpoint.pt'})")
    assert list(tmp_path.iterdir()) == []


def test_a_status_that_cannot_be_written_is_reported_not_raised(tmp_path, monkeypatch, caplog):
    rundir.write_status(tmp_path, "running")
    monkeypatch.setattr(rundir.os, "fsync", enospc)
    problem = rundir.write_status(tmp_path, "failed", "boom")
    assert problem and ENOSPC_TEXT in problem and "status.json" in problem
    assert any("status.json" in record.getMessage() for record in caplog.records)
    assert rundir.read_status(tmp_path)["status"] == "running"  # the old one, whole
    assert [p.name for p in tmp_path.iterdir()] == [rundir.STATUS_FILE]  # no .tmp left


# ------------------------------------------------------------------ full at start


@pytest.mark.parametrize("what", ["config", "status"])
def test_disk_full_at_start_is_exit_2_and_leaves_no_run_folder(tmp_path, monkeypatch, capsys, what):
    from traindoc.engine import config as config_module

    if what == "config":
        monkeypatch.setattr(config_module, "save", enospc)
    else:
        monkeypatch.setattr(rundir.os, "fsync", enospc)
    logdir = tmp_path / "runs"
    code = cli.main(["train", "--quiet", "--logdir", str(logdir)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and ENOSPC_TEXT in err, err
    assert list(logdir.iterdir()) == []


# ------------------------------------------------------------------ full while training


def only_run(logdir: Path) -> Path:
    (run,) = list(logdir.iterdir())
    return run


def check_failed_on_a_full_disk(result: subprocess.CompletedProcess, logdir: Path) -> Path:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    status_lines = [line for line in result.stdout.splitlines() if line.startswith("status:")]
    assert len(status_lines) == 1
    assert status_lines[0].startswith(f"status: failed — {ENOSPC_TEXT} ("), status_lines
    assert status_lines[0].endswith(")")
    run = only_run(logdir)
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    return run


@pytest.mark.slow
def test_disk_full_while_training_is_one_line_and_exit_1(tmp_path):
    logdir = tmp_path / "runs"
    # Flush 1 is the file_version record; a few more get through, then the disk is full.
    result = traindoc(
        "train",
        "--quiet",
        "--set",
        "train.epochs=50",
        "--logdir",
        str(logdir),
        cwd=tmp_path,
        fault="enospc-after=6",
    )
    run = check_failed_on_a_full_disk(result, logdir)
    assert "events.out.tfevents" in result.stdout  # names the file the disk refused
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and ENOSPC_TEXT in status["reason"]
    assert not (run / rundir.CHECKPOINT_FILE).exists()
    from traindoc.engine.tb.reader import load_path

    (log,) = load_path(run)
    assert not log.warnings  # no torn record: the failed flushes wrote nothing
    assert log.points > 0  # every record flushed before the failure is still there


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def small_fs(tmp_path):
    mount = tmp_path / "small"
    if not _mount_tmpfs(mount, "2m"):
        pytest.skip("cannot mount a tmpfs here (not root, or no mount rights)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(fs: Path, leave: int) -> None:
    stat = os.statvfs(fs)
    free = stat.f_bavail * stat.f_frsize
    with open(fs / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


@pytest.mark.slow
def test_a_real_full_tmpfs_while_training(small_fs):
    _fill(small_fs, leave=96 * 1024)
    logdir = small_fs / "runs"
    result = traindoc(
        "train",
        "--quiet",
        "--set",
        "train.epochs=1000",
        "--logdir",
        str(logdir),
        cwd=small_fs.parent,
    )
    run = check_failed_on_a_full_disk(result, logdir)
    assert not (run / rundir.CHECKPOINT_FILE).exists() or (run / "checkpoint.pt").stat().st_size
    from traindoc.engine.tb.reader import load_path

    (log,) = load_path(run)
    assert log.points > 0  # intact records before the torn end are kept


@pytest.mark.slow
def test_a_real_full_tmpfs_at_start(small_fs):
    _fill(small_fs, leave=0)
    logdir = small_fs / "runs"
    logdir.mkdir()
    result = traindoc("train", "--quiet", "--logdir", str(logdir), cwd=small_fs.parent)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and ENOSPC_TEXT in result.stderr
    assert list(logdir.iterdir()) == []
