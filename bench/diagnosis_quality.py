"""Diagnosis quality: per-rule precision and recall, and false alarms on healthy runs.

Two labelled sets, each read through the product's own path
(``engine.tb.reader.load_path`` + ``engine.run_diagnosis.diagnose_log``):

- our corpus of real short trainings with injected problems (``bench/corpus.py``;
  generated into ``--corpus`` when missing);
- ``../shared/realruns/`` (``labels.tsv``), real logs from public repositories,
  located beside the repository root; skipped with a note when absent.

A rule's precision is the share of its firings on runs whose label expects it;
recall the share of the runs expecting it on which it fired. A healthy run with a
warning or an error is a false alarm (an info finding is not an alarm). Runs
labelled "too short to tell" must come out ``insufficient-data``.

    python bench/diagnosis_quality.py [--corpus DIR] [--regenerate]
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from diagnostics.registry import ALL_RULES  # noqa: E402
from diagnostics.types import Diagnosis, Severity  # noqa: E402
from engine.run_diagnosis import diagnose_log  # noqa: E402
from engine.tb.reader import load_path  # noqa: E402

REALRUNS = ROOT.parent / "shared" / "realruns"

#: realruns' labels -> the rule that names the same problem ("healthy": none).
REALRUN_RULES = {
    "healthy": (),
    "overfitting": ("overfitting",),
    "underfitting": ("underfitting",),
    "oscillating": ("oscillation",),
    "plateau-slow": ("slow-descent",),
    "too short to tell": (),
}
ALARMS = (Severity.ERROR, Severity.WARNING)


@dataclass
class Result:
    name: str
    label: str
    expected: frozenset[str]
    fired: frozenset[str]  # rules with a warning or error
    info: frozenset[str]  # rules with only info findings
    status: str

    @property
    def healthy(self) -> bool:
        return self.label == "healthy"


def diagnose_dir(path: Path) -> Diagnosis | None:
    logs = load_path(path)
    if not logs:
        return None
    # A case is one run (Keras sibling folders are merged into one by discovery).
    return diagnose_log(logs[0])


def result(name: str, label: str, expected, d: Diagnosis | None) -> Result:
    findings = d.findings if d is not None else ()
    fired = frozenset(f.rule for f in findings if f.severity in ALARMS)
    info = frozenset(f.rule for f in findings if f.severity is Severity.INFO) - fired
    return Result(name, label, frozenset(expected), fired, info,
                  d.status.value if d is not None else "unreadable")


def corpus_results(corpus: Path) -> list[Result]:
    out = []
    with open(corpus / "labels.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            label = row["expected"]
            expected = () if label == "healthy" else tuple(label.split(","))
            out.append(result(row["case"], label, expected, diagnose_dir(corpus / row["case"])))
    return out


def realrun_results(root: Path) -> list[Result]:
    out = []
    with open(root / "labels.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            label = row["label"]
            d = diagnose_dir(root / row["run_id"])
            out.append(result(row["run_id"], label, REALRUN_RULES.get(label, ()), d))
    return out


def report(title: str, results: list[Result]) -> dict[str, float]:
    print(f"\n== {title}: {len(results)} runs")
    for r in results:
        ok = "ok " if _agrees(r) else "MISS"
        extra = f" (info: {','.join(sorted(r.info))})" if r.info else ""
        print(f"  {ok} {r.name:36s} label={r.label:18s} fired={','.join(sorted(r.fired)) or '-'}"
              f"{extra} [{r.status}]")
    print(f"  {'rule':16s} {'TP':>3s} {'FP':>3s} {'FN':>3s} {'precision':>9s} {'recall':>7s}")
    for rule in (r.id for r in ALL_RULES):
        tp = sum(rule in r.fired and rule in r.expected for r in results)
        fp = sum(rule in r.fired and rule not in r.expected for r in results)
        fn = sum(rule not in r.fired and rule in r.expected for r in results)
        if tp + fp + fn == 0:
            continue
        prec = f"{tp / (tp + fp):.2f}" if tp + fp else "-"
        rec = f"{tp / (tp + fn):.2f}" if tp + fn else "-"
        print(f"  {rule:16s} {tp:3d} {fp:3d} {fn:3d} {prec:>9s} {rec:>7s}")
    healthy = [r for r in results if r.healthy]
    alarms = [r for r in healthy if r.fired]
    agree = sum(_agrees(r) for r in results)
    print(f"  healthy runs with a warning/error: {len(alarms)}/{len(healthy)}"
          + (f" ({', '.join(r.name for r in alarms)})" if alarms else ""))
    print(f"  runs whose findings match their label exactly: {agree}/{len(results)}")
    return {"agree": agree, "n": len(results), "alarms": len(alarms), "healthy": len(healthy)}


def _agrees(r: Result) -> bool:
    if r.label == "too short to tell":
        return r.status == "insufficient-data"
    return r.fired == r.expected


def main(argv: list[str] | None = None) -> int:
    import corpus as corpus_mod

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=corpus_mod.DEFAULT_OUT)
    p.add_argument("--regenerate", action="store_true", help="rebuild the corpus first")
    args = p.parse_args(argv)
    if args.regenerate or not (args.corpus / "labels.tsv").exists():
        print(f"generating the corpus into {args.corpus} ...")
        corpus_mod.generate(args.corpus)
    c = report(f"corpus {args.corpus}", corpus_results(args.corpus))
    summary = (f"corpus: {c['agree']}/{c['n']} runs match their labels, "
               f"{c['alarms']}/{c['healthy']} healthy false alarms")
    if (REALRUNS / "labels.tsv").exists():
        r = report(f"realruns {REALRUNS}", realrun_results(REALRUNS))
        summary += (f"; realruns: {r['agree']}/{r['n']} match, "
                    f"{r['alarms']}/{r['healthy']} healthy false alarms")
    else:
        print(f"\n(realruns not found at {REALRUNS}: skipped)")
        summary += "; realruns: skipped (absent)"
    print("\n" + summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
