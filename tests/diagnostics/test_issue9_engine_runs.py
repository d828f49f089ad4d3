"""Issue 9: every numbered case, from a real training (or, for case 1, also a formula).

Each run trains once per session (CPU, one thread, a second or a few; see
``issue9_runs``) and is written to TensorBoard files and read back as any log is. Each
test first checks that the training really produced the intended curve (asserting on the
logged points), then asserts the diagnosis: the right rule fires and no other rule
raises a warning or an error (a wrong alarm is as much a failure as a miss).

Hand-written loops log foreign tags (``val/MAE``, ``val_RMSE``, ``val/f1``,
``rollout/ep_rew_mean``, ``eval/mean_reward``); their diagnosis is asserted on a
``RunData`` whose roles are given explicitly (``tags=``), and, separately, on the
reader's own role inference (``test_metric_roles_are_inferred_from_the_tags``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.diagnostics import issue9_runs as runs
from traindoc.diagnostics.live import LiveDiagnoser
from traindoc.diagnostics.runner import diagnose
from traindoc.diagnostics.types import Confidence, Diagnosis, RunData, Series, Severity, Status
from traindoc.engine import config as config_module
from traindoc.engine.events import Evaluated, Metrics
from traindoc.engine.run_diagnosis import diagnose_log
from traindoc.engine.tb.reader import load_path

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------- assertions


def describe(d: Diagnosis) -> str:
    lines = [f"status {d.status.value}"]
    lines += [f"  {f.rule} {f.severity.value} ({f.confidence.value}): {f.evidence}"
              for f in d.findings]
    return "\n".join(lines)


def alarms(d: Diagnosis) -> set[str]:
    """Rules that raised a warning or an error."""
    return {f.rule for f in d.findings if f.alarm}


def assert_verdict(d: Diagnosis, right: str | set[str], *, absent: tuple[str, ...] = ()):
    """A rule of ``right`` is the verdict (the primary alarm); no rule outside ``right``
    raises an alarm; the rules in ``absent`` report nothing at all, not even info."""
    right = {right} if isinstance(right, str) else set(right)
    assert d.status is Status.PROBLEMS, describe(d)
    assert d.primary is not None and d.primary.rule in right, describe(d)
    assert alarms(d) <= right, describe(d)
    assert not d.rules & set(absent), describe(d)


def assert_no_alarm(d: Diagnosis, *, absent: tuple[str, ...] = ()):
    assert not alarms(d), describe(d)
    assert d.status is not Status.PROBLEMS, describe(d)
    assert not d.rules & set(absent), describe(d)


def with_roles(log, roles: dict[str, str]) -> RunData:
    """The run's series under the given roles (role -> tag), the tags passed along."""
    series = {role: Series(log.scalars[tag].steps, log.scalars[tag].values)
              for role, tag in roles.items()}
    return RunData(series, tags=roles, name=log.name)


def rises_at_last(values: np.ndarray) -> int:
    """How many of the last evaluations each rose above the one before."""
    k = 0
    while k < len(values) - 1 and values[-1 - k] > values[-2 - k]:
        k += 1
    return k


def epoch_means(run: runs.EngineRun) -> np.ndarray:
    steps, loss = run.steps("train/loss"), run.values("train/loss")
    edges = np.concatenate([[0], run.steps("val/loss")])
    return np.array([loss[(steps > a) & (steps <= b)].mean()
                     for a, b in itertools.pairwise(edges)])


def live_diagnoses(run: runs.EngineRun) -> list[tuple[int, Diagnosis]]:
    """Judge the run as the GUI does while it trains: feed the streamed points in order
    to a ``LiveDiagnoser`` and ask for the diagnosis at every evaluation."""
    roles = dict(run.log.roles)
    role_of = {tag: role for role, tag in roles.items()}
    live = LiveDiagnoser(config=config_module.to_dict(run.config), name=run.log.name,
                         tags=roles)
    out = []
    for event in run.events:
        if isinstance(event, Metrics):
            for tag, (steps, values) in event.points.items():
                if tag in role_of:
                    live.feed(role_of[tag], steps, values)
        elif isinstance(event, Evaluated):
            for tag, value in event.metrics.items():
                live.feed(role_of[tag], [event.step], [value])
            out.append((event.epoch + 1, live.diagnosis()))
    return out


def assert_no_alarm_live(run: runs.EngineRun, *, absent: tuple[str, ...] = ()):
    judged = live_diagnoses(run)
    assert len(judged) == run.finished.epochs_done
    bad = [(epoch, d) for epoch, d in judged
           if alarms(d) or d.rules & set(absent)]
    assert not bad, "\n".join(f"after epoch {e}: {describe(d)}" for e, d in bad)


# ---------------------------------------------------------------- runs (once per session)


@pytest.fixture(scope="session")
def issue9_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("issue9")


