"""`traindoc diagnose` over many runs: the process pool gives what the serial path gives,
in the same order; ``--jsonl`` is the runs of ``--json``, one a line; the progress bar
goes to a terminal's stderr only; the workers import neither torch nor Qt."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from traindoc.engine.cli import diagnose as diagnose_cli
from traindoc.engine.cli import diagnose_pool
from traindoc.engine.cli.diagnose_pool import Options, pool_size, results
from traindoc.engine.cli.main import main
from traindoc.engine.tb.writer import ScalarWriter

from .cli_helpers import traindoc


def write_tree(root: Path, runs: int, points: int = 60) -> Path:
    """``runs`` small runs: most descend, every fifth gets a NaN, every seventh is a Keras
    layout (``train/`` and ``validation/`` folders joined into one run)."""
    for i in range(runs):
        steps = np.arange(points)
        loss = 2.0 * np.exp(-steps / (5 + i % 9)) + 0.1
        if i % 5 == 2:
            loss[points // 2 :] = np.nan
        folder = root / f"g{i // 10}" / f"run{i:03d}"
        if i % 7 == 3:
            with ScalarWriter(folder / "train", flush_secs=1e9) as w:
                for s, v in zip(steps.tolist(), loss.tolist(), strict=True):
                    w.add_scalar("epoch_loss", v, s)
            with ScalarWriter(folder / "validation", flush_secs=1e9) as w:
                for s in range(0, points, 6):
                    w.add_scalar("epoch_loss", float(loss[s]) + 0.05, s)
            continue
        with ScalarWriter(folder, flush_secs=1e9) as w:
            for s, v in zip(steps.tolist(), loss.tolist(), strict=True):
                w.add_scalar("train/loss", v, s)
            for s in range(0, points, 6):
                w.add_scalar("val/loss", float(loss[s]) + 0.05, s)
    return root


def damage(root: Path) -> None:
    """Flip a byte in the middle of one run's file: a warning naming it."""
    event_file = next((root / "g0" / "run001").glob("events.out.tfevents.*"))
    data = bytearray(event_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    event_file.write_bytes(bytes(data))


def jobs_of(path: Path) -> list:
    return [job for _, jobs in diagnose_cli.plan_paths([str(path)]) for job in jobs]


def test_pool_size_stays_serial_for_small_trees(monkeypatch):
    monkeypatch.setattr(diagnose_pool, "cores", lambda: 8)
    assert pool_size(1, 10 << 30) == 1  # one run: nothing to share out
    assert pool_size(64, 1 << 20) == 1  # few small runs: workers cost more than they save
    assert pool_size(65, 1 << 20) == 8
    assert pool_size(10, 200 << 20) == 8  # few but large runs
    assert pool_size(3, 200 << 20) == 3  # never more workers than runs


def test_jsonl_is_the_runs_of_json_one_per_line(tmp_path, capsys):
    tree = write_tree(tmp_path, 6)
    damage(tree)
    assert main(["diagnose", str(tree), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert main(["diagnose", str(tree), "--jsonl"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 6
    assert [json.loads(line) for line in lines] == doc["runs"]
    assert [r["run"] for r in doc["runs"]] == [f"g0/run{i:03d}" for i in range(6)]
    # The warnings go to stderr, as in the text output.
    assert err.splitlines() == [f"warning: {w}" for w in doc["warnings"]]
    assert len(doc["warnings"]) == 1 and "run001" in doc["warnings"][0]


def test_json_and_jsonl_together_are_refused(tmp_path, capsys):
    tree = write_tree(tmp_path, 1)
    with pytest.raises(SystemExit) as exc:
        main(["diagnose", str(tree), "--json", "--jsonl"])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminals_stderr_only(tmp_path, capsys, monkeypatch):
    tree = write_tree(tmp_path, 3)
    assert main(["diagnose", str(tree), "--jsonl"]) == 0
    plain = capsys.readouterr()
    assert plain.err == ""  # not a terminal: no bar
    monkeypatch.setattr(diagnose_cli, "BAR_DELAY_S", 0.0)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["diagnose", str(tree), "--jsonl"]) == 0
    assert capsys.readouterr().out == plain.out  # stdout unchanged
    bar = terminal.getvalue()
    assert "/3 " in bar and "run" in bar


@pytest.mark.slow
def test_pool_gives_the_serial_results_in_order(tmp_path):
    tree = write_tree(tmp_path, 12)
    damage(tree)
    jobs = jobs_of(tree)
    for output in ("text", "json", "jsonl"):
        serial = list(results(jobs, Options({}, output), workers=1))
        pooled = list(results(jobs, Options({}, output), workers=2))
        assert pooled == serial
    assert [r.name for r in serial][:3] == ["g0/run000", "g0/run001", "g0/run002"]
    assert len(serial) == 12 and serial[1].warnings  # the damaged file's warning came back
    statuses = [json.loads(r.output)["status"] for r in serial]
    assert statuses.count("problems") >= 2  # runs 2 and 7 have NaN


@pytest.mark.slow
def test_workers_import_neither_torch_nor_qt(tmp_path):
    tree = write_tree(tmp_path, 2)
    ctx = diagnose_pool._context()
    options = Options({}, "jsonl")
    with ctx.Pool(1, initializer=diagnose_pool._start_worker, initargs=(options,)) as pool:
        done = pool.map(diagnose_pool._work, jobs_of(tree))
        heavy = pool.apply(heavy_modules)
    assert len(done) == 2
    assert heavy == []


def heavy_modules() -> list[str]:
    return sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "PySide6", "shiboken6"))


@pytest.mark.slow
def test_cli_over_a_pooled_tree_prints_what_the_serial_path_prints(tmp_path):
    tree = write_tree(tmp_path / "logs", 70)  # over SERIAL_MAX_RUNS: the pool runs
    damage(tree)
    jobs = jobs_of(tree)
    assert pool_size(len(jobs)) > 1 or diagnose_pool.cores() == 1
    text = traindoc("diagnose", str(tree), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    serial = [r.output for r in results(jobs, Options({}, "text"), workers=1)]
    assert text.stdout == "\n\n".join(serial) + "\n"
    assert text.stderr.count("warning: ") == 1
    lines = traindoc("diagnose", str(tree), "--jsonl", "--fail-on", "error", cwd=tmp_path)
    assert lines.returncode == 1  # the NaN runs fail it
    runs = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [r["run"] for r in runs] == [job.name for job in jobs]
    bad_role = traindoc("diagnose", str(tree), "--jsonl", "--role", "val_loss=nope", cwd=tmp_path)
    assert bad_role.returncode == 2 and bad_role.stdout == ""
    assert "--role val_loss=nope: no such tag; the tags are: train/epoch_loss" in bad_role.stderr


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, grew = {pid}, True
    while grew:
        more = {p for p, pp in parents.items() if pp in found} - found
        found |= more
        grew = bool(more)
    return found - {pid}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the workers")
def test_ctrl_c_ends_the_pool_and_exits_130(tmp_path):
    tree = write_tree(tmp_path / "logs", 400, points=400)
    proc = subprocess.Popen(
        [sys.executable, "-m", "traindoc", "diagnose", str(tree), "--jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = proc.stdout.readline()  # the pool is running: one run is out
    assert json.loads(first)["run"] == "g0/run000"
    workers = _descendants(proc.pid)
    assert workers  # the fork server and its workers
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "traindoc diagnose: interrupted" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)]


def test_watch_with_jsonl_prints_json_lines(tmp_path, capsys, monkeypatch):
    tree = write_tree(tmp_path, 2)
    sleeps = []

    def stop_after_first_poll(_seconds):
        sleeps.append(_seconds)
        raise KeyboardInterrupt

    monkeypatch.setattr(diagnose_cli.time, "sleep", stop_after_first_poll)
    assert main(["diagnose", str(tree), "--watch", "--jsonl"]) == 130
    out, err = capsys.readouterr()
    runs = [json.loads(line) for line in out.splitlines()]
    assert [r["run"] for r in runs] == ["g0/run000", "g0/run001"]
    assert all(r["points"] == 60 + 10 for r in runs)  # train/loss 60 + val/loss 10
    assert "interrupted" in err and len(sleeps) == 1
