"""Diagnosis speed (SPEC §8): all rules over a 1,000,000-point run, budget 200 ms.

Two shapes of a 1e6-point run (one long train loss; four roles of 250k points), each
diagnosed several times, interleaved; the median of the slower shape is compared with
the budget. Then the live cost: 1,000-point chunks fed into a 1e6-point stream, each
followed by a full re-diagnosis, timed early and late in the stream (O(new points):
the late updates must not cost more than the early ones).

The last line is the ratio of the measured time to the budget (<= 1.0 meets it).
"""

from __future__ import annotations

import logging
import statistics
import time

import numpy as np

from traindoc.diagnostics.live import LiveDiagnoser
from traindoc.diagnostics.runner import diagnose
from traindoc.diagnostics.types import RunData, Series

BUDGET_S = 0.200
REPEATS = 7
N = 1_000_000

log = logging.getLogger("bench.diagnose_speed")


def _loss(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    y = (0.1 + 2.2 * np.exp(-t / 0.2)) * (1 + 0.1 * rng.standard_normal(n))
    y[rng.integers(0, n, 5)] = np.nan  # a few NaN, so the nan-loss path runs too
    return y


def shapes() -> dict[str, RunData]:
    steps = np.arange(N, dtype=np.int64)
    one = RunData({
        "train_loss": Series(steps[: N - 1000], _loss(N - 1000, 0)),
        "val_loss": Series(np.arange(1000) * 1000, _loss(1000, 1)),
    })
    q = N // 4
    rng = np.random.default_rng(2)
    four = RunData({
        "train_loss": Series(steps[:q], _loss(q, 3)),
        "grad_norm": Series(steps[:q], 1 + 0.3 * np.abs(rng.standard_normal(q))),
        "lr": Series(steps[:q], np.full(q, 1e-3)),
        "train_accuracy": Series(steps[:q], np.clip(0.9 - _loss(q, 4) / 10, 0, 1)),
    })
    return {"1 x 1e6": one, "4 x 2.5e5": four}


def batch_times() -> dict[str, float]:
    runs = shapes()
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(REPEATS):
        for name, run in runs.items():  # interleaved
            t0 = time.perf_counter()
            diagnose(run)
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def live_times(chunk: int = 1000) -> tuple[float, float]:
    loss = _loss(N, 5)
    live = LiveDiagnoser()
    early: list[float] = []
    late: list[float] = []
    for a in range(0, N, chunk):
        t0 = time.perf_counter()
        live.feed("train_loss", np.arange(a, a + chunk), loss[a : a + chunk])
        live.diagnosis()
        dt = time.perf_counter() - t0
        if 20 <= a // chunk < 120:
            early.append(dt)
        elif a // chunk >= N // chunk - 100:
            late.append(dt)
    return statistics.median(early), statistics.median(late)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    times = batch_times()
    for name, t in times.items():
        print(f"diagnose {name:10s}: {t * 1000:7.1f} ms (median of {REPEATS})")
    early, late = live_times()
    print(f"live update (1,000 new points + re-diagnosis): early {early * 1000:.2f} ms, "
          f"after 1e6 points {late * 1000:.2f} ms (x{late / early:.2f})")
    worst = max(times.values())
    print(f"budget {BUDGET_S * 1000:.0f} ms, worst {worst * 1000:.1f} ms")
    print(f"{worst / BUDGET_S:.3f}")


if __name__ == "__main__":
    main()
