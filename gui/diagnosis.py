"""Keeps each run's diagnosis current: feeds new points to ``diagnostics.live`` (O(new))."""

from __future__ import annotations

import logging
import time

from traindoc.diagnostics.live import LiveDiagnoser
from traindoc.diagnostics.remedies import mark_tried
from traindoc.engine import config as config_module
from traindoc.gui.core.state import RunState
from traindoc.gui.model import AppModel

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 0.5  # a running run is re-diagnosed at most this often


class RunDiagnoser:
    """One run's live diagnoser; ``update()`` feeds what is new and publishes the diagnosis."""

    def __init__(self, model: AppModel, run_id: str) -> None:
        self.model = model
        self.run_id = run_id
        self._live: LiveDiagnoser | None = None
        self._fed: dict[str, tuple[str, int, int]] = {}  # role -> (tag, generation, points fed)
        self._last = 0.0

    def reset(self) -> None:
        """Forget everything fed (roles were reassigned)."""
        self._live = None
        self._fed.clear()

    def update(self, *, force: bool = False) -> None:
        run = self.model.run(self.run_id)
        if run is None:
            return
        now = time.monotonic()
        if not force and now - self._last < MIN_INTERVAL_S:
            return
        self._last = now
        self._ensure(run)
        changed = self._feed(run)
        if not changed and run.diagnosis is not None:
            return
        try:
            diagnosis = self._live.diagnosis()
        except Exception:  # a rule bug must not take the GUI down
            log.exception("diagnosis of %s failed", run.name)
            return
        state = self.model.state
        tried = {f.rule: state.tried_remedies(run.id, f.rule) for f in diagnosis.findings}
        self.model.set_diagnosis(run.id, mark_tried(diagnosis, tried))

    def _ensure(self, run: RunState) -> None:
        if self._live is not None and self._live.tags != run.roles:
            self.reset()  # a role gained or changed its tag: a metric's direction comes from it
        if self._live is None:
            config = config_module.diagnosis_dict(run.config) if run.config is not None else None
            self._live = LiveDiagnoser(config=config, name=run.name, tags=run.roles)

    def _feed(self, run: RunState) -> bool:
        changed = False
        for role, tag in run.roles.items():
            series = run.tags.get(tag)
            if series is None:
                continue
            fed_tag, generation, done = self._fed.get(role, (tag, series.generation, 0))
            if fed_tag != tag or generation != series.generation:
                self.reset()
                self._ensure(run)
                return self._feed(run)
            if len(series) > done:
                self._live.feed(role, series.steps[done:], series.values[done:])
                self._fed[role] = (tag, series.generation, len(series))
                changed = True
        return changed
