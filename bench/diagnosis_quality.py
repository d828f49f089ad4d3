"""Diagnosis quality: agreement with labels, and what of it generalises (issue 9).

Two labelled sets, each read through the product's own path
(``traindoc.engine.tb.reader.load_path`` -> ``traindoc.engine.run_diagnosis.run_data`` ->
``traindoc.diagnostics.runner.diagnose``):

- ``../shared/realruns/`` (``labels.tsv``): real logs from public repositories,
  labelled by eye, located beside the repository root; skipped with a note when
  absent;
- our corpus of real short trainings with injected problems (``bench/corpus.py``;
  generated into ``--corpus`` when missing; ``--no-corpus`` skips it).

The **verdict** on a run is ``too short to tell`` when its status is
``insufficient-data``, ``healthy`` when it has no warning or error (an info finding is
a note, not an alarm), else the label family of ``Diagnosis.primary.rule``
(``FAMILY``). A run agrees when its verdict equals its label.

The few calibrated thresholds (``traindoc.diagnostics.calibration.GRID``) are judged
**leave-one-repository-out**: each repository's runs are judged with the grid point
that agrees best on every *other* repository's runs (ties: the fewest fields
differing from ``DEFAULT``, then grid order). That figure, not the in-sample best, is
what the rules can be expected to do on logs nobody tuned them on.

The last line printed is the summary.

    python bench/diagnosis_quality.py [--no-corpus | --corpus DIR [--regenerate]]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from traindoc.diagnostics.calibration import DEFAULT, GRID, Calibration  # noqa: E402
from traindoc.diagnostics.runner import diagnose  # noqa: E402
from traindoc.diagnostics.types import Diagnosis, RunData, Severity, Status  # noqa: E402
from traindoc.engine.run_diagnosis import run_data  # noqa: E402
from traindoc.engine.tb.reader import load_path  # noqa: E402

REALRUNS = ROOT.parent / "shared" / "realruns"

#: The realruns' labels, in the order of their README.
LABELS = (
    "healthy",
    "overfitting",
    "underfitting",
    "plateau-slow",
    "oscillating",
    "diverging",
    "too short to tell",
)
HEALTHY = "healthy"
TOO_SHORT = "too short to tell"
UNREADABLE = "unreadable"

#: A primary finding's rule -> the label family it names.
FAMILY = {
    "overfitting": "overfitting",
    "underfitting": "underfitting",
    "slow-descent": "plateau-slow",
    "oscillation": "oscillating",
    "divergence": "diverging",
    "nan-loss": "diverging",
    "metric-mismatch": "diverging",
    "grad-explosion": "diverging",
}

#: Goals of issue 9's acceptance.
GOAL_LORO = 0.85
GOAL_HEALTHY_WARNING = 1 / 20


# --------------------------------------------------------------------------- verdicts


def verdict(d: Diagnosis | None) -> str:
    """The label a diagnosis amounts to (``unreadable`` when no run was found)."""
    if d is None:
        return UNREADABLE
    if d.status is Status.INSUFFICIENT_DATA:
        return TOO_SHORT
    primary = d.primary
    if primary is None:
        return HEALTHY
    return FAMILY.get(primary.rule, f"other:{primary.rule}")


def worst_alarm(d: Diagnosis | None) -> str:
    """``error``, ``warning`` or ``""``: the worst alarm in a diagnosis."""
    if d is None:
        return ""
    sev = {f.severity for f in d.findings if f.alarm}
    if Severity.ERROR in sev:
        return "error"
    return "warning" if sev else ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the bench keeps of one diagnosis."""

    verdict: str
    alarm: str  # "error", "warning" or ""
    findings: str  # "rule:severity:confidence ..." (info ones included)


def outcome(d: Diagnosis | None) -> Outcome:
    findings = " ".join(f"{f.rule}:{f.severity.value}:{f.confidence.value}"
                        for f in (d.findings if d is not None else ()))
    return Outcome(verdict(d), worst_alarm(d), findings or "-")


def agreement(labels: Sequence[str], verdicts: Sequence[str]) -> int:
    """How many runs' verdicts equal their labels."""
    return sum(lab == v for lab, v in zip(labels, verdicts, strict=True))


# --------------------------------------------------------------------------- the grid


