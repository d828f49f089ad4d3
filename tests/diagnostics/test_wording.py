"""What users read: no internal words, no Python reprs or HTML entities, numbers with
4 significant digits, proper plurals, text every font shows, and no other framework
blamed for a run traindoc trained (issue 12, items 12-14)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from tests.diagnostics.helpers import decay, epochs, run
from traindoc.diagnostics.registry import RULES_BY_ID, explain
from traindoc.diagnostics.remedies import CATALOGUE, remedies_for
from traindoc.diagnostics.report import text_block
from traindoc.diagnostics.wording import (
    config_value,
    doc_paragraphs,
    doc_text,
    number,
    patch_text,
    plural,
    times,
)

#: Words of the project's own documents that mean nothing to a user.
INTERNAL = re.compile(r"(?i)\bthe seed\b|\bseed's\b|\bSPEC\b|§|``")
#: Python reprs and HTML entities that must never be shown as text.
REPRS = re.compile(r"&[a-z#0-9]+;|\{'|'\}|= True\b|= False\b|\[[a-z_]+\.[a-z_]+ = ")
#: A decimal number (with its exponent, if any) in a sentence.
DECIMAL = re.compile(r"(?<![\w.])\d*\.\d+(?:e[+-]?\d+)?")
#: Ratios and other values that are not steps: ``1234567x``.
LONG_RATIO = re.compile(r"\d{5,}x\b")
#: Other frameworks, named only for foreign logs.
FRAMEWORKS = re.compile(r"(?i)hugging\s*face|lightning|keras|ultralytics|yolo")

OWN_CONFIG = {
    "name": "t",
    "data": {"dataset": "digits", "augment": False},
    "model": {"hidden": [64], "dropout": 0.0, "activation": "relu"},
    "optim": {"name": "adamw", "lr": 0.001, "weight_decay": 0.01},
    "schedule": {"kind": "constant", "warmup": 0.0, "decay": 0.0},
    "train": {"epochs": 1, "early_stopping": False, "clip_grad_norm": 0.0},
}

_N = 200
_RNG = np.random.default_rng(0)
#: Curves that make every rule fire, with numbers as large as a blown-up run's.
CASES = {
    "nan": dict(train_loss=[100, 50, 200, 10, 500, math.nan]),
    "hidden-nan": dict(train_loss=decay(60), grad_norm=np.r_[np.ones(40), [np.nan], np.ones(19)]),
    "blow-up": dict(train_loss=np.r_[decay(50), [1e6, 1e12, 1.4e24, 1.4e24, 1.4e24]]),
    "overfit": dict(train_loss=decay(_N), val_loss=epochs(
        np.r_[np.linspace(1.0, 0.5, 10), np.linspace(0.52, 0.9, 10)], every=10)),
    "slow": dict(train_loss=np.linspace(100, 95, _N) * (1 + 0.001 * _RNG.standard_normal(_N))),
    "flat": dict(train_loss=np.full(_N, 2.302) + 1e-5 * _RNG.standard_normal(_N)),
    "bouncing": dict(val_loss=epochs(np.tile([2.0, 1.5, 1.0, 0.5], 8), every=10)),
    "spike": dict(train_loss=decay(_N, noise=0.01),
                  grad_norm=np.r_[np.ones(150), [7.9e19], np.ones(49)]),
    "gap": dict(train_loss=decay(_N), train_accuracy=epochs(np.linspace(0.5, 0.99, 10), 20),
                val_accuracy=epochs(np.linspace(0.4, 0.75, 10), 20)),
}


@pytest.fixture(scope="module")
def diagnoses():
    """Each case diagnosed as a foreign log and as traindoc's own run."""
    return {(name, own): run(config=OWN_CONFIG if own else None, **roles)
            for name, roles in CASES.items() for own in (False, True)}


def too_precise(text: str) -> list[str]:
    """Numbers shown with more than 4 significant digits (steps and counts are integers
    and exact; a measured value or a ratio is not)."""
    found = [m.group() for m in DECIMAL.finditer(text)
             if len(m.group().split("e")[0].replace(".", "").lstrip("0")) > 4]
    ratios = [r for r in LONG_RATIO.findall(text.replace(",", "")) if len(r[:-1].rstrip("0")) > 4]
    return found + ratios


def _user_texts(diagnoses) -> list[str]:
    texts = []
    for rule_id, rule in RULES_BY_ID.items():
        texts += [explain(rule_id), rule.title]
    for entry in CATALOGUE.values():
        texts += [entry.text, entry.snippet]
    for d in diagnoses.values():
        for f in d.findings:
            texts += [f.title, f.evidence] + [r.text for r in f.remedies]
        texts.append(text_block(d, run="runs/x"))
    return texts


def test_the_corpus_makes_every_rule_fire(diagnoses):
    fired = {f.rule for d in diagnoses.values() for f in d.findings}
    assert fired >= set(RULES_BY_ID) - {"metric-mismatch"}


def test_no_internal_words_reach_users(diagnoses):
    for text in _user_texts(diagnoses):
        assert not INTERNAL.search(text), text


def test_rule_docs_use_text_every_font_shows():
    for rule_id, rule in RULES_BY_ID.items():
        for text in (explain(rule_id), rule.title):
            wide = [c for c in text if ord(c) > 0xFF]
            assert not wide, (rule_id, wide)


