"""Remedy patches (SPEC §4's table), already-tried ordering and the next remedy."""

from __future__ import annotations

import pytest

from traindoc.diagnostics.remedies import CATALOGUE, ORDER, mark_tried, remedies_for, remedy
from traindoc.diagnostics.types import Diagnosis, Finding, Severity, Status

CONFIG = {
    "data": {"dataset": "digits", "augment": False},
    "model": {"arch": "mlp", "hidden": [256, 256], "dropout": 0.0, "activation": "relu"},
    "optim": {"name": "adamw", "lr": 0.001, "momentum": 0.9, "weight_decay": 0.01},
    "schedule": {"kind": "constant", "warmup": 0.0},
    "train": {"epochs": 20, "clip_grad_norm": 0.0, "early_stopping": False, "patience": 5},
}


def _patch(rid, config=CONFIG, rule=""):
    return remedy(rid, config, rule=rule).patch


@pytest.mark.parametrize(
    ("rid", "rule", "expected"),
    [
        ("lower-lr", "", {"optim.lr": 0.0001}),
        ("raise-lr", "slow-descent", {"optim.lr": 0.01}),
        ("raise-lr", "underfitting", {"optim.lr": 0.002}),
        ("add-warmup", "", {"schedule.warmup": 0.05, "schedule.kind": "warmup-plateau-decay"}),
        ("clip-grad", "", {"train.clip_grad_norm": 1.0}),
        ("gelu", "", {"model.activation": "gelu"}),
        ("early-stopping", "", {"train.early_stopping": True}),
        ("more-dropout", "", {"model.dropout": 0.3}),
        ("augment", "", {"data.augment": True}),
        ("smaller-model", "", {"model.hidden": [128, 128]}),
        ("bigger-model", "", {"model.hidden": [512, 512]}),
        ("train-longer", "", {"train.epochs": 40}),
        ("check-data", "", None),
        ("more-data", "", None),
        ("better-model", "", None),
        ("check-loss", "metric-mismatch", None),
    ],
)
def test_patches(rid, rule, expected):
    assert _patch(rid, rule=rule) == expected


def test_switch_to_adam_and_weight_decay_follow_the_optimizer():
    sgd = {**CONFIG, "optim": {"name": "sgd", "lr": 0.1, "weight_decay": 0.0}}
    assert _patch("switch-to-adam", sgd) == {"optim.name": "adamw", "optim.lr": 0.001}
    assert _patch("weight-decay", sgd) == {"optim.weight_decay": 1e-4}
    adamw = {**CONFIG, "optim": {"name": "adamw", "lr": 0.001, "weight_decay": 0.0}}
    assert _patch("weight-decay", adamw) == {"optim.weight_decay": 0.01}


def test_more_dropout_range():
    cfg = {**CONFIG, "model": {**CONFIG["model"], "dropout": 0.35}}
    assert _patch("more-dropout", cfg) == {"model.dropout": 0.45}
    cfg = {**CONFIG, "model": {**CONFIG["model"], "dropout": 0.5}}
    assert remedy("more-dropout", cfg).already_tried


def test_augment_is_text_only_for_non_images():
    cfg = {**CONFIG, "data": {"dataset": "spirals", "augment": False}}
    assert _patch("augment", cfg) is None


def test_unknown_config_gives_text_and_snippet_only():
    for r in remedies_for("nan-loss", "grad-explosion"):
        assert r.patch is None and not r.already_tried and r.text
    assert "clip_grad_norm_(model.parameters(), max_norm=1.0)" in CATALOGUE["clip-grad"].snippet
    assert "GradScaler" in CATALOGUE["mixed-precision"].snippet
    assert "accumulation_steps" in CATALOGUE["grad-accumulation"].snippet
    assert "LambdaLR" in CATALOGUE["add-warmup"].snippet


def test_remedy_already_in_place_is_listed_last_as_tried():
    cfg = {**CONFIG, "schedule": {"kind": "warmup-plateau-decay", "warmup": 0.05}}
    ids = [(r.id, r.already_tried) for r in remedies_for("divergence", None, cfg)]
    assert ids == [("lower-lr", False), ("clip-grad", False), ("add-warmup", True)]


def next_remedy(rule, cause=None, config=None, already_applied=()):
    """The next remedy for ``rule`` once the fixes ``already_applied`` along the lineage
    did not resolve it (what the GUI offers after a fix: :func:`mark_tried`)."""
    finding = Finding(rule, Severity.WARNING, rule, 0, 1, "",
                      remedies=remedies_for(rule, cause, config))
    diagnosis = mark_tried(Diagnosis(Status.PROBLEMS, (finding,)), {rule: set(already_applied)})
    return diagnosis.findings[0].next_remedy()


