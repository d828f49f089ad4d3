"""Reading scalars: traindoc's reader vs TensorBoard's EventAccumulator.

Writes one event file of 1,000,000 scalars (10 tags x 100,000 steps, one scalar
per event, as SummaryWriter writes them), then reads every scalar with

* ours: ``traindoc.engine.tb.reader.load_path`` (both CRCs checked, every point, merged
  per tag into numpy columns, roles inferred), and
* ``EventAccumulator(size_guidance={'scalars': 0})``: ``Reload()`` then
  ``Scalars(tag)`` for every tag,

each in a fresh subprocess, interleaved and repeated. Peak memory is the rise of
the process's peak RSS during the read (the high-water mark is reset after the
imports). Prints each round, both medians and peaks, and the ratio last (SPEC §8
asks for >= 10).

    python bench/tb_read.py [--reps 3] [--steps 100000] [--tags 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def measure(side: str, path: str) -> dict:
    if side == "ours":
        from traindoc.engine.tb.reader import load_path

        def read() -> int:
            (run,) = load_path(path)
            return run.points
    else:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        def read() -> int:
            ea = EventAccumulator(path, size_guidance={"scalars": 0})
            ea.Reload()
            return sum(len(ea.Scalars(tag)) for tag in ea.Tags()["scalars"])

    _reset_peak()
    base = _rss_kb("VmRSS:")
    t0 = time.perf_counter()
    points = read()
    seconds = time.perf_counter() - t0
    peak = _rss_kb("VmHWM:") - base
    return {"seconds": seconds, "peak_mb": peak / 1024, "points": points}


def write_file(folder: Path, steps: int, tags: int) -> Path:
    from traindoc.engine.tb.writer import ScalarWriter

    names = [f"bench/tag_{i}" for i in range(tags)]
    with ScalarWriter(folder, flush_secs=60) as w:
        for step in range(steps):
            for i, name in enumerate(names):
                w.add_scalar(name, (step % 977) * 0.001 + i, step)
    return w.path


def run_side(side: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", side, str(path)],
        check=True, capture_output=True, text=True, cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--measure", nargs=2, metavar=("SIDE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(Path(tmp), args.steps, args.tags)
        total = args.steps * args.tags
        print(f"file: {total:,} scalars, {os.path.getsize(path) / 1e6:.1f} MB")
        ours, theirs = [], []
        for rep in range(args.reps):
            order = [("ours", ours), ("ea", theirs)]
            if rep % 2:
                order.reverse()
            for side, results in order:
                r = run_side(side, path)
                assert r["points"] == total, (side, r)
                results.append(r)
            print(f"round {rep + 1}: ours {ours[-1]['seconds']:.2f} s, "
                  f"EventAccumulator {theirs[-1]['seconds']:.2f} s")
    a = statistics.median(r["seconds"] for r in ours)
    b = statistics.median(r["seconds"] for r in theirs)
    pa = max(r["peak_mb"] for r in ours)
    pb = max(r["peak_mb"] for r in theirs)
    print(f"ours: {a:.2f} s (median), peak memory {pa:.0f} MB")
    print(f"EventAccumulator: {b:.2f} s (median), peak memory {pb:.0f} MB")
    print(f"ratio (EventAccumulator / ours): {b / a:.1f}x")


if __name__ == "__main__":
    main()
