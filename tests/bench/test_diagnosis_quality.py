"""The quality bench's pure arithmetic: verdicts, leave-one-repository-out, tables.

A tiny synthetic table of verdicts stands in for the real runs: no event files, no
training, no rules.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import diagnosis_quality as dq  # noqa: E402

from traindoc.diagnostics.calibration import DEFAULT  # noqa: E402
from traindoc.diagnostics.types import Diagnosis, Finding, Severity, Status  # noqa: E402

H, OV, U, D = "healthy", "overfitting", "underfitting", "diverging"


def finding(rule: str, severity: Severity) -> Finding:
    return Finding(rule, severity, "t", 0, 1, "e")


# --------------------------------------------------------------------------- verdicts


def test_verdict_follows_status_then_primary_rule_family():
    assert dq.verdict(Diagnosis(Status.INSUFFICIENT_DATA)) == dq.TOO_SHORT
    assert dq.verdict(Diagnosis(Status.HEALTHY)) == H
    # an info finding is a note: still healthy
    assert dq.verdict(Diagnosis(Status.HEALTHY, (finding("overfitting", Severity.INFO),))) == H
    d = Diagnosis(Status.PROBLEMS, (finding("slow-descent", Severity.INFO),
                                    finding("nan-loss", Severity.ERROR),
                                    finding("overfitting", Severity.WARNING)))
    assert dq.verdict(d) == D  # the primary is the first alarm: nan-loss
    assert dq.verdict(Diagnosis(Status.PROBLEMS, (finding("slow-descent", Severity.WARNING),))) \
        == "plateau-slow"
    assert dq.verdict(Diagnosis(Status.PROBLEMS, (finding("oscillation", Severity.WARNING),))) \
        == "oscillating"
    assert dq.verdict(Diagnosis(Status.PROBLEMS, (finding("new-rule", Severity.WARNING),))) \
        == "other:new-rule"
    assert dq.verdict(None) == dq.UNREADABLE


def test_worst_alarm_and_findings_text():
    d = Diagnosis(Status.PROBLEMS, (finding("divergence", Severity.WARNING),
                                    finding("nan-loss", Severity.ERROR),
                                    finding("slow-descent", Severity.INFO)))
    o = dq.outcome(d)
    assert o.alarm == "error"
    assert o.findings == ("divergence:warning:high nan-loss:error:high "
                          "slow-descent:info:high")
    info_only = Diagnosis(Status.HEALTHY, (finding("slow-descent", Severity.INFO),))
    assert dq.worst_alarm(info_only) == ""
    assert dq.outcome(Diagnosis(Status.HEALTHY)).findings == "-"


# --------------------------------------------------------------------------- the grid


def test_grid_points_are_the_cartesian_product_and_distance_counts_changed_fields():
    a, b = [f.name for f in dataclasses.fields(DEFAULT)][:2]
    da, db = getattr(DEFAULT, a), getattr(DEFAULT, b)
    grid = {a: (da, da + 1, da + 2), b: (db, db * 2)}
    points = dq.grid_points(grid)
    assert len(points) == 6
    assert points[0] == {a: da, b: db} and points[1] == {a: da, b: db * 2}
    assert [dq.distance(p) for p in points] == [0, 1, 1, 2, 1, 2]
    cal = dq.calibration_of(points[5])
    assert getattr(cal, a) == da + 2 and getattr(cal, b) == db * 2
    assert dq.describe(points[0]) == "DEFAULT"


# --------------------------------------------------------------------------- selection

# Six runs from three repositories; three grid points (0 is the default).
LABELS = [H, OV, H, U, OV, D]
REPOS = ["r1", "r1", "r2", "r2", "r3", "r3"]
DIST = [0, 1, 2]


def test_best_point_counts_only_the_given_runs():
    table = [
        [H, OV, H, H, H, H],  # 3/6
        [OV, OV, H, U, OV, H],  # 4/6
        [H, H, H, U, OV, D],  # 5/6
    ]
    assert dq.best_point(LABELS, table, DIST, range(6)) == 2
    # r1 alone: point 0 gets 2/2, points 1 and 2 get 1/2
    assert dq.best_point(LABELS, table, DIST, [0, 1]) == 0
    assert dq.best_point(LABELS, table, DIST, [4, 5]) == 2


def test_ties_go_to_the_point_closest_to_default_then_grid_order():
    table = [[OV] * 6, [H, OV, H, U, OV, D], [H, OV, H, U, OV, D], [H, OV, H, U, OV, D]]
    # points 1..3 agree equally (6/6); the closest to the default wins
    assert dq.best_point(LABELS, table, [0, 2, 1, 1], range(6)) == 2
    # equal distance too: the earlier point
    assert dq.best_point(LABELS, table, [0, 1, 1, 1], range(6)) == 1


def test_a_repository_is_judged_with_the_point_chosen_on_the_others():
    # r1's runs are perfect under point 2 and wrong under point 1;
    # r2 and r3 are perfect under point 1 and wrong under point 2.
    table = [
        [H, H, H, H, H, H],  # r1 1/2, r2 1/2, r3 0/2
        [OV, H, H, U, OV, D],  # r1 0/2, r2 2/2, r3 2/2
        [H, OV, OV, OV, H, H],  # r1 2/2, r2 0/2, r3 0/2
    ]
    verdicts, chosen = dq.leave_one_repo_out(LABELS, REPOS, table, DIST)
    # without r1: r2+r3 -> point 0: 1, point 1: 4, point 2: 0
    assert chosen["r1"] == 1  # r1 judged with point 1, which is worst for r1
    # without r2: r1+r3 -> point 0: 1+0, point 1: 0+2, point 2: 2+0 -> tie 1 vs 2, closer wins
    assert chosen["r2"] == 1
    # without r3: r1+r2 -> point 0: 2, point 1: 2, point 2: 2 -> all tie, default wins
    assert chosen["r3"] == 0
    assert verdicts == [OV, H, H, U, H, H]
    assert dq.agreement(LABELS, verdicts) == 2
    # in-sample, point 1 would get 4/6: LORO is lower, as it should be here
    assert dq.agreement(LABELS, table[1]) == 4


def test_a_repositorys_own_runs_never_influence_its_choice():
    base = [
        [H, H, H, H, H, H],
        [OV, H, H, U, OV, D],
        [H, OV, OV, OV, H, H],
    ]
    _, chosen = dq.leave_one_repo_out(LABELS, REPOS, base, DIST)
    # rewrite r1's verdicts under every point (make point 2 perfect for r1 by far)
    changed = [row[:] for row in base]
    changed[0][:2] = [U, U]
    changed[1][:2] = [D, D]
    changed[2][:2] = [H, OV]
    _, chosen2 = dq.leave_one_repo_out(LABELS, REPOS, changed, DIST)
    assert chosen2["r1"] == chosen["r1"]


def test_a_single_repository_falls_back_to_the_closest_point():
    verdicts, chosen = dq.leave_one_repo_out([H, OV], ["r", "r"], [[OV, OV], [H, OV]], [1, 0])
    assert chosen == {"r": 1}  # no other run: every point scores 0, the default wins
    assert verdicts == [H, OV]


# --------------------------------------------------------------------------- tables


def test_confusion_and_precision_recall_arithmetic():
    labels = [H, H, H, OV, OV, U, D]
    verdicts = [H, H, OV, OV, H, dq.UNREADABLE, D]
    c = dq.confusion(labels, verdicts)
    assert c[(H, H)] == 2 and c[(H, OV)] == 1 and c[(OV, OV)] == 1 and c[(OV, H)] == 1
    assert c[(U, dq.UNREADABLE)] == 1 and c[(D, D)] == 1
    assert sum(c.values()) == len(labels)
    # healthy: given to 3 runs, 2 of them healthy; 3 healthy runs, 2 found
    assert dq.precision_recall(labels, verdicts, H) == pytest.approx((2 / 3, 2 / 3))
    # overfitting: given to 2 (1 right); 2 labelled (1 found)
    assert dq.precision_recall(labels, verdicts, OV) == pytest.approx((0.5, 0.5))
    # underfitting: never given -> no precision; 1 labelled, 0 found
    assert dq.precision_recall(labels, verdicts, U) == (None, 0.0)
    # plateau-slow: neither given nor labelled
    assert dq.precision_recall(labels, verdicts, "plateau-slow") == (None, None)
    assert dq.agreement(labels, verdicts) == 4
    assert dq.ordered(verdicts) == [*dq.LABELS, dq.UNREADABLE]


def test_random_tables_choice_depends_only_on_other_repositories():
    import random

    rng = random.Random(9)
    kinds = list(dq.LABELS)
    for _ in range(50):
        n, n_points = 12, 7
        labels = [rng.choice(kinds) for _ in range(n)]
        repos = [f"r{rng.randrange(4)}" for _ in range(n)]
        table = [[rng.choice(kinds) for _ in range(n)] for _ in range(n_points)]
        dist = [rng.randrange(3) for _ in range(n_points)]
        verdicts, chosen = dq.leave_one_repo_out(labels, repos, table, dist)
        for repo, p in chosen.items():
            mine = [i for i in range(n) if repos[i] == repo]
            others = [i for i in range(n) if repos[i] != repo]
            scores = [sum(labels[i] == table[q][i] for i in others) for q in range(n_points)]
            top = max(scores)
            near = min(dist[q] for q in range(n_points) if scores[q] == top)
            assert p == min(q for q in range(n_points) if scores[q] == top and dist[q] == near)
            assert all(verdicts[i] == table[p][i] for i in mine)
            scrambled = [row[:] for row in table]
            for row in scrambled:
                for i in mine:
                    row[i] = rng.choice(kinds)
            assert dq.leave_one_repo_out(labels, repos, scrambled, dist)[1][repo] == p