@pytest.fixture(scope="session")
def long_fast_run(issue9_dir):
    return runs.train_engine(runs.long_fast_overrides(), issue9_dir / "long-fast")


@pytest.fixture(scope="session")
def collapsed_90(issue9_dir):
    path = issue9_dir / "digits-90pct-nonzero.npz"
    share = runs.imbalanced_digits_npz(path, 0.9)
    run = runs.train_engine(runs.collapsed_overrides(f"npz:{path}"), issue9_dir / "collapsed-90")
    return run, share


@pytest.fixture(scope="session")
def collapsed_80_bs32(issue9_dir):
    path = issue9_dir / "digits-80pct-nonzero.npz"
    share = runs.imbalanced_digits_npz(path, 0.8)
    run = runs.train_engine(runs.collapsed_overrides(f"npz:{path}", batch_size=32),
                            issue9_dir / "collapsed-80-bs32")
    return run, share


@pytest.fixture(scope="session")
def unstable_momentum_run(issue9_dir):
    return runs.train_engine(runs.UNSTABLE_MOMENTUM_OVERRIDES, issue9_dir / "momentum-lr0.5")


@pytest.fixture(scope="session")
def slow_sgd_run(issue9_dir):
    return runs.train_engine(runs.SLOW_SGD_OVERRIDES, issue9_dir / "sgd-lr1e-3")


@pytest.fixture(scope="session")
def default_run(issue9_dir):
    return runs.train_engine({}, issue9_dir / "default")


@pytest.fixture(scope="session")
def adamw_lr_0_01_run(issue9_dir):
    return runs.train_engine(runs.LR_0_01_OVERRIDES, issue9_dir / "adamw-lr0.01")


@pytest.fixture(scope="session")
def stopped_in_warmup_run(issue9_dir):
    overrides, stop_after = runs.WARMUP_STOP
    return runs.train_engine(overrides, issue9_dir / "stopped-in-warmup",
                             stop_after_evals=stop_after)


@pytest.fixture(scope="session")
def short_overfit_run(issue9_dir):
    path = issue9_dir / "digits-5-classes-850.npz"
    val_fraction = runs.small_digits_npz(path)
    return runs.train_engine(runs.short_overfit_overrides(f"npz:{path}", val_fraction),
                             issue9_dir / "short-overfit")


@pytest.fixture(scope="session")
def hand_logs(issue9_dir):
    """The hand-written loops, each trained on first use, written and read back."""
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            run_dir = issue9_dir / name
            runs.write_logged(run_dir, runs.HAND_RUNS[name]())
            (cache[name],) = load_path(run_dir)
        return cache[name]

    return get


# ---------------------------------------------------------------- 1. fast early descent


@pytest.mark.parametrize("n", [5000, 1000])
def test_fast_early_descent_formula_is_not_divergence(n):
    loss = runs.formula_loss(n)
    assert loss[0] == pytest.approx(2.3) and loss[60] < loss[0] / 10  # 10x within 60 steps
    d = diagnose(RunData({"train_loss": Series.of(loss)}, name=f"formula-{n}"))
    assert_no_alarm(d, absent=("divergence",))


def test_long_fast_converging_engine_run_is_healthy(long_fast_run):
    run = long_fast_run
    loss, val = run.values("train/loss"), run.values("val/loss")
    n = loss.size
    assert n >= 3000  # thousands of per-step points
    start = np.median(loss[:5])
    head = int(0.025 * n)
    assert np.median(loss[head - 10 : head + 10]) < start / 10  # 10x down within 2.5%
    assert loss.max() <= start * 1.1  # nothing ever rises above the start
    assert val[-1] <= 1.05 * val.min()  # the validation loss never turns up
    assert run.values("val/accuracy")[-1] >= 0.95
    assert_no_alarm(diagnose_log(run.log), absent=("divergence",))


# ---------------------------------------------------------------- 2. one class predicted


def test_model_collapsed_to_the_majority_class_is_underfitting(collapsed_90):
    run, share = collapsed_90
    assert share == pytest.approx(0.9, abs=0.005)
    val_share = float(np.mean(run.val_labels() == 1))
    acc = run.values("val/accuracy")
    at_share = np.isclose(acc, val_share, rtol=0, atol=1e-6)
    assert at_share.mean() >= 0.8, acc  # the same value, the majority share, (nearly) always
    means = epoch_means(run)[2:]  # after the first two epochs (which learn the prior)
    assert np.all(np.abs(means / np.median(means) - 1) < 0.1), means  # a flat training loss
    assert_verdict(diagnose_log(run.log), "underfitting", absent=("overfitting", "oscillation"))


# ---------------------------------------------------------------- 3. loss vs objective


