"""The repair loop's benchmark: a catalogue of broken configs on the bundled digits.

Each case is trained and repaired by :class:`traindoc.engine.repair.session.RepairSession`
(what ``traindoc train --auto-fix 4`` runs), within 4 attempts after the first run, once
per seed (``--seeds``, default 0 1 2: the digits' 359 validation samples put about 1.6
points of noise on an accuracy, so one seed alone decides a case near the bar by
chance). A repair succeeds when its final run is healthy by diagnosis and, where the
data allows it, reaches 0.90 validation accuracy. Healthy configs must be left alone
(0 attempts). Prints one line per case and seed (repaired?, attempts used, remedies,
time, final validation accuracy), each case's tally, and, last, the share of the broken
configs' repairs that succeeded (goal ≥ 90%).

    python bench/repair.py [--only NAME ...] [--seeds 0 1 2] [--attempts 4] [--keep DIR]
                           [--report] [--epochs 5]

Runs are short (a few epochs) so the whole bench takes minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traindoc.engine import config as config_module
from traindoc.engine.repair.session import RepairSession

GOAL_ACCURACY = 0.90
EPOCHS = 5


@dataclass(frozen=True)
class Case:
    """A config to repair: ``broken`` ones must end healthy, healthy ones get 0 attempts.

    ``accuracy``: the validation accuracy the repaired run must reach (None where the
    data does not allow it: 90 training samples cannot reach 0.90).
    """

    name: str
    what: str
    overrides: dict[str, Any] = field(default_factory=dict)
    broken: bool = True
    accuracy: float | None = GOAL_ACCURACY

    def config(self, epochs: int = EPOCHS, seed: int = 0) -> config_module.RunConfig:
        patch = {"train.epochs": epochs, "train.device": "cpu", "seed": seed, **self.overrides}
        return config_module.apply_patch(config_module.RunConfig(), patch)


CONSTANT = {"schedule.kind": "constant", "schedule.warmup": 0.0, "schedule.decay": 0.0}

CATALOGUE: tuple[Case, ...] = (
    Case("lr-too-high", "SGD at lr 20: diverges",
         {"optim.name": "sgd", "optim.lr": 20.0}),
    Case("lr-extreme-nan", "SGD at lr 1000: NaN within 15 steps",
         {"optim.name": "sgd", "optim.lr": 1000.0}),
    Case("lr-too-low", "SGD at lr 1e-5: the loss barely moves",
         {"optim.name": "sgd", "optim.lr": 1e-5}),
    # SGD+momentum 1.2 cannot be written (optim.momentum must be < 1): 0.99 at lr 0.5
    # swings the same way, until it blows up.
    Case("oscillation", "SGD+momentum 0.99 at lr 0.5: swings, then blows up",
         {"optim.name": "momentum", "optim.momentum": 0.99, "optim.lr": 0.5}),
    Case("overfitting", "90 training samples, a wide MLP, 40 epochs, no weight decay",
         {"data.val_fraction": 0.95, "model.hidden": [512, 512], "optim.weight_decay": 0.0,
          "train.epochs": 40}, accuracy=None),
    Case("underfitting", "a 4-unit bottleneck: too small to learn the digits",
         {"model.hidden": [4]}),
    Case("weight-decay-huge", "SGD with weight decay 0.5: the weights cannot grow",
         {"optim.name": "sgd", "optim.lr": 0.1, "optim.weight_decay": 0.5}),
    Case("grad-explosion", "6 layers deep, AdamW at lr 0.03, no warmup: gradient spikes",
         {"model.hidden": [256] * 6, "optim.lr": 0.03, **CONSTANT}),
    Case("no-warmup-adam", "Adam at lr 0.3 from the first step, no warmup",
         {"optim.name": "adam", "optim.lr": 0.3, **CONSTANT}),
    Case("healthy-adamw", "the default AdamW config", broken=False),
    Case("healthy-momentum", "SGD+momentum 0.9 at lr 0.05",
         {"optim.name": "momentum", "optim.lr": 0.05}, broken=False),
)


@dataclass(frozen=True)
class Row:
    case: Case
    seed: int
    ok: bool
    healthy: bool
    attempts: int
    remedies: tuple[str, ...]
    seconds: float
    accuracy: float | None
    final_run: Path


def run_case(case: Case, logdir: Path, *, attempts: int, report: bool,
             epochs: int = EPOCHS, seed: int = 0) -> Row:
    """Repair one case with one seed; the row says whether it met its goal."""
    start = time.perf_counter()
    session = RepairSession(case.config(epochs, seed), logdir / f"{case.name}-seed{seed}",
                            attempts=attempts, report=report)
    for _event in session.events():
        pass
    result = session.result
    final = result.records[result.final]
    accuracy = final.best.get("val_accuracy")
    used = len(result.attempts) - 1
    if case.broken:
        ok = result.healthy and (case.accuracy is None or (accuracy or 0.0) >= case.accuracy)
    else:
        ok = used == 0 and result.healthy
    remedies = tuple(a.remedy for a in result.attempts[1:])
    return Row(case, seed, ok, result.healthy, used, remedies, time.perf_counter() - start,
               accuracy, result.final_dir)


def line(row: Row) -> str:
    verdict = ("repaired" if row.ok else "NOT repaired") if row.case.broken else (
        "left alone" if row.ok else "NOT left alone")
    accuracy = "—" if row.accuracy is None else f"{row.accuracy:.3f}"
    goal = f" (goal {row.case.accuracy})" if row.case.accuracy and row.case.broken else ""
    path = " → ".join(row.remedies) or "none"
    return (f"{row.case.name:18s} seed {row.seed}  {verdict:14s} attempts {row.attempts}  "
            f"{row.seconds:5.1f} s  val accuracy {accuracy}{goal}  healthy {row.healthy}  "
            f"remedies: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="run only these cases")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--attempts", type=int, default=4)
    parser.add_argument("--keep", help="keep the runs in this folder")
    parser.add_argument("--report", action="store_true", help="write each case's repair.md")
    parser.add_argument("--epochs", type=int, default=EPOCHS,
                        help="epochs of each run, where a case does not set its own")
    args = parser.parse_args()
    cases = [c for c in CATALOGUE if args.only is None or c.name in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        logdir = Path(args.keep) if args.keep else Path(tmp)
        rows = []
        for case in cases:
            for seed in args.seeds:
                rows.append(run_case(case, logdir, attempts=args.attempts,
                                     report=args.report, epochs=args.epochs, seed=seed))
                print(line(rows[-1]), flush=True)
    for case in cases:
        mine = [r for r in rows if r.case is case]
        what = "repaired" if case.broken else "left alone"
        print(f"{case.name:18s} {what} {sum(r.ok for r in mine)}/{len(mine)}")
    broken = [r for r in rows if r.case.broken]
    healthy = [r for r in rows if not r.case.broken]
    if healthy:
        print(f"healthy configs left alone (0 attempts): {sum(r.ok for r in healthy)}/"
              f"{len(healthy)} runs")
    total = sum(r.seconds for r in rows)
    print(f"total time {total:.0f} s")
    if broken:
        print(f"healthy by diagnosis: {sum(r.healthy for r in broken)}/{len(broken)} "
              f"(repaired also needs val accuracy ≥ {GOAL_ACCURACY} where the data allows)")
        share = sum(r.ok for r in broken) / len(broken)
        print(f"repaired within {args.attempts} attempts: {sum(r.ok for r in broken)}/"
              f"{len(broken)} = {share:.0%} (goal ≥ 90%)")


if __name__ == "__main__":
    main()
