"""Fix runs reopened from disk keep their nesting under their parent, whatever order
their folders load in.

A log source links a run to its parent (``parent.json``) when the parent is already
in the model; the runs folder's runs load in parallel, so a fix may arrive before
its parent. :class:`Relinker` remembers each unlinked run's ``parent.json`` and links
it as soon as the parent run appears.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject

from traindoc.engine import rundir
from traindoc.gui.core.state import FixInfo
from traindoc.gui.model import AppModel


def _key(path: str | Path) -> str:
    return os.path.normpath(os.path.abspath(str(path)))


class Relinker(QObject):
    def __init__(self, model: AppModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.waiting: dict[str, rundir.ParentLink] = {}  # run id -> its parent.json
        model.run_added.connect(self._added)
        model.run_removed.connect(lambda run_id: self.waiting.pop(run_id, None))

    def _added(self, run_id: str) -> None:
        run = self.model.run(run_id)
        if run is None or run.kind != "log" or run.run_dir is None:
            return
        link, _problems = rundir.read_parent(run.run_dir)  # the log source reports problems
        if link is not None and link.parent:
            self.waiting[run_id] = link
        self.link_all()

    def link_all(self) -> int:
        """Link every waiting run whose parent is loaded; returns how many were linked."""
        if not self.waiting:  # the usual case: no O(runs) map for each run added
            return 0
        by_dir = {_key(r.run_dir): r.id for r in self.model.runs() if r.run_dir is not None}
        linked = 0
        for run_id, link in list(self.waiting.items()):
            run = self.model.run(run_id)
            if run is None or run.fix is not None:  # gone, or linked by its log source
                self.waiting.pop(run_id, None)
                continue
            parent_id = by_dir.get(_key(link.parent))
            if parent_id is not None and parent_id != run_id:
                self.waiting.pop(run_id)
                self.model.set_fix(run_id, FixInfo(parent_id, link.rule, link.remedy,
                                                   dict(link.patch)))
                linked += 1
        return linked
