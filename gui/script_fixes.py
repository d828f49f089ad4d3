"""Fixes for a script run: a remedy whose patch touches only mapped keys
(``optim.lr=--lr``) becomes the script's command with the changed options, started as a child run.

A script's logs carry no config, so the follower diagnoses them without patches.
:func:`traindoc.engine.script_params.scripted` computes each remedy's patch from the
mapped options' values (as ``traindoc run`` does) and keeps it only when the script can
take it;
:func:`script_config` is what the findings panel shows the old values from.
:func:`child_spec` builds the child's run: the changed command and a new log folder
beside the parent's, with ``parent.json`` naming the parent so it is charted as its fix.
``spec`` is a :class:`traindoc.gui.script_runs.ScriptSpec` throughout.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from traindoc.engine import config as config_module
from traindoc.engine import rundir


def script_config(spec: Any) -> Any:
    """A RunConfig with the mapped options' values (the rest at their defaults)."""
    return config_module.apply_patch(config_module.RunConfig(),
                                     spec.params.current(spec.command))


def child_spec(spec: Any, parent_dir: Path | None, parent_name: str,
               finding: Any, remedy: Any) -> Any:
    """The child's spec, its log folder made with ``parent.json`` in it; raises
    ValueError when the remedy changes a key the script has no option for."""
    patch = dict(remedy.patch or {})
    if not spec.params.applicable(patch):
        raise ValueError("this remedy changes a setting the script has no option for")
    logdir = _new_folder(spec.logdir.with_name(f"{spec.logdir.name}-{remedy.id}"))
    logdir.mkdir(parents=True)
    rundir.write_parent(logdir, rundir.ParentLink(
        parent=str(parent_dir) if parent_dir is not None else None,
        parent_name=parent_name, rule=finding.rule, remedy=remedy.id, patch=patch,
    ))
    return dataclasses.replace(spec, command=spec.params.apply(spec.command, patch),
                               logdir=logdir)


def _new_folder(base: Path) -> Path:
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path