def test_regression_loss_reaching_exactly_zero_while_mae_grows_is_metric_mismatch(hand_logs):
    log = hand_logs("regression-one-sided-loss")
    train, val = log.scalars["train/loss"].values, log.scalars["val/loss"].values
    mae = log.scalars["val/MAE"].values
    half = train.size // 2
    assert train[0] > 1 and np.all(train[half:] == 0.0)  # falls to exactly 0 and stays
    assert np.all(val[-10:] == 0.0)
    assert mae[-1] >= 1.5 * mae[0]  # the error grew by at least 50%...
    assert np.ptp(mae[-10:]) <= 1e-3 * mae[-1]  # ...and froze
    d = diagnose(with_roles(log, {"train_loss": "train/loss", "val_loss": "val/loss",
                                  "val_metric": "val/MAE"}))
    assert_verdict(d, "metric-mismatch")


def test_regression_negative_still_falling_loss_while_rmse_grows_is_metric_mismatch(hand_logs):
    log = hand_logs("regression-wrong-sign-loss")
    train, val = log.scalars["train_loss"].values, log.scalars["val_loss"].values
    rmse = log.scalars["val_RMSE"].values
    assert np.all(train < 0) and np.all(val < 0)
    assert np.all(np.diff(val[-6:]) < 0)  # negative and still falling at every evaluation
    assert rmse[-1] >= 1.5 * rmse[0]  # the error grew by at least 50%...
    assert np.ptp(rmse[-5:]) <= 0.01 * rmse[-1]  # ...and froze
    d = diagnose(with_roles(log, {"train_loss": "train_loss", "val_loss": "val_loss",
                                  "val_metric": "val_RMSE"}))
    assert_verdict(d, "metric-mismatch")


# ---------------------------------------------------------------- 4. objective metric


def test_slowly_falling_loss_with_a_steadily_climbing_metric_is_not_slow_descent(hand_logs):
    log = hand_logs("noisy-labels-f1-climbs")
    train, val = log.scalars["train/loss"].values, log.scalars["val/loss"].values
    f1 = log.scalars["val/f1"].values
    tenth = train.size // 10
    assert 0 < 1 - np.median(train[-tenth:]) / np.median(train[:tenth]) < 0.1  # falls slowly
    assert 0 < 1 - val[-1] / val[0] < 0.1
    assert f1[-1] >= 1.5 * f1[0] and f1[-1] >= 0.85  # the objective climbs...
    assert np.mean(np.diff(f1) > 0) >= 0.8  # ...steadily
    d = diagnose(with_roles(log, {"train_loss": "train/loss", "val_loss": "val/loss",
                                  "val_metric": "val/f1"}))
    assert_no_alarm(d, absent=("slow-descent",))


def test_reward_that_never_moves_while_the_loss_falls_is_underfitting(hand_logs):
    log = hand_logs("bandit-broken-reward")
    loss = log.scalars["train/loss"].values
    reward = log.scalars["rollout/ep_rew_mean"].values
    evals = log.scalars["eval/mean_reward"].values
    assert np.median(loss[-20:]) < 0.4 * np.median(loss[:20])  # the loss falls by >60%
    chance = 1 + 5 / 10  # the expected reward of any policy here
    half = reward.size // 2
    assert abs(reward[:half].mean() - chance) < 0.05 and abs(reward[half:].mean() - chance) < 0.05
    assert abs(evals.mean() - chance) < 0.1 and abs(evals[-5:].mean() - evals[:5].mean()) < 0.1
    d = diagnose(with_roles(log, {"train_loss": "train/loss",
                                  "train_metric": "rollout/ep_rew_mean",
                                  "val_metric": "eval/mean_reward"}))
    assert_verdict(d, "underfitting")


@pytest.mark.parametrize(("name", "roles"), [
    ("regression-one-sided-loss",
     {"train_loss": "train/loss", "val_loss": "val/loss", "val_metric": "val/MAE"}),
    ("regression-wrong-sign-loss",
     {"train_loss": "train_loss", "val_loss": "val_loss", "val_metric": "val_RMSE"}),
    ("noisy-labels-f1-climbs",
     {"train_loss": "train/loss", "val_loss": "val/loss", "val_metric": "val/f1"}),
    ("bandit-broken-reward",
     {"train_loss": "train/loss", "train_metric": "rollout/ep_rew_mean",
      "val_metric": "eval/mean_reward"}),
])
def test_metric_roles_are_inferred_from_the_tags(hand_logs, name, roles):
    """What ``traindoc diagnose`` does with these logs: roles inferred by the reader
    (SPEC §3), the run diagnosed as ``diagnose_log`` does, the same verdict."""
    log = hand_logs(name)
    assert {role: log.roles.get(role) for role in roles} == roles
    inferred, explicit = diagnose_log(log), diagnose(with_roles(log, roles))
    assert alarms(inferred) == alarms(explicit), describe(inferred)
    assert (inferred.primary and inferred.primary.rule) == (explicit.primary
                                                            and explicit.primary.rule)


