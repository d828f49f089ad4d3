"""Qt-free tick labels for the charts' axes: short, rounded, never colliding.

pyqtgraph's own labels print floats as they are stored (``0.0010000000047497454``
for a float32 learning rate) and large steps in full (``100000 200000 300000``
side by side read as one number). :func:`format_tick` rounds a label to what the
tick spacing can tell apart and writes large numbers with a suffix (``100k``,
``1.5M``); :func:`format_duration` writes seconds as ``30s``, ``12m``, ``1.5h``.
"""

from __future__ import annotations

import functools
import math

SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
LARGE = 1e4  # from here on, a suffix
SMALL = 1e-3  # below this (and ticks this close), scientific notation
MAX_PLACES = 6
# Tick spacings a time axis reads well at, in seconds: 1 s ... 30 min, 1 h ... 1 day.
DURATION_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
                  3600, 7200, 10800, 21600, 43200, 86400)
LOG_LABELLED = (1, 2, 5)  # on a log axis, label 1, 2 and 5 times a power of ten


def format_tick(value: float, spacing: float) -> str:
    """``value`` rounded to the decimals ``spacing`` (the distance between ticks) needs."""
    if not math.isfinite(value):
        return str(value)
    spacing = abs(spacing) if spacing and math.isfinite(spacing) else abs(value) or 1.0
    magnitude = abs(value)
    if magnitude >= LARGE:
        scale, suffix = next((s, x) for s, x in SUFFIXES if magnitude >= s)
        return _fixed(value / scale, spacing / scale) + suffix
    if magnitude < spacing / 2:
        return "0"
    if magnitude < SMALL and spacing < SMALL:
        return f"{value:.3g}"
    return _fixed(value, spacing)


def format_number(value: float) -> str:
    """A value with 4 significant digits at most (log-axis labels, legends)."""
    if not math.isfinite(value) or value == 0:
        return "0" if value == 0 else str(value)
    magnitude = abs(value)
    if magnitude >= LARGE:
        scale, suffix = next((s, x) for s, x in SUFFIXES if magnitude >= s)
        return f"{value / scale:.4g}{suffix}"
    return f"{value:.4g}"


def format_duration(seconds: float, spacing: float) -> str:
    """Seconds since the run's start as ``45s``, ``12.5m`` or ``1.5h``."""
    spacing = abs(spacing) or 1.0
    if spacing >= 1800 or abs(seconds) >= 3 * 3600:
        return format_tick(seconds / 3600, spacing / 3600) + "h"
    if spacing >= 30 or abs(seconds) >= 600:
        return format_tick(seconds / 60, spacing / 60) + "m"
    return format_tick(seconds, spacing) + "s"


@functools.lru_cache(maxsize=256)
def _places(spacing: float) -> int:
    """The decimals the spacing itself has (cached: an axis asks once per tick)."""
    return next((p for p in range(MAX_PLACES) if abs(round(spacing, p) - spacing)
                 <= spacing * 1e-6), MAX_PLACES)


def _fixed(value: float, spacing: float) -> str:
    places = _places(spacing)
    text = f"{round(value, places) + 0.0:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def duration_spacing(span: float, ticks: float) -> tuple[float, float]:
    """(major, minor) tick spacing in seconds for about ``ticks`` ticks over ``span``."""
    ideal = span / max(ticks, 1.0)
    for index, step in enumerate(DURATION_STEPS):
        if step >= ideal:
            return float(step), float(DURATION_STEPS[max(0, index - 1)])
    days = math.ceil(ideal / 86400)
    return days * 86400.0, 86400.0


def log_label(exponent: float) -> str:
    """The label of a log-axis tick at ``10**exponent``; empty unless 1, 2 or 5 x 10^n."""
    value = 10.0 ** exponent
    mantissa = value / 10.0 ** math.floor(exponent + 1e-9)
    return format_number(value) if round(mantissa) in LOG_LABELLED and \
        abs(mantissa - round(mantissa)) < 1e-6 else ""
