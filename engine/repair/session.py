"""The repair loop ("fix until healthy"): train, diagnose, apply the next remedy, repeat.

:class:`RepairSession` runs the first config (or takes a run that already ended), and
while the latest run is not healthy asks :func:`traindoc.diagnostics.repair_policy.choose`
for the next remedy, starts the child (``parent.json`` records the lineage, as the
GUI's one-click fix does), waits for it and judges it. Every decision is the policy's;
this module only runs things. It stops when a run is healthy, when the budget
(attempts after the first run, and minutes) is spent, when no remedy is left, or when
:meth:`RepairSession.stop` is called (from any thread) or Ctrl-C arrives: the running
attempt is stopped cleanly and everything written is kept.

:meth:`RepairSession.events` is a generator of :mod:`traindoc.engine.repair.events`
records; the command line prints them, a GUI can run it on a worker thread and
forward them. What runs is a :class:`traindoc.engine.repair.runs.Runs`.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from traindoc.diagnostics import repair_policy as policy
from traindoc.diagnostics.fix_verdict import compared_roles, judge_fix
from traindoc.diagnostics.repair_policy import Attempt, StopReason
from traindoc.engine import rundir
from traindoc.engine.events import Event
from traindoc.engine.repair.events import (
    AttemptEnded,
    AttemptStarted,
    RepairEnded,
    RepairEvent,
    RepairResult,
)
from traindoc.engine.repair.outcome import RunRecord
from traindoc.engine.repair.runs import ActiveRun, Runs, TrainRuns

DEFAULT_ATTEMPTS = 4
POLL_SECONDS = 0.05
#: How long a stopped run may take to send its last events (RunHandle escalates in 5 s).
STOP_WAIT_S = 8.0

OnRunEvents = Callable[[int, list[Event]], None]


class RepairSession:
    """One repair: the first run, then up to ``attempts`` children, within ``minutes``.

    ``first_run``: a run folder that already ended, judged instead of training
    ``config`` again (its config must be ``config``). ``report``: write the
    Markdown report to the first run's folder at the end.
    """

    def __init__(self, config: Any, logdir: str | Path, *, attempts: int = DEFAULT_ATTEMPTS,
                 minutes: float | None = None, runs: Runs | None = None,
                 first_run: str | Path | None = None, on_run_events: OnRunEvents | None = None,
                 report: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.logdir = Path(logdir)
        self.budget = max(0, int(attempts))
        self.minutes = minutes
        self.runs: Runs = runs or TrainRuns()
        self.first_run = Path(first_run) if first_run is not None else None
        self.on_run_events = on_run_events
        self.report = report
        self.clock = clock
        self.attempts: list[Attempt] = []
        self.records: list[RunRecord] = []
        self.verdicts: list[str] = []
        self.skipped: list[tuple[policy.Skip, ...]] = []
        self._configs: list[Any] = []
        self._stop = threading.Event()
        self._interrupted = False
        self._timed_out = False
        self._started_at = clock()
        self.result: RepairResult | None = None

    # ------------------------------------------------------------ control

    def stop(self) -> None:
        """End the repair: the running attempt is stopped, nothing new starts. Thread-safe."""
        self._stop.set()

    def interrupt(self) -> None:
        """Ctrl-C: as :meth:`stop`, and the repair ends as ``interrupted``."""
        self._interrupted = True
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _deadline_passed(self) -> bool:
        if self.minutes is None:
            return False
        return self.clock() - self._started_at >= self.minutes * 60.0

    # ------------------------------------------------------------ the loop

    def events(self) -> Iterator[RepairEvent]:
        """Run the repair, yielding what happens; the last record is ``RepairEnded``.

        A ``KeyboardInterrupt`` while a run trains stops that run cleanly and ends the
        repair (reason ``interrupted``); one before the first run began is re-raised.
        """
        self._started_at = self.clock()
        try:
            yield from self._first()
            reason = yield from self._repair()
        except KeyboardInterrupt:
            self.interrupt()
            if not self.attempts:
                raise
            reason = StopReason.INTERRUPTED
        yield self._end(reason)

    def _first(self) -> Iterator[RepairEvent]:
        self._configs.append(self.config)
        if self.first_run is not None:
            yield AttemptStarted(0, self.first_run)
            record = self.runs.record(self.first_run)
        else:
            record = yield from self._run(0, self.config, AttemptStarted(0, Path()))
        attempt = Attempt(0, self.runs.flat(self.config), outcome=record.outcome)
        yield self._judged(attempt, record, "")

    def _repair(self) -> Iterator[RepairEvent]:
        """Children until a stop reason; returns (as the generator's value) the reason."""
        while True:
            reason = self._stop_reason()
            if reason is not None:
                return reason
            base = policy.base_of(self.attempts)
            decision = policy.choose(self.attempts, self._builder(base.index))
            choice = decision.choice
            if choice is None:
                return StopReason.NO_REMEDY
            index = len(self.attempts)
            config = self.runs.child(self._configs[base.index], choice.remedy, choice.patch)
            self._configs.append(config)
            flat_base = self.attempts[base.index].config
            changes = tuple((k, flat_base.get(k), choice.config.get(k)) for k in choice.patch)
            started = AttemptStarted(index, Path(), parent=base.index, rule=choice.rule,
                                     remedy=choice.remedy, patch=dict(choice.patch),
                                     changes=changes, skipped=decision.skipped)
            record = yield from self._run(index, config, started)
            attempt = self._judge_child(index, choice, record)
            yield self._judged(attempt, record, self._verdict(attempt, record), decision.skipped)

    def _stop_reason(self) -> StopReason | None:
        if any(a.outcome is not None and a.outcome.healthy for a in self.attempts):
            return StopReason.HEALTHY
        if self._stop.is_set():
            return StopReason.INTERRUPTED
        if self._timed_out or self._deadline_passed():
            return StopReason.TIME
        if len(self.attempts) - 1 >= self.budget:
            return StopReason.ATTEMPTS
        return None

    def _builder(self, base_index: int) -> policy.Build:
        base = self._configs[base_index]

        def build(patch: dict[str, Any]) -> dict[str, Any] | None:
            try:
                return self.runs.flat(self.runs.child(base, "fix", patch))
            except ValueError:
                return None

        return build

    def _judge_child(self, index: int, choice: policy.Choice, record: RunRecord) -> Attempt:
        parent = self.attempts[choice.base]
        effect = None
        if parent.outcome is not None and not self._stopped_by_us(record):
            effect = policy.judge(parent.outcome, record.outcome, choice.rule)
        return Attempt(index, choice.config, parent=choice.base, rule=choice.rule,
                       remedy=choice.remedy, patch=dict(choice.patch), outcome=record.outcome,
                       effect=effect)

    def _stopped_by_us(self, record: RunRecord) -> bool:
        return (self._stop.is_set() or self._timed_out) and not record.outcome.finished

    def _verdict(self, attempt: Attempt, record: RunRecord) -> str:
        """The fix verdict's text, as the GUI and ``traindoc diagnose`` word it."""
        parent = self.records[attempt.parent]
        roles = compared_roles(r for r, v in record.best.items() if v is not None)
        metrics = [(role, parent.best.get(role), record.best.get(role)) for role in roles]
        verdict = judge_fix(attempt.rule, record.outcome.diagnosis,
                            finished=record.outcome.finished, status=record.status,
                            metrics=metrics)
        return verdict.text()

    def _judged(self, attempt: Attempt, record: RunRecord, verdict: str,
                skipped: tuple[policy.Skip, ...] = ()) -> AttemptEnded:
        self.attempts.append(attempt)
        self.records.append(record)
        self.verdicts.append(verdict)
        self.skipped.append(skipped)
        return AttemptEnded(attempt, record, verdict)

    # ------------------------------------------------------------ one run

    def _run(self, index: int, config: Any, started: AttemptStarted) -> Iterator[RepairEvent]:
        """Start ``config``, yield ``started`` (with its folder), drive it to its end;
        returns its record. The lineage is written before the run is driven."""
        callback = self.on_run_events

        def on_events(events: list[Event]) -> None:
            if callback is not None:
                callback(index, events)

        active = self.runs.start(config, self.logdir, on_events)
        try:
            if started.parent is not None:
                parent_dir = self.records[started.parent].run_dir
                rundir.write_parent(active.run_dir, rundir.ParentLink(
                    parent=str(parent_dir), parent_name=parent_dir.name, rule=started.rule,
                    remedy=started.remedy, patch=dict(started.patch)))
            yield _with_dir(started, active.run_dir)
            self._drive(active, index)
        finally:
            active.close()
        return self.runs.record(active.run_dir)

    def _drive(self, active: ActiveRun, index: int) -> None:
        """Step the run to its end; stop it on :meth:`stop`, Ctrl-C or the time budget."""
        stop_asked_at: float | None = None
        while True:
            try:
                if active.step():
                    return
                if stop_asked_at is None and self._should_stop(index):
                    active.stop_soon()
                    stop_asked_at = time.monotonic()
                if stop_asked_at is not None and time.monotonic() - stop_asked_at > STOP_WAIT_S:
                    return
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                _ignore_sigint()  # a second Ctrl-C while the run stops changes nothing
                self.interrupt()

    def _should_stop(self, index: int) -> bool:
        if self._stop.is_set():
            return True
        if index > 0 and self._deadline_passed():
            self._timed_out = True
            return True
        return False

    # ------------------------------------------------------------ the end

    def _end(self, reason: StopReason) -> RepairEnded:
        final = policy.final(self.attempts)
        self.result = RepairResult(
            attempts=tuple(self.attempts), records=tuple(self.records),
            verdicts=tuple(self.verdicts), skipped=tuple(self.skipped), reason=reason,
            final=final.index, seconds=self.clock() - self._started_at, budget=self.budget,
        )
        if not self.report:
            return RepairEnded(self.result)
        from traindoc.engine.repair.report import write_report

        path, problems = write_report(self.result)
        return RepairEnded(self.result, path, tuple(problems))

    @property
    def interrupted(self) -> bool:
        """Ctrl-C (not :meth:`stop`) ended the repair."""
        return self._interrupted


def _ignore_sigint() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _with_dir(started: AttemptStarted, run_dir: Path) -> AttemptStarted:
    from dataclasses import replace

    return replace(started, run_dir=run_dir)
