"""Long-lived objects out of the garbage collector's full passes (``gc.freeze``).

A full collection walks every tracked object, and it runs on whichever thread allocates
when it falls due, holding the GIL: a UI stall, whichever thread. Startup leaves ~78,000
objects (modules, the Qt and pyqtgraph wrappers, the window) and a tree adds ~50 per run
read (its state, series, diagnosis, row); a pass over them took 40-55 ms of CPU at 1,000
runs, growing with the tree. Frozen objects are skipped by every pass, and still freed by
reference counting when their last reference goes; only a reference cycle among them
would outlive its use (a run's objects hold none: removing every run of a 300-run tree
from the model leaves nothing for the collector).
"""

from __future__ import annotations

import gc


def freeze_startup() -> None:
    """What startup made, once per process (the window is built)."""
    if gc.get_freeze_count() == 0:
        gc.freeze()


def freeze() -> None:
    """Everything alive now: called while a big tree is read, every few hundred runs."""
    gc.freeze()
