"""Scalar writing: traindoc's ScalarWriter vs torch.utils.tensorboard.SummaryWriter.

Both write N scalars (10 tags in turn) to a fresh run folder, timed from opening
the writer to closing it (so our flush and framing are included), interleaved
A/B and repeated in one process. Prints µs per scalar for each side per round,
the medians, and, as the last line, the ratio of the medians (SPEC §8 asks for
>= 20). Every file is read back by TensorBoard's EventAccumulator once.

    python bench/tb_write.py [--n 200000] [--reps 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from traindoc.engine.tb.writer import ScalarWriter

TAGS = [f"bench/tag_{i}" for i in range(10)]


def ours(folder: Path, n: int) -> float:
    t0 = time.perf_counter()
    w = ScalarWriter(folder)
    add = w.add_scalar
    for i in range(n):
        add(TAGS[i % 10], i * 1e-3, i)
    w.close()
    return time.perf_counter() - t0


def theirs(folder: Path, n: int) -> float:
    from torch.utils.tensorboard import SummaryWriter

    t0 = time.perf_counter()
    w = SummaryWriter(str(folder))
    add = w.add_scalar
    for i in range(n):
        add(TAGS[i % 10], i * 1e-3, i)
    w.close()
    return time.perf_counter() - t0


def loop_only(n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        (TAGS[i % 10], i * 1e-3, i)
    return time.perf_counter() - t0


def check(folder: Path, n: int) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    ea.Reload()
    got = sum(len(ea.Scalars(t)) for t in ea.Tags()["scalars"])
    assert got == n, (folder, got, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="scalars per side per round")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    import torch.utils.tensorboard  # noqa: F401 - import cost outside the timing

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        a_times, b_times = [], []
        ours(root / "warm", 1000)
        for rep in range(args.reps):
            pair = [("ours", ours, a_times), ("SummaryWriter", theirs, b_times)]
            if rep % 2:
                pair.reverse()
            for name, fn, times in pair:
                folder = root / f"{name}_{rep}"
                times.append(fn(folder, args.n))
                if rep == 0:
                    check(folder, args.n)
            print(f"round {rep + 1}: ours {a_times[-1] / args.n * 1e6:.2f} µs/scalar, "
                  f"SummaryWriter {b_times[-1] / args.n * 1e6:.2f} µs/scalar")
    loop = loop_only(args.n) / args.n * 1e6
    a = statistics.median(a_times) / args.n * 1e6
    b = statistics.median(b_times) / args.n * 1e6
    print(f"(the bare benchmark loop costs {loop:.2f} µs/scalar, included in both)")
    print(f"ours: {a:.2f} µs/scalar (median of {args.reps})")
    print(f"SummaryWriter.add_scalar: {b:.2f} µs/scalar (median of {args.reps})")
    print(f"ratio (SummaryWriter / ours): {b / a:.1f}x")


if __name__ == "__main__":
    main()
