"""Run configuration (SPEC §6): typed data, TOML load/save, validated patches.

Every override (``--set KEY=VALUE``) and every remedy patch goes through one
function, :func:`apply_patch`, which validates the result as a whole, so an
invalid value is rejected before anything runs with a message naming the key,
the value and what is allowed. A raw value is read into its field's type by
:mod:`traindoc.engine.config_values`; the ranges are :mod:`traindoc.engine.config_limits`.

This module imports neither torch nor Qt: the GUI uses it to validate its form.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from traindoc.engine import config_limits as limits
from traindoc.engine.config_limits import ConfigError, check, choice, int_range, number_range, show
from traindoc.engine.config_names import data_spec, default_name, is_automatic
from traindoc.engine.config_sources import (
    SOURCE_KEYS,
    accepted_options,
    check_source_file,
    check_source_text,
    resolve_source,
)
from traindoc.engine.config_values import coerce

BUNDLED_DATASETS = ("digits", "spirals", "blobs")
FILE_DATASETS = ("mnist", "cifar10", "npz", "csv")
ARCHS = ("mlp", "cnn", "resnet")
ACTIVATIONS = ("relu", "gelu")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
SCHEDULES = ("constant", "warmup-plateau-decay", "cosine", "step")
AMP_MODES = ("auto", "off")


@dataclass(frozen=True, slots=True)
class DataConfig:
    dataset: str = "digits"
    batch_size: int = 64
    val_fraction: float = 0.2
    augment: bool = False
    normalize: bool = True
    source: str = ""  # FILE.py:NAME of a function returning (train, val); "" = dataset


@dataclass(frozen=True, slots=True)
class ModelConfig:
    arch: str = "mlp"
    hidden: tuple[int, ...] = (256, 256)
    dropout: float = 0.0
    activation: str = "relu"
    source: str = ""  # FILE.py:NAME of a model factory; "" = the built-in arch


@dataclass(frozen=True, slots=True)
class OptimConfig:
    name: str = "adamw"
    lr: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.01


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    kind: str = "warmup-plateau-decay"
    warmup: float = 0.05
    decay: float = 0.25
    final_lr_ratio: float = 0.1


@dataclass(frozen=True, slots=True)
class TrainConfig:
    epochs: int = 20
    grad_accum: int = 1
    clip_grad_norm: float = 0.0
    amp: str = "auto"
    early_stopping: bool = False
    patience: int = 5
    device: str = "auto"
    nproc_per_node: int | str = 1  # processes per machine (DDP); "gpu" = one per visible GPU
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str = ""  # HOST:PORT of node 0 when nnodes > 1


@dataclass(frozen=True, slots=True)
class RunConfig:
    name: str = "digits-adamw"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "optim": OptimConfig,
    "schedule": ScheduleConfig,
    "train": TrainConfig,
}
TOP_LEVEL_KEYS = ("name", "seed")


# ---------------------------------------------------------------- dict views


def to_dict(config: RunConfig) -> dict[str, Any]:
    """The config as nested plain data (tuples become lists), as written to TOML."""
    out: dict[str, Any] = {key: getattr(config, key) for key in TOP_LEVEL_KEYS}
    for section in SECTIONS:
        values = {}
        for f in fields(getattr(config, section)):
            value = getattr(getattr(config, section), f.name)
            values[f.name] = list(value) if isinstance(value, tuple) else value
        out[section] = values
    return out


def diagnosis_dict(config: RunConfig) -> dict[str, Any]:
    """:func:`to_dict` for the diagnosis: with a ``model.source``, ``model.accepts`` lists
    the ``model.*`` options its factory takes (read from the file; empty when unknown),
    so a remedy changing another one is not offered as a one-click fix."""
    out = to_dict(config)
    if config.model.source:
        out["model"]["accepts"] = list(accepted_options(config.model.source) or ())
    return out


def flatten(config: RunConfig) -> dict[str, Any]:
    """Dotted key → value, e.g. ``{"optim.lr": 0.001, ...}``."""
    flat: dict[str, Any] = {}
    for key, value in to_dict(config).items():
        if isinstance(value, dict):
            flat.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    return flat


def all_keys() -> list[str]:
    """Every dotted key a config accepts."""
    return list(flatten(RunConfig()))


def from_dict(data: Mapping[str, Any], *, base: Path | None = None) -> RunConfig:
    """Build and validate a config from nested data (a parsed TOML file).

    Relative ``*.source`` paths are read against ``base`` (default: the current
    folder); the files' existence is not checked (a stored run's config stays
    readable after its model file moved): :func:`load` and :func:`apply_patch` do.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"config: expected a table, got {type(data).__name__}")
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, Mapping):
                raise ConfigError(f"[{key}]: expected a table, got {value!r}")
            flat.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    return _patched(RunConfig(), flat, base)


# ---------------------------------------------------------------- patches


