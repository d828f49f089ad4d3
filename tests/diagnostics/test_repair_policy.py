"""diagnostics.repair_policy: the repair loop's decisions, without training anything.

Outcomes are built by hand; the simulated loops at the end drive the policy the way
:class:`traindoc.engine.repair.session.RepairSession` does, over a small "world" that
maps a config to what its run would show, with the real remedy catalogue's patches.
"""

from __future__ import annotations

from typing import Any

import pytest

from traindoc.diagnostics import repair_policy as rp
from traindoc.diagnostics.remedies import remedies_for
from traindoc.diagnostics.repair_policy import Attempt, Effect, Objective, Outcome
from traindoc.diagnostics.types import Diagnosis, Finding, Remedy, Severity, Status

E, W, NOTE = Severity.ERROR, Severity.WARNING, Severity.INFO
BASE = {"name": "digits-sgd-lr20", "optim.name": "sgd", "optim.lr": 20.0,
        "train.clip_grad_norm": 0.0, "schedule.kind": "warmup-plateau-decay",
        "schedule.warmup": 0.05, "schedule.decay": 0.25, "train.device": "cpu"}


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        section, _, name = key.partition(".")
        if name:
            out.setdefault(section, {})[name] = value
        else:
            out[section] = value
    return out


def finding(rule: str, severity: Severity = E, start: int = 1, end: int = 10,
            remedies: tuple[Remedy, ...] = ()) -> Finding:
    return Finding(rule, severity, rule, start, end, "evidence", remedies=remedies)


def outcome(*findings: Finding, acc: float | None = 0.1, finished: bool = True,
            steps: int = 115) -> Outcome:
    status = Status.PROBLEMS if any(f.alarm for f in findings) else Status.HEALTHY
    return Outcome(Diagnosis(status, tuple(findings)), Objective("val_accuracy", acc, True),
                   finished=finished, total_steps=steps)


def patch_of(flat: dict[str, Any]):
    def build(patch: dict[str, Any]) -> dict[str, Any]:
        return {**flat, **patch}

    return build


# ------------------------------------------------------------------ objective


def test_an_objective_moves_only_beyond_the_noise_of_a_short_run():
    acc = Objective("val_accuracy", 0.10, True)
    assert Objective("val_accuracy", 0.115, True).better_than(acc) is None  # 1.5 points
    assert Objective("val_accuracy", 0.13, True).better_than(acc) is True
    assert Objective("val_accuracy", 0.07, True).better_than(acc) is False


def test_a_loss_is_better_lower_and_relative_tolerance_scales_with_it():
    loss = Objective("val_loss", 100.0, False)
    assert Objective("val_loss", 99.0, False).better_than(loss) is None  # 1% < 2%
    assert Objective("val_loss", 90.0, False).better_than(loss) is True
    assert Objective("val_loss", 110.0, False).better_than(loss) is False


@pytest.mark.parametrize("other", [Objective("val_loss", 0.5, False),
                                   Objective("val_accuracy", None, True),
                                   Objective("val_accuracy", float("nan"), True)])
def test_objectives_of_another_role_or_without_a_value_do_not_compare(other):
    assert Objective("val_accuracy", 0.9, True).better_than(other) is None
    assert other.better_than(Objective("val_accuracy", 0.9, True)) is None


# ------------------------------------------------------------------ judge


def test_a_healthy_child_resolves_even_when_it_is_not_more_accurate():
    parent = outcome(finding("overfitting", W), acc=0.95)
    child = outcome(finding("overfitting", NOTE), acc=0.90)
    assert child.healthy and not parent.healthy
    assert rp.judge(parent, child, "overfitting") is Effect.RESOLVED


def test_a_child_that_failed_where_its_parent_ran_made_things_worse():
    parent = outcome(finding("slow-descent", W))
    child = outcome(acc=None, finished=False)
    assert not child.healthy  # no finding, but it never ran to its end
    assert rp.judge(parent, child, "slow-descent") is Effect.WORSE


