"""Qt-free application state: the runs, their series and findings, and what is shown.

``AppState`` is plain data plus the rules that decide what the views show (which
runs are overlaid, lineage, colours). :class:`traindoc.gui.model.AppModel` wraps it with Qt
signals; tests drive this module without a QApplication.
"""

from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traindoc.diagnostics.fix_verdict import Verdict
from traindoc.diagnostics.types import METRIC_ROLES
from traindoc.engine.events import RUNNING
from traindoc.gui.core.buffers import GrowingSeries

# Run statuses: the engine's five (SPEC §1, traindoc.engine.events) plus the GUI's own
# two before a run reports, and the status of a log that has none.
STARTING = "starting"
QUEUED = "queued"
LOG = "log"  # a foreign log with no status of its own
ACTIVE_STATUSES = (QUEUED, STARTING, RUNNING)

# A finding's severity as one character, wherever the GUI shows it.
SEVERITY_MARK = {"error": "✖", "warning": "▲", "info": "ℹ"}

# The charts' x axis: the step, the time since the run's first point, or the clock.
X_AXES = ("step", "relative", "wall")

# Run colours, colour-blind safe: Okabe–Ito (its yellow left out: unreadable on white),
# then the darker colours of Paul Tol's "muted" scheme. A run gets one once, when it is
# added (the least used, in this order), and keeps it in every chart and list.
PALETTE = (  # in an order where neighbours differ most: a few runs never get two alike hues
    "#0072B2",  # blue
    "#D55E00",  # vermilion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#882255",  # wine (Tol)
    "#44AA99",  # teal (Tol)
    "#999933",  # olive (Tol)
    "#332288",  # indigo (Tol)
)


@dataclass(frozen=True, slots=True)
class FixInfo:
    """How a child run came from its parent: the finding it targets and the remedy applied."""

    parent: str  # parent run id
    rule: str
    remedy: str
    patch: dict[str, Any]


@dataclass(slots=True, eq=False)
class RunState:
    """One run: launched by us or read from a log directory."""

    id: str
    name: str
    kind: str  # "launched" or "log"
    status: str
    color: str
    tags: dict[str, GrowingSeries] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # role -> tag
    uncertain_roles: frozenset[str] = frozenset()
    config: Any = None  # traindoc.engine.config.RunConfig when known
    run_dir: Path | None = None
    source: str = ""  # the path the user opened (log runs)
    fix: FixInfo | None = None
    verdict: Verdict | None = None
    diagnosis: Any = None  # traindoc.diagnostics.types.Diagnosis
    reason: str = ""
    traceback: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # device, parameters, total_steps...
    progress_step: int = 0

    def series(self, role: str) -> GrowingSeries | None:
        tag = self.roles.get(role)
        return self.tags.get(tag) if tag is not None else None

    def tag_series(self, tag: str) -> GrowingSeries:
        series = self.tags.get(tag)
        if series is None:
            series = self.tags[tag] = GrowingSeries()
        return series

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def points(self) -> int:
        """Points read; a sum of loss parts (``a+b``, built from its parts) adds none."""
        return sum(len(s) for tag, s in self.tags.items() if not self.is_sum(tag))

    def is_sum(self, tag: str) -> bool:
        """A tag ``a+b`` built from the run's own tags (a sum of loss parts)."""
        parts = tag.split("+")
        return len(parts) > 1 and all(p in self.tags for p in parts)

    def best(self, role: str) -> tuple[float, int] | None:
        series = self.series(role)
        if series is None:
            return None
        return series.best(lower_is_better=self.lower_is_better(role))

    def lower_is_better(self, role: str) -> bool:
        """Losses go down; a metric goes the way its tag's name says (``val_MAE`` down,
        ``metrics/mAP_0.5`` up); accuracy and the rest go up."""
        if role in METRIC_ROLES:
            from traindoc.diagnostics.metrics import higher_is_better  # not before the window shows

            return higher_is_better(self.roles.get(role, "")) is False
        return "loss" in role

    def final(self, role: str) -> float | None:
        series = self.series(role)
        return series.last() if series is not None else None

    def findings(self) -> tuple[Any, ...]:
        return tuple(self.diagnosis.findings) if self.diagnosis is not None else ()


class AppState:
    """Every run, the current run, the overlay selection and chart options."""

    def __init__(self) -> None:
        self.runs: dict[str, RunState] = {}
        self.current: str | None = None
        self.checked: set[str] = set()
        self.highlight: tuple[str, int, int] | None = None  # run id, step range
        self.smoothing = 0.6
        self.log_y = False
        self.x_axis = "step"  # one of X_AXES
        self._ids = itertools.count(1)
        self._colors: collections.Counter[str] = collections.Counter()  # colour -> runs

    # ------------------------------------------------------------ runs

    def new_run(self, name: str, kind: str, status: str, **fields_: Any) -> RunState:
        run = RunState(
            id=f"r{next(self._ids)}", name=name, kind=kind, status=status,
            color=self._free_color(), **fields_,
        )
        self.runs[run.id] = run
        self._colors[run.color] += 1
        if self.current is None:
            self.current = run.id
        return run

    def _free_color(self) -> str:
        """The palette colour fewest runs have (the first such): distinct for the first
        runs, and a closed run's colour goes to the next run added. Counted as runs come
        and go: a tree of thousands of runs opens in linear time."""
        return min(PALETTE, key=lambda color: self._colors[color])

    def remove_run(self, run_id: str) -> None:
        run = self.runs.pop(run_id, None)
        if run is not None:
            self._colors[run.color] -= 1
        self.checked.discard(run_id)
        if self.current == run_id:
            self.current = next(iter(self.runs), None)
        if self.highlight and self.highlight[0] == run_id:
            self.highlight = None

    def get(self, run_id: str | None) -> RunState | None:
        return self.runs.get(run_id) if run_id is not None else None

    # ------------------------------------------------------------ lineage

    def parent_of(self, run_id: str) -> RunState | None:
        run = self.runs.get(run_id)
        if run is None or run.fix is None:
            return None
        return self.runs.get(run.fix.parent)

    def children_of(self, run_id: str) -> list[RunState]:
        return [r for r in self.runs.values() if r.fix is not None and r.fix.parent == run_id]

    def lineage(self, run_id: str) -> list[RunState]:
        """The run's ancestors, oldest first, then the run itself."""
        chain: list[RunState] = []
        run = self.runs.get(run_id)
        seen: set[str] = set()
        while run is not None and run.id not in seen:
            seen.add(run.id)
            chain.append(run)
            run = self.parent_of(run.id)
        return chain[::-1]

    def tried_remedies(self, run_id: str, rule: str) -> set[str]:
        """Remedies already applied for ``rule`` along the run's lineage."""
        return {
            r.fix.remedy for r in self.lineage(run_id) if r.fix is not None and r.fix.rule == rule
        }

    # ------------------------------------------------------------ what is shown

    def visible_runs(self) -> list[str]:
        """Runs on the charts: the checked ones, the current one, its parent and children."""
        shown = set(self.checked)
        if self.current in self.runs:
            shown.add(self.current)
            parent = self.parent_of(self.current)
            if parent is not None:
                shown.add(parent.id)
            shown.update(child.id for child in self.children_of(self.current))
        return [run_id for run_id in self.runs if run_id in shown]

    def active_runs(self) -> list[RunState]:
        return [r for r in self.runs.values() if r.active]
