"""CUDA paths in one short script (≤ 5 minutes on one GPU); prints the numbers.

Exercises: AMP bf16 and fp16 (GradScaler), gradient accumulation, clipping,
on-device augmentation, a user's own model and data (``model.source``/``data.source``)
under AMP, peak memory, the loop-overhead ratio on the GPU, and distributed training
through torchrun with NCCL (issue 15: ``--nproc gpu``; with 2+ GPUs also 2 processes
against 1 at the same global batch).
Run it on a machine with CUDA: ``python bench/gpu_check.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import traindoc.engine.train.loop as loop
import traindoc.engine.train.setup as setup
from traindoc.engine import config as cfg
from traindoc.engine.events import Metrics
from traindoc.engine.train.augment import augment_batch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: issue 13: the user's own model and data (examples/) through the AMP paths.
USER_CODE = {"model.source": f"{EXAMPLES / 'digits_model.py'}:make_mlp",
             "data.source": f"{EXAMPLES / 'digits_data.py'}:load_digits", "train.epochs": 5}


def run(patch: dict, *, force_fp16: bool = False) -> dict:
    config = cfg.apply_patch(cfg.RunConfig(name="gpu"), {"train.device": "cuda", **patch})
    seen: dict[str, list] = {"grad_norm": [], "mem": [], "sps": []}

    def emit(event: object) -> None:
        if isinstance(event, Metrics):
            seen["grad_norm"].extend(event.points["opt/grad_norm"][1].tolist())
            seen["sps"].extend(event.points["perf/samples_per_sec"][1].tolist())
            if "perf/device_mem_mb" in event.points:
                seen["mem"].extend(event.points["perf/device_mem_mb"][1].tolist())

    original = setup.amp_dtype_for
    if force_fp16:
        setup.amp_dtype_for = lambda mode, device: torch.float16
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            result = loop.run_training(config, Path(tmp), emit=emit, should_stop=lambda: False)
            seconds = time.perf_counter() - t0
    finally:
        setup.amp_dtype_for = original
    return {
        "status": result.status,
        "val_acc": result.summary.get("val/accuracy"),
        "seconds": round(seconds, 2),
        "max_grad_norm": max(seen["grad_norm"]) if seen["grad_norm"] else None,
        "peak_mem_mb": max(seen["mem"]) if seen["mem"] else None,
        "samples_per_sec": round(max(seen["sps"])) if seen["sps"] else None,
    }


def main() -> None:
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        sys.exit(0)
    print(f"device: {torch.cuda.get_device_name()}, bf16 {torch.cuda.is_bf16_supported()}")
    image = {"model.arch": "cnn", "model.hidden": [32, 64], "train.epochs": 5}
    checks = {
        "amp auto (bf16)": ({**image}, False),
        "amp fp16 + GradScaler": ({**image}, True),
        "amp off": ({**image, "train.amp": "off"}, False),
        "accumulation 4 x 16": ({**image, "data.batch_size": 16, "train.grad_accum": 4}, False),
        "clipping 1.0": ({**image, "train.clip_grad_norm": 1.0, "optim.lr": 0.01}, False),
        "augmentation": ({**image, "data.augment": True}, False),
        "diverging lr=50": ({**image, "optim.lr": 50.0, "optim.name": "sgd"}, False),
        "user code, amp auto": (USER_CODE, False),
        "user code, amp fp16": (USER_CODE, True),
    }
    for name, (patch, fp16) in checks.items():
        print(f"{name:24s} {run(patch, force_fp16=fp16)}")
    x = torch.rand(4096, 3, 32, 32, device="cuda")
    gen = torch.Generator(device="cuda")
    gen.manual_seed(0)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(20):
        augment_batch(x, gen, flip=True)
    torch.cuda.synchronize()
    print(f"augment 4096x3x32x32 on device: {(time.perf_counter() - t0) / 20 * 1e3:.2f} ms/batch")
    nccl_check()
    bench = Path(__file__).with_name("train_overhead.py")
    subprocess.run(
        [
            sys.executable,
            str(bench),
            "--reps",
            "5",
            "--epochs",
            "5",
            "--set",
            "train.device=cuda",
            "--set",
            "data.batch_size=256",
        ],
        check=False,
    )


def train_cli(logdir: str, *args: str) -> dict:
    """``traindoc train ARGS`` in its own process; its status.json, with the seconds."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "traindoc", "train", "--quiet", "--logdir",
                          logdir, "--set", "train.epochs=5", *args],
                         capture_output=True, text=True, check=False, timeout=300)
    (run_dir,) = sorted(Path(logdir).iterdir(), key=lambda p: p.stat().st_mtime)[-1:]
    status = json.loads((run_dir / "status.json").read_text())
    started = next((line for line in out.stderr.splitlines() if line.startswith("run ")), "")
    return {"exit": out.returncode, "status": status.get("status"),
            "val_acc": round(status.get("val/accuracy", float("nan")), 4),
            "seconds": round(time.perf_counter() - t0, 1), "start": started[-60:],
            "reason": status.get("reason", "")[:200]}


def nccl_check() -> None:
    """DDP over NCCL: every GPU (one process each), and 2 x 64 against 1 x 128."""
    gpus = torch.cuda.device_count()
    with tempfile.TemporaryDirectory() as logdir:
        print(f"{'ddp nccl, --nproc gpu':24s} {train_cli(logdir, '--nproc', 'gpu')}")
        if gpus >= 2:
            one = train_cli(logdir, "--set", "data.batch_size=128", "--device", "cuda")
            two = train_cli(logdir, "--nproc", "2", "--set", "data.batch_size=64")
            print(f"{'1 x 128 (one process)':24s} {one}")
            print(f"{'2 x 64 (nccl)':24s} {two}")
            print(f"val accuracy gap 1 vs 2 processes: {abs(one['val_acc'] - two['val_acc']):.4f}")
        else:
            print(f"{gpus} GPU: 2-process NCCL comparison skipped (needs 2)")


if __name__ == "__main__":
    main()
