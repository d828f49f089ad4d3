"""Log directories opened in the GUI: every run found is charted, diagnosed and followed.

A :class:`FollowThread` per opened path drives the engine's live follower
(:class:`traindoc.engine.watch.Watcher`) off the GUI thread: it reads only the bytes
appended since the last poll, notices new runs, sums loss parts, reads the stored config
and diagnoses each changed run there, so opening large logs never stalls the window. A
poll reads for at most ``READ_S``: a tree of thousands of runs is listed at once, and
its runs fill in as the polls that follow (back to back) read them. While a tree is read
the first time, the follower gives way between runs whenever the UI thread is in a long
frame (:mod:`traindoc.gui.ui_beat`): the two share the GIL.
Its :class:`~traindoc.engine.watch.RunChange` objects go through a queue; :class:`LogSource`
in the pump only translates them into model calls, within the frame budget (a long
series is appended in slices). In a tree of more than ``LAZY_AFTER`` runs only the
points of the runs on the charts are kept in the model; a run's are read, whole, when
it is shown (selected or checked).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from pathlib import Path

from traindoc.diagnostics.remedies import mark_tried
from traindoc.engine import rundir
from traindoc.engine.tb.roles import infer_roles, role_candidates
from traindoc.engine.watch import RunChange, Watcher
from traindoc.gui import long_lived
from traindoc.gui.core.state import LOG, FixInfo
from traindoc.gui.diagnosis import RunDiagnoser
from traindoc.gui.model import AppModel
from traindoc.gui.pump import Pump
from traindoc.gui.ui_beat import UiBeat

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often a followed directory is checked for new bytes
RESCAN_S = 2.0  # how often its tree is walked again for new runs and files
READ_S = 0.25  # reading per poll: a huge tree's runs are listed first, then read in slices
SLICE = 100_000  # points appended to the model at a time
LAZY_AFTER = 100  # in a bigger tree only the shown runs' points are in memory (_lazy)
SHOWN_SLICE = 25_000  # for a run on the charts: one such slice per frame (smoothing, reduction)
FREEZE_RUNS = 500  # a first pass freezes what it took in this often (gui/long_lived.py)


class FollowThread(threading.Thread):
    """Polls a Watcher of one path; puts each RunChange and warning, then ``None`` after
    every poll. Role overrides asked from the GUI are applied here, between polls."""

    def __init__(self, path: Path, out: queue.Queue, *, interval: float = POLL_S,
                 beat: UiBeat | None = None) -> None:
        super().__init__(name=f"follow {path}", daemon=True)
        self.beat = beat
        self.watcher = Watcher([str(path)], {}, rescan_secs=RESCAN_S, read_budget_s=READ_S)
        self.out = out
        self.interval = interval
        self.halt = threading.Event()
        self.wake = threading.Event()
        self.requests: queue.Queue = queue.Queue()  # (run name, role overrides)

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self._poll()
            except Exception:  # the reader never raises on file contents; be safe anyway
                log.exception("following %s failed", self.watcher.followers[0][0])
                return
            if self.watcher.pending:
                continue  # a huge tree: its runs are listed, their points come poll by poll
            self.out.put(None)  # a whole pass over the files is in
            self.wake.wait(self.interval)
            self.wake.clear()

    def _poll(self) -> None:
        while not self.requests.empty():
            name, overrides = self.requests.get_nowait()
            self._put(self.watcher.set_overrides(name, overrides))
        for change in self.watcher.changes():
            self._put(change)
            if self.halt.is_set():
                return
            if self.beat is not None:
                self.beat.give_way()
        self._put(None)

    def _put(self, change: RunChange | None) -> None:
        for warning in self.watcher.take_warnings():
            self.out.put(warning)
        if change is not None:
            self.out.put(change)

    def set_overrides(self, name: str, overrides: dict[str, str]) -> None:
        self.requests.put((name, dict(overrides)))
        self.wake.set()

    def stop(self) -> None:
        self.halt.set()
        self.wake.set()


class LogSource:
    """Pump side of one opened path: turns the follower's changes into runs and points."""

    def __init__(self, controller: LogController, path: Path) -> None:
        self.controller = controller
        self.model = controller.model
        self.path = path
        self.queue: queue.Queue = queue.Queue()
        self.thread = FollowThread(path, self.queue, beat=controller.beat)
        self.runs: dict[str, str] = {}  # run name (relative to path) -> run id
        self.sum_tags: dict[str, set[str]] = {}  # run id -> its composite series
        self.steps: deque = deque()  # model calls not done yet, in order
        self.scans = 0
        self.taken = 0  # runs read and diagnosed (a change of each taken in)
        self.warnings: list[str] = []
        self.closed = False
        self._visible: set[str] | None = None
        self.lazy: set[str] = set()  # runs whose points are left in their files (_lazy)
        self._check_lazy = False
        controller.model.current_changed.connect(self._forget_visible)
        controller.model.visible_changed.connect(self._forget_visible)

    def start(self) -> None:
        self.thread.start()

    def _forget_visible(self, *_args) -> None:
        self._visible = None
        self._check_lazy = True  # a run shown now may need its points: next frame

    def pump(self, deadline: float) -> bool:
        if self.closed:
            return True
        self._visible = None  # the runs on the charts, asked once per frame (O(runs))
        if self._check_lazy and self.lazy:
            self._load_shown()
        while time.perf_counter() < deadline:
            if self.steps:
                if self.steps.popleft()():
                    break  # points of a shown run: its charts take them in this frame
                continue
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self.scans += 1
                self._settle()
            elif isinstance(item, str):
                self._warn(item, log_it=False)
            else:
                self._take(item)
        return False

    def _take(self, change: RunChange) -> None:
        """Queue the model calls of one change: its tags and roles first (a shown run's
        charts then smooth and reduce the points slice by slice, one per frame), then the
        points in slices, then the diagnosis."""
        run_id = self.runs.get(change.run) or self._new_run(change.run)
        lazy = self._lazy(run_id)
        self.steps.append(lambda: self._begin(run_id, change, lazy=lazy))
        if not lazy:
            for tag, scalars in [*change.points.items(), *change.sums.items()]:
                self.steps.append(lambda t=tag, s=scalars: self._append(
                    run_id, t, s.steps, s.values, s.wall_times))
        self.steps.append(lambda: self._finish(run_id, change))

    def _lazy(self, run_id: str) -> bool:
        """True when the run's points are left in its files for now: a tree of more than
        ``LAZY_AFTER`` runs keeps in memory only the points of the runs on the charts; a
        run's are read (again, whole) when it is shown (:meth:`_load_shown`). Its status,
        roles and diagnosis (the follower's) are kept current all the same."""
        if run_id in self.lazy:
            return True
        if len(self.runs) <= LAZY_AFTER:
            return False
        if self._visible is None:
            self._visible = set(self.model.visible_runs())
        if run_id in self._visible:
            return False
        self.lazy.add(run_id)
        return True

    def _load_shown(self) -> None:
        """Read again, whole, the runs just shown whose points were left in their files."""
        self._check_lazy = False
        shown = self.lazy.intersection(self.model.visible_runs())
        if not shown:
            return
        names = {run_id: name for name, run_id in self.runs.items()}
        for run_id in shown:
            self.lazy.discard(run_id)
            self.thread.set_overrides(names[run_id], self.controller.overrides.get(run_id, {}))

    def _begin(self, run_id: str, change: RunChange, *, lazy: bool = False) -> None:
        run = self.model.run(run_id)
        if run is None:  # closed by the user
            return
        if change.reset:
            self._reset_run(run_id)
        sums = self.sum_tags.setdefault(run_id, set())
        sums.update(change.sums)
        for tag, scalars in [*change.points.items(), *change.sums.items()]:
            # Known before its points (the roles and charts can use it), with room for
            # all of them: the slices that follow fill it without regrowing copies.
            series = run.tag_series(tag)
            if not lazy:
                series.reserve(len(series) + len(scalars))
        if change.config is not None:
            self.model.update_run(run_id, config=change.config)
        uncertain = self.controller.uncertain_roles(run_id)
        if change.roles != run.roles or uncertain != run.uncertain_roles:
            self.model.set_roles(run_id, change.roles, uncertain=uncertain)

    def _append(self, run_id: str, tag: str, steps, values, walls) -> bool:
        """Append a slice of the points, the rest queued next; True when the run is shown
        (its charts then take this slice in this frame)."""
        if self.model.run(run_id) is None:  # closed by the user
            return False
        if self._visible is None:
            self._visible = set(self.model.visible_runs())
        shown = run_id in self._visible
        n = SHOWN_SLICE if shown else SLICE
        if len(steps) > n:
            self.steps.appendleft(
                lambda: self._append(run_id, tag, steps[n:], values[n:], walls[n:]))
        self.model.append_points(run_id, tag, steps[:n], values[:n], walls[:n])
        return shown

    def _finish(self, run_id: str, change: RunChange) -> None:
        if self.model.run(run_id) is None or change.diagnosis is None:
            return
        state = self.model.state
        tried = {f.rule: state.tried_remedies(run_id, f.rule) for f in change.diagnosis.findings}
        self.model.set_diagnosis(run_id, mark_tried(change.diagnosis, tried))
        self.controller.pump.request_frame()
        self.taken += 1
        if self.scans == 0 and self.taken % FREEZE_RUNS == 0:
            long_lived.freeze()  # a big tree's runs: out of the collector's full passes

    def _reset_run(self, run_id: str) -> None:
        """Forget a run's points, sums and diagnosis: the change holds the run whole again
        (a finding that no longer holds disappears)."""
        run = self.model.run(run_id)
        if run is None:  # closed by the user
            return
        for tag in self.sum_tags.pop(run_id, set()):
            run.tags.pop(tag, None)
        for series in run.tags.values():
            series.clear()
        self.model.set_diagnosis(run_id, None)

    def _new_run(self, name: str) -> str:
        root = self.path if name == "." else self.path / name
        status, reason, problems = rundir.checked_status(root)
        run = self.model.add_run(
            root.name if name == "." else name, "log", status or LOG, run_dir=root,
            source=str(self.path), reason=reason,
        )
        self.runs[name] = run.id
        problems += self._link_parent(run.id, root)
        for problem in problems:  # a bad side file spoils its own field, never the folder
            self._warn(problem)
        return run.id

    def _warn(self, warning: str, *, log_it: bool = True) -> None:
        if log_it:
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
        """After the first pass over the files is in the model: a summary line."""
        if self.scans != 1:
            return
        self.controller.first_pass_done()
        runs = [self.model.run(r) for r in self.runs.values()]
        problems = sum(  # info findings are notes, not problems
            1 for run in runs
            if run is not None and any(f.severity.value != "info" for f in run.findings())
        )
        note = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        self.model.message.emit(
            f"{self.path}: {len(self.runs)} run(s), {problems} with findings{note}; following it"
        )

    def close(self) -> None:
        self.closed = True
        self.thread.stop()


