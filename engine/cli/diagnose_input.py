"""What ``traindoc diagnose`` checks in its input before it reports, and how it names runs.

A file given by itself that is not an event file (``diagnose my.toml``) and a ``--role``
naming a tag that no run has are bad input (exit 2, one line naming what exists); a run
that is the PATH itself is named by its folder, not ".".
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from traindoc.engine.cli.diagnose_pool import RunResult
from traindoc.engine.cli.exits import UserError
from traindoc.engine.tb.discovery import is_event_file
from traindoc.engine.tb.reader import EventFileReader

MAX_TAGS_SHOWN = 20


def check_event_file(path: str) -> None:
    """UserError for a file given by itself that is not a TensorBoard event file: its name
    lacks ``tfevents`` and not one record could be read from it."""
    if not os.path.isfile(path) or is_event_file(os.path.basename(path)):
        return
    try:
        chunk = EventFileReader(path).read(final=True)
    except OSError:
        return  # unreadable: reported with its reason by the reading that follows
    if not (chunk.points or chunk.scalars or chunk.texts):
        raise UserError(
            f"{path}: not a TensorBoard event file (give a run folder, or a file named "
            "events.out.tfevents.*)"
        )


def check_role_tags(overrides: Mapping[str, str], runs: Iterable[RunResult]) -> None:
    """UserError for a ``--role ROLE=TAG`` whose TAG no run has, naming the tags there are
    (``runs``: results of ``Options(overrides)``, in which each run says which it has)."""
    runs = list(runs)
    tags_named = [tag for tag in overrides.values() if tag]
    for role, tag in overrides.items():
        if not tag:
            continue
        at = tags_named.index(tag)
        if any(run.has_tags[at] for run in runs):
            continue
        tags = sorted({t for run in runs for t in run.tags})
        raise UserError(f"--role {role}={tag}: no such tag; the tags are: {_listed(tags)}")


def _listed(tags: list[str]) -> str:
    if not tags:
        return "(none)"
    shown = ", ".join(tags[:MAX_TAGS_SHOWN])
    more = len(tags) - MAX_TAGS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def run_title(name: str, paths: list[str]) -> str:
    """A run's name as printed (``name``: relative to its PATH, prefixed by it when several
    were given); the run that is a PATH itself is named by its folder, not "." (for an
    event file given by itself, the file's folder)."""
    if os.path.normpath(name) != ".":
        return name
    folder = os.path.abspath(paths[0] if len(paths) == 1 else name)
    if os.path.isfile(folder):
        folder = os.path.dirname(folder)
    return os.path.basename(folder) or folder
