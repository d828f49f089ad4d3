"""A running run's progress as one status-bar line: epoch, step, throughput and ETA.

:class:`StepRate` keeps recent ``(time, step)`` samples and measures steps per
second over the last few seconds; :func:`progress_line` words it.
"""

from __future__ import annotations

from collections import deque

RATE_WINDOW_S = 10.0  # throughput over the last seconds: follows a change of pace


class StepRate:
    """Optimizer steps per second over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, step: int) -> None:
        if self.samples and step == self.samples[-1][1]:
            return  # no new step: the last sample already dates it
        self.samples.append((now, step))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window_s:
            self.samples.popleft()

    def per_second(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, s0), (t1, s1) = self.samples[0], self.samples[-1]
        if t1 <= t0 or s1 <= s0:
            return None
        return (s1 - s0) / (t1 - t0)


def format_duration(seconds: float) -> str:
    """``0:07``, ``12:30``, ``1:02:03``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _rate(per_second: float, unit: str) -> str:
    return f"{per_second:.3g} {unit}/s" if per_second < 1000 else f"{per_second:,.0f} {unit}/s"


def progress_line(name: str, step: int, info: dict, rate: float | None) -> str:
    """``digits-adamw: epoch 3/10 · step 1,200/4,000 · 35.2 steps/s (1,130 samples/s) · ETA 0:20``.

    ``info``: the run's ``epochs``, ``total_steps``, ``epoch`` (0-based, the one
    running), ``effective_batch`` as far as known; ``rate`` in steps per second.
    """
    parts = []
    epochs, total = info.get("epochs"), info.get("total_steps")
    if epochs:
        epoch = min(int(info.get("epoch", 0)) + 1, int(epochs))
        parts.append(f"epoch {epoch}/{epochs}")
    parts.append(f"step {step:,}/{total:,}" if total else f"step {step:,}")
    if rate:
        text = _rate(rate, "steps")
        batch = info.get("effective_batch")
        if batch:
            text += f" ({_rate(rate * batch, 'samples')})"
        parts.append(text)
        if total and step < total:
            parts.append(f"ETA {format_duration((total - step) / rate)}")
    return f"{name}: " + " · ".join(parts)
