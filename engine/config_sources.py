"""``model.source`` and ``data.source``: the user's own model and data, as ``FILE.py:NAME``.

An empty value means the built-in model or dataset. A relative path is read against
a base folder (the config file's folder for a TOML file, the current directory for
``--set`` and the GUI) and stored absolute, so the training process finds the file
wherever it runs. Torch-free: only the text and the file's existence are checked
here; the file is imported in the training process only
(:mod:`traindoc.engine.train.user_code`).
"""

from __future__ import annotations

import ast
import keyword
from pathlib import Path

from traindoc.engine.config_limits import ConfigError, show

SOURCE_KEYS = ("model.source", "data.source")
#: The ``model.*`` keys a model factory may take by name.
MODEL_OPTIONS = ("hidden", "dropout", "activation")
MAX_SOURCE_LENGTH = 4096


def split_source(spec: str) -> tuple[str, str]:
    """``"dir/file.py:NAME"`` -> ``("dir/file.py", "NAME")`` (the last ``:`` separates)."""
    path, _, name = spec.rpartition(":")
    return path, name


def resolve_source(spec: str, base: Path | None = None) -> str:
    """The spec with its path made absolute against ``base`` (default: the current folder)."""
    if not spec:
        return spec
    path, name = split_source(spec)
    if not path:
        return spec  # malformed: validation names it
    full = Path(path).expanduser()
    if not full.is_absolute():
        full = (base or Path.cwd()) / full
    return f"{full}:{name}"


def check_source_text(key: str, spec: str) -> None:
    """The form ``PATH.py:NAME``, with NAME a Python identifier (torch-free, no file access)."""
    if not spec:
        return
    expected = "FILE.py:NAME, e.g. models/net.py:make_model (empty: the built-in one)"
    if len(spec) > MAX_SOURCE_LENGTH or "\0" in spec:
        raise ConfigError(f"{key} = {show(spec)}: a path of at most {MAX_SOURCE_LENGTH} characters")
    path, name = split_source(spec)
    if not path or not name:
        raise ConfigError(f"{key} = {show(spec)}: expected {expected}")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ConfigError(f"{key} = {show(spec)}: {name!r} is not a Python function name")
    if Path(path).suffix != ".py":
        raise ConfigError(f"{key} = {show(spec)}: {Path(path).name!r} is not a .py file")


def check_source_file(key: str, spec: str) -> None:
    """The file named by a source exists and is a file."""
    if not spec:
        return
    path = Path(split_source(spec)[0])
    if not path.exists():
        raise ConfigError(f"{key} = {spec!r}: file not found")
    if not path.is_file():
        raise ConfigError(f"{key} = {spec!r}: not a file")


def accepted_options(spec: str) -> tuple[str, ...] | None:
    """The ``model.*`` options the factory of ``spec`` names in its signature, read
    from the file's text (torch-free, nothing imported); ``None`` when it cannot tell.

    All of them with ``**kwargs``; a class's ``__init__`` counts for the class.
    """
    path, name = split_source(spec)
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    found = None
    for node in tree.body:  # the last definition wins, as in Python
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            found = node.args
        elif isinstance(node, ast.ClassDef) and node.name == name:
            inits = [n for n in node.body
                     if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
            found = inits[-1].args if inits else None
    if found is None:
        return None
    if found.kwarg is not None:
        return MODEL_OPTIONS
    names = {a.arg for a in (*found.args, *found.kwonlyargs)}
    return tuple(option for option in MODEL_OPTIONS if option in names)


__all__ = [
    "MODEL_OPTIONS",
    "SOURCE_KEYS",
    "accepted_options",
    "check_source_file",
    "check_source_text",
    "resolve_source",
    "split_source",
]