def test_next_remedy_after_a_fix_that_did_not_resolve():
    assert next_remedy("oscillation", None, CONFIG).id == "lower-lr"
    after = next_remedy("oscillation", None, CONFIG, already_applied=("lower-lr",))
    assert after.id == "add-warmup"
    done = ("lower-lr", "add-warmup", "clip-grad")
    assert next_remedy("oscillation", None, CONFIG, already_applied=done) is None
    finding = Finding("oscillation", Severity.WARNING, "", 0, 1, "",
                      remedies=remedies_for("oscillation", None, CONFIG))
    marked = mark_tried(Diagnosis(Status.PROBLEMS, (finding,)), {"oscillation": {"lower-lr"}})
    remedies = marked.findings[0].remedies
    assert [r.id for r in remedies] == ["add-warmup", "clip-grad", "lower-lr"]
    assert [r.already_tried for r in remedies] == [False, False, True]
    assert mark_tried(marked, {}) is marked and mark_tried(None, {"x": {"y"}}) is None


def test_nan_remedies_follow_the_cause():
    assert remedies_for("nan-loss", "lr-too-large")[0].id == "lower-lr"
    assert remedies_for("nan-loss", "grad-explosion")[0].id == "clip-grad"
    assert remedies_for("nan-loss", "data")[0].id == "check-data"


def test_every_ordered_remedy_is_in_the_catalogue():
    for ids in ORDER.values():
        assert set(ids) <= set(CATALOGUE)


def test_patches_stay_within_what_a_config_accepts():
    # Every offered fix must pass traindoc.engine.config's validation at the edges of the ranges.
    from traindoc.diagnostics.remedies import remedy

    wide = {"model": {"hidden": [40000], "dropout": 0.0}, "train": {"epochs": 60000}}
    assert remedy("bigger-model", wide).patch == {"model.hidden": [65536]}
    assert remedy("train-longer", wide).patch == {"train.epochs": 100000}
    sched = {"schedule": {"kind": "constant", "warmup": 0.0, "decay": 1.0}}
    patch = remedy("add-warmup", sched).patch
    assert patch["schedule.warmup"] == 0.05 and patch["schedule.decay"] == 0.95
    assert patch["schedule.warmup"] + patch["schedule.decay"] <= 1.0


def test_more_dropout_never_lowers_dropout():
    from traindoc.diagnostics.remedies import remedy

    r = remedy("more-dropout", {"model": {"dropout": 0.7}})
    assert r.already_tried and r.patch == {"model.dropout": 0.7}
    assert remedy("more-dropout", {"model": {"dropout": 0.1}}).patch == {"model.dropout": 0.3}


def test_underfitting_raise_lr_snippet_matches_its_patch():
    from traindoc.diagnostics.remedies import remedy

    r = remedy("raise-lr", {"optim": {"lr": 0.01}}, rule="underfitting")
    assert r.patch == {"optim.lr": 0.02} and "*= 2" in r.snippet
    slow = remedy("raise-lr", {"optim": {"lr": 0.01}}, rule="slow-descent")
    assert slow.patch == {"optim.lr": 0.1} and "*= 10" in slow.snippet


def test_metric_mismatch_checks_the_loss_then_lowers_the_lr():
    # Foreign logs: text and snippets only.
    bare = remedies_for("metric-mismatch", None)
    assert [r.id for r in bare] == ["check-loss", "lower-lr"]
    assert all(r.patch is None and not r.already_tried for r in bare)
    check = bare[0]
    assert "finite" in check.text and "sign" in check.text and "target" in check.text
    assert "isfinite(loss)" in check.snippet and "add_scalar" in check.snippet
    assert "dtype" in check.snippet
    # Our runs: check-loss stays text only, lower-lr gets its patch.
    ours = remedies_for("metric-mismatch", None, CONFIG)
    assert [(r.id, r.patch) for r in ours] == [("check-loss", None),
                                               ("lower-lr", {"optim.lr": 0.0001})]
    assert next_remedy("metric-mismatch", None, CONFIG).id == "check-loss"
    after = next_remedy("metric-mismatch", None, CONFIG, already_applied=("check-loss",))
    assert after.id == "lower-lr"
    # A cause the table does not list falls back to the rule's order.
    assert [r.id for r in remedies_for("metric-mismatch", "degenerate-loss", CONFIG)] == [
        "check-loss", "lower-lr"]


def test_every_rule_of_the_spec_has_an_order():
    rules = {rule for rule, _ in ORDER}
    assert rules >= {"nan-loss", "divergence", "oscillation", "slow-descent", "overfitting",
                     "underfitting", "grad-explosion", "metric-mismatch"}
