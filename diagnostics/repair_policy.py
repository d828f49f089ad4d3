"""The automatic repair loop's decisions ("fix until healthy"): pure, no I/O, no numpy.

The loop trains a run, diagnoses it and, while it is not healthy, applies the next
remedy and trains the child (:mod:`traindoc.engine.repair` does the running). Every
choice it makes is here, so that it can be tested without training anything:

- **What a child showed** (:func:`judge`): the targeted finding is gone
  (``resolved``); it is still there but the run got better (``helped``: the objective
  improved, or the finding came later or is less severe); it is no better
  (``no-help``); or it made things worse (``worse``: an error from a rule the parent
  did not show at all, the objective got worse, or the run failed).
- **Where the next attempt starts** (:func:`base_of`): from the last run, unless that
  one made things worse: then from the best run so far (a rollback).
- **What to try next** (:func:`choose`): the top alarm of the base run (the rule the
  last remedy helped against, while it is still there) and its first remedy, in SPEC
  §4's order, that is not excluded: a remedy with no patch (text only) or whose
  patch changes nothing is skipped; one that did not help, or made things worse,
  for that rule in this repair is never tried again; one that helped without
  resolving may be applied again (SGD at lr 20 on the digits still diverges at lr 2
  and is healthy at 0.2: ``lower-lr`` twice); and a config already run is never
  run twice, so the loop cannot loop.

"Healthy" means no finding at warning or error (an ``info`` note is not an alarm).
Configs are flat mappings of dotted keys (``{"optim.lr": 0.2, ...}``); the caller
hands :func:`choose` a ``build`` function that applies a patch its own way (the
engine validates and coerces) and returns the child's flat config, or None when the
patch cannot be applied.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from traindoc.diagnostics.types import Diagnosis, Finding, Severity

FlatConfig = Mapping[str, Any]
Build = Callable[[Mapping[str, Any]], "FlatConfig | None"]

#: Keys that do not change what a run computes: two configs that differ only there
#: are the same experiment (a child's name records its fix, nothing more).
IDENTITY_FREE_KEYS = frozenset({"name", "train.device"})

#: An objective moves only when it moves by more than this share of its old value
#: (or by ABS_TOLERANCE, whichever is larger). Two broken runs both sit near chance,
#: where the accuracy of the digits' 359 validation samples varies by about
#: sqrt(0.1 * 0.9 / 359) = 1.6 points from noise alone: 2 points keeps noise out.
REL_TOLERANCE = 0.02
ABS_TOLERANCE = 0.02

#: One problem seen three ways: the loss explodes, turns NaN, the gradient norm spikes.
BLOWUP_RULES = frozenset({"divergence", "nan-loss", "grad-explosion"})

#: A blow-up "came later" when its first step moved by more than this share of the run.
LATER_SHARE = 0.05

#: ...and "came smaller" when its size (its peak over the level before it) fell by this
#: factor or more: an order of magnitude (SGD at lr 1000 throws the loss to 1e27 times
#: its start, at lr 100 to 192 times: still a divergence, ten-fold lower again helps).
SMALLER_FACTOR = 10.0


class Effect(enum.Enum):
    """What an attempt did to the finding it targeted."""

    RESOLVED = "resolved"
    HELPED = "helped"
    NO_HELP = "no-help"
    WORSE = "worse"


@dataclass(frozen=True, slots=True)
class Objective:
    """The number the repair tries to improve: the best value of one role of a run."""

    role: str
    value: float | None
    higher_is_better: bool

    def better_than(self, other: Objective) -> bool | None:
        """True/False when both have a value of the same role and they differ by more
        than the tolerance; None when they cannot be compared or are within it."""
        if self.role != other.role or self.value is None or other.value is None:
            return None
        if not (math.isfinite(self.value) and math.isfinite(other.value)):
            return None
        margin = max(ABS_TOLERANCE, REL_TOLERANCE * abs(other.value))
        delta = self.value - other.value if self.higher_is_better else other.value - self.value
        if abs(delta) <= margin:
            return None
        return delta > 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one finished (or stopped) run showed: its diagnosis and objective."""

    diagnosis: Diagnosis
    objective: Objective
    finished: bool = True  # ran to its end (not failed, not stopped)
    total_steps: int = 0
    #: The run's other measured roles, in the order tried: compared when the objectives
    #: cannot be (a run that blew up before its first evaluation has no validation
    #: accuracy, but its best training loss still says how far it got).
    others: tuple[Objective, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.finished and not any(f.alarm for f in self.diagnosis.findings)

    @property
    def alarms(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.diagnosis.findings if f.alarm)

    def alarm_rules(self) -> frozenset[str]:
        return frozenset(f.rule for f in self.alarms)

    def errors(self) -> frozenset[str]:
        return frozenset(f.rule for f in self.alarms if f.severity is Severity.ERROR)

    def finding(self, rule: str) -> Finding | None:
        """The worst alarm of ``rule`` (findings come sorted worst first)."""
        return next((f for f in self.alarms if f.rule == rule), None)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run of a repair. ``index`` 0 is the first run (no parent, no remedy)."""

    index: int
    config: FlatConfig
    parent: int | None = None
    rule: str = ""
    remedy: str = ""
    patch: Mapping[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None
    effect: Effect | None = None


def compared(child: Outcome, parent: Outcome) -> tuple[str, bool | None] | None:
    """The first role both runs measured (the child's objective first, then its other
    roles) and whether the child is better on it (None: within the tolerance); None
    when they share no measured role."""
    theirs = {o.role: o for o in (parent.objective, *parent.others) if _measured(o)}
    for mine in (child.objective, *child.others):
        other = theirs.get(mine.role)
        if other is not None and _measured(mine):
            return mine.role, mine.better_than(other)
    return None


def _measured(objective: Objective) -> bool:
    return objective.value is not None and math.isfinite(objective.value)


def judge(parent: Outcome, child: Outcome, rule: str) -> Effect:
    """What the child, started from ``parent`` with a remedy for ``rule``, showed.

    In order: healthy is resolved; a run that failed where its parent ran, a new
    error (:func:`new_errors`) or a worse objective is worse; the rule gone is
    resolved; a better objective, or the finding less severe or clearly later in the
    run (the blow-up came later), helped.
    """
    if child.healthy:
        return Effect.RESOLVED
    if not child.finished and parent.finished:
        return Effect.WORSE
    both = compared(child, parent)
    better = None if both is None else both[1]
    if better is False or new_errors(parent, child, rule):
        return Effect.WORSE
    after = child.finding(rule)
    if after is None:
        return Effect.RESOLVED
    steps = max(parent.total_steps, child.total_steps)
    if better or _milder(parent.finding(rule), after, steps):
        return Effect.HELPED
    return Effect.NO_HELP


def new_errors(parent: Outcome, child: Outcome, rule: str) -> frozenset[str]:
    """Errors of the child from rules the parent did not show at all (not even as a
    note). A blow-up that changed its face is not new: a loss that diverged at lr 100
    turns NaN at lr 10, later in the run; for a blow-up target the other blow-up rules
    are the same problem, judged by where it happens."""
    new = child.errors() - parent.diagnosis.rules
    if rule in BLOWUP_RULES:
        new -= BLOWUP_RULES
    return new


def _milder(before: Finding | None, after: Finding, total_steps: int) -> bool:
    """The finding is less severe, of the same kind and an order of magnitude smaller
    (:data:`SMALLER_FACTOR`), or its evidence starts (or, from the same start, ends: a
    loss that "exploded at step 35" rather than 10) clearly later in the run."""
    if before is None:
        return False
    if after.severity.rank != before.severity.rank:
        return after.severity.rank > before.severity.rank
    if (after.title == before.title and after.size is not None and before.size is not None
            and after.size * SMALLER_FACTOR <= before.size):
        return True
    later = max(1, int(LATER_SHARE * total_steps))
    if after.step_start - before.step_start > later:
        return True
    return after.step_start >= before.step_start and after.step_end - before.step_end > later


def rank(outcome: Outcome | None) -> tuple:
    """Sort key of "how good a run is" (larger is better): healthy, finished, fewer
    errors, fewer warnings, then the objective."""
    if outcome is None:
        return (False, False, -math.inf, -math.inf, -math.inf)
    value = outcome.objective.value
    score = -math.inf if value is None or not math.isfinite(value) else (
        value if outcome.objective.higher_is_better else -value)
    return (outcome.healthy, outcome.finished, -len(outcome.errors()),
            -len(outcome.alarm_rules()), score)


def best(attempts: Sequence[Attempt]) -> Attempt:
    """The best run so far (the earliest of equals)."""
    judged = [a for a in attempts if a.outcome is not None] or list(attempts[:1])
    top = max(rank(a.outcome) for a in judged)
    return next(a for a in judged if rank(a.outcome) == top)


def base_of(attempts: Sequence[Attempt]) -> Attempt:
    """The run the next attempt starts from: the last one, unless it made things worse
    (or has no outcome): then the best so far."""
    last = attempts[-1]
    if last.outcome is None or last.effect is Effect.WORSE:
        return best(attempts)
    return last


def fingerprint(config: FlatConfig) -> tuple:
    """A config's identity: its keys and values, without :data:`IDENTITY_FREE_KEYS`."""
    return tuple(sorted(
        (key, _frozen(value)) for key, value in config.items() if key not in IDENTITY_FREE_KEYS
    ))


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # 2 and 2.0 are the same lr
    return value


@dataclass(frozen=True, slots=True)
class Skip:
    """A remedy passed over, and why (shown in the report)."""

    rule: str
    remedy: str
    why: str


@dataclass(frozen=True, slots=True)
class Choice:
    """The next attempt: from ``base``, apply ``remedy`` (for ``rule``) giving ``config``."""

    base: int
    rule: str
    remedy: str
    patch: Mapping[str, Any]
    config: FlatConfig


@dataclass(frozen=True, slots=True)
class Decision:
    """:func:`choose`'s answer: a choice, or None when nothing is left; the skips made."""

    choice: Choice | None
    skipped: tuple[Skip, ...] = ()


def excluded(attempts: Iterable[Attempt], rule: str) -> dict[str, Effect]:
    """Remedies that may not be tried again for ``rule``: they did not help or made
    things worse (a remedy that helped or resolved stays allowed)."""
    out: dict[str, Effect] = {}
    for attempt in attempts:
        if attempt.rule == rule and attempt.effect in (Effect.NO_HELP, Effect.WORSE):
            out[attempt.remedy] = attempt.effect
    return out


def choose(attempts: Sequence[Attempt], build: Build) -> Decision:
    """The next remedy to try, from :func:`base_of` the attempts, or None (healthy, or
    no remedy left for any alarm of the base run)."""
    base = base_of(attempts)
    if base.outcome is None or base.outcome.healthy:
        return Decision(None)
    seen = {fingerprint(a.config) for a in attempts}
    skipped: list[Skip] = []
    for finding in targets(base):
        banned = excluded(attempts, finding.rule)
        for remedy in _in_order(finding, base):
            why = _skip_reason(remedy.id, remedy.patch, remedy.already_tried, banned)
            config = None
            if why is None:
                config = build(dict(remedy.patch))
                why = _config_problem(config, base.config, seen)
            if why is not None:
                skipped.append(Skip(finding.rule, remedy.id, why))
                continue
            choice = Choice(base.index, finding.rule, remedy.id, dict(remedy.patch), config)
            return Decision(choice, tuple(skipped))
    return Decision(None, tuple(skipped))


def targets(base: Attempt) -> list[Finding]:
    """The base run's alarms in the order to target them: worst first, except that a
    rule the base run's own remedy helped against (not resolved) stays the target, so
    the line of attack that made progress goes on (``lower-lr`` twice for SGD at lr 20:
    the blow-up came later at lr 2, and its NaN must not pull the repair elsewhere);
    :func:`_in_order` then puts the remedy that helped first."""
    alarms = list(base.outcome.alarms) if base.outcome is not None else []
    if base.effect is Effect.HELPED:
        alarms.sort(key=lambda f: f.rule != base.rule)  # stable: the rest keep their order
    return alarms


def _in_order(finding: Finding, base: Attempt) -> list:
    """The finding's remedies in SPEC §4's order, except that the remedy that helped
    against this rule in the base run comes first: it is applied again."""
    remedies = list(finding.remedies)
    if base.effect is Effect.HELPED and base.rule == finding.rule:
        remedies.sort(key=lambda r: r.id != base.remedy)
    return remedies


def _skip_reason(remedy: str, patch: Mapping[str, Any] | None, no_op: bool,
                 banned: Mapping[str, Effect]) -> str | None:
    if not patch:
        return "text only (no config change to apply)"
    if no_op:
        return "already in place"
    if remedy in banned:
        return "made things worse before" if banned[remedy] is Effect.WORSE else \
            "did not help before"
    return None


def _config_problem(config: FlatConfig | None, base: FlatConfig, seen: set) -> str | None:
    if config is None:
        return "cannot be applied to this config"
    if fingerprint(config) == fingerprint(base):
        return "changes nothing"
    if fingerprint(config) in seen:
        return "that config was already run"
    return None


class StopReason(enum.Enum):
    """Why a repair ended."""

    HEALTHY = "healthy"
    ATTEMPTS = "attempts spent"
    TIME = "time spent"
    NO_REMEDY = "no remedy left"
    INTERRUPTED = "interrupted"
    FIRST_RUN_FAILED = "the first run could not be judged"


def final(attempts: Sequence[Attempt]) -> Attempt:
    """The run a repair ends on: the first healthy one, else the best so far."""
    healthy = next((a for a in attempts if a.outcome is not None and a.outcome.healthy), None)
    return healthy if healthy is not None else best(attempts)


def config_diff(first: FlatConfig, last: FlatConfig) -> list[tuple[str, Any, Any]]:
    """``(key, first value, final value)`` of every key that differs (identity-free
    keys left out), in key order."""
    keys = sorted((set(first) | set(last)) - IDENTITY_FREE_KEYS)
    return [(k, first.get(k), last.get(k)) for k in keys
            if _frozen(first.get(k)) != _frozen(last.get(k))]
