"""Training-loop overhead: our loop against a plain hand-written PyTorch loop.

Same model, data, batch size, optimizer and device; both evaluate once per
epoch. Timed from the end of setup to the end of training, interleaved A/B,
repeated. Prints the ratio of steps/s (ours / plain) last; the goal is ≥ 0.95.

    python bench/train_overhead.py [--reps 7] [--epochs 10] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from traindoc.engine import config as cfg
from traindoc.engine.data import datasets
from traindoc.engine.events import Started
from traindoc.engine.train.evaluation import evaluate
from traindoc.engine.train.loop import run_training
from traindoc.engine.train.models import build_model
from traindoc.engine.train.optim import build_optimizer
from traindoc.engine.train.setup import resolve_device


def ours(config: cfg.RunConfig) -> tuple[int, float]:
    marks: dict[str, float] = {}

    def emit(event: object) -> None:
        if isinstance(event, Started):
            marks["start"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        result = run_training(config, Path(tmp), emit=emit, should_stop=lambda: False)
        end = time.perf_counter()
    return result.steps, end - marks["start"]


def plain(config: cfg.RunConfig) -> tuple[int, float]:
    """What a person writes by hand: no logging, no schedule, no clipping."""
    torch.manual_seed(config.seed)
    device = resolve_device(config.train.device)
    data = datasets.prepare(config.data, config.seed)
    x = torch.as_tensor(data.train.x, device=device)
    y = torch.as_tensor(data.train.y, device=device)
    xv = torch.as_tensor(data.val.x, device=device)
    yv = torch.as_tensor(data.val.y, device=device)
    model = build_model(config.model, data.train.input_shape, data.train.num_classes).to(device)
    optimizer = build_optimizer(config.optim, model)
    batch = config.data.batch_size
    steps = 0
    start = time.perf_counter()
    for _ in range(config.train.epochs):
        model.train()
        order = torch.randperm(len(y), device=device)
        for first in range(0, len(y), batch):
            idx = order[first : first + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            steps += 1
        evaluate(model, xv, yv, None)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    patch = {"train.epochs": args.epochs, "train.device": "cpu", "schedule.kind": "constant"}
    patch.update(dict(cfg.parse_override(text) for text in args.overrides))
    config = cfg.apply_patch(cfg.RunConfig(name="bench"), patch)
    print(
        f"config: {config.data.dataset}, {config.model.arch} {list(config.model.hidden)}, "
        f"batch {config.data.batch_size}, {config.train.epochs} epochs, "
        f"device {config.train.device}, {args.reps} interleaved repetitions"
    )
    ours(config), plain(config)  # warm-up: imports, allocator, data cache
    rates: dict[str, list[float]] = {"ours": [], "plain": []}
    ratios = []
    for rep in range(args.reps):
        pair = {}
        for name, fn in (
            (("ours", ours), ("plain", plain))
            if rep % 2 == 0
            else (("plain", plain), ("ours", ours))
        ):
            steps, seconds = fn(config)
            pair[name] = steps / seconds
            rates[name].append(pair[name])
        ratios.append(pair["ours"] / pair["plain"])
        print(
            f"rep {rep + 1}: ours {pair['ours']:8.1f} steps/s, plain {pair['plain']:8.1f} "
            f"steps/s, ratio {ratios[-1]:.3f}"
        )
    print(
        f"median: ours {statistics.median(rates['ours']):.1f} steps/s, "
        f"plain {statistics.median(rates['plain']):.1f} steps/s"
    )
    print(
        f"ratio (ours/plain steps per second, median of {args.reps}): "
        f"{statistics.median(ratios):.3f}"
    )


if __name__ == "__main__":
    main()
