"""How the repair loop starts and drives one run: the seam between the loop and what runs.

:class:`TrainRuns` runs a :class:`~traindoc.engine.config.RunConfig` through the same
launcher and driver as ``traindoc train`` and the GUI
(:class:`~traindoc.engine.launcher.RunHandle`, :class:`~traindoc.engine.drive.RunDriver`).
The loop (:mod:`traindoc.engine.repair.session`) only uses the :class:`Runs` protocol: a
config as a flat mapping, a patch applied to it, a started run that can be stepped and
stopped. Repairing ``traindoc run`` scripts later means another implementation of that
protocol (a config that maps keys to a script's options), with the same policy.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from traindoc.engine import config as config_module
from traindoc.engine import rundir
from traindoc.engine.config_names import fix_name
from traindoc.engine.drive import RunDriver
from traindoc.engine.errors import UserError
from traindoc.engine.events import Event, Failed, Started
from traindoc.engine.launcher import RunHandle
from traindoc.engine.repair.outcome import RunRecord, read_record

OnRunEvents = Callable[[list[Event]], None]


class ActiveRun(Protocol):
    """A run in progress."""

    run_dir: Path

    def step(self) -> bool:
        """Deliver what arrived; True once the run has ended."""

    def stop_soon(self) -> None:
        """Ask the run to stop, without waiting (keep stepping until it ended)."""

    def close(self) -> None:
        """Release it (the process is stopped if it still runs)."""

    @property
    def started(self) -> bool:
        """The run began training (a run that failed before has nothing to keep)."""


class Runs(Protocol):
    """What the repair loop runs, and how a remedy's patch changes it."""

    def flat(self, config: Any) -> dict[str, Any]:
        """Dotted key -> value: what the policy compares and diffs."""

    def child(self, config: Any, remedy: str, patch: Mapping[str, Any]) -> Any:
        """``config`` with ``patch`` applied (raises ``ValueError`` when it cannot be)."""

    def start(self, config: Any, logdir: Path, on_events: OnRunEvents | None) -> ActiveRun:
        """Start a run of ``config`` with its folder under ``logdir``."""

    def record(self, run_dir: Path) -> RunRecord:
        """The ended run's record, its diagnosis's remedies patched as this kind of run
        can take them."""


class TrainRun:
    """A ``traindoc train`` run driven by :class:`RunDriver`."""

    def __init__(self, config: config_module.RunConfig, logdir: Path,
                 on_events: OnRunEvents | None) -> None:
        self._started = False
        self._on_events = on_events
        self.driver = RunDriver(RunHandle(config, logdir), on_events=self._events)
        try:
            self.run_dir: Path = self.driver.handle.start()
        except OSError as exc:
            why = rundir.disk_error_text(exc) if rundir.is_disk_error(exc) else str(exc)
            raise UserError(f"--logdir {logdir}: cannot create a run folder ({why})") from None
        self._stopping = False

    def _events(self, events: list[Event]) -> None:
        self._started = self._started or any(isinstance(e, Started) for e in events)
        if self._on_events is not None:
            self._on_events(events)

    @property
    def started(self) -> bool:
        return self._started

    def step(self) -> bool:
        ended = self.driver.step()
        final = self.driver.final
        if ended and isinstance(final, Failed) and final.user_error and not self._started:
            # Bad input found by the training process before it began: nothing to keep.
            shutil.rmtree(self.run_dir, ignore_errors=True)
            raise UserError(final.reason)
        return ended

    def stop_soon(self) -> None:
        if not self._stopping:
            self._stopping = True
            self.driver.stop_in_background()

    def close(self) -> None:
        self.driver.close()


class TrainRuns:
    """:class:`Runs` for the built-in trainer (``traindoc train``)."""

    def flat(self, config: config_module.RunConfig) -> dict[str, Any]:
        return config_module.flatten(config)

    def child(self, config: config_module.RunConfig, remedy: str,
              patch: Mapping[str, Any]) -> config_module.RunConfig:
        """The parent's config with the patch; the name records the fix (as the GUI's
        one-click fix names its child: ``NAME-fix-REMEDY``)."""
        name = fix_name(config.name, remedy)
        try:
            return config_module.apply_patch(config, {**patch, "name": name})
        except config_module.ConfigError as exc:
            raise ValueError(str(exc)) from None

    def start(self, config: config_module.RunConfig, logdir: Path,
              on_events: OnRunEvents | None) -> TrainRun:
        return TrainRun(config, logdir, on_events)

    def record(self, run_dir: Path) -> RunRecord:
        """Its own logs diagnosed: the stored config gives the remedies' patches."""
        return read_record(run_dir)
