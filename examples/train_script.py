"""A plain PyTorch training script, for ``traindoc run`` (no traindoc import inside).

Trains a small MLP with SGD on the bundled 8x8 digits and writes TensorBoard logs:
``train/loss`` every step, ``val/loss`` and ``val/accuracy`` every epoch. A few seconds
on a CPU. ``--lr 0.05`` trains well; ``--lr 20`` blows up (divergence or NaN)::

    traindoc run --param optim.lr=--lr -- python examples/train_script.py --lr 20

Logs go to ``--logdir``, by default ``$TRAINDOC_LOGDIR`` (which ``traindoc run`` sets)
or ``runs/script``.
"""

from __future__ import annotations

import argparse
import gzip
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

DIGITS = Path(__file__).resolve().parent.parent / "engine" / "data" / "bundled" / "digits.csv.gz"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--logdir", default=os.environ.get("TRAINDOC_LOGDIR") or "runs/script",
        help="where to write the TensorBoard logs",
    )
    return parser.parse_args()


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(DIGITS, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x = torch.from_numpy(table[:, :64] / 16.0)
    y = torch.from_numpy(table[:, 64].astype(np.int64))
    return x, y


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(1) == y).float().mean().item()
    model.train()
    return loss, accuracy


def main() -> None:
    args = parse_args()
    torch.manual_seed(0)
    x, y = load_digits()
    order = torch.randperm(len(x))
    n_val = len(x) // 5
    val, train = order[:n_val], order[n_val:]
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    writer = SummaryWriter(args.logdir, flush_secs=2)  # traindoc run follows it live
    step = 0
    for epoch in range(args.epochs):
        for batch in train[torch.randperm(len(train))].split(args.batch_size):
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            writer.add_scalar("train/loss", loss.item(), step)
            step += 1
        val_loss, accuracy = evaluate(model, x[val], y[val])
        writer.add_scalar("val/loss", val_loss, step)
        writer.add_scalar("val/accuracy", accuracy, step)
        print(f"epoch {epoch + 1}: val loss {val_loss:.4f}, accuracy {accuracy:.3f}", flush=True)
    writer.close()


if __name__ == "__main__":
    main()
