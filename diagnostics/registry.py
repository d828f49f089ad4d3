"""The rules, in one literal table. Ids are stable forever and never reused."""

from __future__ import annotations

from traindoc.diagnostics.rules.base import Rule
from traindoc.diagnostics.rules.divergence import Divergence
from traindoc.diagnostics.rules.grad_explosion import GradExplosion
from traindoc.diagnostics.rules.metric_mismatch import MetricMismatch
from traindoc.diagnostics.rules.nan_loss import NanLoss
from traindoc.diagnostics.rules.oscillation import Oscillation
from traindoc.diagnostics.rules.overfitting import Overfitting
from traindoc.diagnostics.rules.slow_descent import SlowDescent
from traindoc.diagnostics.rules.underfitting import Underfitting

#: Every rule, in the order they run. Findings are sorted by severity, confidence, then
#: this order: the most specific explanation of a curve first (a NaN before the blow-up
#: that caused it, a rising validation loss before a slowly falling training loss,
#: gradient spikes before the poor accuracy of the run they shook).
ALL_RULES: tuple[Rule, ...] = (
    NanLoss(),
    Divergence(),
    MetricMismatch(),
    Overfitting(),
    Oscillation(),
    GradExplosion(),
    Underfitting(),
    SlowDescent(),
)

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in ALL_RULES}


def explain(rule_id: str) -> str:
    """The documentation of a rule (What it detects / Why it matters / Example / Remedies)."""
    return RULES_BY_ID[rule_id].doc()