def test_an_error_from_a_rule_the_parent_did_not_show_at_all_is_worse():
    parent = outcome(finding("oscillation", W))
    child = outcome(finding("oscillation", W), finding("nan-loss", E))
    assert rp.judge(parent, child, "oscillation") is Effect.WORSE


def test_an_error_that_was_a_note_before_is_not_new_and_a_later_blowup_helped():
    """SGD lr 20 -> 2: the loss explodes at step 35 instead of 10, and the gradient
    explosion the parent showed as a note is now an error: lower-lr helped."""
    parent = outcome(finding("divergence", E, 1, 10), finding("nan-loss", W, 16, 115),
                     finding("grad-explosion", NOTE, 16, 115), acc=0.103)
    child = outcome(finding("nan-loss", E, 36, 38), finding("divergence", E, 1, 35),
                    finding("grad-explosion", E, 36, 38), acc=0.097, steps=38)
    assert rp.judge(parent, child, "divergence") is Effect.HELPED


def test_a_worse_objective_is_worse_even_with_the_rule_gone():
    parent = outcome(finding("overfitting", W), acc=0.90)
    child = outcome(finding("underfitting", W), acc=0.60)
    assert rp.judge(parent, child, "overfitting") is Effect.WORSE


def test_the_rule_gone_with_another_warning_left_is_resolved():
    parent = outcome(finding("divergence", E), acc=0.10)
    child = outcome(finding("slow-descent", W), acc=0.50)
    assert rp.judge(parent, child, "divergence") is Effect.RESOLVED


def test_a_better_objective_with_the_rule_still_there_helped():
    parent = outcome(finding("slow-descent", W), acc=0.11)
    child = outcome(finding("slow-descent", W), acc=0.40)
    assert rp.judge(parent, child, "slow-descent") is Effect.HELPED


def test_a_milder_severity_helped_and_a_harsher_one_did_not():
    parent = outcome(finding("divergence", E))
    assert rp.judge(parent, outcome(finding("divergence", W)), "divergence") is Effect.HELPED
    warn = outcome(finding("divergence", W))
    assert rp.judge(warn, outcome(finding("divergence", E)), "divergence") is Effect.NO_HELP


def test_the_same_finding_at_the_same_place_did_not_help():
    parent = outcome(finding("divergence", E, 1, 10))
    child = outcome(finding("divergence", E, 1, 13))  # 3 steps later: within 5% of 115
    assert rp.judge(parent, child, "divergence") is Effect.NO_HELP


def test_without_a_shared_objective_the_first_role_both_measured_decides():
    # lr 100 diverged after evaluating (val accuracy 0.10, best train loss 2.303); lr 10
    # blew up to NaN before its first evaluation, but only after its loss reached 2.144.
    parent = Outcome(Diagnosis(Status.PROBLEMS, (finding("divergence"),)),
                     Objective("val_accuracy", 0.1003, True),
                     others=(Objective("train_loss", 2.303, False),))
    child = Outcome(Diagnosis(Status.PROBLEMS, (finding("divergence"),)),
                    Objective("train_loss", 2.144, False))
    assert rp.compared(child, parent) == ("train_loss", True)
    assert rp.judge(parent, child, "divergence") is Effect.HELPED
    # Nothing measured in common: no comparison, and the same finding did not help.
    lost = Outcome(Diagnosis(Status.PROBLEMS, (finding("divergence"),)),
                   Objective("val_loss", None, False))
    assert rp.compared(lost, parent) is None
    assert rp.judge(parent, lost, "divergence") is Effect.NO_HELP


