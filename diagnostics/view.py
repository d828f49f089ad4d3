"""``RunView``: a run as the rules see it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diagnostics.calibration import DEFAULT, Calibration
from diagnostics.metrics import higher_is_better
from diagnostics.signals import Curve, curve
from diagnostics.summary import Segments
from diagnostics.types import METRIC_ROLES


class RunView:
    """A run as the rules see it: per-role summaries (``Segments``), the config, the
    tags the roles came from, the calibration, and a cache of shared facts."""

    __slots__ = ("_curves", "cal", "config", "facts", "name", "summaries", "tags")

    def __init__(
        self, summaries: Mapping[str, Segments], *, config: Mapping[str, Any] | None = None,
        name: str = "", tags: Mapping[str, str] | None = None,
        calibration: Calibration = DEFAULT,
    ) -> None:
        self.summaries = summaries
        self.config = config
        self.name = name
        self.tags = dict(tags or {})
        self.cal = calibration
        self.facts: dict[str, Any] = {}  # diagnostics.facts caches here, per run
        self._curves: dict[str, Curve] = {}

    def tag(self, role: str) -> str:
        """The tag a role was read from (the role itself for canonical runs)."""
        return self.tags.get(role, role)

    def higher_is_better(self, role: str) -> bool | None:
        """Which way is better for a role: losses down, accuracies up, metrics by name."""
        if role.endswith("_loss"):
            return False
        if role.endswith("_accuracy"):
            return True
        if role in METRIC_ROLES:
            return higher_is_better(self.tag(role))
        return None

    def has(self, role: str, min_points: int = 1) -> bool:
        seg = self.summaries.get(role)
        return seg is not None and seg.n_finite >= min_points

    def curve(self, role: str) -> Curve:
        c = self._curves.get(role)
        if c is None:
            c = self._curves[role] = curve(self.summaries[role])
        return c
