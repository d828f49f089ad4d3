"""``RunView``: a run as the rules see it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from traindoc.diagnostics.calibration import DEFAULT, Calibration
from traindoc.diagnostics.metrics import higher_is_better
from traindoc.diagnostics.signals import Curve, curve
from traindoc.diagnostics.summary import Segments
from traindoc.diagnostics.types import METRIC_ROLES


class RunView:
    """A run as the rules see it: per-role summaries (``Segments``), the config, the
    tags the roles came from, the calibration, and a cache of shared facts."""

    __slots__ = ("_curves", "_has", "_placeholders", "cal", "config", "facts", "name",
                 "summaries", "tags")

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
        self.facts: dict[str, Any] = {}  # traindoc.diagnostics.facts caches here, per run
        self._curves: dict[str, Curve] = {}
        self._placeholders: dict[str, bool] = {}  # role -> only placeholder zeros
        self._has: dict[tuple[str, int], bool] = {}  # (role, min_points) -> has()

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
        """The role has ``min_points`` finite points of real data (placeholders aside).
        Asked dozens of times per run by the rules: answered once per question."""
        known = self._has.get((role, min_points))
        if known is None:
            known = self._has[(role, min_points)] = self._count_real(role, min_points)
        return known

    def _count_real(self, role: str, min_points: int) -> bool:
        seg = self.summaries.get(role)
        if seg is None or seg.n_finite < min_points or self._placeholder(role):
            return False
        return self.curve(role).n_points >= min_points

    def curve(self, role: str) -> Curve:
        """The finite curve of a role. A loss logged as exactly 0 before its first real
        value is a placeholder (YOLOv8 writes validation losses of 0 until validation
        first runs) and is left out: no loss is 0 at initialisation."""
        c = self._curves.get(role)
        if c is None:
            c = curve(self.summaries[role])
            if role.endswith("_loss") and len(c) and c.y[0] == 0.0 and np.any(c.y != 0.0):
                c = c.after(int(np.argmax(c.y != 0.0)))
            self._curves[role] = c
        return c

    def _placeholder(self, role: str) -> bool:
        """Every value is exactly 0: a validation that has not run yet (its losses, and
        its metrics while those losses are placeholders too). Asked by every ``has``:
        worked out once per role."""
        known = self._placeholders.get(role)
        if known is None:
            known = self._placeholders[role] = self._all_zero(role)
        return known

    def _all_zero(self, role: str) -> bool:
        seg = self.summaries[role]
        finite = seg.finite > 0
        if not np.all(seg.lo[finite] == 0.0) or not np.all(seg.hi[finite] == 0.0):
            return False
        if role.endswith("_loss"):
            return True
        loss = role.replace("_metric", "_loss").replace("_accuracy", "_loss")
        return role != loss and (loss not in self.summaries or self._placeholder(loss))
