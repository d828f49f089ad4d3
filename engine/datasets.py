"""Datasets named by ``data.dataset`` (SPEC §6): loading, splitting, normalization.

numpy only — the GUI process (which never imports torch) uses this module for
previews and validation. Every dataset becomes an :class:`ArrayDataset`: ``x`` is
float32 (images N×C×H×W with their raw pixel values, tabular N×D), ``y`` int64.

Specs:

- ``digits`` — bundled 8×8 handwritten digits (``engine/bundled``), 1×8×8 images, 0–16.
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

import csv
import gzip
import io
import logging
import math
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
DIGITS_FILE = BUNDLED_DIR / "digits.csv.gz"
SPIRALS_POINTS_PER_CLASS = 1000
SPIRALS_CLASSES = 3
BLOBS_POINTS_PER_CLASS = 500
BLOBS_CLASSES = 4
MIN_STD = 1e-6  # a constant feature is left unscaled (std taken as 1)


class DataError(ValueError):
    """A dataset that cannot be loaded; the message names the file and the expectation."""


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
        x, y = _read_csv(DIGITS_FILE, spec)
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
    loaders = {"mnist": _load_mnist, "cifar10": _load_cifar10, "npz": _load_npz, "csv": _load_csv}
    if kind not in loaders:
        raise DataError(f"{spec!r}: unknown dataset kind {kind!r} (expected {', '.join(loaders)})")
    ds = loaders[kind](path, spec)
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


# ---------------------------------------------------------------- MNIST (IDX)

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _load_mnist(path: Path, spec: str) -> ArrayDataset:
    if not path.is_dir():
        raise DataError(
            f"{spec}: {path} is not a directory (expected the folder of MNIST IDX files)"
        )
    parts_x, parts_y = [], []
    for split, (images_name, labels_name) in _MNIST_FILES.items():
        images = _find_idx(path, images_name)
        labels = _find_idx(path, labels_name)
        if split == "train" and images is None:
            raise DataError(
                f"{spec}: no {images_name}(.gz) in {path} "
                "(expected torchvision's MNIST/raw layout or the IDX files directly)"
            )
        if images is None and labels is None:
            continue
        if images is None or labels is None:
            missing = images_name if images is None else labels_name
            raise DataError(f"{spec}: no {missing}(.gz) beside {(images or labels).name}")
        x = _read_idx(images, spec, ndim=3)
        y = _read_idx(labels, spec, ndim=1)
        if len(x) != len(y):
            raise DataError(
                f"{spec}: {images.name} has {len(x)} images but {labels.name} has {len(y)} labels"
            )
        _check_labels(y, 10, labels, spec)
        parts_x.append(x)
        parts_y.append(y)
    x = np.concatenate(parts_x).astype(np.float32)[:, None, :, :]
    return _make(x, np.concatenate(parts_y), spec, num_classes=10)


def _find_idx(root: Path, name: str) -> Path | None:
    for folder in (root, root / "raw", root / "MNIST" / "raw"):
        for candidate in (
            name,
            name + ".gz",
            name.replace("-idx", ".idx"),
            name.replace("-idx", ".idx") + ".gz",
        ):
            if (folder / candidate).is_file():
                return folder / candidate
    return None


def _read_idx(path: Path, spec: str, *, ndim: int) -> np.ndarray:
    data = _read_bytes(path, spec)
    expected_magic = 0x0800 | ndim
    what = f"IDX unsigned-byte {'images' if ndim == 3 else 'labels'}"
    if len(data) < 4 or int.from_bytes(data[:4], "big") != expected_magic:
        got = f"0x{int.from_bytes(data[:4], 'big'):08x}" if len(data) >= 4 else "a short file"
        raise DataError(
            f"{_label(spec, path)}: wrong magic {got}, expected 0x{expected_magic:08x} ({what})"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{_label(spec, path)}: truncated header ({len(data)} bytes)")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + math.prod(dims)
    if len(data) != expected:
        raise DataError(
            f"{_label(spec, path)}: {len(data)} bytes, expected {expected} for "
            f"dimensions {'×'.join(map(str, dims))}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


# ---------------------------------------------------------------- CIFAR-10 (binary)

_CIFAR_RECORD = 1 + 3 * 32 * 32


def _load_cifar10(path: Path, spec: str) -> ArrayDataset:
    if (path / "cifar-10-batches-bin").is_dir():
        path = path / "cifar-10-batches-bin"
    if not path.is_dir():
        raise DataError(
            f"{spec}: {path} is not a directory (expected the folder of CIFAR-10 binary batches)"
        )
    names = [f"data_batch_{i}.bin" for i in range(1, 6)]
    for name in names:
        if not (path / name).is_file():
            raise DataError(
                f"{spec}: no {name} in {path} (expected the CIFAR-10 binary "
                "version: data_batch_1..5.bin, test_batch.bin)"
            )
    if (path / "test_batch.bin").is_file():
        names.append("test_batch.bin")
    records = []
    for name in names:
        data = _read_bytes(path / name, spec)
        if not data or len(data) % _CIFAR_RECORD:
            raise DataError(
                f"{_label(spec, path / name)}: {len(data)} bytes, expected a non-zero "
                f"multiple of {_CIFAR_RECORD} (1 label byte + 3072 pixels)"
            )
        rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
        _check_labels(rec[:, 0], 10, path / name, spec)
        records.append(rec)
    rec = np.concatenate(records)
    x = rec[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32)
    return _make(x, rec[:, 0], spec, num_classes=10)


# ---------------------------------------------------------------- npz


def _load_npz(path: Path, spec: str) -> ArrayDataset:
    if not path.is_file():
        raise DataError(f"{spec}: no such file {path} (expected an .npz with arrays x and y)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("x", "y") if k not in archive.files]
            if missing:
                raise DataError(
                    f"{_label(spec, path)}: has arrays {archive.files}, expected x and y "
                    f"(missing {', '.join(missing)})"
                )
            x, y = archive["x"], archive["y"]
    except DataError:
        raise
    except ValueError as exc:  # object arrays would need pickle: refused
        raise DataError(f"{_label(spec, path)}: {exc} (object arrays are not accepted)") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{_label(spec, path)}: not a readable .npz file ({exc})") from None
    if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
        raise DataError(f"{_label(spec, path)}: x ({x.dtype}) and y ({y.dtype}) must be numeric")
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[3] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)  # N×H×W×C → N×C×H×W
    if x.ndim not in (2, 4):
        raise DataError(
            f"{_label(spec, path)}: x has shape {x.shape}, expected N×D, N×H×W, N×C×H×W or N×H×W×C"
        )
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(
            f"{_label(spec, path)}: y has shape {y.shape}, expected ({len(x)},) "
            "integer labels (one per row of x)"
        )
    return _make(x, _integer_labels(y, _label(spec, path)), spec)


# ---------------------------------------------------------------- csv


def _load_csv(path: Path, spec: str) -> ArrayDataset:
    if not path.is_file():
        raise DataError(f"{spec}: no such file {path} (expected a CSV, last column = label)")
    x, y = _read_csv(path, spec)
    return _make(x, y, spec)


def _read_csv(path: Path, spec: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        text = _read_bytes(path, spec).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{_label(spec, path)}: not a UTF-8 text file (expected CSV)") from None
    stripped = text.lstrip()
    skipped = text[: len(text) - len(stripped)].count("\n")  # blank lines before the first row
    text = stripped
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = next((d for d in (",", ";", "\t") if d in first), None)
    header = int(bool(first) and not _all_numeric(_split(first, delimiter)))

    try:  # fast path (C parser); the slow path below only explains a failure
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            values = np.loadtxt(
                io.StringIO(text),
                delimiter=delimiter,
                skiprows=header,
                ndmin=2,
                comments=None,
                quotechar='"',
                dtype=np.float64,
            )
        rows = np.arange(len(values)) + 1 + header + skipped  # approximate if blank lines inside
    except ValueError:
        values, rows = _parse_csv_slowly(text, delimiter, header, path, spec, skipped)
    if values.size == 0:
        raise DataError(
            f"{_label(spec, path)}: no data rows (expected one sample per row, "
            "last column = integer label)"
        )
    if values.shape[1] < 2:
        raise DataError(f"{_label(spec, path)}: 1 column, expected features then a label column")
    return values[:, :-1], _integer_labels(values[:, -1], _label(spec, path), rows=rows)


def _parse_csv_slowly(
    text: str, delimiter: str | None, header: int, path: Path, spec: str, skipped: int
) -> tuple[np.ndarray, np.ndarray]:
    """Parse cell by cell to name the first bad row (file line numbers, 1-based)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter or " ", skipinitialspace=True)
    values, rows, width = [], [], None
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        if header:  # the first non-blank row is the header
            header = 0
            continue
        cells = [c for c in row if c.strip()] if delimiter is None else row
        width = width or len(cells)
        if len(cells) != width:
            raise DataError(
                f"{_label(spec, path)}: row {reader.line_num + skipped} has {len(cells)} columns, "
                f"expected {width}"
            )
        for col, cell in enumerate(cells):
            if not _is_number(cell):
                raise DataError(
                    f"{_label(spec, path)}: non-numeric cell {cell!r} at row "
                    f"{reader.line_num + skipped}, column {col + 1}"
                )
        values.append([float(c) for c in cells])
        rows.append(reader.line_num + skipped)
    return np.array(values, dtype=np.float64).reshape(len(values), width or 0), np.array(rows)


