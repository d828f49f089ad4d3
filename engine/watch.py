"""The one live follower of logs still being written: ``traindoc diagnose --watch`` drives it
in a loop, the GUI's log sources from their worker thread.

A :class:`Watcher` finds the runs under each watched path and follows their event files
(:class:`~traindoc.engine.tb.follow.LogFollower`: only the bytes appended since the last
poll). Each run's roles, sums of loss parts, stored config and diagnosis are kept current
by a :class:`~traindoc.engine.live_run.LiveRun` fed only the new points. Each poll yields
one :class:`RunChange` per run that changed, diagnosis included, so a consumer only
translates it (prints it, or moves it into its model). A run is started over, and its
change says ``reset``, when the follower reports its files replaced, rewritten or
removed, and when its live state needs points it has already taken (a restart, a new
stored config, a role moved, the user's role overrides): the run is then read again from
the start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from traindoc.diagnostics.types import Diagnosis
from traindoc.engine import config as config_module
from traindoc.engine.live_run import LiveRun
from traindoc.engine.run_diagnosis import display_name
from traindoc.engine.tb.follow import FollowUpdate, LogFollower
from traindoc.engine.tb.reader import CONFIG_TAG
from traindoc.engine.tb.scalars import Scalars


@dataclass(slots=True)
class RunChange:
    """What one poll changed in one run."""

    name: str  # the run's display name (prefixed by its path when several are watched)
    run: str  # its name under its watched path ("." for the path itself)
    path: str  # the watched path it was found under
    new: bool = False  # first seen in this poll
    reset: bool = False  # drop everything had of the run: ``points`` hold it whole
    points: dict[str, Scalars] = field(default_factory=dict)  # tag -> new points
    sums: dict[str, Scalars] = field(default_factory=dict)  # composite tag -> new points
    roles: dict[str, str] = field(default_factory=dict)  # the run's roles now
    config: config_module.RunConfig | None = None  # a stored config read in this poll
    diagnosis: Diagnosis | None = None  # the run's diagnosis now (None: nothing read)

    @property
    def touched(self) -> bool:
        """Points, texts or a reset arrived (not only the run's discovery)."""
        return self.diagnosis is not None


class Watcher:
    """Follows several paths; ``changes()`` yields what each poll changed, run by run."""

    def __init__(
        self, paths: list[str], overrides: Mapping[str, str], *, rescan_secs: float = 2.0,
        read_budget_s: float | None = None,
    ) -> None:
        self.followers = [
            (path, LogFollower(path, rescan_secs=rescan_secs, read_budget_s=read_budget_s))
            for path in paths
        ]
        self.overrides = dict(overrides)
        self.runs: dict[str, LiveRun] = {}
        self.warnings: list[str] = []  # since the last take_warnings()
        self._where: dict[str, tuple[str, LogFollower, str]] = {}  # name -> path, follower, run

    @property
    def pending(self) -> bool:
        """The last poll left runs unread (``read_budget_s``): poll again soon."""
        return any(follower.pending for _, follower in self.followers)

    def take_warnings(self) -> list[str]:
        warnings, self.warnings = self.warnings, []
        return warnings

    def changes(self) -> Iterator[RunChange]:
        """Poll every path; yield each changed run as soon as it is diagnosed."""
        for path, follower in self.followers:
            update = follower.poll()
            self.warnings.extend(update.warnings)
            runs = set(update.points) | set(update.texts) | set(update.reset)
            for run in [*update.new_runs, *sorted(runs - set(update.new_runs))]:
                yield self._change(path, follower, run, update)

    def set_overrides(self, name: str, overrides: Mapping[str, str]) -> RunChange | None:
        """Give run ``name`` its own role overrides (role -> tag; '' unmaps): it is read
        again and diagnosed with them. None for a run not (or no longer) followed."""
        if name not in self._where:
            return None
        path, follower, run = self._where[name]
        self.runs[name] = LiveRun(name, overrides)  # kept by the reset that follows
        return self._change(path, follower, run, follower.reread(run))

    def _change(
        self, path: str, follower: LogFollower, run: str, update: FollowUpdate
    ) -> RunChange:
        name = display_name(path, run, len(self.followers))
        self._where[name] = (path, follower, run)
        state = self.runs.get(name)
        change = RunChange(name, run, path, new=state is None, reset=run in update.reset)
        points = update.points.get(run, {})
        texts = update.texts.get(run, {})
        touched = bool(points or texts or change.reset)
        if state is None or change.reset:
            # A replaced or rewritten file: the run as read again, from nothing
            # (a finding that no longer holds disappears with the old points).
            state = LiveRun(name, state.overrides if state is not None else self.overrides)
        elif state.needs_history(points, update.purged.get(run, {}), texts):
            whole = follower.reread(run)
            self.warnings.extend(whole.warnings)
            state, change.reset = LiveRun(name, state.overrides), True
            points, texts = whole.points.get(run, {}), whole.texts.get(run, {})
        self.runs[name] = state
        change.sums = state.take(points, texts)
        change.points, change.roles = points, dict(state.roles)
        if CONFIG_TAG in texts:
            change.config = state.config
        if touched:
            change.diagnosis = state.diagnosis()
        return change
