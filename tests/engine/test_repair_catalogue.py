"""bench/repair.py's catalogue of broken configs: what it holds, and a few cases repaired
for real (slow: each trains up to five short runs on the bundled digits)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from traindoc.diagnostics.repair_policy import fingerprint
from traindoc.engine import config as config_module

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import repair as bench  # noqa: E402


def test_the_catalogue_holds_the_issues_eight_kinds_of_broken_config_and_healthy_ones():
    broken = [c for c in bench.CATALOGUE if c.broken]
    assert len(broken) >= 8
    assert {"lr-too-high", "lr-extreme-nan", "lr-too-low", "oscillation", "overfitting",
            "underfitting", "grad-explosion", "no-warmup-adam"} <= {c.name for c in broken}
    assert any(not c.broken for c in bench.CATALOGUE)
    configs = [case.config() for case in bench.CATALOGUE]  # each one valid
    assert len({fingerprint(config_module.flatten(c)) for c in configs}) == len(configs)
    assert all(c.train.epochs <= 40 and c.data.dataset == "digits" for c in configs)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", ["lr-extreme-nan", "no-warmup-adam", "weight-decay-huge",
                                  "healthy-adamw"])
def test_catalogue_cases_are_repaired_or_left_alone(tmp_path, name):
    case = next(c for c in bench.CATALOGUE if c.name == name)
    row = bench.run_case(case, tmp_path, attempts=4, report=False)
    assert row.ok, bench.line(row)
    assert row.healthy and (row.attempts == 0) == (not case.broken)
    assert row.accuracy is not None and row.accuracy >= bench.GOAL_ACCURACY