def _split(line: str, delimiter: str | None) -> list[str]:
    cells = next(csv.reader([line], delimiter=delimiter or " ", skipinitialspace=True), [])
    return [c for c in cells if c.strip()] if delimiter is None else cells


def _all_numeric(row: list[str]) -> bool:
    return all(_is_number(c) for c in row)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- helpers


def _read_bytes(path: Path, spec: str) -> bytes:
    try:
        with path.open("rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == b"\x1f\x8b":
                with gzip.GzipFile(fileobj=fh) as gz:
                    return gz.read()
            return fh.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{_label(spec, path)}: damaged gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{spec}: cannot read {path} ({exc.strerror or exc})") from None


def _label(spec: str, path: Path) -> str:
    """``spec`` plus the file inside it, e.g. ``mnist:/d: MNIST/raw/train-images-idx3-ubyte``."""
    root = Path(spec.partition(":")[2].strip()).expanduser()
    if path == root:
        return spec
    try:
        return f"{spec}: {path.relative_to(root)}"
    except ValueError:
        return f"{spec}: {path}"


def _integer_labels(y: np.ndarray, where: str, *, rows: np.ndarray | None = None) -> np.ndarray:
    """Labels as int64 ≥ 0; ``rows`` gives the row number reported for each label."""
    y = np.asarray(y)
    rows = np.arange(len(y)) if rows is None else rows
    if np.issubdtype(y.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if len(bad):
            raise DataError(
                f"{where}: label {float(y[bad[0]]):g} at row {rows[bad[0]]} is not "
                "an integer (expected class indices 0, 1, 2, ...)"
            )
    elif not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: labels of type {y.dtype}, expected integers")
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        row = int(np.argmax(y < 0))
        raise DataError(
            f"{where}: negative label {y[row]} at row {rows[row]} "
            "(expected class indices 0, 1, 2, ...)"
        )
    return y


def _check_labels(y: np.ndarray, num_classes: int, path: Path, spec: str) -> None:
    if len(y) and int(y.max()) >= num_classes:
        raise DataError(
            f"{_label(spec, path)}: label {int(y.max())} out of range "
            f"(expected 0..{num_classes - 1})"
        )


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
