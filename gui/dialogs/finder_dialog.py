"""What the LR- and batch-finder dialogs share: one finder run in a background process.

:class:`FinderDialog` owns the log folder (a temporary one unless given), the
:class:`traindoc.engine.launcher.RunHandle` running the finder (``traindoc.engine.find.worker``:
torch stays in the child) and its :class:`traindoc.engine.drive.RunDriver`, which the
GUI's pump steps (the window's pump when given, else the dialog's own), and the
lifecycle: closing or finishing the dialog ends the process and removes the
temporary folder. A subclass lays out its widgets (with a ``status`` label), calls
:meth:`launch`, and handles the events in :meth:`handle_events` and the end in
:meth:`run_ended`; the finder's typed result (:mod:`traindoc.engine.find.results`)
arrives in the ``Finished`` event's ``result``.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog, QLabel, QWidget

from traindoc.engine import config as config_module
from traindoc.engine.drive import RunDriver
from traindoc.engine.events import Event
from traindoc.engine.launcher import RunHandle
from traindoc.gui.pump import DriverSource, Pump


class FinderDialog(QDialog):
    """A dialog running one finder for ``config`` in the background."""

    status: QLabel  # the subclass's one-line progress label

    def __init__(
        self,
        config: config_module.RunConfig,
        *,
        logdir: str | Path | None,
        tmp_prefix: str,
        pump: Pump | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self._tmp = None if logdir else tempfile.TemporaryDirectory(prefix=tmp_prefix)
        self.logdir = Path(logdir) if logdir else Path(self._tmp.name)
        self.pump = pump if pump is not None else Pump(None, parent=self)
        self.handle: RunHandle | None = None
        self.driver: RunDriver | None = None
        self._source: DriverSource | None = None
        self._shut = False

    # ------------------------------------------------------------ running

    def launch(self, name_suffix: str, target: Any, *, failure: str) -> bool:
        """Start ``target`` on a copy of the config named ``<name>-<name_suffix>``.

        Returns False, with ``failure: <error>`` in the status line, when the
        process cannot start.
        """
        named = config_module.apply_patch(
            self.config, {"name": f"{self.config.name}-{name_suffix}"}
        )
        handle = RunHandle(named, self.logdir, target=target)
        self._shut = False
        try:
            handle.start()
        except OSError as exc:
            self.status.setText(f"{failure}: {exc}")
            return False
        self.handle = handle
        self.driver = RunDriver(
            handle, on_events=self.handle_events, on_end=lambda final: self.run_ended()
        )
        self._source = DriverSource(self.driver)
        self.pump.add(self._source)
        return True

    def is_running(self) -> bool:
        return self.driver is not None and self.driver.final is None

    def stop(self) -> None:
        """Ask the finder to stop; the pump keeps delivering its last events."""
        if self.is_running():
            self.status.setText("Stopping…")
            self.driver.stop_in_background()

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
        if self._source is not None:
            self.pump.remove(self._source)
        if self._shut:
            return
        self._shut = True
        driver, tmp = self.driver, self._tmp
        self._tmp = None

        def close() -> None:
            if driver is not None:
                driver.close()
            if tmp is not None:
                tmp.cleanup()

        self.closer = threading.Thread(target=close, name="finder-close", daemon=True)
        self.closer.start()
