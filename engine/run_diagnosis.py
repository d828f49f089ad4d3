"""Diagnose runs read from TensorBoard logs: the bridge from ``engine.tb`` to ``diagnostics``.

The reader maps tags to roles; this module turns a :class:`~traindoc.engine.tb.reader.RunLog`
into :class:`traindoc.diagnostics.types.RunData` (with the run's config when it carries one,
so remedies get patches) and runs the rules. Used by ``traindoc diagnose``, by
``traindoc train`` at the end of a run, and by the GUI.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traindoc.diagnostics.runner import diagnose
from traindoc.diagnostics.types import Diagnosis, RunData, Series
from traindoc.engine.tb.reader import RunLog

if TYPE_CHECKING:
    from traindoc.engine.config import RunConfig

log = logging.getLogger(__name__)


def config_of(run_log: RunLog) -> dict[str, Any] | None:
    """The run's config as nested data, when the log carries a valid traindoc config."""
    return config_from_text(run_log.config_text, source=run_log.name)


def config_from_text(text: str | None, *, source: str = "") -> dict[str, Any] | None:
    """A traindoc config's TOML (as stored in a log) as nested data; None if absent or bad."""
    config = stored_config(text, source=source)
    if config is None:
        return None
    from traindoc.engine import config as config_module

    return config_module.diagnosis_dict(config)


def stored_config(text: str | None, *, source: str = "") -> RunConfig | None:
    """The config a traindoc run stored in its log (``CONFIG_TAG``), parsed and checked the
    one way every reader uses; None when absent or not a valid config here. (The config
    module is imported on the first run that carries one: the workers of a tree of
    other logs never load it.)"""
    if not text:
        return None
    from traindoc.engine import config as config_module

    try:
        return config_module.loads(text, source=source or "stored config")
    except config_module.ConfigError as exc:
        log.info("%s: ignoring an unreadable config (%s)", source, exc)
        return None


def run_data(run_log: RunLog) -> RunData:
    """Roles → series of one run, plus its config and the tag of each role (a metric's
    direction is read from its tag's name)."""
    series = {}
    for role, tag in run_log.roles.items():
        scalars = run_log.scalars.get(tag)
        if scalars is not None and len(scalars):
            series[role] = Series(scalars.steps, scalars.values)
    return RunData(series, config=config_of(run_log), name=run_log.name, tags=run_log.roles)


def diagnose_log(run_log: RunLog) -> Diagnosis:
    return diagnose(run_data(run_log))


def display_name(path: str, name: str, n_paths: int) -> str:
    """A run's name relative to the PATH given; prefixed by PATH when several were given."""
    if n_paths == 1:
        return name
    return str(Path(path) / name) if name != "." else path