def test_no_reprs_entities_or_long_numbers(diagnoses):
    for text in _user_texts(diagnoses):
        assert not REPRS.search(text), text
        if "import" not in text and "torch." not in text:  # snippets are code
            assert not too_precise(text), text


def test_huge_ratios_read_in_four_digits(diagnoses):
    blown = diagnoses["blow-up", True].primary.evidence
    assert "exploded to 1.4e+24" in blown and "9.98e+24x the lowest level" in blown
    spike = next(f for f in diagnoses["spike", True].findings if f.rule == "grad-explosion")
    assert "7.9e+19x its running median" in spike.evidence
    assert "(1 spike of 10x or more)" in spike.evidence


def test_oscillation_counts_its_progress_in_words(diagnoses):
    evidence = diagnoses["bouncing", False].primary.evidence
    assert evidence.endswith("since its start (1.5) it gained 0.3 of one swing")


def test_text_report_shows_config_changes_as_a_config_file_does():
    d = run(config=OWN_CONFIG, train_loss=decay(_N), val_loss=epochs(
        np.r_[np.linspace(1.0, 0.5, 10), np.linspace(0.52, 0.9, 10)], every=10))
    text = text_block(d, run="r")
    assert "(config: train.early_stopping = true)" in text
    assert "True" not in text and "[train." not in text


def test_own_runs_never_blame_another_framework(diagnoses):
    for (name, own), d in diagnoses.items():
        if own:
            for f in d.findings:
                assert not FRAMEWORKS.search(f.evidence + f.title), (name, f.evidence)
    foreign = diagnoses["hidden-nan", False].primary.evidence
    assert "HuggingFace Trainer" in foreign  # a foreign log may come from it
    own = diagnoses["hidden-nan", True].primary.evidence
    assert own.startswith("grad_norm became NaN at step 40 (1 non-finite point) while the "
                          "logged loss stayed finite;")


REALRUNS = Path(__file__).resolve().parents[2].parent / "shared" / "realruns"


@pytest.mark.skipif(not REALRUNS.is_dir(), reason=f"{REALRUNS} is absent")
def test_real_logs_read_in_plain_words():
    from traindoc.engine.run_diagnosis import diagnose_log
    from traindoc.engine.tb.reader import load_path

    checked = 0
    for folder in sorted(p for p in REALRUNS.iterdir() if p.is_dir()):
        logs = load_path(folder)
        if not logs:
            continue
        d = diagnose_log(logs[0])
        text = text_block(d, run="run")
        assert not INTERNAL.search(text) and not REPRS.search(text), (folder.name, text)
        assert not too_precise(text), (folder.name, too_precise(text))
        assert not re.search(r"\b1 (?:epochs|steps|points|evaluations|spikes|values)\b", text)
        checked += bool(d.findings)
    assert checked >= 20


def test_too_precise_finds_long_numbers():
    assert too_precise("0.0010000000047497454 and 7.94321e+19 and 1234567x") == [
        "0.0010000000047497454", "7.94321e+19", "1234567x"]
    assert too_precise("steps 253952-1000448: 0.0002655, 7.9e+19, 1,234x, 12,345 points, "
                       "110,000x") == []


def test_numbers_and_ratios():
    assert number(7.9e19) == "7.9e+19" and number(0.0010000000047497454) == "0.001"
    assert number(float("nan")) == "NaN" and number(-float("inf")) == "-Inf"
    assert times(50.0) == "50x" and times(2.46) == "2.5x" and times(1234.4) == "1,234x"
    assert times(110_164.0) == "110,000x" and times(100_000.0) == "100,000x"
    assert times(79_000_000_000_000_000_000.0) == "7.9e+19x"


def test_plurals():
    assert plural(1, "epoch") == "1 epoch" and plural(2, "epoch") == "2 epochs"
    assert plural(0, "step") == "0 steps" and plural(12345, "point") == "12,345 points"
    assert plural(2, "child", "children") == "2 children"


def test_config_values_and_patches_read_like_the_config_file():
    assert config_value(True) == "true" and config_value("adamw") == "adamw"
    assert config_value([128, 128]) == "[128, 128]" and config_value(1e-05) == "1e-05"
    assert config_value(np.float64(0.5)) == "0.5" and config_value(1.0) == "1.0"
    assert config_value(5) == "5"
    patch = {"optim.lr": 0.5, "optim.name": "adamw", "train.early_stopping": True}
    assert patch_text(patch) == "optim.lr = 0.5, optim.name = adamw, train.early_stopping = true"
    assert (patch_text({"optim.lr": 0.001}, {"optim.lr": 0.01}, arrow="→")
            == "optim.lr 0.01 → 0.001")
    remedy = remedies_for("overfitting", None, OWN_CONFIG)[0]
    assert patch_text(remedy.patch) == "train.early_stopping = true"


def test_rule_docs_reflow_into_paragraphs():
    pairs = doc_paragraphs(explain("nan-loss"))
    assert pairs[0] == ("", "The loss became NaN or Inf.")
    headings = [h for h, _ in pairs if h]
    assert headings == ["What it detects", "Why it matters", "Example", "Remedies"]
    why = dict(pairs)["Why it matters"]
    assert "\n" not in why and why.startswith("Once the weights hold NaN, every later step")
    text = doc_text(explain("slow-descent"))
    assert text.endswith("Nothing is said while the learning rate is still warming up.")
    assert "\n\nWhen the run's config is known, the learning rate decides too:" in text
