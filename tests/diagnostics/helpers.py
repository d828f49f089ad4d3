"""Synthetic curves for the diagnostics tests (seeded, realistic shapes)."""

from __future__ import annotations

import numpy as np

from traindoc.diagnostics.runner import diagnose
from traindoc.diagnostics.types import Diagnosis, RunData, Series


def run(config=None, **roles) -> Diagnosis:
    """Diagnose roles given as value lists/arrays or (steps, values) pairs."""
    series = {}
    for role, v in roles.items():
        if isinstance(v, tuple):
            series[role] = Series(np.asarray(v[0]), np.asarray(v[1]))
        else:
            series[role] = Series.of(v)
    return diagnose(RunData(series, config=config, name="t"))


def rules(**roles) -> set[str]:
    return {f.rule for f in run(**roles).findings}


def decay(n, *, start=2.3, floor=0.1, tau=0.25, noise=0.0, seed=0, warmup=0.0):
    """Exponential decay over ``n`` points with multiplicative noise and an optional warmup
    plateau (the loss holds near its start while the LR ramps up)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, n)
    shifted = np.clip(t - warmup, 0.0, None)
    y = floor + (start - floor) * np.exp(-shifted / tau)
    return y * (1.0 + noise * rng.standard_normal(n))


def epochs(values, every=100):
    """(steps, values) for a per-epoch series logged every ``every`` steps."""
    values = np.asarray(values, dtype=float)
    return (np.arange(1, values.size + 1) * every, values)
