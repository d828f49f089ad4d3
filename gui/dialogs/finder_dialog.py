"""What the LR- and batch-finder dialogs share: one finder run in a background process.

:class:`FinderDialog` owns the log folder (a temporary one unless given), the
:class:`traindoc.engine.launcher.RunHandle` running the finder (``traindoc.engine.find.worker``:
torch stays in the child), the timer that drains its events, and the lifecycle:
closing or finishing the dialog ends the process and removes the temporary folder.
A subclass lays out its widgets (with a ``status`` label), calls :meth:`launch`,
and handles the events in :meth:`handle_events` and the end in :meth:`run_ended`.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, SignalInstance
from PySide6.QtWidgets import QDialog, QLabel, QWidget

from traindoc.engine import config as config_module
from traindoc.engine.events import Event
from traindoc.engine.launcher import RunHandle

POLL_MS = 50
POLL_BUDGET = 500  # events per timer tick


class FinderDialog(QDialog):
    """A dialog running one finder for ``config`` in the background."""

    status: QLabel  # the subclass's one-line progress label

    def __init__(
        self,
        config: config_module.RunConfig,
        *,
        logdir: str | Path | None,
        tmp_prefix: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self._tmp = None if logdir else tempfile.TemporaryDirectory(prefix=tmp_prefix)
        self.logdir = Path(logdir) if logdir else Path(self._tmp.name)
        self.handle: RunHandle | None = None
        self.summary: dict[str, Any] | None = None
        self._shut = False
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    # ------------------------------------------------------------ running

    def launch(self, name_suffix: str, target: Any, *, failure: str) -> bool:
        """Start ``target`` on a copy of the config named ``<name>-<name_suffix>``.

        Returns False, with ``failure: <error>`` in the status line, when the
        process cannot start.
        """
        named = config_module.apply_patch(
            self.config, {"name": f"{self.config.name}-{name_suffix}"}
        )
        self.handle = RunHandle(named, self.logdir, target=target)
        self._shut = False
        try:
            self.handle.start()
        except OSError as exc:
            self.status.setText(f"{failure}: {exc}")
            self.handle = None
            return False
        self.timer.start()
        return True

    def is_running(self) -> bool:
        return self.handle is not None and self.handle.final is None

    def poll(self) -> None:
        """Drain the background process's events (called by the timer)."""
        if self.handle is None:
            return
        self.handle_events(self.handle.poll(max_items=POLL_BUDGET))
        if self.handle.final is not None:
            self.timer.stop()
            self.run_ended()

    def handle_events(self, events: list[Event]) -> None:
        """Show what arrived (the subclass's part)."""

    def run_ended(self) -> None:
        """The process has ended (finished, stopped or failed): update the buttons."""

    # ------------------------------------------------------------ lifecycle

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)

    def closeEvent(self, event: Any) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """End the background process and release the queue and temporary folder.

        Stopping can take seconds: it runs on a helper thread so the GUI stays
        responsive (SPEC §8); ``closer`` is that thread.
        """
        self.timer.stop()
        if self._shut:
            return
        self._shut = True
        handle, tmp = self.handle, self._tmp
        self._tmp = None

        def close() -> None:
            if handle is not None:
                handle.close()
            if tmp is not None:
                tmp.cleanup()

        self.closer = threading.Thread(target=close, name="finder-close", daemon=True)
        self.closer.start()

    def choose(self, chosen_signal: SignalInstance) -> Any | None:
        """Run modally; the last value ``chosen_signal`` carried, or None if none was chosen."""
        chosen: list[Any] = []
        chosen_signal.connect(chosen.append)
        self.exec()
        return chosen[-1] if chosen else None
