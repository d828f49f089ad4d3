"""Readers of the local dataset files ``data.dataset`` can name (numpy only).

``mnist:DIR`` (IDX, gzip or raw), ``cifar10:DIR`` (binary version), ``npz:FILE``
and ``csv:FILE``; see :mod:`traindoc.engine.data.datasets` for the specs. Each reader returns
``(x, y, num_classes or None)``; anything missing or malformed raises
:class:`DataError` naming the file and what was expected. Nothing is unpickled.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import warnings
import zlib
from pathlib import Path

import numpy as np

from traindoc.engine.errors import UserError

Loaded = tuple[np.ndarray, np.ndarray, int | None]


class DataError(UserError, ValueError):
    """A dataset that cannot be loaded; the message names the file and the expectation."""


def read_file_dataset(kind: str, path: Path, spec: str) -> Loaded:
    """Read a ``kind:PATH`` dataset; ``kind`` is one of :data:`FILE_READERS`."""
    return FILE_READERS[kind](path, spec)


# ---------------------------------------------------------------- MNIST (IDX)

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _load_mnist(path: Path, spec: str) -> Loaded:
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
    return x, np.concatenate(parts_y), 10


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


def _load_cifar10(path: Path, spec: str) -> Loaded:
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
    return x, rec[:, 0], 10


# ---------------------------------------------------------------- npz


def _load_npz(path: Path, spec: str) -> Loaded:
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
    return x, _integer_labels(y, _label(spec, path)), None


# ---------------------------------------------------------------- csv


def _load_csv(path: Path, spec: str) -> Loaded:
    if not path.is_file():
        raise DataError(f"{spec}: no such file {path} (expected a CSV, last column = label)")
    x, y = read_csv(path, spec)
    return x, y, None


def read_csv(path: Path, spec: str) -> tuple[np.ndarray, np.ndarray]:
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


FILE_READERS = {"mnist": _load_mnist, "cifar10": _load_cifar10, "npz": _load_npz, "csv": _load_csv}
