"""Issue 15 "log trees of 10,000 runs": ``traindoc diagnose`` over a tree of many runs
against TensorBoard's ``EventMultiplexer`` loading the same tree.

The tree (``--runs`` run folders of ``--points`` scalars each, default 10,000 x 1,000) is
written with :class:`traindoc.engine.tb.writer.ScalarWriter` into a temp folder, the
same bytes each time: 70% of the points are ``train/loss`` (one per step), 10% each
``val/loss``, ``val/accuracy`` and ``lr`` spread over the same steps; one run in seven
diverges, one in eleven gets a NaN, the others descend (each with its own rate and
noise), so the rules have work to do. Then, interleaved and repeated, each side in a
fresh process:

* ours: the real user path, the command's own ``main(["diagnose", TREE, "--jsonl"])``
  (what ``traindoc diagnose TREE --jsonl > /dev/null`` runs: discovery, reading, roles,
  every rule and the JSON of every run, in the process pool it starts on its own), with
  its output to ``/dev/null``, and
* TensorBoard: ``EventMultiplexer().AddRunsFromDirectory(TREE)`` then ``Reload()``
  (reading only: no diagnosis, and its default reservoir sampling keeps <= 1,000
  scalars per tag).

Peak memory: ours is the largest sum, sampled every 50 ms, of the RSS of the diagnosing
process and all its descendants (the fork server and every pool worker); TensorBoard's
is its process's peak RSS. Prints each round, both medians and peaks, and the ratio last
(goal >= 30x; memory goal <= 1 GB).

    python bench/many_runs.py [--runs 10000] [--points 1000] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GOAL_RATIO = 30.0
GOAL_MB = 1024.0
SAMPLE_S = 0.05  # how often our memory is sampled
WALL0 = 1.7e9  # wall times start here: the same bytes on every generation


def series(index: int, points: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The scalars of run ``index``, ``points`` in all (deterministic)."""
    rng = np.random.default_rng(index)
    n_train = max(2, points * 7 // 10)
    n_val = max(1, points // 10)
    n_lr = points - n_train - 2 * n_val
    steps = np.arange(n_train)
    rate = rng.uniform(0.05, 0.4)
    train = 0.1 + 2.0 * np.exp(-steps / (n_train * rate)) + rng.normal(0, 0.02, n_train)
    if index % 7 == 3:  # diverges in its last third
        late = steps > 2 * n_train // 3
        train[late] += np.exp((steps[late] - 2 * n_train // 3) / (n_train / 20))
    if index % 11 == 5:
        train[n_train // 2 :] = np.nan
    val_steps = np.linspace(0, n_train - 1, n_val).astype(np.int64)
    val = train[val_steps] + 0.05 + rng.normal(0, 0.01, n_val)
    acc = np.clip(1.0 - val / 3.0, 0, 1)
    lr_steps = np.linspace(0, n_train - 1, max(n_lr, 0)).astype(np.int64)
    lr = np.full(len(lr_steps), 1e-3)
    return {
        "train/loss": (steps, train),
        "val/loss": (val_steps, val),
        "val/accuracy": (val_steps, acc),
        "lr": (lr_steps, lr),
    }


def write_tree(root: Path, runs: int, points: int) -> Path:
    from traindoc.engine.tb.writer import ScalarWriter

    tree = root / "tree"
    width = len(str(runs - 1))
    for i in range(runs):
        group = f"group{i // 1000:02d}"
        with ScalarWriter(tree / group / f"run{i:0{width}d}", flush_secs=1e9) as w:
            for tag, (steps, values) in series(i, points).items():
                add = w.add_scalar
                for step, value in zip(steps.tolist(), values.tolist(), strict=True):
                    add(tag, value, step, WALL0 + step)
    return tree


def measure_tb(tree: str) -> dict:
    import logging

    logging.disable(logging.WARNING)  # it warns of nothing useful here, once per run
    from tensorboard.backend.event_processing.plugin_event_multiplexer import (
        EventMultiplexer,
    )

    t0 = time.perf_counter()
    mux = EventMultiplexer()
    mux.AddRunsFromDirectory(tree)
    mux.Reload()
    seconds = time.perf_counter() - t0
    runs = mux.Runs()
    return {"seconds": seconds, "runs": len(runs), "peak_mb": _self_peak_mb()}


def _self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_ours(tree: str) -> dict:
    """``traindoc diagnose TREE --jsonl`` as the command runs it (its ``main``, in this
    fresh process), its output to ``/dev/null``, with the peak of the summed RSS of this
    process and all its descendants (the fork server and the pool workers)."""
    from traindoc.engine.cli.diagnose_pool import cores
    from traindoc.engine.cli.main import main as traindoc

    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    saved = os.dup(1)
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            code = traindoc(["diagnose", tree, "--jsonl"])
            sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
    seconds = time.perf_counter() - t0
    sampler.stop()
    if code not in (0, 1):
        raise SystemExit(f"traindoc diagnose failed with exit {code}")
    runs = sum(1 for _ in Path(tree).glob("*/*/events.out.tfevents.*"))
    return {"seconds": seconds, "runs": runs, "peak_mb": sampler.peak_kb / 1024,
            "processes": sampler.most, "workers": cores()}


class RssSampler(threading.Thread):
    """Every ``SAMPLE_S``, the summed RSS (``/proc/PID/status`` VmRSS) of this process and
    all its descendants; ``peak_kb`` is the largest sum seen, ``most`` the most processes."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.most = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_S):
            self.sample()

    def stop(self) -> None:
        self.done.set()
        self.join()
        self.sample()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            parents[int(entry)] = int(fields.get("PPid", "0"))
            rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0])
        mine = {os.getpid()}
        grew = True
        while grew:
            more = {pid for pid, ppid in parents.items() if ppid in mine} - mine
            grew = bool(more)
            mine |= more
        self.peak_kb = max(self.peak_kb, sum(rss.get(pid, 0) for pid in mine))
        self.most = max(self.most, len(mine))


def _measure(flag: str, tree: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, flag, str(tree)],
        check=True, capture_output=True, text=True, cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="write the tree here and keep it")
    parser.add_argument("--measure-tb", metavar="TREE", help=argparse.SUPPRESS)
    parser.add_argument("--measure-ours", metavar="TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_tb or args.measure_ours:
        side = measure_tb(args.measure_tb) if args.measure_tb else measure_ours(args.measure_ours)
        print(json.dumps(side))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        t0 = time.perf_counter()
        tree = root / "tree"
        if not tree.exists():
            tree = write_tree(root, args.runs, args.points)
        print(f"tree: {args.runs:,} runs x {args.points:,} points, written in "
              f"{time.perf_counter() - t0:.1f} s; {os.cpu_count()} cores")
        ours, theirs = [], []
        for rep in range(args.reps):
            order = [("ours", ours), ("tb", theirs)]
            if rep % 2:
                order.reverse()
            for side, results in order:
                r = _measure("--measure-ours" if side == "ours" else "--measure-tb", tree)
                assert r["runs"] == args.runs, (side, r)
                results.append(r)
            print(f"round {rep + 1}: ours {ours[-1]['seconds']:.2f} s, "
                  f"EventMultiplexer {theirs[-1]['seconds']:.2f} s")
    a = statistics.median(r["seconds"] for r in ours)
    b = statistics.median(r["seconds"] for r in theirs)
    pa = max(r["peak_mb"] for r in ours)
    pb = max(r["peak_mb"] for r in theirs)
    workers = max(r["workers"] for r in ours)
    print(f"EventMultiplexer (read only): {b:.2f} s (median), peak memory {pb:.0f} MB")
    print(f"ours (diagnose --jsonl, {workers} core(s)): {a:.2f} s (median), "
          f"{args.runs / a:,.0f} runs/s; peak memory {pa:.0f} MB summed over "
          f"{max(r['processes'] for r in ours)} processes (goal <= {GOAL_MB:.0f})")
    print(f"ratio (EventMultiplexer / ours): {b / a:.1f}x (goal >= {GOAL_RATIO:.0f}x)")


if __name__ == "__main__":
    main()
