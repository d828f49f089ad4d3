"""Distributed runs end to end: torchrun with 2 gloo processes on the CPU (issue 15).

Each test starts a real group (the worker, torchrun, two ranks): 5-15 s apiece here.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from traindoc.engine import config as cfg
from traindoc.engine import rundir
from traindoc.engine.ddp_relay import children
from traindoc.engine.drive import RunDriver
from traindoc.engine.events import Evaluated, Failed, Finished, Metrics, Started
from traindoc.engine.launcher import RunHandle
from traindoc.engine.tb.reader import load_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def config(**patch) -> cfg.RunConfig:
    base = {"name": "ddp", "train.device": "cpu", "train.epochs": 3, "train.nproc_per_node": 2}
    return cfg.apply_patch(cfg.RunConfig(), {**base, **patch})


def drive(handle: RunHandle, timeout: float = 120) -> list:
    events: list = []
    RunDriver(handle, on_events=events.extend).run(timeout=timeout)
    return events


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def group_of(worker_pid: int, timeout: float = 60) -> tuple[int, list[int]]:
    """torchrun's PID (the worker's child) and its two ranks', once both run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children(worker_pid):
            ranks = children(pid)
            if len(ranks) == 2:
                return pid, ranks
        time.sleep(0.05)
    raise AssertionError("torchrun and its 2 ranks did not appear")