# ---------------------------------------------------------------- 5. mini-batch noise


def test_minibatch_noise_around_a_plateau_is_not_oscillation(collapsed_80_bs32):
    run, share = collapsed_80_bs32
    assert share == pytest.approx(0.8, abs=0.005)
    spe = int(run.steps("val/loss")[0])
    loss = run.values("train/loss")[2 * spe :]  # after the first two epochs
    level = np.median(loss)
    lo, hi = np.percentile(loss, [5, 95])
    assert lo <= 0.8 * level and hi >= 1.2 * level  # per-step swings of +-20% and more
    means = epoch_means(run)[2:]
    assert np.all(np.abs(means / np.median(means) - 1) < 0.05), means  # around a flat level
    val_share = float(np.mean(run.val_labels() == 1))
    assert np.isclose(run.values("val/accuracy"), val_share, rtol=0, atol=1e-6).mean() >= 0.8
    assert_verdict(diagnose_log(run.log), {"slow-descent", "underfitting"},
                   absent=("oscillation",))


def test_too_large_a_step_that_loses_what_it_learned_is_oscillation_not_underfitting(
        unstable_momentum_run):
    run = unstable_momentum_run
    val, acc = run.values("val/loss"), run.values("val/accuracy")
    assert acc.max() >= 0.8 and np.median(acc[-3:]) <= acc.max() - 0.15  # learned, then lost
    assert np.abs(np.diff(val)).max() >= 0.5 * np.median(val)  # the validation loss swings
    assert_verdict(diagnose_log(run.log), "oscillation", absent=("underfitting",))


# ---------------------------------------------------------------- 6. straight, tiny steps


def test_steady_straight_descent_with_tiny_steps_is_slow_descent(slow_sgd_run):
    run = slow_sgd_run
    val = run.values("val/loss")
    steps = np.diff(val)
    assert np.all(steps < 0)  # falls at every evaluation...
    assert np.all(np.abs(steps / steps.mean() - 1) < 0.2)  # ...by the same amount (a line)
    assert 1 - val[-1] / val[0] < 0.02  # ...in tiny steps
    assert_verdict(diagnose_log(run.log), "slow-descent", absent=("underfitting",))


# ---------------------------------------------------------------- 7. our own runs, live


def test_default_run_judged_live_has_no_alarm_at_any_evaluation(default_run):
    run = default_run
    assert run.config == config_module.apply_patch(config_module.RunConfig(),
                                                   {"train.device": runs.DEVICE})
    assert run.finished.epochs_done == 20 and run.values("val/accuracy")[-1] >= 0.95
    assert_no_alarm_live(run)
    assert_no_alarm(diagnose_log(run.log))


def test_adamw_lr_0_01_run_judged_live_has_no_alarm_at_any_evaluation(adamw_lr_0_01_run):
    run = adamw_lr_0_01_run
    assert run.config.optim.name == "adamw" and run.config.optim.lr == 0.01
    assert run.values("val/accuracy").max() >= 0.96 and run.values("val/accuracy")[-1] >= 0.95
    assert_no_alarm_live(run)
    assert_no_alarm(diagnose_log(run.log))


def test_default_run_stopped_during_its_warmup_is_not_slow_descent_or_underfitting(
        stopped_in_warmup_run):
    run = stopped_in_warmup_run
    assert run.finished.status == "stopped" and run.finished.epochs_done == 2
    steps_per_epoch = int(run.steps("val/loss")[0])
    warmup_steps = run.config.schedule.warmup * steps_per_epoch * run.config.train.epochs
    assert run.steps("train/loss")[-1] < warmup_steps  # every step was in the warmup
    assert run.values("opt/lr")[-1] < run.config.optim.lr
    wrong = ("slow-descent", "underfitting")
    assert_no_alarm_live(run, absent=wrong)
    assert_no_alarm(diagnose_log(run.log), absent=wrong)


# ---------------------------------------------------------------- 8. short runs


def test_short_run_with_validation_loss_rising_at_each_last_evaluation_is_info_low(
        short_overfit_run):
    run = short_overfit_run
    val = run.values("val/loss")
    assert 3 <= val.size <= 8
    assert rises_at_last(val) >= 3  # rose at each of the last 3+ evaluations
    means = epoch_means(run)
    assert means[-1] < 0.1 * means[np.argmin(val)], means  # while training fell (10x)
    gap = run.values("train/accuracy")[-1] - run.values("val/accuracy")[-1]
    assert gap < 0.05  # the accuracy gap is no evidence of its own
    d = diagnose_log(run.log)
    assert_no_alarm(d)
    found = [f for f in d.findings if f.rule == "overfitting"]
    assert found, describe(d)
    assert found[0].severity is Severity.INFO and found[0].confidence is Confidence.LOW, \
        describe(d)
