"""Live diagnosis of logs that are still being written (``traindoc diagnose --watch``).

Each run under the watched paths is read by an :class:`~traindoc.engine.tb.follow.LogFollower`
(only the bytes appended since the last poll) and diagnosed by a
:class:`~traindoc.diagnostics.live.LiveDiagnoser` fed only the new points, so each update
costs O(new points). The diagnoser is rebuilt from the points kept so far only
when the run's roles change (a new tag appeared) or a restarted run purged steps,
and the whole run is started over when the follower reports it reset (a file of
it replaced, rewritten or removed).
A role filled by a sum of loss parts is summed as the parts arrive
(:class:`~traindoc.engine.tb.reader.PartSum`, the code that sums them in a one-shot load).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from traindoc.diagnostics.live import LiveDiagnoser
from traindoc.diagnostics.types import Diagnosis
from traindoc.engine.run_diagnosis import config_from_text, display_name
from traindoc.engine.tb.follow import FollowUpdate, LogFollower
from traindoc.engine.tb.reader import CONFIG_TAG
from traindoc.engine.tb.roles import infer_roles, sum_parts_of
from traindoc.engine.tb.scalars import PartSum, Scalars


@dataclass(slots=True)
class WatchedRun:
    """One run's points so far, its roles and its incremental diagnoser."""

    name: str
    overrides: dict[str, str]
    chunks: dict[str, list[Scalars]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    config: dict | None = None
    live: LiveDiagnoser | None = None
    sums: dict[str, PartSum] = field(default_factory=dict)  # composite tag -> its running sum

    @property
    def points(self) -> int:
        return sum(self.counts.values())

    def add(self, tags: dict[str, Scalars], purged: dict[str, int], texts: dict[str, str]) -> None:
        rebuild = False
        for tag, step in purged.items():
            kept = [_before(chunk, step) for chunk in self.chunks.get(tag, [])]
            self.chunks[tag] = [chunk for chunk in kept if len(chunk)]
            self.counts[tag] = sum(len(chunk) for chunk in self.chunks[tag])
            rebuild = True
        if CONFIG_TAG in texts:
            self.config = config_from_text(texts[CONFIG_TAG], source=self.name)
            rebuild = True
        new_tag = any(tag not in self.counts for tag in tags)
        for tag, scalars in tags.items():
            self.chunks.setdefault(tag, []).append(scalars)
            self.counts[tag] = self.counts.get(tag, 0) + len(scalars)
        roles = infer_roles(self.counts, overrides=self.overrides) if new_tag else self.roles
        if rebuild or roles != self.roles or self.live is None:
            self.roles = roles
            self._rebuild()
            return
        for role, tag in self.roles.items():
            part_sum = self.sums.get(tag)
            new = part_sum.update(tags) if part_sum is not None else tags.get(tag)
            if new is not None and len(new):
                self.live.feed(role, new.steps, new.values)

    def _rebuild(self) -> None:
        self.live = LiveDiagnoser(config=self.config, name=self.name, tags=self.roles)
        self.sums = {}
        for role, tag in self.roles.items():
            parts = sum_parts_of(tag, self.counts)
            if parts is not None and tag not in self.counts:
                part_sum = self.sums[tag] = PartSum(parts)
                # The parts' chunks in arrival order, as if they had arrived just now.
                for i in range(max(len(self.chunks.get(p, [])) for p in parts)):
                    got = {p: self.chunks[p][i] for p in parts if i < len(self.chunks[p])}
                    new = part_sum.update(got)
                    if len(new):
                        self.live.feed(role, new.steps, new.values)
                continue
            for chunk in self.chunks.get(tag, []):
                self.live.feed(role, chunk.steps, chunk.values)

    def diagnosis(self) -> Diagnosis:
        if self.live is None:
            self._rebuild()
        assert self.live is not None
        return self.live.diagnosis()


class Watcher:
    """Follows several paths; ``poll()`` returns the runs that received points."""

    def __init__(self, paths: list[str], overrides: dict[str, str]) -> None:
        self.followers = [(path, LogFollower(path)) for path in paths]
        self.overrides = overrides
        self.runs: dict[str, WatchedRun] = {}

    def poll(self) -> tuple[list[str], list[str]]:
        """(names of runs that changed, warnings)."""
        changed: list[str] = []
        warnings: list[str] = []
        for path, follower in self.followers:
            update: FollowUpdate = follower.poll()
            warnings.extend(update.warnings)
            for run in set(update.points) | set(update.texts) | set(update.reset):
                name = display_name(path, run, len(self.followers))
                state = self.runs.get(name)
                if state is None or run in update.reset:
                    # A replaced or rewritten file: the run as read again, from nothing
                    # (a finding that no longer holds disappears with the old points).
                    state = self.runs[name] = WatchedRun(name, self.overrides)
                state.add(
                    update.points.get(run, {}),
                    update.purged.get(run, {}),
                    update.texts.get(run, {}),
                )
                changed.append(name)
        return changed, warnings


def _before(scalars: Scalars, step: int) -> Scalars:
    keep = scalars.steps < step
    if bool(np.all(keep)):
        return scalars
    return Scalars(scalars.steps[keep], scalars.values[keep], scalars.wall_times[keep])
