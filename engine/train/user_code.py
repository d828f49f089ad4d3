"""The user's own model and data (``model.source`` / ``data.source``), training process only.

- :func:`load_function` imports ``FILE.py`` by path under a unique module name (the
  file's folder on ``sys.path`` during the import, so it can import its siblings)
  and returns its function ``NAME``.
- :func:`load_user_data` calls the data function with no arguments: ``(train, val)``,
  each a ``Dataset`` of ``(x, y)`` pairs or a pair of tensors ``(X, y)``, becomes
  tensors. Integer labels make a classification task (cross-entropy, accuracy),
  float targets a regression (MSE; accuracy not logged).
- :func:`build_user_model` calls the factory as ``NAME(input_shape, num_classes,
  **options)`` with the ``model.*`` values its signature accepts by name
  (:func:`accepted_options`), and checks the model on the first batch.

Every problem is a :class:`DataError` or :class:`ModelError`: one line, exit 2.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from traindoc.engine.config import ModelConfig
from traindoc.engine.config_sources import MODEL_OPTIONS, split_source
from traindoc.engine.data.files import DataError
from traindoc.engine.errors import UserError
from traindoc.engine.train.models import ModelError

_counter = itertools.count()


def load_function(key: str, spec: str, error: type[UserError]) -> Callable[..., Any]:
    """Import ``FILE.py`` of ``spec`` by path and return its callable ``NAME``."""
    path_text, name = split_source(spec)
    path = Path(path_text)
    if not path.is_file():
        raise error(f"{key} = {spec!r}: file not found")
    module_name = f"traindoc_user_{next(_counter)}_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise error(f"{key} = {spec!r}: cannot import {path.name}")
    module = importlib.util.module_from_spec(module_spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # the user's module failed (or exited) on import
        raise error(f"{key}: importing {path.name} failed: {_describe(exc)}") from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    function = getattr(module, name, None)
    if function is None:
        raise error(f"{key} = {spec!r}: {path.name} has no function {name!r}")
    if not callable(function):
        raise error(f"{key} = {spec!r}: {name!r} is a {type(function).__name__}, not a function")
    return function


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---------------------------------------------------------------- data


@dataclass(frozen=True, slots=True, eq=False)
class UserSplit:
    """One split of the user's data as tensors (the shape :func:`on_device` reads)."""

    x: torch.Tensor
    y: torch.Tensor  # int64 labels (classification) or float32 targets (regression)
    num_classes: int | None  # None: regression
    is_image: bool = False  # no built-in augmentation for user data

    def __len__(self) -> int:
        return len(self.y)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])


@dataclass(frozen=True, slots=True, eq=False)
class UserData:
    """The user's ``(train, val)``, as :func:`traindoc.engine.data.datasets.prepare` gives."""

    train: UserSplit
    val: UserSplit
    hflip: bool = False

    @property
    def num_classes(self) -> int | None:
        return self.train.num_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.train.input_shape

    @property
    def is_image(self) -> bool:
        return False


def load_user_data(spec: str) -> UserData:
    """Call the data function; ``(train, val)`` as tensors, labels or targets checked."""
    function = load_function("data.source", spec, DataError)
    try:
        result = function()
    except Exception as exc:  # the user's function raised
        raise DataError(f"data.source: {_name(function)}() raised {_describe(exc)}") from None
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise DataError(f"data.source: {_name(function)}() returned {_what(result)}; "
                        "expected (train, val)")
    train_x, train_y = _as_tensors("train", result[0])
    val_x, val_y = _as_tensors("val", result[1])
    if train_x.shape[1:] != val_x.shape[1:]:
        raise DataError(f"data.source: train samples have shape {tuple(train_x.shape[1:])} "
                        f"but val samples {tuple(val_x.shape[1:])}")
    classify = not train_y.is_floating_point()
    if classify != (not val_y.is_floating_point()):
        raise DataError("data.source: train and val targets differ in kind "
                        "(integer labels in one, float targets in the other)")
    if not classify:  # a regression: MSE loss, no accuracy
        return UserData(UserSplit(train_x, train_y.float(), None),
                        UserSplit(val_x, val_y.float(), None))
    train_y, val_y = train_y.long(), val_y.long()
    if min(int(train_y.min()), int(val_y.min())) < 0:
        raise DataError("data.source: class labels must be integers >= 0")
    classes = max(int(train_y.max()), int(val_y.max())) + 1
    return UserData(UserSplit(train_x, train_y, classes), UserSplit(val_x, val_y, classes))


