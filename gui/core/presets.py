"""Ready-made run sets: the seed's first project, one MLP under four optimizers (SPEC §7)."""

from __future__ import annotations

import os
from pathlib import Path

from traindoc.engine.config import RunConfig, apply_patch

# The seed's optimizer guide: SGD lr 0.1 (momentum 0.9 for Momentum), Adam/AdamW lr 1e-3,
# AdamW weight decay 0.01. The same MLP and data for all four, so only the optimizer differs.
OPTIMIZERS = (
    ("sgd", {"optim.name": "sgd", "optim.lr": 0.1, "optim.weight_decay": 0.0}),
    ("momentum", {"optim.name": "momentum", "optim.lr": 0.1, "optim.momentum": 0.9,
                  "optim.weight_decay": 0.0}),
    ("adam", {"optim.name": "adam", "optim.lr": 0.001, "optim.weight_decay": 0.0}),
    ("adamw", {"optim.name": "adamw", "optim.lr": 0.001, "optim.weight_decay": 0.01}),
)
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
MNIST_EPOCHS = 5
DIGITS_EPOCHS = 20


def has_mnist(folder: str | Path) -> bool:
    folder = Path(folder)
    return all(
        (folder / name).is_file() or (folder / f"{name}.gz").is_file() for name in MNIST_FILES
    )


def find_mnist(extra: list[str | Path] = ()) -> Path | None:
    """A local MNIST folder (IDX files), or None: the app never downloads anything."""
    candidates = [*extra]
    if os.environ.get("TRAINDOC_MNIST"):
        candidates.insert(0, os.environ["TRAINDOC_MNIST"])
    home = Path.home()
    candidates += [
        Path("data/mnist"), Path("data/MNIST/raw"), home / "data/mnist",
        home / "data/MNIST/raw", home / ".cache/traindoc/mnist",
    ]
    for folder in candidates:
        if folder and has_mnist(folder):
            return Path(folder)
    return None


def optimizer_comparison(
    mnist_dir: str | Path | None, *, epochs: int | None = None, base: RunConfig | None = None
) -> list[RunConfig]:
    """Four configs: the same MLP on MNIST (or the bundled digits) with each optimizer."""
    dataset = f"mnist:{mnist_dir}" if mnist_dir else "digits"
    data_name = "mnist" if mnist_dir else "digits"
    epochs = epochs or (MNIST_EPOCHS if mnist_dir else DIGITS_EPOCHS)
    base = base or RunConfig()
    common = {
        "data.dataset": dataset,
        "model.arch": "mlp",
        "model.hidden": [256, 256],
        "schedule.kind": "constant",
        "train.epochs": epochs,
    }
    return [
        apply_patch(base, {**common, **patch, "name": f"compare-{data_name}-{name}"})
        for name, patch in OPTIMIZERS
    ]
