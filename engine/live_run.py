"""One followed run's live state: its roles, its sums of loss parts, its stored config and
its incremental diagnosis.

A :class:`LiveRun` takes the points a :class:`~traindoc.engine.tb.follow.LogFollower` delivers
and feeds a :class:`~traindoc.diagnostics.live.LiveDiagnoser` only the new ones, so an
update costs O(new points) and the run's memory is the diagnoser's bounded summaries:
the points themselves are not kept (the files hold them; the GUI's model keeps what it
charts). What cannot be done from the new points alone (a restarted run purging points
already taken, a changed stored config, a role moving to a tag whose earlier points were
taken, other role overrides) is reported by :meth:`LiveRun.needs_history`; the
:class:`~traindoc.engine.watch.Watcher` then reads the run again from the start into a
fresh ``LiveRun``.

A role filled by a sum of loss parts is summed as the parts arrive
(:class:`~traindoc.engine.tb.scalars.PartSum`, the code that sums them in a one-shot load).
"""

from __future__ import annotations

from collections.abc import Mapping

from traindoc.diagnostics.live import LiveDiagnoser
from traindoc.diagnostics.types import Diagnosis
from traindoc.engine import config as config_module
from traindoc.engine.run_diagnosis import stored_config
from traindoc.engine.tb.reader import CONFIG_TAG
from traindoc.engine.tb.roles import infer_roles, sum_parts_of
from traindoc.engine.tb.scalars import PartSum, Scalars

FEED_CHUNK = 65_536  # points fed to the diagnoser at a time (the summary ignores chunking)


class LiveRun:
    """The live state of one run; ``take`` its new points, ask ``diagnosis()``."""

    __slots__ = ("config", "config_text", "counts", "live", "name", "overrides", "roles",
                 "sums")

    def __init__(self, name: str, overrides: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.overrides = dict(overrides or {})
        self.counts: dict[str, int] = {}  # tag -> points taken
        self.roles: dict[str, str] = {}
        self.config: config_module.RunConfig | None = None
        self.config_text: str | None = None
        self.live = LiveDiagnoser(name=name)
        self.sums: dict[str, PartSum] = {}  # composite tag -> its running sum

    @property
    def points(self) -> int:
        return sum(self.counts.values())

    def needs_history(
        self, points: Mapping[str, Scalars], purged: Mapping[str, int], texts: Mapping[str, str]
    ) -> bool:
        """True when taking this update needs points already taken: the caller reads the
        run again from the start and gives it whole to a fresh ``LiveRun``."""
        if not self.counts:
            return False  # nothing taken yet: the update is the whole run
        if any(tag in self.counts for tag in purged):
            return True  # a restarted run rewrites a tail already taken
        if CONFIG_TAG in texts and texts[CONFIG_TAG] != self.config_text:
            return True  # the rules read the config: every point must be judged with it
        if all(tag in self.counts for tag in points):
            return False
        counts = self._counted(points)
        roles = self._infer(counts)
        if set(self.roles) - set(roles):
            return True
        for role, tag in roles.items():
            old = self.roles.get(role)
            if old is not None and old != tag:
                return True  # a role moved to another tag
            parts = sum_parts_of(tag, counts) if tag not in counts else None
            if old is None and any(p in self.counts for p in parts or (tag,)):
                return True  # a new role on a tag whose earlier points were taken
        return False

    def take(self, points: Mapping[str, Scalars], texts: Mapping[str, str]) -> dict[str, Scalars]:
        """Take the new points (see ``needs_history`` first); returns the new points of
        each composite series (a role filled by a sum of parts) they completed."""
        fresh = not self.counts
        if CONFIG_TAG in texts and fresh:
            self.config_text = texts[CONFIG_TAG]
            self.config = stored_config(self.config_text, source=self.name)
            self.live = LiveDiagnoser(config=self._config_data(), name=self.name,
                                      tags=self.roles)
        new_tag = any(tag not in self.counts for tag in points)
        self.counts = self._counted(points)
        if new_tag:
            self._set_roles(self._infer(self.counts))
        out: dict[str, Scalars] = {}
        for role, tag in self.roles.items():
            part_sum = self.sums.get(tag)
            new = part_sum.update(points) if part_sum is not None else points.get(tag)
            if new is None or not len(new):
                continue
            if part_sum is not None:
                out[tag] = new
            for i in range(0, len(new), FEED_CHUNK):  # short calls: other threads run between
                self.live.feed(role, new.steps[i:i + FEED_CHUNK], new.values[i:i + FEED_CHUNK])
        return out

    def diagnosis(self) -> Diagnosis:
        return self.live.diagnosis()

    def _counted(self, points: Mapping[str, Scalars]) -> dict[str, int]:
        counts = dict(self.counts)
        for tag, scalars in points.items():
            counts[tag] = counts.get(tag, 0) + len(scalars)
        return counts

    def _infer(self, counts: Mapping[str, int]) -> dict[str, str]:
        return infer_roles(counts, overrides=self.overrides)

    def _set_roles(self, roles: dict[str, str]) -> None:
        """New roles, on tags none of whose points were fed yet (``needs_history``)."""
        for tag in roles.values():
            parts = sum_parts_of(tag, self.counts) if tag not in self.counts else None
            if parts is not None and tag not in self.sums:
                self.sums[tag] = PartSum(parts)
        self.roles = roles
        # A metric's direction is read from its role's tag; the roles fed so far keep theirs.
        self.live.tags = dict(roles)

    def _config_data(self) -> dict | None:
        return config_module.diagnosis_dict(self.config) if self.config is not None else None