class LogController:
    """Opens log paths, keeps them followed, and passes the user's role overrides on."""

    def __init__(self, model: AppModel, pump: Pump) -> None:
        self.model = model
        self.pump = pump
        self.sources: dict[Path, LogSource] = {}
        self.overrides: dict[str, dict[str, str]] = {}  # run id -> role -> tag
        self.beat = UiBeat(pump)  # beats while a path's first pass is read

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
        self.beat.start()
        source.start()
        self.pump.add(source)
        return source

    def first_pass_done(self) -> None:
        """A path's files are all in the model: the beat stops once every path's are."""
        if all(source.scans >= 1 or source.closed for source in self.sources.values()):
            self.beat.stop()

    def uncertain_roles(self, run_id: str) -> frozenset[str]:
        """Roles that more than one tag could fill, not settled by the user."""
        candidates = self.candidates(run_id)
        settled = self.overrides.get(run_id, {})
        return frozenset(r for r, tags in candidates.items() if len(tags) > 1 and r not in settled)

    def candidates(self, run_id: str) -> dict[str, list[str]]:
        sums = set().union(*(s.sum_tags.get(run_id, ()) for s in self.sources.values()))
        return role_candidates(t for t in self.model.run(run_id).tags if t not in sums)

    def set_overrides(self, run_id: str, overrides: dict[str, str]) -> None:
        """Apply the user's role choices (role -> tag; '' unmaps): a followed run is read
        again and diagnosed with them off the GUI thread; another (a launched run) at once."""
        self.overrides[run_id] = dict(overrides)
        for source in self.sources.values():
            name = next((n for n, i in source.runs.items() if i == run_id), None)
            if name is not None:
                source.thread.set_overrides(name, overrides)
                return
        run = self.model.run(run_id)
        counts = {tag: len(series) for tag, series in run.tags.items()}
        roles = infer_roles(counts, overrides=overrides)
        self.model.set_roles(run_id, roles, uncertain=self.uncertain_roles(run_id))
        self.model.set_diagnosis(run_id, None)
        RunDiagnoser(self.model, run_id).update(force=True)
        self.pump.request_frame()

    def close_all(self) -> None:
        self.beat.stop()
        for source in self.sources.values():
            source.close()
        for source in self.sources.values():
            source.thread.join(2.0)
        self.sources.clear()