def test_a_blowup_an_order_of_magnitude_smaller_helped():
    # SGD at lr 1000 throws the loss to 1e27 times its start; at lr 100 to 192 times.
    def blowup(size):
        return Finding("divergence", E, "Loss diverged", 1, 6, "evidence", size=size)
    parent = outcome(blowup(1.7e27))
    assert rp.judge(parent, outcome(blowup(192.0)), "divergence") is Effect.HELPED
    # Three times smaller is not an order of magnitude; an unmeasured one never counts.
    assert rp.judge(outcome(blowup(600.0)), outcome(blowup(200.0)),
                    "divergence") is Effect.NO_HELP
    assert rp.judge(outcome(blowup(None)), outcome(blowup(2.0)), "divergence") is Effect.NO_HELP
    # A finding of another kind (a spike the run recovered from) is not comparable.
    spike = Finding("divergence", E, "Loss spiked and recovered", 1, 6, "evidence", size=2.0)
    assert rp.judge(parent, outcome(spike), "divergence") is Effect.NO_HELP


def test_an_onset_clearly_later_in_the_run_helped():
    parent = outcome(finding("nan-loss", E, 16, 115))
    assert rp.judge(parent, outcome(finding("nan-loss", E, 60, 115)), "nan-loss") is Effect.HELPED


# ------------------------------------------------------------------ rollback and ranking


def attempt(index: int, effect: Effect | None, out: Outcome | None, *, parent=None,
            rule: str = "", remedy: str = "", config: dict | None = None) -> Attempt:
    config = config if config is not None else {**BASE, "optim.lr": 20.0 / 10**index}
    return Attempt(index, config, parent=parent, rule=rule, remedy=remedy, outcome=out,
                   effect=effect)


def test_the_next_attempt_starts_from_the_last_run_unless_it_made_things_worse():
    first = attempt(0, None, outcome(finding("divergence"), acc=0.3))
    helped = attempt(1, Effect.HELPED, outcome(finding("divergence"), acc=0.5), parent=0)
    assert rp.base_of([first, helped]) is helped
    worse = attempt(2, Effect.WORSE, outcome(finding("divergence"), finding("nan-loss"),
                                             acc=0.1), parent=1)
    assert rp.base_of([first, helped, worse]) is helped  # rolled back to the best


def test_a_run_without_an_outcome_is_never_the_base():
    first = attempt(0, None, outcome(finding("divergence")))
    stopped = attempt(1, None, None, parent=0)
    assert rp.base_of([first, stopped]) is first


def test_best_ranks_healthy_then_fewer_errors_then_fewer_alarms_then_the_objective():
    runs = [attempt(0, None, outcome(finding("divergence"), acc=0.9)),
            attempt(1, Effect.HELPED, outcome(finding("slow-descent", W), acc=0.2)),
            attempt(2, Effect.HELPED, outcome(finding("slow-descent", W), acc=0.4)),
            attempt(3, Effect.HELPED, outcome(finding("slow-descent", W),
                                              finding("oscillation", W), acc=0.8))]
    assert rp.best(runs).index == 2
    assert rp.best([*runs, attempt(4, Effect.RESOLVED, outcome(acc=0.3))]).index == 4


def test_final_is_the_first_healthy_run_else_the_best():
    runs = [attempt(0, None, outcome(finding("divergence"))),
            attempt(1, Effect.RESOLVED, outcome(acc=0.93)),
            attempt(2, Effect.RESOLVED, outcome(acc=0.95))]
    assert rp.final(runs).index == 1
    assert rp.final(runs[:1]).index == 0


# ------------------------------------------------------------------ configs


def test_a_fingerprint_ignores_the_name_and_device_and_reads_2_as_2_0():
    a = {**BASE, "optim.lr": 2, "model.hidden": [4, 4]}
    b = {**BASE, "optim.lr": 2.0, "model.hidden": (4, 4), "name": "x-fix-lower-lr",
         "train.device": "cuda"}
    assert rp.fingerprint(a) == rp.fingerprint(b)
    assert rp.fingerprint(a) != rp.fingerprint({**a, "optim.lr": 0.2})


def test_config_diff_lists_changed_keys_in_order_without_the_name():
    first = {**BASE, "model.hidden": [4]}
    last = {**first, "name": "other", "optim.lr": 0.2, "model.hidden": [8]}
    assert rp.config_diff(first, last) == [("model.hidden", [4], [8]), ("optim.lr", 20.0, 0.2)]
    assert rp.config_diff(first, dict(first)) == []


