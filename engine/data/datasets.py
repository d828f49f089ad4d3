"""Datasets named by ``data.dataset`` (SPEC §6): loading, splitting, normalization.

numpy only — the GUI process (which never imports torch) uses this module for
previews and validation. Every dataset becomes an :class:`ArrayDataset`: ``x`` is
float32 (images N×C×H×W with their raw pixel values, tabular N×D), ``y`` int64.

Specs:

- ``digits`` — bundled 8×8 handwritten digits (``engine/data/bundled``), 1×8×8 images, 0–16.
- ``spirals`` / ``blobs`` — synthetic 2-D tabular data, deterministic from the seed.
- ``mnist:DIR`` — IDX files (gzip or raw), directly in DIR or in torchvision's
  ``DIR/MNIST/raw`` (or ``DIR/raw``) layout. ``train-*`` is required; when the
  ``t10k-*`` pair is present too it is concatenated after the training images
  (70,000 images), and the validation part is then drawn by ``data.val_fraction``
  like for any other dataset.
- ``cifar10:DIR`` — the binary version: ``data_batch_1..5.bin`` (all required)
  and, when present, ``test_batch.bin`` (concatenated likewise); DIR or
  ``DIR/cifar-10-batches-bin``.
- ``npz:FILE`` — arrays ``x`` (N×D, N×H×W, N×C×H×W or N×H×W×C with C in {1, 3})
  and ``y`` (N integer labels ≥ 0); loaded with ``allow_pickle=False``.
- ``csv:FILE`` — one sample per row, last column the integer label, optional
  header row, comma (or ``;``/tab) separated, ``.gz`` allowed.

Anything missing or malformed raises :class:`DataError` naming the file and
what was expected. NaN/infinite feature values are *not* an error: they are
logged as a warning and kept, so that a run shows their effect and the
``nan-loss`` rule can point at the data (SPEC §4, ``check-data``).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from traindoc.engine.data.files import FILE_READERS, DataError, read_csv, read_file_dataset

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
DIGITS_FILE = BUNDLED_DIR / "digits.csv.gz"
SPIRALS_POINTS_PER_CLASS = 1000
SPIRALS_CLASSES = 3
BLOBS_POINTS_PER_CLASS = 500
BLOBS_CLASSES = 4
MIN_STD = 1e-6  # a constant feature is left unscaled (std taken as 1)


@dataclass(frozen=True, slots=True, eq=False)
class ArrayDataset:
    x: np.ndarray  # float32; images N×C×H×W, tabular N×D
    y: np.ndarray  # int64, N labels in [0, num_classes)
    num_classes: int
    name: str

    def __post_init__(self) -> None:
        if self.x.dtype != np.float32 or self.y.dtype != np.int64:
            raise TypeError(f"{self.name}: x must be float32 and y int64")
        if self.x.ndim not in (2, 4) or self.y.shape != (len(self.x),):
            raise ValueError(f"{self.name}: x {self.x.shape} / y {self.y.shape} do not match")

    def __len__(self) -> int:
        return len(self.y)

    @property
    def is_image(self) -> bool:
        return self.x.ndim == 4

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape[1:])


@dataclass(frozen=True, slots=True, eq=False)
class PreparedData:
    """What the training process consumes: normalized train/validation parts."""

    train: ArrayDataset
    val: ArrayDataset
    mean: np.ndarray  # per channel (images) or per feature (tabular); zeros if not normalized
    std: np.ndarray  # likewise; ones if not normalized
    normalized: bool
    kind: str  # digits | spirals | blobs | mnist | cifar10 | npz | csv

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.train.input_shape

    @property
    def is_image(self) -> bool:
        return self.train.is_image

    @property
    def hflip(self) -> bool:
        """Whether a horizontal flip keeps labels (natural images yes, digits no)."""
        return self.kind == "cifar10"


# ---------------------------------------------------------------- entry points


def load_dataset(spec: str, *, seed: int = 0) -> ArrayDataset:
    """Load the dataset a ``data.dataset`` string names (see the module docstring)."""
    if spec == "digits":
        x, y = read_csv(DIGITS_FILE, spec)
        return _make(x.reshape(-1, 1, 8, 8), y, spec, num_classes=10)
    if spec == "spirals":
        return make_spirals(seed=seed)
    if spec == "blobs":
        return make_blobs(seed=seed)
    kind, sep, raw_path = spec.partition(":")
    if not sep or not raw_path.strip():
        raise DataError(
            f"{spec!r}: expected digits, spirals, blobs, mnist:DIR, cifar10:DIR, npz:FILE "
            "or csv:FILE"
        )
    path = Path(raw_path.strip()).expanduser()
    if kind not in FILE_READERS:
        raise DataError(
            f"{spec!r}: unknown dataset kind {kind!r} (expected {', '.join(FILE_READERS)})"
        )
    x, y, num_classes = read_file_dataset(kind, path, spec)
    ds = _make(x, y, spec, num_classes=num_classes)
    log.info(
        "loaded %s: %d samples, shape %s, %d classes", spec, len(ds), ds.input_shape, ds.num_classes
    )
    return ds


def split_dataset(
    ds: ArrayDataset, val_fraction: float, seed: int, *, stratify: bool = False
) -> tuple[ArrayDataset, ArrayDataset]:
    """Split into (train, val) by a permutation drawn from ``seed``.

    The validation part has ``round(val_fraction × N)`` samples (at least 1 and
    leaving at least 1 for training). With ``stratify`` each class contributes
    in proportion to its size (largest-remainder rounding, same total).
    """
    n = len(ds)
    if n < 2:
        raise DataError(f"{ds.name}: {n} sample(s); need at least 2 to split train/validation")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction = {val_fraction!r}: expected a number in (0, 1)")
    rng = np.random.default_rng(seed)
    n_val = min(n - 1, max(1, math.floor(val_fraction * n + 0.5)))
    if stratify:
        labels, inverse, counts = np.unique(ds.y, return_inverse=True, return_counts=True)
        quota = val_fraction * counts
        take = np.floor(quota).astype(np.int64)
        # largest remainders get the leftover samples, so the total is exactly n_val
        for k in np.argsort(-(quota - take), kind="stable")[: n_val - int(take.sum())]:
            take[k] += 1
        is_val = np.zeros(n, dtype=bool)
        for k in range(len(labels)):
            members = np.flatnonzero(inverse == k)
            is_val[rng.permutation(members)[: take[k]]] = True
        val_idx, train_idx = np.flatnonzero(is_val), np.flatnonzero(~is_val)
        return (
            _subset(ds, rng.permutation(train_idx), "train"),
            _subset(ds, rng.permutation(val_idx), "val"),
        )
    order = rng.permutation(n)
    return _subset(ds, order[n_val:], "train"), _subset(ds, order[:n_val], "val")


def prepare(data_cfg: Any, seed: int) -> PreparedData:
    """Load, split (stratified) and normalize what a ``[data]`` section names.

    With ``normalize`` the mean/std are computed on the training part only —
    per channel for images, per feature for tabular data — and applied to both
    parts; a constant channel/feature keeps std 1. Non-finite values (kept, with
    a warning, so that a run can show what they do) are ignored by the statistics.
    """
    full = load_dataset(data_cfg.dataset, seed=seed)
    kind = data_cfg.dataset.partition(":")[0]
    train, val = split_dataset(full, data_cfg.val_fraction, seed, stratify=True)
    del full
    axes = (0, 2, 3) if train.is_image else (0,)
    width = train.x.shape[1]
    if not data_cfg.normalize:
        mean, std = np.zeros(width, np.float32), np.ones(width, np.float32)
        return PreparedData(train, val, mean, std, normalized=False, kind=kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN channel: handled below
        finite = np.isfinite(train.x)
        source = train.x if finite.all() else np.where(finite, train.x, np.nan)
        mean64 = np.nanmean(source, axis=axes, dtype=np.float64)
        std64 = np.nanstd(source, axis=axes, dtype=np.float64)
    mean64 = np.where(np.isfinite(mean64), mean64, 0.0)
    std64 = np.where(np.isfinite(std64) & (std64 >= MIN_STD), std64, 1.0)
    mean, std = mean64.astype(np.float32), std64.astype(np.float32)
    shape = (1, width, 1, 1) if train.is_image else (1, width)
    for part in (train, val):  # in place: the parts are fresh copies made by the split
        np.subtract(part.x, mean.reshape(shape), out=part.x)
        np.divide(part.x, std.reshape(shape), out=part.x)
    return PreparedData(train, val, mean, std, normalized=True, kind=kind)


# ---------------------------------------------------------------- synthetic


def make_spirals(
    *,
    seed: int = 0,
    per_class: int = SPIRALS_POINTS_PER_CLASS,
    classes: int = SPIRALS_CLASSES,
    noise: float = 0.2,
) -> ArrayDataset:
    """Interleaved 2-D spirals (one arm per class), Gaussian noise; deterministic."""
    rng = np.random.default_rng(seed)
    t = np.tile(np.linspace(0.0, 1.0, per_class), classes)  # position along the arm
    label = np.repeat(np.arange(classes), per_class)
    angle = t * 1.75 * 2 * np.pi + label * 2 * np.pi / classes
    radius = 0.2 + 4.0 * t
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    x += rng.normal(scale=noise, size=x.shape)
    order = rng.permutation(len(x))
    return _make(x[order], label[order], "spirals", num_classes=classes)


def make_blobs(
    *,
    seed: int = 0,
    per_class: int = BLOBS_POINTS_PER_CLASS,
    classes: int = BLOBS_CLASSES,
    spread: float = 1.0,
) -> ArrayDataset:
    """Isotropic 2-D Gaussian blobs around centres spaced on a circle of radius 4."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi)
    angles = phase + np.arange(classes) * 2 * np.pi / classes
    centres = 4.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    label = np.repeat(np.arange(classes), per_class)
    x = centres[label] + rng.normal(scale=spread, size=(len(label), 2))
    order = rng.permutation(len(x))
    return _make(x[order], label[order], "blobs", num_classes=classes)


def _make(
    x: np.ndarray, y: np.ndarray, name: str, *, num_classes: int | None = None
) -> ArrayDataset:
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    if len(x) == 0:
        raise DataError(f"{name}: no samples")
    finite = np.isfinite(x)
    if not finite.all():  # kept on purpose: the nan-loss rule diagnoses it (check-data)
        rows = int(np.count_nonzero(~finite.reshape(len(x), -1).all(axis=1)))
        log.warning(
            "%s: %d NaN/infinite feature value(s) in %d of %d samples; their losses will be NaN",
            name,
            int(np.count_nonzero(~finite)),
            rows,
            len(x),
        )
    if num_classes is None:
        num_classes = int(y.max()) + 1
    return ArrayDataset(x, y, num_classes, name)


def _subset(ds: ArrayDataset, idx: np.ndarray, part: str) -> ArrayDataset:
    return replace(ds, x=ds.x[idx], y=ds.y[idx], name=f"{ds.name}[{part}]")


__all__ = [
    "ArrayDataset",
    "DataError",
    "PreparedData",
    "load_dataset",
    "make_blobs",
    "make_spirals",
    "prepare",
    "split_dataset",
]
