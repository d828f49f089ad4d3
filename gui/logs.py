"""Log directories opened in the GUI: every run found is charted, diagnosed and followed.

A :class:`FollowThread` per opened path re-scans it (``engine.tb.discovery``) and
reads what each event file gained (``engine.tb.reader.EventFileReader``, which
resumes where it stopped and waits for a half-written tail), off the GUI thread.
Its results go through a queue; :class:`LogSource` in the pump moves them into the
model within the frame budget, so a directory still being written grows live:
new points on the charts, new runs in the list.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import config as config_module
from engine import rundir
from engine.tb.discovery import find_runs
from engine.tb.reader import CONFIG_TAG, EventFileReader, qualified
from engine.tb.roles import infer_roles, role_candidates
from gui.diagnosis import RunDiagnoser
from gui.model import AppModel
from gui.pump import Pump
from gui.state import LOG, FixInfo

log = logging.getLogger(__name__)

RESCAN_S = 1.0  # how often a followed directory is checked for new bytes and new runs


@dataclass(frozen=True, slots=True)
class Chunk:
    run: str  # the run's name relative to the opened path
    root: Path
    prefix: str
    chunk: Any  # engine.tb.reader.FileChunk


class FollowThread(threading.Thread):
    """Reads a log path over and over; puts Chunks, then one "scanned" after each pass."""

    def __init__(self, path: Path, out: queue.Queue, *, interval: float = RESCAN_S) -> None:
        super().__init__(name=f"follow {path}", daemon=True)
        self.path = path
        self.out = out
        self.interval = interval
        self.readers: dict[Path, EventFileReader] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                sources = find_runs(self.path)
            except OSError as exc:
                self.out.put(("error", str(exc)))
                return
            for source in sources:
                for group in source.groups:
                    for file in group.files:
                        if self.halt.is_set():
                            return
                        reader = self.readers.get(file)
                        if reader is None:
                            reader = self.readers[file] = EventFileReader(file)
                        chunk = reader.read()
                        if chunk.points or chunk.texts or chunk.warnings:
                            self.out.put(("chunk", Chunk(source.name, source.root, group.prefix,
                                                         chunk)))
            self.out.put(("scanned", None))
            self.halt.wait(self.interval)

    def stop(self) -> None:
        self.halt.set()


class LogSource:
    """Pump side of one opened path: turns Chunks into runs and points."""

    def __init__(self, controller: LogController, path: Path) -> None:
        self.controller = controller
        self.model = controller.model
        self.path = path
        self.queue: queue.Queue = queue.Queue()
        self.thread = FollowThread(path, self.queue)
        self.runs: dict[str, str] = {}  # run name -> run id
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
                kind, item = self.queue.get_nowait()
            except queue.Empty:
                break
            if kind == "chunk":
                self._take(item)
            elif kind == "scanned":
                self.scans += 1
                self._settle()
            elif kind == "error":
                self.model.message.emit(f"{self.path}: {item}")
        return False

    def _take(self, item: Chunk) -> None:
        run_id = self.runs.get(item.run)
        if run_id is None:
            run_id = self._new_run(item)
        run = self.model.run(run_id)
        if run is None:  # closed by the user
            return
        chunk = item.chunk
        for tag, scalars in chunk.scalars.items():
            name = qualified(item.prefix, tag)
            if name not in run.tags:
                self.new_tags.add(run_id)
            self.model.append_points(run_id, name, scalars.steps, scalars.values)
        text = chunk.texts.get(CONFIG_TAG)
        if text and run.config is None:
            try:
                self.model.update_run(run_id, config=config_module.loads(text))
            except config_module.ConfigError:
                log.info("%s: stored config is not valid here", item.root)
        for warning in chunk.warnings:
            self.warnings.append(warning)
            self.model.message.emit(warning)
        self.dirty.add(run_id)

    def _new_run(self, item: Chunk) -> str:
        name = item.run if item.run != "." else item.root.name
        status_record = rundir.read_status(item.root) or {}
        status = status_record.get("status") or LOG
        run = self.model.add_run(
            name, "log", status, run_dir=item.root, source=str(self.path),
            reason=str(status_record.get("reason", "")),
        )
        self.runs[item.run] = run.id
        self.controller.diagnosers[run.id] = RunDiagnoser(self.model, run.id)
        self._link_parent(run.id, item.root)
        return run.id

    def _link_parent(self, run_id: str, root: Path) -> None:
        """Fix lineage written by the GUI (``parent.json``) reconnects loaded runs."""
        try:
            record = json.loads((root / rundir.PARENT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        parent_dir = record.get("parent")
        for other in self.model.runs():
            if other.run_dir is not None and parent_dir and str(other.run_dir) == parent_dir:
                fix = FixInfo(other.id, str(record.get("rule", "")), str(record.get("remedy", "")),
                              dict(record.get("patch") or {}))
                self.model.set_fix(run_id, fix)
                return

    def _settle(self) -> None:
        """After a pass over the files: roles for runs with new tags, then diagnosis."""
        for run_id in self.new_tags:
            self.controller.infer(run_id)
        self.new_tags.clear()
        for run_id in self.dirty:
            run = self.model.run(run_id)
            if run is None:
                continue
            if self.scans == 1:
                _sort_by_step(run)
            diagnoser = self.controller.diagnosers.get(run_id)
            if diagnoser is not None:
                diagnoser.update(force=True)
        if self.dirty:
            self.controller.pump.request_frame()
        self.dirty.clear()

    def close(self) -> None:
        self.closed = True
        self.thread.stop()


def _sort_by_step(run) -> None:
    """A run restarted into a second file may log steps out of order: sort once after loading."""
    for series in run.tags.values():
        steps = series.steps
        if len(steps) > 1 and (np.diff(steps) < 0).any():
            order = np.argsort(steps, kind="stable")
            s, v = steps[order].copy(), series.values[order].copy()
            series.clear()
            series.append(s, v)


class LogController:
    """Opens log paths, infers tag roles (with the user's overrides) and keeps them followed."""

    def __init__(self, model: AppModel, pump: Pump) -> None:
        self.model = model
        self.pump = pump
        self.sources: dict[Path, LogSource] = {}
        self.diagnosers: dict[str, RunDiagnoser] = {}
        self.overrides: dict[str, dict[str, str]] = {}  # run id -> role -> tag

    def open(self, path: str | Path) -> LogSource:
        """Start reading (and following) ``path``; raises FileNotFoundError when it is absent."""
        path = Path(path).expanduser().resolve()
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
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
        counts = {tag: len(series) for tag, series in run.tags.items()}
        roles = infer_roles(counts, overrides=self.overrides.get(run_id))
        self.model.set_roles(run_id, roles, uncertain=self.uncertain_roles(run_id))

    def uncertain_roles(self, run_id: str) -> frozenset[str]:
        """Roles that more than one tag could fill, not settled by the user."""
        run = self.model.run(run_id)
        candidates = role_candidates(run.tags)
        settled = self.overrides.get(run_id, {})
        return frozenset(r for r, tags in candidates.items() if len(tags) > 1 and r not in settled)

    def candidates(self, run_id: str) -> dict[str, list[str]]:
        return role_candidates(self.model.run(run_id).tags)

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
