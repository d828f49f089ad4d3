"""The TensorBoard logs a script started by ``traindoc run`` writes, and their diagnosis.

Only the event files created or grown since the script started count: the files and sizes
present at the start are remembered (:func:`snapshot`), and an old file left unchanged is
ignored, so a log folder that holds earlier runs does not mix them in. The runs are read
again whenever one of their files grows (:class:`ScriptLogs`), and each is diagnosed with
the config of the script's mapped options (:mod:`traindoc.engine.script_params`), so that
remedies get patches.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from traindoc.diagnostics.runner import diagnose
from traindoc.diagnostics.types import Diagnosis
from traindoc.engine.run_diagnosis import run_data
from traindoc.engine.tb.discovery import FileGroup, RunSource, find_runs, is_event_file
from traindoc.engine.tb.reader import RunLog, load_run

#: Folders never searched for logs (the default log folder is the current one: a repository).
SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "site-packages"})


def event_file_sizes(logdir: str | os.PathLike) -> dict[Path, int]:
    """Every event file under ``logdir`` (absolute path) -> its size now; hidden folders
    (``.git``, ``.venv``) and :data:`SKIPPED_FOLDERS` are not searched."""
    sizes: dict[Path, int] = {}
    for folder, dirs, names in os.walk(logdir):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS]
        for name in names:
            if is_event_file(name):
                path = Path(folder, name).absolute()
                try:
                    sizes[path] = os.stat(path).st_size
                except OSError:
                    continue
    return sizes


def snapshot(logdir: str | os.PathLike) -> dict[Path, int]:
    """The event files present before the script starts (a missing folder: none)."""
    return event_file_sizes(logdir) if os.path.isdir(logdir) else {}


@dataclasses.dataclass(slots=True)
class ScriptRunLog:
    """One run the script wrote: its log and its diagnosis."""

    name: str
    log: RunLog
    diagnosis: Diagnosis


class ScriptLogs:
    """The runs under ``logdir`` whose files are new or grew since ``before``."""

    def __init__(
        self, logdir: str | os.PathLike, before: Mapping[Path, int],
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.logdir = Path(logdir)
        self.before = dict(before)
        self.config = config
        self.runs: dict[str, ScriptRunLog] = {}
        self.warnings: list[str] = []
        self._sizes: dict[Path, int] = {}  # the fresh files' sizes when last read

    def fresh(self) -> dict[Path, int]:
        """The event files created or grown since the start, with their sizes."""
        if not self.logdir.is_dir():
            return {}
        return {p: size for p, size in event_file_sizes(self.logdir).items()
                if self.before.get(p) != size}

    def update(self) -> list[ScriptRunLog]:
        """Read again the runs whose fresh files changed; those runs, diagnosed."""
        sizes = self.fresh()
        changed = {p for p, size in sizes.items() if self._sizes.get(p) != size}
        self._sizes = sizes
        if not changed:
            return []
        out = []
        for source in self._sources(set(sizes)):
            if not changed.intersection(Path(f).absolute() for f in source.files):
                continue
            run_log = load_run(source)
            self.warnings.extend(w for w in run_log.warnings if w not in self.warnings)
            run = ScriptRunLog(source.name, run_log, self._diagnose(run_log))
            self.runs[source.name] = run
            out.append(run)
        return out

    def _sources(self, fresh: set[Path]) -> list[RunSource]:
        """The runs under ``logdir``, each keeping only its fresh files."""
        sources = []
        for source in find_runs(self.logdir):
            groups = tuple(
                FileGroup(g.prefix, kept) for g in source.groups
                if (kept := tuple(f for f in g.files if Path(f).absolute() in fresh))
            )
            if groups:
                sources.append(dataclasses.replace(source, groups=groups))
        return sources

    def _diagnose(self, run_log: RunLog) -> Diagnosis:
        data = run_data(run_log)
        if self.config is not None:
            data = dataclasses.replace(data, config=self.config)
        return diagnose(data)
