"""``traindoc gui [PATH...]``: the desktop app's entry point.

The window is shown before anything heavy loads: pyqtgraph, the diagnostics and
the log reader are imported right after the first show (SPEC §8: window within
1 s). torch is never imported in this process (training runs in a child).
"""

from __future__ import annotations

import logging
import os
import sys
import time

_T0 = time.perf_counter()

log = logging.getLogger(__name__)

ORGANIZATION = "traindoc"
APPLICATION = "traindoc"
# bench/gui_startup.py sets this: print the time to the first show, then quit.
STARTUP_PROBE_ENV = "TRAINDOC_STARTUP_PROBE"


def main(paths: list[str] | None = None) -> int:
    """Open the main window, optionally with log paths loaded; returns the exit code."""
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app = QApplication.instance() or QApplication(sys.argv[:1])

    from traindoc.gui.main_window import MainWindow

    window = MainWindow(lazy=True)
    for path in paths or []:
        window.open_logs(path)  # queued until the heavy parts are built
    probe = _FirstPaint(window) if os.environ.get(STARTUP_PROBE_ENV) else None
    window.show()
    app.processEvents()  # the window paints before pyqtgraph and friends load
    QTimer.singleShot(0, window.build_heavy)
    if probe is not None:
        return probe.report(app, window)
    code = app.exec()
    window.shutdown()
    return int(code)


class _FirstPaint:
    """Records when the window first paints (bench/gui_startup.py)."""

    def __init__(self, window) -> None:
        from PySide6.QtCore import QEvent, QObject

        self.painted: float | None = None
        outer = self

        class Filter(QObject):
            def eventFilter(self, obj, event):
                if event.type() == QEvent.Type.Paint and outer.painted is None:
                    outer.painted = time.perf_counter()
                return False

        self.filter = Filter()
        window.installEventFilter(self.filter)
        for child in window.findChildren(QObject):
            child.installEventFilter(self.filter)

    def report(self, app, window) -> int:
        """Print seconds from process start to the first paint and to charts ready; quit."""
        start = _t0()
        window.build_heavy()
        app.processEvents()
        ready = time.perf_counter() - start
        shown = (self.painted or time.perf_counter()) - start
        print(f"shown {shown:.4f} ready {ready:.4f}", flush=True)
        window.shutdown()
        return 0


def _t0() -> float:
    """Process start on the perf_counter clock (falls back to this module's import)."""
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
        return time.perf_counter() - age
    except (OSError, ValueError, IndexError):
        return _T0


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO)
    sys.exit(main(sys.argv[1:]))
