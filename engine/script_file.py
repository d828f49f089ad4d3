"""A training script described in a TOML file: its ``[script]`` table.

``traindoc run --config FILE`` and the GUI's "Run a script…" dialog (its Load button)
read the same table::

    [script]
    command = ["python", "train.py", "--lr", "0.1"]   # or one string, split like a shell
    params = { "optim.lr" = "--lr", "data.batch_size" = "--batch-size" }
    logdir = "runs/script"   # optional; relative to the file's folder
    cwd = "."                # optional; where the command runs, relative to the file's folder

Every problem is a :class:`~traindoc.engine.errors.UserError` that names the file and
the key; the mapping is checked by :func:`traindoc.engine.script_params.parse_params`,
the same code as ``--param``.
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from traindoc.engine.errors import UserError
from traindoc.engine.script_params import ParamMap, parse_params

KEYS = ("command", "params", "logdir", "cwd")


@dataclass(frozen=True, slots=True)
class ScriptTable:
    """What a ``[script]`` table gives; absent optional keys are None."""

    command: list[str]
    params: ParamMap
    logdir: Path | None
    cwd: Path | None


def load_script(path: str | Path) -> ScriptTable:
    """The ``[script]`` table of the TOML file at ``path``; raises UserError."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    table = data.get("script")
    if not isinstance(table, dict):
        raise UserError(f"{path}: no [script] table (it needs at least: command = [...])")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise UserError(f"{path}: [script] has unknown key(s) {', '.join(unknown)}; "
                        f"known: {', '.join(KEYS)}")
    base = path.resolve().parent
    return ScriptTable(
        command=_command(path, table.get("command")),
        params=_params(path, table.get("params", {})),
        logdir=_folder(path, base, table, "logdir"),
        cwd=_folder(path, base, table, "cwd"),
    )


def _command(path: Path, value: object) -> list[str]:
    if isinstance(value, str):
        try:
            value = shlex.split(value)
        except ValueError as exc:
            raise UserError(f"{path}: [script] command: cannot split it ({exc})") from None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise UserError(f"{path}: [script] command must be a non-empty list of strings "
                        '(e.g. command = ["python", "train.py", "--lr", "0.1"])')
    return list(value)


def _params(path: Path, value: object) -> ParamMap:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise UserError(f"{path}: [script] params must map config keys to the script's "
                        'options (e.g. params = { "optim.lr" = "--lr" })')
    try:
        return parse_params([f"{key}={flag}" for key, flag in value.items()])
    except UserError as exc:
        raise UserError(f"{path}: [script] params: {exc}") from None


def _folder(path: Path, base: Path, table: dict, key: str) -> Path | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{path}: [script] {key} must be a folder path (a string)")
    folder = Path(value).expanduser()
    return folder if folder.is_absolute() else base / folder
