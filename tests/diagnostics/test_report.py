"""SPEC §5's JSON run object (checked against a schema) and the plain-text block."""

from __future__ import annotations

import json
import math

from tests.diagnostics.helpers import run
from tests.diagnostics.test_remedies import CONFIG
from traindoc.diagnostics.report import document_json, finding_json, run_json, text_block
from traindoc.diagnostics.types import Confidence, Diagnosis, Finding, Remedy, Severity, Status

SEVERITIES = {"error", "warning", "info"}
CONFIDENCES = {"high", "medium", "low"}
STATUSES = {"healthy", "problems", "insufficient-data"}


def check_schema(doc):
    """The schema of SPEC §5, strictly: exactly these keys, these types."""
    assert set(doc) == {"version", "runs", "warnings"} and doc["version"] == 1
    assert all(isinstance(w, str) for w in doc["warnings"])
    for r in doc["runs"]:
        assert set(r) == {"run", "roles", "points", "status", "findings"}
        assert isinstance(r["run"], str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in r["roles"].items())
        assert isinstance(r["points"], int) and r["points"] >= 0
        assert r["status"] in STATUSES
        for f in r["findings"]:
            assert set(f) == {"rule", "severity", "title", "step_start", "step_end",
                              "evidence", "confidence", "remedies"}
            assert f["severity"] in SEVERITIES and f["confidence"] in CONFIDENCES
            assert isinstance(f["step_start"], int) and isinstance(f["step_end"], int)
            assert f["step_start"] <= f["step_end"]
            for m in f["remedies"]:
                assert set(m) in ({"id", "text"}, {"id", "text", "patch"})
                if "patch" in m:
                    assert all(isinstance(k, str) and "." in k for k in m["patch"])


def test_json_with_and_without_config():
    bad = run(train_loss=[100, 50, 200, 10, 500, math.nan])
    good = run(train_loss=[100, 80, 60, 40, 20, 5])
    cfg = run(config=CONFIG, train_loss=[100, 50, 200, 10, 500, math.nan])
    doc = document_json(
        [run_json(bad, run="a", roles={"train_loss": "Loss/train"}, points=12),
         run_json(good), run_json(cfg, run="c")],
        ["x: truncated record at byte 1234, 999 records kept"],
    )
    doc = json.loads(json.dumps(doc))  # JSON-serialisable, round-trips
    check_schema(doc)
    a, b, c = doc["runs"]
    assert a["roles"] == {"train_loss": "Loss/train"} and a["points"] == 12
    assert a["status"] == "problems" and b["status"] == "healthy" and b["run"] == "."
    assert all("patch" not in m for f in a["findings"] for m in f["remedies"])
    first = c["findings"][0]["remedies"][0]
    assert first == {"id": "lower-lr", "text": first["text"], "patch": {"optim.lr": 0.0001}}


def test_text_block_is_readable():
    d = run(config=CONFIG, train_loss=[100, 50, 200, 10, 500, math.nan])
    text = text_block(d, run="runs/exp1")
    lines = text.splitlines()
    assert lines[0] == "runs/exp1: problems (2 findings, 6 points)"
    assert any("ERROR nan-loss" in line and line.endswith("[high confidence]") for line in lines)
    assert "optim.lr = 0.0001" in text and "NaN at step 5" in text
    assert text_block(run(train_loss=[1, 2])) == ".: insufficient-data (2 points)"


def _weak_overfitting(severity=Severity.WARNING, confidence=Confidence.MEDIUM):
    return Finding("overfitting", severity, "Overfitting", 10, 90, "val_loss rose 4% from 0.50",
                   remedies=(Remedy("early-stopping", "Stop early."),), confidence=confidence)


def test_json_carries_the_confidence():
    f = finding_json(_weak_overfitting())
    assert f["confidence"] == "medium"
    assert list(f) == ["rule", "severity", "title", "step_start", "step_end", "evidence",
                       "confidence", "remedies"]
    d = run(config=CONFIG, train_loss=[100, 50, 200, 10, 500, math.nan])
    doc = json.loads(json.dumps(document_json([run_json(d)])))
    check_schema(doc)
    assert all(f["confidence"] == "high" for f in doc["runs"][0]["findings"])  # the default


def test_text_shows_confidence_and_marks_info_as_a_note():
    warn = _weak_overfitting()
    note = Finding("metric-mismatch", Severity.INFO, "Loss and metric disagree", 5, 50,
                   "val_loss fell 10% while val_f1 fell 3%", confidence=Confidence.LOW)
    d = Diagnosis(Status.PROBLEMS, (warn, note), points=200)
    lines = text_block(d, run="r").splitlines()
    assert lines[0] == "r: problems (1 finding, 1 note, 200 points)"
    assert "  WARN  overfitting  steps 10-90  Overfitting  [medium confidence]" in lines
    assert ("  note  metric-mismatch  steps 5-50  Loss and metric disagree  [low confidence]"
            in lines)
    healthy = Diagnosis(Status.HEALTHY, (note,), points=200)
    assert text_block(healthy, run="r").splitlines()[0] == "r: healthy (1 note, 200 points)"
