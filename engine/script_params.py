"""How a training script's command-line options stand for traindoc config keys
(``traindoc run --param optim.lr=--lr``), so that remedies become argument changes.

A :class:`ParamMap` holds KEY -> FLAG pairs. It reads each key's current value from the
script's arguments (``--lr 20`` or ``--lr=20``), builds the nested config the remedies
compute their patches from (only the mapped keys: an unmapped key's patch cannot be
applied to a script), and turns a patch touching only mapped keys into the changed
argument list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from traindoc.diagnostics import remedies as remedy_module
from traindoc.diagnostics.types import Diagnosis
from traindoc.engine import config as config_module
from traindoc.engine.errors import UserError


@dataclass(frozen=True, slots=True)
class ParamMap:
    """Config key -> the script's option (``{"optim.lr": "--lr"}``)."""

    flags: dict[str, str]

    def current(self, command: Sequence[str]) -> dict[str, Any]:
        """Each mapped key's value as given on ``command`` (coerced to the key's type);
        a key whose option is absent is left out."""
        values: dict[str, Any] = {}
        for key, flag in self.flags.items():
            raw = option_value(command, flag)
            if raw is None:
                continue
            try:
                value = config_module.parse_override(f"{key}={raw}")[1]
                flat = config_module.flatten(config_module.apply_patch(
                    config_module.RunConfig(), {key: value}))
            except config_module.ConfigError as exc:
                raise UserError(f"--param {key}={flag}: {flag} {raw}: {exc}") from None
            values[key] = flat[key]
        return values

    def config(self, command: Sequence[str]) -> dict[str, Any] | None:
        """The nested config of the mapped keys' current values (None: none given)."""
        nested: dict[str, Any] = {}
        for key, value in self.current(command).items():
            section, _, name = key.partition(".")
            if name:
                nested.setdefault(section, {})[name] = value
            else:
                nested[section] = value
        return nested or None

    def applicable(self, patch: Mapping[str, Any] | None) -> bool:
        """True when every key ``patch`` changes has an option to carry it."""
        return bool(patch) and all(key in self.flags for key in patch)

    def apply(self, command: Sequence[str], patch: Mapping[str, Any]) -> list[str]:
        """``command`` with each patched key's option set to its new value."""
        out = list(command)
        for key, value in patch.items():
            out = set_option(out, self.flags[key], format_value(value))
        return out


def scripted(diagnosis: Diagnosis, params: ParamMap, command: Sequence[str]) -> Diagnosis:
    """The diagnosis with each remedy's patch computed from the mapped options' current
    values in ``command``, kept only when every key it changes has an option (else no
    patch: the remedy keeps its snippet). The CLI's ``traindoc run`` and the GUI's script
    runs both use it (the GUI's follower diagnoses a script's logs without a config)."""
    config = params.config(command)
    findings = []
    for finding in diagnosis.findings:
        fixed = []
        for remedy in finding.remedies:
            patch = remedy_module.remedy(remedy.id, config, rule=finding.rule,
                                         cause=finding.cause).patch
            fixed.append(dataclasses.replace(
                remedy, patch=patch if params.applicable(patch) else None))
        findings.append(dataclasses.replace(finding, remedies=tuple(fixed)))
    return dataclasses.replace(diagnosis, findings=tuple(findings))


def parse_params(texts: Sequence[str]) -> ParamMap:
    """``KEY=FLAG`` pairs: KEY a config key, FLAG an option (``--lr``); else bad input."""
    known = config_module.all_keys()
    flags: dict[str, str] = {}
    for text in texts:
        key, sep, flag = text.partition("=")
        key, flag = key.strip(), flag.strip()
        if not sep or not key or not flag:
            raise UserError(f"--param {text!r}: expected KEY=FLAG, e.g. optim.lr=--lr")
        if key not in known:
            raise UserError(f"--param {text}: unknown config key {key!r} "
                            f"(allowed: {', '.join(known)})")
        if not flag.startswith("-") or flag == "-" or any(c.isspace() for c in flag):
            raise UserError(f"--param {text}: {flag!r} is not an option (e.g. --lr)")
        flags[key] = flag
    return ParamMap(flags)


def check_flags(params: ParamMap, command: Sequence[str]) -> None:
    """Every mapped option must be one the command is given (bad input otherwise)."""
    for key, flag in params.flags.items():
        if option_value(command, flag) is None:
            raise UserError(f"--param {key}={flag}: the command has no {flag} VALUE argument")


def option_value(command: Sequence[str], flag: str) -> str | None:
    """The value of ``flag`` in ``command`` (the last one given), or None."""
    value = None
    for i, arg in enumerate(command):
        if arg == flag and i + 1 < len(command):
            value = command[i + 1]
        elif arg.startswith(flag + "="):
            value = arg[len(flag) + 1:]
    return value


def set_option(command: Sequence[str], flag: str, value: str) -> list[str]:
    """``command`` with every ``flag VALUE`` / ``flag=VALUE`` set to ``value`` (added at the
    end when absent)."""
    out = list(command)
    found = False
    for i, arg in enumerate(out):
        if arg == flag and i + 1 < len(out):
            out[i + 1], found = value, True
        elif arg.startswith(flag + "="):
            out[i], found = f"{flag}={value}", True
    return out if found else [*out, flag, value]


def format_value(value: Any) -> str:
    """A patch value as a command-line argument (``2.0``, ``64``, ``true``, ``64,64``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    return str(value)