# ------------------------------------------------------------------ choose


def remedies(rule: str, flat: dict[str, Any]) -> tuple[Remedy, ...]:
    return remedies_for(rule, None, nested(flat))


def test_choose_takes_the_top_alarm_and_its_first_remedy():
    first = attempt(0, None, outcome(finding("divergence", remedies=remedies("divergence", BASE)),
                                     finding("slow-descent", W)), config=BASE)
    decision = rp.choose([first], patch_of(BASE))
    assert decision.choice == rp.Choice(0, "divergence", "lower-lr", {"optim.lr": 2.0},
                                        {**BASE, "optim.lr": 2.0})
    assert decision.skipped == ()


def test_choose_skips_text_only_and_no_op_remedies_and_says_why():
    rems = (Remedy("check-data", "t"), Remedy("add-warmup", "t", patch={"schedule.warmup": 0.05},
                                              already_tried=True),
            Remedy("gelu", "t", patch={"model.activation": "gelu"}))
    first = attempt(0, None, outcome(finding("nan-loss", remedies=rems)), config=BASE)
    decision = rp.choose([first], patch_of(BASE))
    assert decision.choice.remedy == "gelu"
    assert [(s.remedy, s.why) for s in decision.skipped] == [
        ("check-data", "text only (no config change to apply)"),
        ("add-warmup", "already in place")]


def test_a_patch_that_changes_nothing_or_cannot_be_applied_is_skipped():
    rems = (Remedy("clip-grad", "t", patch={"train.clip_grad_norm": 0.0}),
            Remedy("lower-lr", "t", patch={"optim.lr": -1.0}),
            Remedy("add-warmup", "t", patch={"schedule.warmup": 0.1}))

    def build(patch):
        return None if patch.get("optim.lr", 1) < 0 else {**BASE, **patch}

    first = attempt(0, None, outcome(finding("divergence", remedies=rems)), config=BASE)
    decision = rp.choose([first], build)
    assert decision.choice.remedy == "add-warmup"
    assert [s.why for s in decision.skipped] == ["changes nothing",
                                                 "cannot be applied to this config"]


def test_a_remedy_that_did_not_help_or_made_things_worse_is_never_tried_again_for_that_rule():
    lr2 = {**BASE, "optim.lr": 2.0}
    first = attempt(0, None, outcome(finding("divergence", remedies=remedies("divergence", BASE))),
                    config=BASE)
    no_help = attempt(1, Effect.NO_HELP, outcome(
        finding("divergence", remedies=remedies("divergence", lr2))), parent=0,
        rule="divergence", remedy="lower-lr", config=lr2)
    decision = rp.choose([first, no_help], patch_of(lr2))
    assert decision.choice.remedy == "clip-grad"
    assert ("lower-lr", "did not help before") in [(s.remedy, s.why) for s in decision.skipped]
    worse = Attempt(1, lr2, parent=0, rule="divergence", remedy="lower-lr",
                    outcome=no_help.outcome, effect=Effect.WORSE)
    skipped = rp.choose([first, worse], patch_of(BASE)).skipped
    assert ("lower-lr", "made things worse before") in [(s.remedy, s.why) for s in skipped]


def test_a_remedy_that_helped_is_applied_again():
    lr2 = {**BASE, "optim.lr": 2.0}
    first = attempt(0, None, outcome(finding("divergence", remedies=remedies("divergence", BASE))),
                    config=BASE)
    helped = attempt(1, Effect.HELPED, outcome(
        finding("nan-loss", remedies=remedies("nan-loss", lr2)),
        finding("divergence", remedies=remedies("divergence", lr2))), parent=0,
        rule="divergence", remedy="lower-lr", config=lr2)
    choice = rp.choose([first, helped], patch_of(lr2)).choice
    # divergence stays the target although nan-loss is listed first.
    assert (choice.rule, choice.remedy, choice.patch) == ("divergence", "lower-lr",
                                                          {"optim.lr": 0.2})


