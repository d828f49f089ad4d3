"""Diagnosis of ../shared/realruns (real logs from public repositories) through our reader.

A regression guard: no run labelled healthy gets a warning or an error, the
too-short run is ``insufficient-data``, and the agreements achieved so far (see
``bench/diagnosis_quality.py``) hold. Known misses are listed, not asserted.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from diagnostics.types import Severity, Status
from engine.run_diagnosis import diagnose_log
from engine.tb.reader import load_path

REALRUNS = Path(__file__).resolve().parents[2].parent / "shared" / "realruns"

pytestmark = pytest.mark.skipif(not (REALRUNS / "labels.tsv").exists(),
                                reason=f"{REALRUNS} is absent")

#: run -> rules that must fire with a warning or error (the label's rule).
AGREED = {
    "helmet_yolov5_exp2": "overfitting",
    "irdsi_lightning_v3": "overfitting",
    "irdsi_tblogs_v0": "slow-descent",
    "signlang_7152": "underfitting",
    "sketchvlm_1768886380": "overfitting",
    "tft_optuna_v0": "oscillation",
    "tft_optuna_v1": "overfitting",
    "vae_klbeta05": "overfitting",
    "warcraft_optuna_v1": "underfitting",
}
# Known misses (not asserted): lstm_tf1_estimator (oscillating), signlang_17064 and
# sketchvlm_1765986614 (overfitting), tft_optuna_v2 (plateau-slow) come out healthy;
# irdsi_lightning_v3 also gets slow-descent (its train loss falls 11% in a straight line).


def labels() -> dict[str, str]:
    with open(REALRUNS / "labels.tsv", newline="") as fh:
        return {row["run_id"]: row["label"] for row in csv.DictReader(fh, delimiter="\t")}


def diagnosis(run_id: str):
    logs = load_path(REALRUNS / run_id)
    assert logs, run_id
    return diagnose_log(logs[0])


def alarms(d) -> set[str]:
    return {f.rule for f in d.findings if f.severity in (Severity.ERROR, Severity.WARNING)}


@pytest.mark.parametrize("run_id", [r for r, lab in labels().items() if lab == "healthy"]
                         if (REALRUNS / "labels.tsv").exists() else [])
def test_healthy_runs_get_no_warning_or_error(run_id):
    d = diagnosis(run_id)
    assert not alarms(d), [f.evidence for f in d.findings]


def test_too_short_run_is_insufficient_data():
    short = [r for r, lab in labels().items() if lab == "too short to tell"]
    assert short
    for run_id in short:
        assert diagnosis(run_id).status is Status.INSUFFICIENT_DATA


@pytest.mark.parametrize("run_id, rule", sorted(AGREED.items()))
def test_agreements_hold(run_id, rule):
    assert labels()[run_id] != "healthy"
    assert rule in alarms(diagnosis(run_id))
