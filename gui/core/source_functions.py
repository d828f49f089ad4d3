"""The functions a ``model.source`` / ``data.source`` file offers, read without importing it.

The New-run form lists a chosen ``.py`` file's top-level functions (and classes, which
PyTorch models often are) in its function box, and names a missing one under the
field. The file is parsed with :mod:`ast`, never run: choosing a file in the form
executes nothing of it. Qt-free.
"""

from __future__ import annotations

import ast
from pathlib import Path

from traindoc.engine.config_limits import show
from traindoc.engine.config_sources import resolve_source, split_source


def top_level_names(path: str | Path) -> list[str] | None:
    """The file's top-level function and class names, in file order (each once);
    ``None`` when it cannot be read or parsed."""
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    names: list[str] = []
    for node in tree.body:
        kinds = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        if isinstance(node, kinds) and node.name not in names:
            names.append(node.name)
    return names


def missing_name(key: str, spec: str) -> str | None:
    """A one-line message when the file of ``spec`` has no top-level ``NAME``, or cannot
    be parsed; ``None`` when it has it (or when ``spec`` is empty). Call it after
    engine's checks (the form, the ``.py`` suffix, the file's existence) passed."""
    if not spec:
        return None
    path, name = split_source(resolve_source(spec))
    names = top_level_names(path)
    if names is None:
        return f"{key} = {show(spec)}: {Path(path).name!r} is not readable Python"
    if name in names:
        return None
    offered = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
    where = f"it has: {offered}" if names else "it has no top-level function"
    return f"{key} = {show(spec)}: no function {name!r} in {Path(path).name} ({where})"


__all__ = ["missing_name", "top_level_names"]