def all_gone(pids: list[int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def train_loss(run_dir: Path) -> list[float]:
    (log,) = load_path(run_dir)
    return list(log.scalars["train/loss"].values)


def test_cli_trains_the_default_config_with_two_processes_and_one_event_file(tmp_path):
    # Issue 15's acceptance: `traindoc train --nproc 2 --device cpu`, default config.
    out = subprocess.run(
        [sys.executable, "-m", "traindoc", "train", "--nproc", "2", "--device", "cpu",
         "--logdir", str(tmp_path), "--quiet"],
        capture_output=True, text=True, timeout=170, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    (run_dir,) = tmp_path.iterdir()
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["epochs_done"] == 20
    assert (status["world_size"], status["backend"], status["effective_batch"]) == (2, "gloo", 128)
    assert status["val/accuracy"] >= 0.95
    assert "device cpu x2 (gloo DDP)" in out.stderr and "effective batch 128" in out.stderr
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert not any(k.startswith("module.") for k in checkpoint["model"])  # the unwrapped module



@pytest.mark.parametrize("accumulation", [1, 2])
def test_two_processes_train_as_one_process_at_the_same_global_batch(tmp_path, accumulation):
    # 2 ranks x 64 against 1 process x 128: each step covers the same 128 samples (one
    # order, dealt out by the DistributedSampler) and DDP averages the two equal shards'
    # mean gradients, which is the 128-sample mean. Only the order of float additions
    # differs (two partial means, then their mean): float32 rounding, measured here at
    # 2.4e-7 at most over the 36 logged losses (one ulp of a loss near 1). Tolerance:
    # 1e-5 on every loss and on the final val loss (40x the measured gap, still 1e4
    # times smaller than one step's change of the loss); val accuracy within one
    # sample of 359 (a logit tie flipped by rounding). With accumulation 2 (micro-batches
    # of 64 and of 2 x 32), DDP averages each backward's sum of the identical earlier
    # average and the new local gradient: the same step again (measured 4.8e-7).
    micro = 128 // accumulation
    single = RunHandle(config(**{"train.nproc_per_node": 1, "data.batch_size": micro,
                                 "train.grad_accum": accumulation}), tmp_path)
    single_dir = single.start()
    drive(single)
    single.close()
    double = RunHandle(config(**{"data.batch_size": micro // 2,
                                 "train.grad_accum": accumulation}), tmp_path)
    double_dir = double.start()
    events = drive(double)
    double.close()
    assert isinstance(single.final, Finished) and isinstance(double.final, Finished)
    one, two = train_loss(single_dir), train_loss(double_dir)
    assert len(one) == len(two) == 36  # 3 epochs x ceil(1438 / 128) steps
    assert max(abs(a - b) for a, b in zip(one, two, strict=True)) < 1e-5
    assert one[-1] < 0.8 * one[0]  # it learned: the comparison is of a real curve
    loss_one, loss_two = single.final.summary["val/loss"], double.final.summary["val/loss"]
    assert abs(loss_one - loss_two) < 1e-5
    acc_one = single.final.summary["val/accuracy"]
    acc_two = double.final.summary["val/accuracy"]
    assert abs(acc_one - acc_two) <= 1 / 359 + 1e-12
    assert acc_two > 0.85
    started = next(e for e in events if isinstance(e, Started))
    assert started.effective_batch == 128 and started.steps_per_epoch == 12
    assert sum(isinstance(e, Evaluated) for e in events) == 3
    assert double.sequence.missing == []
    assert len(list(double_dir.glob("events.out.tfevents.*"))) == 1
    assert rundir.read_status(double_dir)["status"] == "finished"


def test_killing_one_rank_fails_the_run_clearly_and_leaves_no_process(tmp_path):
    handle = RunHandle(config(**{"train.epochs": 200}), tmp_path)
    run_dir = handle.start()
    torchrun, ranks = group_of(handle.pid)
    events: list = []
    deadline = time.monotonic() + 60
    while not any(isinstance(e, Metrics) for e in events) and time.monotonic() < deadline:
        events.extend(handle.poll())
        time.sleep(0.02)
    assert any(isinstance(e, Metrics) for e in events), "the run never trained"
    os.kill(ranks[1], signal.SIGKILL)
    events.extend(drive(handle, timeout=60))
    handle.close()
    assert isinstance(handle.final, Failed)
    reason = handle.final.reason
    assert reason.startswith("distributed training failed: torchrun exited with code 1")
    assert "exit code -9" in reason and "SIGKILL" in reason, reason
    status = rundir.read_status(run_dir)
    assert status["status"] == "failed" and status["reason"] == reason
    assert all_gone([handle.pid, torchrun, *ranks])


def test_stop_ends_every_process_of_the_group(tmp_path):
    handle = RunHandle(config(**{"train.epochs": 200}), tmp_path)
    run_dir = handle.start()
    torchrun, ranks = group_of(handle.pid)
    events: list = []
    deadline = time.monotonic() + 60
    while not any(isinstance(e, Metrics) for e in events) and time.monotonic() < deadline:
        events.extend(handle.poll())
        time.sleep(0.02)
    began = time.monotonic()
    handle.stop()
    stopped_in = time.monotonic() - began
    events.extend(drive(handle, timeout=10))
    handle.close()
    assert isinstance(handle.final, Finished) and handle.final.status == "stopped"
    assert handle.final.reason == "stopped by user"
    assert stopped_in < 5.0  # SPEC §8
    assert all_gone([handle.pid, torchrun, *ranks])
    assert rundir.read_status(run_dir)["status"] == "stopped"
    assert (run_dir / "checkpoint.pt").is_file()  # rank 0 wrapped up


def test_divergence_ends_all_ranks_together(tmp_path):
    # SGD at lr 20 blows up within a few steps; the averaged loss is the same on both
    # ranks, so both leave the loop at the same flush (a disagreement would hang them
    # in the next collective).
    handle = RunHandle(config(**{"optim.name": "sgd", "optim.lr": 20.0, "train.epochs": 50}),
                       tmp_path)
    run_dir = handle.start()
    drive(handle, timeout=90)
    handle.close()
    assert isinstance(handle.final, Finished) and handle.final.status == "diverged"
    assert rundir.read_status(run_dir)["status"] == "diverged"


def _flush_on_rank(rank: int, store: str, out: str) -> None:
    """Rank ``rank`` of 2 (gloo): 3 steps buffered, rank 1's second loss NaN; rank 0
    asks to stop; one flush. Writes what this rank concluded to ``out``."""
    import torch.distributed as dist

    from traindoc.engine.train.distributed import NullWriter, Place, RankMetrics

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    emitted: list = []
    place = Place(rank, rank, 2, torch.device("cpu"))
    metrics = RankMetrics(NullWriter(), emitted.append, place,
                          lambda: "stopped by user" if rank == 0 else "")
    for step in (1, 2, 3):
        loss = math.nan if (rank, step) == (1, 2) else 1.0 + 2 * rank  # 1 and 3: mean 2
        metrics.record(step, torch.tensor(loss), torch.tensor(0.5), 0.1, 64)
    metrics.flush(0)
    dist.destroy_process_group()
    (points,) = [e.points["train/loss"][1].tolist() for e in emitted]
    Path(out).write_text(json.dumps({"losses": [str(v) for v in points],
                                     "stop": metrics.stop_reason, "every": metrics.every,
                                     "lost_steps": metrics.divergence.run}))


def test_a_nan_on_one_rank_and_a_stop_on_rank_0_reach_every_rank_at_the_same_flush(tmp_path):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"rank{r}.json" for r in (0, 1)]
    procs = [ctx.Process(target=_flush_on_rank, args=(r, str(tmp_path / "store"), str(outs[r])))
             for r in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    seen = [json.loads(out.read_text()) for out in outs]
    assert seen[0] == seen[1]  # both ranks concluded the same
    assert seen[0]["losses"] == ["2.0", "nan", "2.0"]  # averaged; the NaN reached rank 0
    assert seen[0]["stop"] == "stopped by user"  # rank 0's request, now rank 1's too
    assert seen[0]["lost_steps"] == 0  # the NaN, then a finite step: an isolated bad batch
    assert 1 <= seen[0]["every"] <= 50  # rank 0's choice of the next flush, shared


def test_killing_the_worker_takes_torchrun_and_the_ranks_with_it(tmp_path):
    # The launcher's SIGKILL (its last resort) leaves no finally to run: Linux's
    # parent-death signal ends torchrun, and torchrun's death ends each rank.
    handle = RunHandle(config(**{"train.epochs": 200}), tmp_path)
    handle.start()
    torchrun, ranks = group_of(handle.pid)
    os.kill(handle.pid, signal.SIGKILL)
    drive(handle, timeout=10)
    handle.close()
    assert isinstance(handle.final, Failed) and "SIGKILL" in handle.final.reason
    assert all_gone([torchrun, *ranks], timeout=10.0)


def test_a_stop_before_the_ranks_started_ends_the_group_at_once(tmp_path):
    handle = RunHandle(config(**{"train.epochs": 200}), tmp_path)
    handle.start()
    torchrun, ranks = group_of(handle.pid)  # the ranks exist, still importing torch
    handle.stop()
    drive(handle, timeout=10)
    handle.close()
    assert isinstance(handle.final, Finished) and handle.final.status == "stopped"
    assert all_gone([handle.pid, torchrun, *ranks], timeout=10.0)


def test_bad_input_found_by_the_ranks_is_a_user_error(tmp_path):
    missing = tmp_path / "missing.npz"  # validation does not look for it; the ranks do
    handle = RunHandle(config(**{"data.dataset": f"npz:{missing}"}), tmp_path / "runs")
    run_dir = handle.start()
    drive(handle, timeout=90)
    handle.close()
    assert isinstance(handle.final, Failed) and handle.final.user_error
    assert str(missing) in handle.final.reason, handle.final.reason
    assert rundir.read_status(run_dir)["status"] == "failed"


def two_machines(tmp_path: Path, **patch) -> list[tuple[RunHandle, Path]]:
    """Node 0 and node 1 of one run, started: one process each, meeting at a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handles = []
    for node in (0, 1):
        handle = RunHandle(config(**{"train.nproc_per_node": 1, "train.nnodes": 2,
                                     "train.node_rank": node, "data.batch_size": 64,
                                     "train.rdzv_endpoint": f"127.0.0.1:{port}", **patch}),
                           tmp_path / f"node{node}")
        handles.append((handle, handle.start()))
    return handles


def follow(handles, act, timeout: float = 120) -> dict[int, list]:
    """Every node's events until all end; ``act(events)`` is called after each poll."""
    events: dict[int, list] = {0: [], 1: []}
    deadline = time.monotonic() + timeout
    while any(h.final is None for h, _ in handles) and time.monotonic() < deadline:
        for node, (handle, _) in enumerate(handles):
            events[node].extend(handle.poll())
        act(events)
        time.sleep(0.05)
    for handle, _ in handles:
        handle.close()
    return events


def test_two_machines_meet_at_node_0s_endpoint_and_only_node_0_keeps_the_logs(tmp_path):
    # Two "machines" on this one: the same config with --nnodes 2, node ranks 0 and 1
    # and node 0's HOST:PORT (torchrun's static rendezvous), one process each.
    handles = two_machines(tmp_path)
    events = follow(handles, lambda _events: None)
    (zero, dir0), (one, dir1) = handles
    assert isinstance(zero.final, Finished) and zero.final.status == "finished"
    assert isinstance(one.final, Finished) and one.final.status == "finished"
    assert zero.final.summary["val/accuracy"] == one.final.summary["val/accuracy"] > 0.85
    assert (dir0 / "checkpoint.pt").is_file() and len(list(dir0.glob("events.*"))) == 1
    assert sorted(p.name for p in dir1.iterdir()) == ["config.toml", "status.json"]
    assert rundir.read_status(dir1)["reason"].endswith("(node 1: the logs are node 0's)")
    assert rundir.read_status(dir0)["world_size"] == 2
    for node in (0, 1):  # every machine shows the progress
        assert sum(isinstance(e, Evaluated) for e in events[node]) == 3


def test_stop_on_the_second_machine_stops_both_cleanly(tmp_path):
    # Any machine's stop request is in the flush's all-reduce: both leave at one step.
    handles = two_machines(tmp_path, **{"train.epochs": 200})
    (zero, dir0), (one, _) = handles

    def stop_node_1_once_it_trains(events) -> None:
        if any(isinstance(e, Metrics) for e in events[1]) and not one._stop_event.is_set():
            one._stop_event.set()  # what RunHandle.stop() sets first

    follow(handles, stop_node_1_once_it_trains)
    assert isinstance(zero.final, Finished) and zero.final.status == "stopped"
    assert isinstance(one.final, Finished) and one.final.status == "stopped"
    assert zero.final.steps == one.final.steps > 0
    assert rundir.read_status(dir0)["status"] == "stopped"
    assert (dir0 / "checkpoint.pt").is_file()


def test_a_stranger_on_the_relays_port_does_not_keep_rank_0_out(tmp_path):
    # The relay listens on 127.0.0.1 with a random key: a connection without the key is
    # refused and the relay keeps listening for rank 0 (once rank 0 is in, the port is
    # closed: the stranger is refused outright).
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Client

    handle = RunHandle(config(**{"train.epochs": 2}), tmp_path)
    run_dir = handle.start()
    torchrun, _ = group_of(handle.pid)
    environ = Path(f"/proc/{torchrun}/environ").read_bytes().split(b"\0")
    address = next(v for v in environ if v.startswith(b"TRAINDOC_RELAY_ADDRESS="))
    host, _, port = address.decode().partition("=")[2].rpartition(":")
    # Turned away: a failed challenge, a closed port, or the relay hanging up mid-challenge.
    with pytest.raises((AuthenticationError, ConnectionRefusedError, ConnectionResetError,
                        EOFError)):
        Client((host, int(port)), authkey=b"not the key")
    drive(handle, timeout=90)
    handle.close()
    assert isinstance(handle.final, Finished) and handle.final.status == "finished"
    assert rundir.read_status(run_dir)["status"] == "finished"