def grid_points(grid: Mapping[str, Sequence[float]] = GRID) -> list[dict[str, float]]:
    """The cartesian product of the grid's value tuples, in grid order."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(grid[n] for n in names))]


def calibration_of(values: Mapping[str, float], default: Calibration = DEFAULT) -> Calibration:
    return dataclasses.replace(default, **values)


def distance(values: Mapping[str, float], default: Calibration = DEFAULT) -> int:
    """How many fields of a grid point differ from the default."""
    return sum(getattr(default, k) != v for k, v in values.items())


def describe(values: Mapping[str, float], default: Calibration = DEFAULT) -> str:
    diff = [f"{k}={v:g}" for k, v in values.items() if getattr(default, k) != v]
    return ", ".join(diff) if diff else "DEFAULT"


def best_point(labels: Sequence[str], table: Sequence[Sequence[str]],
               distances: Sequence[int], runs: Sequence[int]) -> int:
    """The grid point agreeing most on ``runs`` (indices into ``labels``).

    ``table[p][i]`` is run i's verdict under grid point p. Ties go to the point
    closest to the default (``distances[p]``), then to the earlier point.
    """
    def key(p: int) -> tuple[int, int, int]:
        row = table[p]
        return (sum(labels[i] == row[i] for i in runs), -distances[p], -p)

    return max(range(len(table)), key=key)


def leave_one_repo_out(labels: Sequence[str], repos: Sequence[str],
                       table: Sequence[Sequence[str]], distances: Sequence[int],
                       ) -> tuple[list[str], dict[str, int]]:
    """Each run's verdict under the grid point chosen without its repository.

    Returns the verdicts (in run order) and the point chosen for each repository.
    """
    verdicts = [""] * len(labels)
    chosen: dict[str, int] = {}
    for repo in dict.fromkeys(repos):
        others = [i for i, r in enumerate(repos) if r != repo]
        p = chosen[repo] = best_point(labels, table, distances, others)
        for i, r in enumerate(repos):
            if r == repo:
                verdicts[i] = table[p][i]
    return verdicts, chosen


# --------------------------------------------------------------------------- tables


def confusion(labels: Sequence[str], verdicts: Sequence[str]) -> Counter[tuple[str, str]]:
    """(label, verdict) -> number of runs."""
    return Counter(zip(labels, verdicts, strict=True))


def precision_recall(labels: Sequence[str], verdicts: Sequence[str], label: str,
                     ) -> tuple[float | None, float | None]:
    """Of the runs given ``label`` as verdict, the share so labelled (precision); of
    those so labelled, the share given it (recall). None where nothing to divide by."""
    tp = sum(lab == label and v == label for lab, v in zip(labels, verdicts, strict=True))
    given = sum(v == label for v in verdicts)
    actual = sum(lab == label for lab in labels)
    return (tp / given if given else None, tp / actual if actual else None)


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def ordered(seen: Sequence[str]) -> list[str]:
    """The seven labels, then anything else seen (``unreadable``, ``other:<rule>``)."""
    return [*LABELS, *sorted(set(seen) - set(LABELS))]


def print_precision_recall(labels, default_v, loro_v) -> None:
    print(f"\n  {'label':18s} {'n':>3s} {'given':>5s} {'prec':>5s} {'recall':>6s}"
          f"   LORO: {'given':>5s} {'prec':>5s} {'recall':>6s}")
    for lab in LABELS:
        p, r = precision_recall(labels, default_v, lab)
        lp, lr = precision_recall(labels, loro_v, lab)
        print(f"  {lab:18s} {sum(x == lab for x in labels):3d} "
              f"{sum(v == lab for v in default_v):5d} {_ratio(p):>5s} {_ratio(r):>6s}"
              f"         {sum(v == lab for v in loro_v):5d} {_ratio(lp):>5s} {_ratio(lr):>6s}")


def print_confusion(labels, verdicts) -> None:
    cols = ordered(verdicts)
    short = [c if len(c) <= 9 else c[:9] for c in cols]
    counts = confusion(labels, verdicts)
    print(f"\n  confusion (rows: label, columns: verdict)\n  {'':18s} "
          + " ".join(f"{s:>9s}" for s in short))
    for lab in ordered(labels):
        cells = [counts.get((lab, c), 0) for c in cols]
        print(f"  {lab:18s} " + " ".join(f"{n if n else '.':>9}" for n in cells))


# --------------------------------------------------------------------------- realruns


@dataclass
class Run:
    run_id: str
    repo: str
    label: str
    data: RunData | None  # None: no run found in the folder


def load_runs(root: Path) -> list[Run]:
    runs = []
    with open(root / "labels.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            logs = load_path(root / row["run_id"])
            if len(logs) > 1:
                print(f"  note: {row['run_id']} holds {len(logs)} runs; judging the first")
            runs.append(Run(row["run_id"], row["source_repo"], row["label"],
                            run_data(logs[0]) if logs else None))
    return runs


def realruns_report(root: Path) -> str:
    """Print the realruns sections; return the summary's realruns part."""
    t0 = time.perf_counter()
    runs = load_runs(root)
    labels = [r.label for r in runs]
    repos = [r.repo for r in runs]
    t_load = time.perf_counter() - t0

    points = grid_points()
    distances = [distance(v) for v in points]
    default_values = {f.name: getattr(DEFAULT, f.name) for f in dataclasses.fields(DEFAULT)}
    # Each run is diagnosed once per grid point; DEFAULT is diagnosed separately
    # (it may lie outside the grid) and is what the product uses.
    default_out = [outcome(diagnose(r.data)) if r.data is not None else outcome(None)
                   for r in runs]
    table: list[list[str]] = []
    for values in points:
        if values == default_values:
            table.append([o.verdict for o in default_out])
            continue
        cal = calibration_of(values)
        table.append([verdict(diagnose(r.data, calibration=cal)) if r.data is not None
                      else UNREADABLE for r in runs])
    t_grid = time.perf_counter() - t0 - t_load

    default_v = [o.verdict for o in default_out]
    loro_v, chosen = leave_one_repo_out(labels, repos, table, distances)
    n = len(runs)
    agree = agreement(labels, default_v)
    loro = agreement(labels, loro_v)

    print(f"\n== realruns {root}: {n} runs from {len(set(repos))} repositories "
          f"(loaded in {t_load:.1f}s; {len(points)} grid points diagnosed in {t_grid:.1f}s)")
    print(f"  {'':4s} {'run':26s} {'repository':30s} {'label':17s} {'verdict':17s} "
          f"{'LORO verdict':17s} findings (rule:severity:confidence)")
    for r, o, lv in zip(runs, default_out, loro_v, strict=True):
        ok = "ok  " if o.verdict == r.label else "MISS"
        lv_text = "=" if lv == o.verdict else lv
        print(f"  {ok} {r.run_id:26s} {r.repo[:30]:30s} {r.label:17s} {o.verdict:17s} "
              f"{lv_text:17s} {o.findings}")

    print(f"\n  agreement with DEFAULT: {agree / n:.3f} ({agree}/{n})")
    in_sample = best_point(labels, table, distances, range(n))
    best = agreement(labels, table[in_sample])
    print(f"  best grid point on all runs (in-sample, optimistic): {best / n:.3f} ({best}/{n}) "
          f"at {describe(points[in_sample])}")
    print(f"  leave-one-repository-out agreement: {loro / n:.3f} ({loro}/{n})")
    distinct = len({tuple(row) for row in table})
    print(f"  distinct verdict tables over the {len(points)} grid points: {distinct}"
          + (" (the calibration changes no verdict)" if distinct == 1 else ""))
    print("  grid points chosen (repositories):")
    for p, k in Counter(chosen.values()).most_common():
        print(f"    {k:3d}  {describe(points[p])}")

    print_precision_recall(labels, default_v, loro_v)
    print_confusion(labels, default_v)

    healthy = [(r, o) for r, o in zip(runs, default_out, strict=True) if r.label == HEALTHY]
    warned = [r.run_id for r, o in healthy if o.alarm]
    errored = [r.run_id for r, o in healthy if o.alarm == "error"]
    nh = len(healthy)
    print(f"\n  healthy runs with a warning or error: {len(warned)}/{nh}"
          + (f" ({', '.join(warned)})" if warned else ""))
    print(f"  healthy runs with an error: {len(errored)}/{nh}"
          + (f" ({', '.join(errored)})" if errored else ""))

    def goal(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    print(f"  goal: leave-one-repository-out agreement >= {GOAL_LORO:.2f}: "
          f"{goal(n > 0 and loro / n >= GOAL_LORO)} ({loro / n:.3f})")
    print(f"  goal: no healthy run with an error: {goal(not errored)} ({len(errored)}/{nh})")
    print(f"  goal: at most 1 in 20 healthy runs with a warning: "
          f"{goal(nh > 0 and len(warned) / nh <= GOAL_HEALTHY_WARNING)} ({len(warned)}/{nh})")
    return (f"realruns: agreement {agree / n:.3f} ({agree}/{n}), "
            f"leave-one-repository-out {loro / n:.3f}, "
            f"healthy with error {len(errored)}/{nh}, with warning {len(warned)}/{nh}")


# --------------------------------------------------------------------------- corpus


@dataclass
class Result:
    name: str
    label: str
    expected: frozenset[str]
    fired: frozenset[str]  # rules with a warning or error
    status: str
    outcome: Outcome

    @property
    def agrees(self) -> bool:
        if self.label == TOO_SHORT:
            return self.status == Status.INSUFFICIENT_DATA.value
        return self.fired == self.expected


def diagnose_dir(path: Path) -> Diagnosis | None:
    logs = load_path(path)
    # A case is one run (Keras sibling folders are merged into one by discovery).
    return diagnose(run_data(logs[0])) if logs else None


def corpus_results(corpus: Path) -> list[Result]:
    """The corpus's cases: labels are ``healthy`` or comma-separated rule ids."""
    out = []
    with open(corpus / "labels.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            label = row["expected"]
            expected = frozenset() if label == HEALTHY else frozenset(label.split(","))
            d = diagnose_dir(corpus / row["case"])
            fired = frozenset(f.rule for f in d.findings if f.alarm) if d else frozenset()
            out.append(Result(row["case"], label, expected, fired,
                              d.status.value if d is not None else UNREADABLE, outcome(d)))
    return out


def corpus_report(corpus: Path) -> str:
    results = corpus_results(corpus)
    print(f"\n== corpus {corpus}: {len(results)} runs (a case agrees when the rules with a "
          "warning or error are exactly its expected ones)")
    for r in results:
        print(f"  {'ok  ' if r.agrees else 'MISS'} {r.name:36s} label={r.label:18s} "
              f"verdict={r.outcome.verdict:14s} {r.outcome.findings} [{r.status}]")
    rules = sorted(set().union(*(r.expected | r.fired for r in results)))
    print(f"  {'rule':16s} {'TP':>3s} {'FP':>3s} {'FN':>3s} {'precision':>9s} {'recall':>7s}")
    for rule in rules:
        tp = sum(rule in r.fired and rule in r.expected for r in results)
        fp = sum(rule in r.fired and rule not in r.expected for r in results)
        fn = sum(rule not in r.fired and rule in r.expected for r in results)
        print(f"  {rule:16s} {tp:3d} {fp:3d} {fn:3d} "
              f"{_ratio(tp / (tp + fp) if tp + fp else None):>9s} "
              f"{_ratio(tp / (tp + fn) if tp + fn else None):>7s}")
    healthy = [r for r in results if r.label == HEALTHY]
    alarms = [r.name for r in healthy if r.fired]
    agree = sum(r.agrees for r in results)
    print(f"  healthy cases with a warning/error: {len(alarms)}/{len(healthy)}"
          + (f" ({', '.join(alarms)})" if alarms else ""))
    print(f"  agreement: {agree}/{len(results)}")
    return f"corpus {agree}/{len(results)}"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=None,
                   help="the generated corpus (default: bench/corpus.py's DEFAULT_OUT)")
    p.add_argument("--regenerate", action="store_true", help="rebuild the corpus first")
    p.add_argument("--no-corpus", action="store_true", help="skip the generated corpus")
    args = p.parse_args(argv)
    t0 = time.perf_counter()

    if (REALRUNS / "labels.tsv").exists():
        summary = realruns_report(REALRUNS)
    else:
        print(f"\n(realruns not found at {REALRUNS}: skipped)")
        summary = "realruns: skipped (absent)"

    if args.no_corpus:
        summary += "; corpus skipped"
    else:
        import corpus as corpus_mod  # trains models when generating: imported only if needed

        path = args.corpus or corpus_mod.DEFAULT_OUT
        if args.regenerate or not (path / "labels.tsv").exists():
            print(f"\ngenerating the corpus into {path} ...")
            corpus_mod.generate(path)
        summary += "; " + corpus_report(path)

    print(f"\n(took {time.perf_counter() - t0:.1f}s)")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
