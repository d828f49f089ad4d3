"""engine.data.datasets: every loader on tiny generated files, every error, split and prepare."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from traindoc.engine.config import DataConfig
from traindoc.engine.data.datasets import (
    ArrayDataset,
    DataError,
    load_dataset,
    prepare,
    split_dataset,
)

REPO = Path(__file__).resolve().parents[2]
SHARED_MNIST = REPO.parent / "shared" / "datasets" / "mnist"


# ---------------------------------------------------------------- file writers


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.tobytes()


def write_mnist(folder: Path, n_train=6, n_test=4, *, gz=True, test=True) -> tuple:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    arrays = {}
    splits = [("train", n_train)] + ([("t10k", n_test)] if test else [])
    for prefix, n in splits:
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte"
            data = idx_bytes(arr)
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        arrays[prefix] = (images, labels)
    return arrays


def write_cifar(folder: Path, per_batch=3, *, test=True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + (["test_batch.bin"] if test else [])
    for b, name in enumerate(names):
        rec = np.zeros((per_batch, 3073), dtype=np.uint8)
        rec[:, 0] = (np.arange(per_batch) + b) % 10
        rec[:, 1:1025] = 10 * b  # red plane
        rec[:, 1025:2049] = 100  # green plane
        rec[:, 2049:] = 200  # blue plane
        (folder / name).write_bytes(rec.tobytes())


# ---------------------------------------------------------------- bundled and synthetic


def test_digits_are_bundled_8x8_images() -> None:
    ds = load_dataset("digits")
    assert ds.x.shape == (1797, 1, 8, 8) and ds.x.dtype == np.float32
    assert ds.y.dtype == np.int64 and ds.num_classes == 10
    assert ds.is_image and ds.input_shape == (1, 8, 8)
    assert ds.x.min() == 0 and ds.x.max() == 16
    assert ds.y[:5].tolist() == [0, 1, 2, 3, 4]
    assert np.bincount(ds.y).min() >= 170  # roughly balanced


def test_bundled_digits_ship_with_attribution() -> None:
    readme = (REPO / "engine" / "data" / "bundled" / "README.md").read_text(encoding="utf-8")
    for needle in ("scikit-learn", "BSD-3-Clause", "Alpaydin", "Kaynak", "CC BY 4.0"):
        assert needle in readme


@pytest.mark.parametrize(("name", "n", "classes"), [("spirals", 3000, 3), ("blobs", 2000, 4)])
def test_synthetic_datasets_are_deterministic(name: str, n: int, classes: int) -> None:
    a, b, c = load_dataset(name, seed=0), load_dataset(name, seed=0), load_dataset(name, seed=1)
    assert a.x.shape == (n, 2) and not a.is_image and a.num_classes == classes
    assert np.bincount(a.y).tolist() == [n // classes] * classes
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)


def test_spirals_are_not_linearly_trivial() -> None:
    ds = load_dataset("spirals")
    centroids = np.stack([ds.x[ds.y == k].mean(0) for k in range(3)])
    assert np.abs(centroids).max() < 1.0  # arms wind around the origin


@pytest.mark.parametrize("spec", ["imagenet", "mnist:", "mnist: ", "tiff:/x", "digits2"])
def test_unknown_specs_rejected(spec: str) -> None:
    with pytest.raises(DataError, match=r"expected|unknown"):
        load_dataset(spec)


# ---------------------------------------------------------------- mnist


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_files_directly_in_dir(tmp_path: Path, gz: bool) -> None:
    arrays = write_mnist(tmp_path, gz=gz)
    ds = load_dataset(f"mnist:{tmp_path}")
    assert ds.x.shape == (10, 1, 28, 28) and ds.num_classes == 10
    expected = np.concatenate([arrays["train"][0], arrays["t10k"][0]]).astype(np.float32)
    np.testing.assert_array_equal(ds.x[:, 0], expected)  # train first, then t10k
    assert ds.y.tolist() == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3]


def test_mnist_torchvision_layout_and_train_only(tmp_path: Path) -> None:
    write_mnist(tmp_path / "MNIST" / "raw", test=False)
    ds = load_dataset(f"mnist:{tmp_path}")
    assert len(ds) == 6


def test_mnist_missing_train_names_file_and_layout(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no train-images-idx3-ubyte\(\.gz\) in .*MNIST/raw"):
        load_dataset(f"mnist:{tmp_path}")
    with pytest.raises(DataError, match=r"not a directory"):
        load_dataset(f"mnist:{tmp_path / 'absent'}")


def test_mnist_missing_label_file(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"no t10k-labels-idx1-ubyte"):
        load_dataset(f"mnist:{tmp_path}")


def test_mnist_wrong_magic(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=False)
    data = bytearray((tmp_path / "train-images-idx3-ubyte").read_bytes())
    data[3] = 0x01
    (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes(data))
    with pytest.raises(
        DataError,
        match=r"train-images-idx3-ubyte: wrong magic 0x00000801, "
        r"expected 0x00000803",
    ):
        load_dataset(f"mnist:{tmp_path}")


def test_mnist_truncated_file(tmp_path: Path) -> None:
    write_mnist(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"bytes, expected 4720 for dimensions 6×28×28"):
        load_dataset(f"mnist:{tmp_path}")


def test_mnist_damaged_gzip(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:15])
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: damaged gzip"):
        load_dataset(f"mnist:{tmp_path}")


def test_mnist_count_mismatch_and_bad_label(tmp_path: Path) -> None:
    write_mnist(tmp_path, test=False)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(5, np.uint8))))
    with pytest.raises(DataError, match=r"6 images but train-labels-idx1-ubyte\.gz has 5 labels"):
        load_dataset(f"mnist:{tmp_path}")
    labels.write_bytes(gzip.compress(idx_bytes(np.array([0, 1, 2, 3, 4, 12], np.uint8))))
    with pytest.raises(DataError, match=r"label 12 out of range \(expected 0\.\.9\)"):
        load_dataset(f"mnist:{tmp_path}")


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/datasets/mnist not present")
def test_real_mnist() -> None:
    ds = load_dataset(f"mnist:{SHARED_MNIST}")
    assert ds.x.shape == (70_000, 1, 28, 28)
    assert ds.y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert ds.y[60_000:60_003].tolist() == [7, 2, 1]  # t10k follows train
    assert ds.x.min() == 0 and ds.x.max() == 255
    assert np.bincount(ds.y).sum() == 70_000 and ds.num_classes == 10


# ---------------------------------------------------------------- cifar10


@pytest.mark.parametrize("nested", [False, True])
def test_cifar10_binary(tmp_path: Path, nested: bool) -> None:
    write_cifar(tmp_path / "cifar-10-batches-bin" if nested else tmp_path)
    ds = load_dataset(f"cifar10:{tmp_path}")
    assert ds.x.shape == (18, 3, 32, 32) and ds.num_classes == 10
    assert ds.x[0, :, 5, 7].tolist() == [0, 100, 200]  # channel planes in order
    assert ds.x[3, 0, 0, 0] == 10  # second batch
    assert ds.y[:6].tolist() == [0, 1, 2, 1, 2, 3]


def test_cifar10_errors(tmp_path: Path) -> None:
    write_cifar(tmp_path, test=False)
    assert len(load_dataset(f"cifar10:{tmp_path}")) == 15  # test batch optional
    (tmp_path / "data_batch_3.bin").unlink()
    with pytest.raises(DataError, match=r"no data_batch_3.bin in .*expected the CIFAR-10 binary"):
        load_dataset(f"cifar10:{tmp_path}")
    (tmp_path / "data_batch_3.bin").write_bytes(b"\0" * 3000)
    with pytest.raises(
        DataError, match=r"data_batch_3.bin: 3000 bytes, expected a non-zero multiple of 3073"
    ):
        load_dataset(f"cifar10:{tmp_path}")
    (tmp_path / "data_batch_3.bin").write_bytes(bytes([11]) + b"\0" * 3072)
    with pytest.raises(DataError, match=r"label 11 out of range"):
        load_dataset(f"cifar10:{tmp_path}")
    with pytest.raises(DataError, match=r"not a directory"):
        load_dataset(f"cifar10:{tmp_path / 'nope'}")


# ---------------------------------------------------------------- npz


def test_npz_tabular_and_images(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(12, dtype=np.float64).reshape(6, 2), y=[0, 1, 2, 0, 1, 2])
    ds = load_dataset(f"npz:{path}")
    assert ds.x.shape == (6, 2) and ds.x.dtype == np.float32 and ds.num_classes == 3
    np.savez(path, x=np.zeros((4, 5, 5), np.uint8), y=np.array([0, 1, 0, 1], np.int32))
    assert load_dataset(f"npz:{path}").input_shape == (1, 5, 5)
    np.savez(path, x=np.zeros((4, 6, 6, 3)), y=np.array([0.0, 1.0, 0.0, 1.0]))
    assert load_dataset(f"npz:{path}").input_shape == (3, 6, 6)  # NHWC → NCHW
    np.savez(path, x=np.zeros((4, 3, 6, 6)), y=np.array([0, 1, 0, 1]))
    assert load_dataset(f"npz:{path}").input_shape == (3, 6, 6)


def test_npz_never_unpickles(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    objects = np.empty(2, dtype=object)
    objects[:] = [{"a": 1}, {"b": 2}]
    np.savez(path, x=objects, y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"object arrays are not accepted"):
        load_dataset(f"npz:{path}")


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((3, 2))}, r"expected x and y \(missing y\)"),
        ({"x": np.zeros((3, 2)), "y": np.zeros(4)}, r"y has shape \(4,\), expected \(3,\)"),
        ({"x": np.zeros((3, 2)), "y": np.zeros((3, 2))}, r"y has shape \(3, 2\)"),
        ({"x": np.zeros((3,)), "y": np.zeros(3)}, r"x has shape \(3,\), expected N×D"),
        ({"x": np.zeros((3, 2)), "y": [0.5, 1, 0]}, "label 0.5 at row 0 is not an integer"),
        ({"x": np.zeros((3, 2)), "y": [0, -1, 0]}, "negative label -1 at row 1"),
        ({"x": np.array([["a", "b"]]), "y": [0]}, "must be numeric"),
    ],
)
def test_npz_errors(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message):
        load_dataset(f"npz:{path}")


def test_non_finite_features_are_kept_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    x = np.arange(40, dtype=np.float64).reshape(20, 2)
    x[3, 1], x[7, 0] = np.nan, np.inf
    path = tmp_path / "poisoned.npz"
    np.savez(path, x=x, y=np.arange(20) % 2)
    with caplog.at_level("WARNING", logger="traindoc.engine.data.datasets"):
        ds = load_dataset(f"npz:{path}")
    assert "2 NaN/infinite feature value(s) in 2 of 20 samples" in caplog.text
    assert np.isnan(ds.x[3, 1])
    prepared = prepare(DataConfig(dataset=f"npz:{path}", val_fraction=0.2), seed=0)
    assert np.isfinite(prepared.mean).all() and np.isfinite(prepared.std).all()
    assert (prepared.std > 5).all()  # both features scaled by their finite values' spread
    both = np.concatenate([prepared.train.x, prepared.val.x])
    assert np.count_nonzero(~np.isfinite(both)) == 2  # only the poisoned cells


def test_npz_missing_and_not_npz(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no such file .*expected an .npz with arrays x and y"):
        load_dataset(f"npz:{tmp_path / 'absent.npz'}")
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match=r"junk.npz"):
        load_dataset(f"npz:{tmp_path / 'junk.npz'}")


# ---------------------------------------------------------------- csv


def test_csv_with_header_and_gzip(tmp_path: Path) -> None:
    text = "a,b,label\n1,2,0\n3,4.5,1\n\n5,6,2\n"
    plain, packed = tmp_path / "d.csv", tmp_path / "d.csv.gz"
    plain.write_text(text)
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        ds = load_dataset(f"csv:{path}")
        assert ds.x.tolist() == [[1, 2], [3, 4.5], [5, 6]] and ds.y.tolist() == [0, 1, 2]
        assert ds.num_classes == 3 and not ds.is_image


@pytest.mark.parametrize(("text", "cells"), [("1;2;0\n3;4;1\n", 2), ("1 2 0\n3  4 1\n", 2)])
def test_csv_other_delimiters(tmp_path: Path, text: str, cells: int) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text)
    assert load_dataset(f"csv:{path}").x.shape == (2, cells)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,0\n3,x,1\n", r"non-numeric cell 'x' at row 2, column 2"),
        ("f,g,h\n1,2,0\n3,4,1\n5,6\n", r"row 4 has 2 columns, expected 3"),
        ("1,2,0\n3,4,1.5\n", r"label 1.5 at row 2 is not an integer"),
        ("h1,h2,y\n1,2,0\n3,4,-2\n", r"negative label -2 at row 3"),
        ("h1,h2,y\n", r"no data rows"),
        ("", r"no data rows"),
        ("1\n2\n", r"1 column, expected features then a label column"),
    ],
)
def test_csv_errors_name_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(f"csv:{path}")
    assert str(path) in str(info.value)


def test_csv_missing_and_binary(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no such file"):
        load_dataset(f"csv:{tmp_path / 'absent.csv'}")
    (tmp_path / "b.csv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataError, match=r"not a UTF-8 text file"):
        load_dataset(f"csv:{tmp_path / 'b.csv'}")


# ---------------------------------------------------------------- split and prepare


def small(n=100, classes=4) -> ArrayDataset:
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return ArrayDataset(x, np.arange(n, dtype=np.int64) % classes, classes, "small")


def test_split_is_a_deterministic_partition() -> None:
    ds = small()
    train, val = split_dataset(ds, 0.2, seed=3)
    assert (len(train), len(val)) == (80, 20)
    ids = np.concatenate([train.x[:, 0], val.x[:, 0]]) / 3
    assert sorted(ids.astype(int).tolist()) == list(range(100))
    again, _ = split_dataset(ds, 0.2, seed=3)
    np.testing.assert_array_equal(train.x, again.x)
    other, _ = split_dataset(ds, 0.2, seed=4)
    assert not np.array_equal(train.x, other.x)
    np.testing.assert_array_equal(train.y, train.x[:, 0].astype(int) // 3 % 4)  # rows stay paired


def test_split_stratified_keeps_class_proportions() -> None:
    x = np.zeros((100, 2), np.float32)
    y = np.array([0] * 90 + [1] * 10, np.int64)
    train, val = split_dataset(ArrayDataset(x, y, 2, "skewed"), 0.2, 0, stratify=True)
    assert np.bincount(val.y).tolist() == [18, 2]
    assert np.bincount(train.y).tolist() == [72, 8]


def test_split_edge_cases() -> None:
    one = ArrayDataset(np.zeros((1, 2), np.float32), np.zeros(1, np.int64), 1, "one")
    with pytest.raises(DataError, match=r"need at least 2"):
        split_dataset(one, 0.2, 0)
    two = small(2, 2)
    train, val = split_dataset(two, 0.01, 0)
    assert (len(train), len(val)) == (1, 1)
    train, val = split_dataset(two, 0.99, 0, stratify=True)
    assert (len(train), len(val)) == (1, 1)
    with pytest.raises(ValueError, match=r"val_fraction"):
        split_dataset(small(), 1.0, 0)


def test_prepare_normalizes_per_feature_on_train_only() -> None:
    prepared = prepare(DataConfig(dataset="blobs", val_fraction=0.25), seed=0)
    assert (len(prepared.train), len(prepared.val)) == (1500, 500)
    np.testing.assert_allclose(prepared.train.x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(prepared.train.x.std(0), 1, atol=1e-4)
    raw = load_dataset("blobs", seed=0)
    assert prepared.mean.shape == (2,)
    assert abs(prepared.val.x.mean()) < 0.2  # same transform, not re-centred on val
    # mean/std are those of the train rows of the raw data
    train_raw = prepared.train.x * prepared.std + prepared.mean
    assert np.isin(np.round(train_raw[:, 0], 3), np.round(raw.x[:, 0], 3)).all()


def test_prepare_normalizes_images_per_channel() -> None:
    prepared = prepare(DataConfig(dataset="digits"), seed=0)
    assert prepared.is_image and prepared.input_shape == (1, 8, 8)
    assert prepared.mean.shape == (1,) and prepared.kind == "digits" and not prepared.hflip
    assert prepared.train.x.mean() == pytest.approx(0, abs=1e-5)
    assert prepared.train.x.std() == pytest.approx(1, abs=1e-4)
    assert len(prepared.val) == 359 and prepared.num_classes == 10


def test_prepare_without_normalization_keeps_raw_values() -> None:
    prepared = prepare(DataConfig(dataset="digits", normalize=False), seed=0)
    assert prepared.train.x.max() == 16 and not prepared.normalized
    assert prepared.mean.tolist() == [0] and prepared.std.tolist() == [1]


def test_prepare_cifar_channels_and_constant_feature(tmp_path: Path) -> None:
    write_cifar(tmp_path, per_batch=10)
    prepared = prepare(DataConfig(dataset=f"cifar10:{tmp_path}"), seed=0)
    assert prepared.hflip and prepared.mean.shape == (3,)
    assert prepared.std[1] == 1.0 and prepared.std[2] == 1.0  # constant planes: std 1
    assert np.isfinite(prepared.train.x).all()
    csv = tmp_path / "c.csv"
    csv.write_text("1,5,0\n2,5,1\n3,5,0\n4,5,1\n5,5,0\n")
    prepared = prepare(DataConfig(dataset=f"csv:{csv}", val_fraction=0.4), seed=0)
    assert prepared.std[1] == 1.0 and np.isfinite(prepared.train.x).all()


def test_dataset_validation() -> None:
    with pytest.raises(TypeError):
        ArrayDataset(np.zeros((2, 2)), np.zeros(2, np.int64), 2, "f64")
    with pytest.raises(ValueError, match=r"do not match"):
        ArrayDataset(np.zeros((2, 2), np.float32), np.zeros(3, np.int64), 2, "short")


@pytest.mark.slow
def test_module_is_torch_free() -> None:
    code = (
        "import sys, traindoc.engine.data.datasets, traindoc.engine.train.schedules; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_csv_leading_blank_lines_keep_file_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\nx1,x2,y\n1,2,0\n3,oops,1\n")
    with pytest.raises(DataError, match=r"non-numeric cell 'oops' at row 5, column 2"):
        load_dataset(f"csv:{path}")
    path.write_text("\n\nx1,x2,y\n1,2,0\n3,4,1\n")
    assert load_dataset(f"csv:{path}").y.tolist() == [0, 1]