def apply_patch(config: RunConfig, patch: Mapping[str, Any]) -> RunConfig:
    """Return ``config`` with dotted keys set to new values, validated as a whole.

    Values are coerced to the key's type (``"64"`` → 64 for an int key, so
    command-line strings work); anything that cannot be coerced, any unknown
    key and any out-of-range value raises :class:`ConfigError`. A name of the
    automatic form (``digits-adamw``) follows the config: ``optim.name=sgd`` and
    ``optim.lr=5`` make it ``digits-sgd-lr5`` (:mod:`traindoc.engine.config_names`).
    A new ``model.source`` / ``data.source`` is made absolute against the current
    folder, and its file must exist.
    """
    new = _patched(config, patch, None)
    flat_old, flat_new = flatten(config), flatten(new)
    for key in SOURCE_KEYS:
        if flat_new[key] != flat_old[key]:
            check_source_file(key, flat_new[key])
    return new


def _patched(config: RunConfig, patch: Mapping[str, Any], base: Path | None) -> RunConfig:
    """:func:`apply_patch` without the file checks; relative sources read against ``base``."""
    sections = {name: getattr(config, name) for name in SECTIONS}
    top = {key: getattr(config, key) for key in TOP_LEVEL_KEYS}
    for dotted, raw in patch.items():
        section, _, key = dotted.partition(".")
        if not key:
            if section not in TOP_LEVEL_KEYS:
                raise ConfigError(_unknown_key(dotted))
            top[section] = coerce(dotted, raw, type(getattr(RunConfig(), section)))
            continue
        if section not in SECTIONS or key not in _field_names(SECTIONS[section]):
            raise ConfigError(_unknown_key(dotted))
        default = getattr(SECTIONS[section](), key)
        kind = tuple if isinstance(default, tuple) else type(default)
        try:
            value = coerce(dotted, raw, kind)
        except (OverflowError, RecursionError):  # 10**400 for a float key; a deep list
            raise ConfigError(f"{dotted} = {show(raw)}: out of range") from None
        if dotted in SOURCE_KEYS:
            check_source_text(dotted, value)
            value = resolve_source(value, base)
        sections[section] = replace(sections[section], **{key: value})
    new = RunConfig(**top, **sections)
    # An automatic name (of the old data file's or the new one's) says what the config is.
    if any(is_automatic(new.name, data_spec(c)) for c in (config, new)):
        new = replace(new, name=default_name(new))
    validate(new)
    return new


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``KEY=VALUE`` from the command line; VALUE is read as TOML when it can be."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. optim.lr=0.01")
    raw = raw.strip()
    limits.check_text(raw, f"--set {show(key)}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word such as adamw or mnist:/data
    except (ValueError, RecursionError) as exc:  # an integer of 5,000 digits
        reason = str(exc).partition(":")[0] or type(exc).__name__
        raise ConfigError(f"{key} = {show(raw)}: cannot read the value ({reason})") from None
    return key, value


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _unknown_key(dotted: str) -> str:
    keys = all_keys()
    close = [k for k in keys if k.split(".")[-1] == dotted.split(".")[-1]]
    hint = f"; did you mean {close[0]}?" if close else ""
    name = dotted if len(dotted) <= limits.MAX_SHOWN else show(dotted)
    return f"{name}: unknown key{hint} (allowed: {', '.join(keys)})"


# ---------------------------------------------------------------- validation


def validate(config: RunConfig) -> None:
    """Raise :class:`ConfigError` on the first invalid value (limits: ``config_limits``)."""
    name = config.name
    check(bool(name.strip()), "name", name, "a non-empty run name")
    check(len(name) <= limits.MAX_NAME_LENGTH, "name", name,
          f"at most {limits.MAX_NAME_LENGTH} characters (it names a folder)")
    check(all(c.isalnum() or c in "-_." for c in name) and name.strip(".") != "", "name", name,
          "letters, digits, '-', '_' and '.' (it names a folder)")
    int_range("seed", config.seed, 0, limits.MAX_SEED)
    _validate_dataset(config.data.dataset)
    d, m, o, s, t = config.data, config.model, config.optim, config.schedule, config.train
    int_range("data.batch_size", d.batch_size, 1, limits.MAX_BATCH_SIZE)
    number_range("data.val_fraction", d.val_fraction, 0, 1, low_open=True, high_open=True)
    choice("model.arch", m.arch, ARCHS)
    check(1 <= len(m.hidden) <= limits.MAX_LAYERS, "model.hidden", list(m.hidden),
          f"a non-empty list of at most {limits.MAX_LAYERS} widths")
    check(all(1 <= h <= limits.MAX_WIDTH for h in m.hidden), "model.hidden", list(m.hidden),
          f"widths 1..{limits.MAX_WIDTH}")
    if not m.source:  # a user's model: its size is its own business
        limits.check_config_budget(m.arch, m.hidden, d.dataset)
    for key, spec in (("model.source", m.source), ("data.source", d.source)):
        check_source_text(key, spec)
    number_range("model.dropout", m.dropout, 0, 1, high_open=True)
    choice("model.activation", m.activation, ACTIVATIONS)
    choice("optim.name", o.name, OPTIMIZERS)
    check(math.isfinite(o.lr) and o.lr > 0, "optim.lr", o.lr, "a finite number > 0")
    check(o.lr <= limits.MAX_LR, "optim.lr", o.lr, f"a number > 0 and ≤ {limits.MAX_LR:g}")
    number_range("optim.momentum", o.momentum, 0, 1, high_open=True)
    number_range("optim.weight_decay", o.weight_decay, 0, limits.MAX_WEIGHT_DECAY)
    choice("schedule.kind", s.kind, SCHEDULES)
    number_range("schedule.warmup", s.warmup, 0, 1, high_open=True, note=" (a fraction of steps)")
    number_range("schedule.decay", s.decay, 0, 1, note=" (a fraction of steps)")
    check(s.warmup + s.decay <= 1.0, "schedule.decay", s.decay,
          f"at most 1 - schedule.warmup = {1 - s.warmup:g} (warmup and decay share the run)")
    number_range("schedule.final_lr_ratio", s.final_lr_ratio, 0, 1)
    int_range("train.epochs", t.epochs, 1, limits.MAX_EPOCHS)
    int_range("train.grad_accum", t.grad_accum, 1, limits.MAX_GRAD_ACCUM)
    number_range("train.clip_grad_norm", t.clip_grad_norm, 0, limits.MAX_CLIP_GRAD_NORM,
                 note=" (0 = off)")
    choice("train.amp", t.amp, AMP_MODES)
    int_range("train.patience", t.patience, 1, limits.MAX_PATIENCE)
    check(_valid_device(t.device), "train.device", t.device,
          f"auto, cpu, cuda or cuda:N with N 0..{limits.MAX_CUDA_INDEX}")
    limits.check_distributed(t)


def _validate_dataset(spec: str) -> None:
    allowed = "digits, spirals, blobs, mnist:DIR, cifar10:DIR, npz:FILE or csv:FILE"
    if spec in BUNDLED_DATASETS:
        return
    check(len(spec) <= limits.MAX_DATASET_SPEC_LENGTH and "\0" not in spec, "data.dataset", spec,
          f"a path of at most {limits.MAX_DATASET_SPEC_LENGTH} characters, without NUL")
    kind, sep, path = spec.partition(":")
    if kind in FILE_DATASETS and sep and path.strip():
        return
    if kind in FILE_DATASETS:
        raise ConfigError(f"data.dataset = {show(spec)}: {kind} needs a path, e.g. {kind}:/data")
    raise ConfigError(f"data.dataset = {show(spec)}: expected {allowed}")


def _valid_device(device: str) -> bool:
    if device in ("auto", "cpu", "cuda"):
        return True
    prefix, _, index = device.partition(":")
    return (prefix == "cuda" and 1 <= len(index) <= 4 and index.isascii() and index.isdigit()
            and int(index) <= limits.MAX_CUDA_INDEX)


# ---------------------------------------------------------------- TOML


def dumps(config: RunConfig) -> str:
    return tomli_w.dumps(to_dict(config))


def loads(text: str, *, source: str = "config", base: Path | None = None) -> RunConfig:
    limits.check_text(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    except (ValueError, RecursionError) as exc:  # an integer of 5,000 digits; deep nesting
        reason = str(exc).partition(":")[0] or type(exc).__name__
        raise ConfigError(f"{source}: not a usable TOML file ({reason})") from None
    return from_dict(data, base=base)


def load(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        if path.exists() and not path.is_file():  # a folder; a FIFO would block the read
            raise ConfigError(f"{path}: not a config file (a TOML file is expected)")
        with path.open("rb") as file:
            data = file.read(limits.MAX_CONFIG_BYTES + 1)
        limits.check_size(len(data), str(path))  # before decoding: the cut may split a char
        text = data.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    try:
        config = loads(text, source=str(path), base=path.resolve().parent)
        check_source_file("model.source", config.model.source)
        check_source_file("data.source", config.data.source)
        return config
    except ConfigError as exc:
        message = str(exc)  # name the file, once
        prefix = "" if message.startswith(f"{path}:") else f"{path}: "
        raise ConfigError(prefix + message) from None


def save(config: RunConfig, path: str | Path) -> None:
    Path(path).write_text(dumps(config), encoding="utf-8")


__all__ = [
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "OptimConfig",
    "RunConfig",
    "ScheduleConfig",
    "TrainConfig",
    "all_keys",
    "apply_patch",
    "diagnosis_dict",
    "dumps",
    "flatten",
    "from_dict",
    "load",
    "loads",
    "parse_override",
    "save",
    "to_dict",
    "validate",
]
