"""Diagnosis of ../shared/realruns (real logs from public repositories) through our reader.

A regression guard: no run labelled healthy gets a warning or an error, and every
run outside ``KNOWN_MISSES`` gets the verdict of its label (as
``bench/diagnosis_quality.py`` computes it). Known misses are listed, not asserted.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from traindoc.diagnostics.types import Severity, Status
from traindoc.engine.run_diagnosis import diagnose_log
from traindoc.engine.tb.reader import load_path

REALRUNS = Path(__file__).resolve().parents[2].parent / "shared" / "realruns"

pytestmark = pytest.mark.skipif(not (REALRUNS / "labels.tsv").exists(),
                                reason=f"{REALRUNS} is absent")

#: Runs whose verdict does not match the label today (``bench/diagnosis_quality.py``
#: explains each); every other run's verdict is asserted.
KNOWN_MISSES = {
    "lstm_tf1_estimator",  # oscillating (low confidence): single-batch losses
    "sketchvlm_1765986614",  # overfitting (mild, 8 evaluations)
    "sketchvlm_1768886380",  # overfitting: 6 evaluations rising, a low-confidence note
    "tft_optuna_v2",  # plateau-slow or early overfitting: validation flat from epoch 2
    "daphnia_yolov8_det",  # one validation loss part rises while mAP still creeps up
    "lander_pertopt_22312",  # plateau-slow or healthy but noisy (RL)
    "atari_dqn1",  # too short to tell: 50k steps of Atari, reward still rising
    "tfod_ssd_mobnet",  # overfitting from a single evaluation
}

#: The label family of the rule behind the verdict (as in the benchmark).
FAMILY = {
    "overfitting": "overfitting", "underfitting": "underfitting",
    "slow-descent": "plateau-slow", "oscillation": "oscillating",
    "divergence": "diverging", "nan-loss": "diverging", "metric-mismatch": "diverging",
    "grad-explosion": "diverging",
}


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


def verdict(d) -> str:
    if d.status is Status.INSUFFICIENT_DATA:
        return "too short to tell"
    return FAMILY[d.primary.rule] if d.primary else "healthy"


@pytest.mark.parametrize("run_id", sorted(set(labels()) - KNOWN_MISSES)
                         if (REALRUNS / "labels.tsv").exists() else [])
def test_verdict_matches_the_label(run_id):
    d = diagnosis(run_id)
    assert verdict(d) == labels()[run_id], [(f.rule, f.severity, f.evidence) for f in d.findings]


def test_no_healthy_run_gets_an_error_even_among_known_misses():
    for run_id, label in labels().items():
        if label == "healthy":
            assert all(f.severity is not Severity.ERROR for f in diagnosis(run_id).findings)
