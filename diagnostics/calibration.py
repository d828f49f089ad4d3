"""The few thresholds that are calibrated on labelled runs, in one record.

Every other number in the rules is a definition (10x is an explosion, ln(k) is the
loss of uniform guessing over k classes, the seed's 80% / 10-point accuracy bars).
The ones below set how much evidence a rule wants before it speaks; they are chosen
by ``bench/diagnosis_quality.py``, which measures them leave-one-repository-out
(each repository judged with the values chosen on all the others) so that what is
reported is what generalises, not what fits. ``DEFAULT`` is what the product uses.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Calibration:
    """Evidence thresholds of the rules (see each field's comment)."""

    #: Mann-Kendall |z| a trend needs to count as real (1.96 is p = 0.05 two-sided;
    #: logged curves are autocorrelated, so a stricter bar is the honest one).
    trend_z: float = 3.0
    #: Overfitting: the validation loss's rise above its best, in units of its own
    #: evaluation-to-evaluation noise.
    rise_sigmas: float = 3.0
    #: Oscillation: the late curve's swings (IQR around its trend) as a share of its
    #: level before they count as material.
    swing_rel: float = 0.10
    #: Slow descent: the most a loss may lose (share of its start) over the run and
    #: still be "far too slow" (the seed's 2.0 -> 1.7 is 15%; its healthy 100 -> 5, 95%).
    slow_drop: float = 0.30


DEFAULT = Calibration()

#: Candidate values searched by the quality benchmark (the default is among them).
GRID: dict[str, tuple[float, ...]] = {
    "trend_z": (2.0, 3.0, 4.0),
    "rise_sigmas": (2.0, 3.0, 4.0),
    "swing_rel": (0.05, 0.10, 0.20),
    "slow_drop": (0.20, 0.30, 0.40),
}

assert {f.name for f in fields(Calibration)} == set(GRID)