def test_a_config_already_run_is_never_chosen_again():
    lr2 = {**BASE, "optim.lr": 2.0}
    # The run at lr 2 came from clip-grad's branch; lower-lr on the first run gives lr 2 too.
    first = attempt(0, None, outcome(finding("divergence", remedies=(
        Remedy("lower-lr", "t", patch={"optim.lr": 2.0}),
        Remedy("add-warmup", "t", patch={"schedule.warmup": 0.1})))), config=BASE)
    other = attempt(1, Effect.WORSE, outcome(finding("divergence"), finding("nan-loss")),
                    parent=0, rule="oscillation", remedy="lower-lr", config=lr2)
    decision = rp.choose([first, other], patch_of(BASE))
    assert decision.choice.remedy == "add-warmup"
    assert decision.skipped == (rp.Skip("divergence", "lower-lr", "that config was already run"),)


def test_nothing_is_chosen_for_a_healthy_base_or_when_every_remedy_is_spent():
    assert rp.choose([attempt(0, None, outcome(acc=0.95))], patch_of(BASE)).choice is None
    spent = attempt(0, None, outcome(finding("overfitting", W, remedies=(
        Remedy("more-data", "t"),))), config=BASE)
    decision = rp.choose([spent], patch_of(BASE))
    assert decision.choice is None and len(decision.skipped) == 1


def test_the_next_alarm_is_targeted_when_the_top_one_has_no_remedy_left():
    first = attempt(0, None, outcome(
        finding("nan-loss", remedies=(Remedy("check-data", "t"),)),
        finding("oscillation", W, remedies=(Remedy("lower-lr", "t", patch={"optim.lr": 2.0}),))),
        config=BASE)
    choice = rp.choose([first], patch_of(BASE)).choice
    assert (choice.rule, choice.remedy) == ("oscillation", "lower-lr")


# ------------------------------------------------------------------ simulated loops


def simulate(world, config: dict[str, Any], budget: int = 4) -> list[Attempt]:
    """The session's loop over a world (config -> Outcome), without processes."""
    attempts = [Attempt(0, config, outcome=world(config))]
    while len(attempts) - 1 < budget and not any(a.outcome.healthy for a in attempts):
        base = rp.base_of(attempts)
        choice = rp.choose(attempts, patch_of(base.config)).choice
        if choice is None:
            break
        result = world(choice.config)
        effect = rp.judge(attempts[choice.base].outcome, result, choice.rule)
        attempts.append(Attempt(len(attempts), choice.config, parent=choice.base,
                                rule=choice.rule, remedy=choice.remedy, patch=choice.patch,
                                outcome=result, effect=effect))
    return attempts


def sgd_world(config: dict[str, Any]) -> Outcome:
    """SGD on the digits: diverges at lr 20 (step 10) and lr 2 (step 35), healthy at 0.2;
    clipping and warmup change nothing at these rates."""
    lr = config["optim.lr"]
    if lr <= 0.5:
        return outcome(acc=0.94)
    end = 10 if lr >= 20 else 35
    return outcome(finding("divergence", E, 1, end, remedies("divergence", config)),
                   acc=0.10)


def test_sgd_at_lr_20_is_repaired_by_lower_lr_twice():
    attempts = simulate(sgd_world, BASE)
    assert [(a.remedy, a.effect) for a in attempts[1:]] == [
        ("lower-lr", Effect.HELPED), ("lower-lr", Effect.RESOLVED)]
    assert attempts[-1].config["optim.lr"] == pytest.approx(0.2)
    assert rp.final(attempts).index == 2


def stubborn_world(config: dict[str, Any]) -> Outcome:
    """Nothing helps: every run diverges at the same step with the same accuracy."""
    return outcome(finding("divergence", E, 1, 10, remedies("divergence", config)), acc=0.10)


