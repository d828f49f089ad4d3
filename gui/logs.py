"""Log directories opened in the GUI: every run found is charted, diagnosed and followed.

A :class:`FollowThread` per opened path polls an ``traindoc.engine.tb.follow.LogFollower``
(which reads only the bytes appended since the last poll and notices new runs),
off the GUI thread. Its updates go through a queue; :class:`LogSource` in the
pump moves them into the model within the frame budget, so a directory still
being written grows live: new points on the charts, new runs in the list.

A role filled by a sum of loss parts (YOLO's box + obj + cls, see
``traindoc.engine.tb.roles``) is a series of its own in the run, named by the composite tag
and summed as the parts arrive (:class:`traindoc.engine.tb.reader.PartSum`: O(new points),
the same sums as a one-shot load).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from pathlib import Path

import numpy as np

from traindoc.engine import config as config_module
from traindoc.engine import rundir
from traindoc.engine.tb.follow import FollowUpdate, LogFollower
from traindoc.engine.tb.reader import CONFIG_TAG
from traindoc.engine.tb.roles import infer_roles, role_candidates, sum_parts_of
from traindoc.engine.tb.scalars import PartSum, Scalars
from traindoc.gui.core.state import LOG, FixInfo
from traindoc.gui.diagnosis import RunDiagnoser
from traindoc.gui.model import AppModel
from traindoc.gui.pump import Pump

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often a followed directory is checked for new bytes
RESCAN_S = 2.0  # how often its tree is walked again for new runs and files


class FollowThread(threading.Thread):
    """Polls a LogFollower; puts each non-empty update, then ``None`` after every poll."""

    def __init__(self, path: Path, out: queue.Queue, *, interval: float = POLL_S) -> None:
        super().__init__(name=f"follow {path}", daemon=True)
        self.follower = LogFollower(path, rescan_secs=RESCAN_S)
        self.out = out
        self.interval = interval
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                update = self.follower.poll()
            except Exception:  # the reader never raises on file contents; be safe anyway
                log.exception("following %s failed", self.follower.path)
                return
            if update:
                self.out.put(update)
            self.out.put(None)
            self.halt.wait(self.interval)

    def stop(self) -> None:
        self.halt.set()


class LogSource:
    """Pump side of one opened path: turns follower updates into runs and points."""

    def __init__(self, controller: LogController, path: Path) -> None:
        self.controller = controller
        self.model = controller.model
        self.path = path
        self.queue: queue.Queue = queue.Queue()
        self.thread = FollowThread(path, self.queue)
        self.runs: dict[str, str] = {}  # run name (relative to path) -> run id
        self.dirty: set[str] = set()
        self.new_tags: set[str] = set()
        self.scans = 0
        self.warnings: list[str] = []
        self.closed = False

    def start(self) -> None:
        self.thread.start()

    def pump(self, deadline: float) -> bool:
        if self.closed:
            return True
        while time.perf_counter() < deadline:
            try:
                update = self.queue.get_nowait()
            except queue.Empty:
                break
            if update is None:
                self.scans += 1
                self._settle()
            else:
                self._take(update)
        return False

    def _take(self, update: FollowUpdate) -> None:
        for name in update.new_runs:
            if name not in self.runs:
                self._new_run(name)
        for name in update.reset:  # files replaced: this update holds the whole run again
            self._reset_run(name)
        for name, tags in update.points.items():
            run_id = self.runs.get(name) or self._new_run(name)
            run = self.model.run(run_id)
            if run is None:  # closed by the user
                continue
            purged = update.purged.get(name, {})
            for tag, scalars in tags.items():
                if tag not in run.tags:
                    self.new_tags.add(run_id)
                elif tag in purged:  # a restarted run: its new file replaces the tail
                    run.tags[tag].drop_from(purged[tag])
                self.model.append_points(run_id, tag, scalars.steps, scalars.values)
            self.controller.add_to_sums(run_id, tags, purged)
            self.dirty.add(run_id)
        for name, texts in update.texts.items():
            run = self.model.run(self.runs.get(name))
            text = texts.get(CONFIG_TAG)
            if run is not None and text and (run.config is None or name in update.reset):
                try:
                    self.model.update_run(run.id, config=config_module.loads(text))
                except config_module.ConfigError:
                    log.info("%s: stored config is not valid here", name)
        for warning in update.warnings:
            self.warnings.append(warning)
            self.model.message.emit(warning)

    def _reset_run(self, name: str) -> None:
        """Forget a run's points, sums and diagnosis: its files were replaced and the
        follower re-reads them whole (a finding that no longer holds disappears)."""
        run_id = self.runs.get(name)
        run = self.model.run(run_id) if run_id is not None else None
        if run is None:  # unknown, or closed by the user
            return
        for tag in self.controller.sums.pop(run_id, {}):
            run.tags.pop(tag, None)
        for series in run.tags.values():
            series.clear()
        diagnoser = self.controller.diagnosers.get(run_id)
        if diagnoser is not None:
            diagnoser.reset()
        self.model.set_diagnosis(run_id, None)
        self.new_tags.add(run_id)
        self.dirty.add(run_id)

    def _new_run(self, name: str) -> str:
        root = self.path if name == "." else self.path / name
        status, reason, problems = rundir.checked_status(root)
        run = self.model.add_run(
            root.name if name == "." else name, "log", status or LOG, run_dir=root,
            source=str(self.path), reason=reason,
        )
        self.runs[name] = run.id
        self.controller.diagnosers[run.id] = RunDiagnoser(self.model, run.id)
        problems += self._link_parent(run.id, root)
        for problem in problems:  # a bad side file spoils its own field, never the folder
            self._warn(problem)
        return run.id

    def _warn(self, warning: str) -> None:
        log.warning("%s", warning)
        self.warnings.append(warning)
        self.model.message.emit(warning)

    def _link_parent(self, run_id: str, root: Path) -> list[str]:
        """Fix lineage written by the GUI (``parent.json``) reconnects loaded runs;
        returns the problems found in that file."""
        link, problems = rundir.read_parent(root)
        if link is None or not link.parent:
            return problems
        for other in self.model.runs():
            if other.id != run_id and other.run_dir is not None \
                    and str(other.run_dir) == link.parent:
                fix = FixInfo(other.id, link.rule, link.remedy, link.patch)
                self.model.set_fix(run_id, fix)
                break
        return problems

    def _settle(self) -> None:
        """After a pass over the files: roles for runs with new tags, then diagnosis."""
        for run_id in self.new_tags:
            self.controller.infer(run_id)
        self.new_tags.clear()
        for run_id in self.dirty:
            run = self.model.run(run_id)
            if run is None:
                continue
            diagnoser = self.controller.diagnosers.get(run_id)
            if diagnoser is not None:
                diagnoser.update(force=True)
        if self.dirty:
            self.controller.pump.request_frame()
        self.dirty.clear()
        if self.scans == 1:
            found = len(self.runs)
            problems = sum(  # info findings are notes, not problems
                1 for r in self.runs.values()
                if self.model.run(r) is not None
                and any(f.severity.value != "info" for f in self.model.run(r).findings())
            )
            note = f", {len(self.warnings)} warning(s)" if self.warnings else ""
            self.model.message.emit(
                f"{self.path}: {found} run(s), {problems} with findings{note}; following it"
            )

    def close(self) -> None:
        self.closed = True
        self.thread.stop()


class LogController:
    """Opens log paths, infers tag roles (with the user's overrides) and keeps them followed."""

    def __init__(self, model: AppModel, pump: Pump) -> None:
        self.model = model
        self.pump = pump
        self.sources: dict[Path, LogSource] = {}
        self.diagnosers: dict[str, RunDiagnoser] = {}
        self.overrides: dict[str, dict[str, str]] = {}  # run id -> role -> tag
        self.sums: dict[str, dict[str, PartSum]] = {}  # run id -> composite tag -> its sum

    def open(self, path: str | Path) -> LogSource:
        """Start reading (and following) ``path``; raises FileNotFoundError when it is absent
        or cannot be opened (the message says why)."""
        path = Path(path).expanduser().resolve()
        try:
            if path.is_dir():
                with os.scandir(path):
                    pass
            elif not path.exists():
                raise FileNotFoundError(f"no such file or folder: {path}")
        except FileNotFoundError:
            raise
        except OSError as exc:  # permissions: say so, as the window does for a missing path
            raise FileNotFoundError(f"{path}: cannot open it ({exc.strerror or exc})") from None
        if path in self.sources:
            return self.sources[path]
        source = LogSource(self, path)
        self.sources[path] = source
        source.start()
        self.pump.add(source)
        return source

    def infer(self, run_id: str) -> None:
        run = self.model.run(run_id)
        if run is None:
            return
        sums = self.sums.setdefault(run_id, {})
        counts = {tag: len(series) for tag, series in run.tags.items() if tag not in sums}
        roles = infer_roles(counts, overrides=self.overrides.get(run_id))
        wanted = {tag for tag in roles.values()
                  if tag not in counts and sum_parts_of(tag, counts) is not None}
        for tag in set(sums) - wanted:  # a sum no role reads any more
            del sums[tag]
            run.tags.pop(tag, None)
        for tag in wanted - set(sums):
            self._start_sum(run_id, tag)
        self.model.set_roles(run_id, roles, uncertain=self.uncertain_roles(run_id))

    def _start_sum(self, run_id: str, tag: str) -> None:
        """A composite tag's series from its parts' points so far (then kept up by
        ``add_to_sums``)."""
        run = self.model.run(run_id)
        parts = sum_parts_of(tag, run.tags)
        part_sum = self.sums.setdefault(run_id, {})[tag] = PartSum(parts)
        old = run.tags.get(tag)
        if old is not None:
            old.clear()  # a new generation: incremental readers of it start over
        got = part_sum.update({p: _scalars(run.tags[p]) for p in parts})
        if len(got) or old is not None:
            self.model.append_points(run_id, tag, got.steps, got.values)

    def add_to_sums(self, run_id: str, tags: dict[str, Scalars], purged: dict[str, int]) -> None:
        """Extend the run's composite series by the sums the new points of their parts
        completed; a sum whose part was purged (restarted run) is built again."""
        for tag, part_sum in list(self.sums.get(run_id, {}).items()):
            if any(p in purged for p in part_sum.parts):
                self._start_sum(run_id, tag)
                continue
            new = {p: tags[p] for p in part_sum.parts if p in tags}
            got = part_sum.update(new) if new else None
            if got is not None and len(got):
                self.model.append_points(run_id, tag, got.steps, got.values)

    def uncertain_roles(self, run_id: str) -> frozenset[str]:
        """Roles that more than one tag could fill, not settled by the user."""
        candidates = self.candidates(run_id)
        settled = self.overrides.get(run_id, {})
        return frozenset(r for r, tags in candidates.items() if len(tags) > 1 and r not in settled)

    def candidates(self, run_id: str) -> dict[str, list[str]]:
        sums = self.sums.get(run_id, {})
        return role_candidates(t for t in self.model.run(run_id).tags if t not in sums)

    def set_overrides(self, run_id: str, overrides: dict[str, str]) -> None:
        """Apply the user's role choices (role -> tag; '' unmaps) and re-diagnose."""
        self.overrides[run_id] = dict(overrides)
        self.infer(run_id)
        diagnoser = self.diagnosers.get(run_id)
        if diagnoser is None:
            diagnoser = self.diagnosers[run_id] = RunDiagnoser(self.model, run_id)
        diagnoser.reset()
        self.model.set_diagnosis(run_id, None)
        diagnoser.update(force=True)
        self.pump.request_frame()

    def close_all(self) -> None:
        for source in self.sources.values():
            source.close()
        for source in self.sources.values():
            source.thread.join(2.0)
        self.sources.clear()

    def wait_loaded(self, source: LogSource) -> bool:
        """True once the first pass over ``source`` is in the model."""
        return source.scans >= 1


def _scalars(series) -> Scalars:
    """A chart series as reader scalars (the charts keep no wall times)."""
    steps, values = series.steps, series.values
    return Scalars(steps.copy(), values.copy(), np.zeros(len(steps)))