def _as_tensors(part: str, split: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A split (a pair of tensors or a Dataset of pairs) as float inputs and targets."""
    if isinstance(split, tuple | list) and len(split) == 2 and all(
            isinstance(t, torch.Tensor) for t in split):
        x, y = split
    elif isinstance(split, torch.utils.data.Dataset) and hasattr(split, "__len__"):
        x, y = _stack(part, split)
    else:
        raise DataError(f"data.source: the {part} split is {_what(split)}; expected a "
                        "torch Dataset of (x, y) pairs or a pair of tensors (X, y)")
    if len(x) != len(y) or len(y) == 0:
        raise DataError(f"data.source: the {part} split has {len(x)} inputs and {len(y)} "
                        "targets; expected the same number, at least 1")
    if y.ndim == 2 and y.shape[1] == 1 and y.is_floating_point():
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"data.source: the {part} targets have shape {tuple(y.shape)}; "
                        "expected one label or value per sample")
    return x.float(), y


def _stack(part: str, dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for item in (dataset[i] for i in range(len(dataset))):
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise DataError(f"data.source: a {part} sample is {_what(item)}; expected (x, y)")
        xs.append(torch.as_tensor(item[0]))
        ys.append(torch.as_tensor(item[1]))
    if not xs:
        raise DataError(f"data.source: the {part} split is empty")
    try:
        return torch.stack(xs), torch.stack(ys)
    except RuntimeError as exc:
        raise DataError(f"data.source: the {part} samples differ in shape ({_describe(exc)})"
                        ) from None


def _what(value: Any) -> str:
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__module__}.{type(value).__qualname__}".replace("builtins.", "")


def _name(function: Any) -> str:
    return getattr(function, "__name__", "the function")


# ---------------------------------------------------------------- model


def accepted_options(function: Callable[..., Any]) -> tuple[str, ...]:
    """The ``model.*`` options a factory's signature accepts by name (all with ``**kw``)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return ()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return MODEL_OPTIONS
    names = {p.name for p in parameters if p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return tuple(option for option in MODEL_OPTIONS if option in names)


def build_user_model(
    config: ModelConfig, input_shape: tuple[int, ...], num_classes: int | None
) -> torch.nn.Module:
    """Call the factory with the options it accepts; it must return an ``nn.Module``."""
    function = load_function("model.source", config.source, ModelError)
    options = {}
    for option in accepted_options(function):
        value = getattr(config, option)
        options[option] = list(value) if isinstance(value, tuple) else value
    try:
        model = function(input_shape, num_classes, **options)
    except Exception as exc:  # the user's factory raised
        raise ModelError(f"model.source: {_name(function)}() raised {_describe(exc)}") from None
    if not isinstance(model, torch.nn.Module):
        raise ModelError(f"model.source: {_name(function)}() returned {_what(model)}; "
                         "expected a torch.nn.Module")
    return model


def check_first_batch(model: torch.nn.Module, x: torch.Tensor, num_classes: int | None) -> None:
    """The model maps a batch of two samples to ``(2, num_classes)`` (or ``(2,)``/``(2, 1)``)."""
    batch = x[:2]
    n = len(batch)
    expected = (n, num_classes) if num_classes is not None else (n,)
    try:
        with torch.no_grad():
            out = model(batch)
    except Exception as exc:  # the user's forward failed on the data
        raise ModelError(f"model.source: the model fails on a batch of shape "
                         f"{tuple(batch.shape)}: {_describe(exc)}") from None
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
    if shape is None:
        raise ModelError(f"model.source: the model returned {_what(out)} for a batch; "
                         "expected a tensor")
    if shape == expected or (num_classes is None and shape == (n, 1)):
        return
    what = f"{num_classes} classes" if num_classes is not None else "one value per sample"
    raise ModelError(f"model.source: the model maps a batch of shape {tuple(batch.shape)} to "
                     f"{shape}; expected {expected} ({what})")


__all__ = [
    "MODEL_OPTIONS",
    "UserData",
    "UserSplit",
    "accepted_options",
    "build_user_model",
    "check_first_batch",
    "load_function",
    "load_user_data",
]