def test_remedies_that_do_not_help_are_each_tried_once_and_no_config_runs_twice():
    attempts = simulate(stubborn_world, BASE, budget=10)
    tried = [a.remedy for a in attempts[1:]]
    assert tried == ["lower-lr", "clip-grad"]  # add-warmup is already in place
    assert all(a.effect is Effect.NO_HELP for a in attempts[1:])
    assert len({rp.fingerprint(a.config) for a in attempts}) == len(attempts)


def rollback_world(config: dict[str, Any]) -> Outcome:
    """Clipping makes a NaN appear and the accuracy drop; a lower rate cures the run."""
    if config.get("train.clip_grad_norm"):
        return outcome(finding("nan-loss", E, 1, 5), finding("divergence", E, 1, 10), acc=0.05)
    if config["optim.lr"] < 20:
        return outcome(acc=0.93)
    return outcome(finding("divergence", E, 1, 10, (
        Remedy("clip-grad", "t", patch={"train.clip_grad_norm": 1.0}),
        Remedy("lower-lr", "t", patch={"optim.lr": config["optim.lr"] / 10}))), acc=0.10)


def test_a_remedy_that_made_things_worse_is_rolled_back():
    attempts = simulate(rollback_world, BASE)
    assert [(a.remedy, a.effect, a.parent) for a in attempts[1:]] == [
        ("clip-grad", Effect.WORSE, 0), ("lower-lr", Effect.RESOLVED, 0)]
    assert attempts[2].config["train.clip_grad_norm"] == 0.0  # the clipping is gone
    assert rp.final(attempts).index == 2


def test_budget_bounds_the_attempts():
    attempts = simulate(sgd_world, BASE, budget=1)
    assert len(attempts) == 2 and not any(a.outcome.healthy for a in attempts)


def test_the_remedy_that_helped_comes_before_the_untried_ones_of_its_rule():
    """At lr 2 the NaN is put down to a gradient explosion (clip-grad first), but lowering
    the rate is what moved the blow-up later: it is applied again."""
    lr2 = {**BASE, "optim.lr": 2.0}
    first = attempt(0, None, outcome(finding("nan-loss", remedies=remedies("nan-loss", BASE))),
                    config=BASE)
    rems = remedies_for("nan-loss", "grad-explosion", nested(lr2))
    assert [r.id for r in rems][:2] == ["clip-grad", "lower-lr"]
    helped = attempt(1, Effect.HELPED, outcome(finding("nan-loss", remedies=rems)), parent=0,
                     rule="nan-loss", remedy="lower-lr", config=lr2)
    choice = rp.choose([first, helped], patch_of(lr2)).choice
    assert (choice.remedy, choice.patch) == ("lower-lr", {"optim.lr": 0.2})
    no_help = Attempt(1, lr2, parent=0, rule="nan-loss", remedy="lower-lr",
                      outcome=helped.outcome, effect=Effect.NO_HELP)
    assert rp.choose([first, no_help], patch_of(lr2)).choice.remedy == "clip-grad"


def test_a_blowup_that_turns_nan_later_is_not_a_new_error_for_a_blowup_target():
    """SGD lr 100 -> 10: the loss that exploded at step 10 now turns NaN at step 14 and the
    run stops at 23: the same blow-up, later. A NaN in a run treated for overfitting is new."""
    parent = outcome(finding("divergence", E, 1, 10), acc=0.10)
    child = outcome(finding("nan-loss", E, 14, 23), finding("divergence", E, 1, 23),
                    finding("grad-explosion", E, 14, 23), acc=None, steps=23)
    assert rp.new_errors(parent, child, "divergence") == frozenset()
    assert rp.judge(parent, child, "divergence") is Effect.HELPED
    overfit = outcome(finding("overfitting", W), acc=0.9)
    nan = outcome(finding("overfitting", W), finding("nan-loss", E), acc=0.9)
    assert rp.new_errors(overfit, nan, "overfitting") == frozenset({"nan-loss"})
    assert rp.judge(overfit, nan, "overfitting") is Effect.WORSE
