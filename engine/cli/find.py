"""``traindoc lr-find`` and ``traindoc batch-find`` (SPEC §7), through the training launcher.

Both run in a background process (``traindoc.engine.find.worker``); this process loads
neither torch nor Qt (the PNG is drawn by a subprocess, :mod:`traindoc.gui.lr_plot`).
Their folders go to ``--logdir`` (default ``runs/finders``): ``config.toml``,
``status.json``, ``lr_find.json`` + ``lr_find.png`` or ``batch_find.json``.

``--apply`` writes the result into the config file with :func:`traindoc.engine.config.save`
(the file is rewritten in canonical form: comments are not kept). The config
written is the one the finder used, ``--set`` overrides included, since that is
what the result holds for. Without a CONFIG argument ``--apply`` writes
``traindoc.toml`` in the current directory and says so; if that file already
exists it refuses (exit 2) rather than overwrite a file it was not given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traindoc.engine import config as config_module
from traindoc.engine.cli.exits import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, UserError
from traindoc.engine.cli.train import add_config_arguments, load_config
from traindoc.engine.events import STOPPED, Failed, Finished, Metrics
from traindoc.engine.find import worker as finder_worker
from traindoc.engine.launcher import RunHandle
from traindoc.gui import lr_plot

DEFAULT_LOGDIR = "runs/finders"
DEFAULT_CONFIG_FILE = "traindoc.toml"
POLL_SECONDS = 0.05


def add_parsers(commands: Any) -> None:
    lr = commands.add_parser(
        "lr-find",
        help="LR range test: sweep the learning rate, plot loss against it, suggest one",
        description=(
            "Sweep the learning rate exponentially over a short run on a copy of the model, "
            "plot loss against learning rate and suggest a rate (SPEC §7)."
        ),
    )
    _common(lr)
    lr.add_argument("--start-lr", type=float, default=1e-7, help="first rate (default 1e-7)")
    lr.add_argument("--end-lr", type=float, default=10.0, help="last rate (default 10)")
    lr.add_argument("--steps", type=int, default=100, help="sweep length (default 100)")
    lr.add_argument("--plot", help="where to write the PNG (default: in the finder's folder)")
    lr.add_argument("--apply", action="store_true", help="write the suggestion to the config")
    lr.set_defaults(handler=run_lr_find)

    batch = commands.add_parser(
        "batch-find",
        help="find the largest batch that fits in memory (the seed's recipe)",
        description=(
            "Start at batch 8 and double until out of memory; keep the largest that fit minus "
            "20%, rounded down to a power of two; report the gradient-accumulation steps and "
            "the linearly scaled learning rate that reach the target effective batch."
        ),
    )
    _common(batch)
    batch.add_argument(
        "--target",
        type=int,
        help="effective batch to reach (default: the config's, data.batch_size x train.grad_accum)",
    )
    batch.add_argument(
        "--memory-limit",
        type=float,
        metavar="MB",
        help="treat batches needing more than MB MiB as out of memory (CPU default: a quarter "
        "of physical memory; on CUDA simulates a smaller device)",
    )
    batch.add_argument("--start", type=int, default=8, help="first batch size (default 8)")
    batch.add_argument("--max-batch", type=int, default=65536, help="largest to try")
    batch.add_argument(
        "--apply",
        action="store_true",
        help="write data.batch_size, train.grad_accum and optim.lr to the config",
    )
    batch.set_defaults(handler=run_batch_find)


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, logdir=DEFAULT_LOGDIR)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


# ---------------------------------------------------------------- lr-find


def run_lr_find(args: argparse.Namespace) -> int:
    if not (0 < args.start_lr < args.end_lr):
        raise UserError(
            f"--start-lr {args.start_lr:g} --end-lr {args.end_lr:g}: need 0 < start < end"
        )
    if not 5 <= args.steps <= 100_000:
        raise UserError(f"--steps {args.steps}: expected 5..100000")
    config = load_config(args.config, args.overrides, args.device)
    apply_path = _apply_path(args) if args.apply else None
    target = finder_worker.lr_find_target(
        start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.steps
    )
    final, run_dir = _run(config, "lr-find", args.logdir, target, lambda e: None)
    if isinstance(final, int):
        return final
    summary = final.summary
    suggestion = summary["suggestion"]
    plot = Path(args.plot) if args.plot else run_dir / "lr_find.png"
    plot_error = lr_plot.render_png(summary, plot)
    if args.json:
        print_json({**summary, "run_dir": str(run_dir), "plot": str(plot)})
    else:
        _print_lr_report(summary, run_dir, plot, plot_error)
    with _human_lines(args):
        return _finish_lr_find(args, config, final, suggestion, apply_path)


def _finish_lr_find(args, config, final, suggestion, apply_path) -> int:
    lr = suggestion["lr"]
    if lr is None:
        print(f"suggested lr: {config.optim.lr:g} (unchanged: no clear descent; nothing applied)")
        return EXIT_FINDINGS
    print(f"suggested lr: {lr:.3g}")
    if apply_path is not None:
        _apply(config, {"optim.lr": float(f"{lr:.3g}")}, apply_path, new_file=not args.config)
    return EXIT_OK if final.status != STOPPED else EXIT_INTERRUPTED


def _print_lr_report(
    summary: dict[str, Any], run_dir: Path, plot: Path, plot_error: str | None
) -> None:
    lrs = summary["lrs"]
    suggestion = summary["suggestion"]
    span = f"{lrs[0]:.3g} -> {lrs[-1]:.3g}" if lrs else "no steps"
    print(f"lr-find: {len(lrs)} steps on {summary['device']}, lr {span} ({summary['end_reason']})")
    if suggestion["lr"] is not None:
        print(f"  {suggestion['rule']:<15} {suggestion['lr']:<10.3g} {suggestion['note']}")
    else:
        print(f"  {'no suggestion':<15} {'-':<10} {suggestion['note']}")
    for name, value in suggestion["alternatives"].items():
        print(f"  {name:<15} {value:<10.3g} (alternative)")
    print(f"  {'configured':<15} {summary['configured_lr']:<10.3g}")
    print(f"folder: {run_dir}")
    print(f"plot: {plot}" if plot_error is None else f"warning: {plot_error}")


# ---------------------------------------------------------------- batch-find


def run_batch_find(args: argparse.Namespace) -> int:
    if args.target is not None and not 1 <= args.target <= 1 << 24:
        raise UserError(f"--target {args.target}: expected a batch size ≥ 1")
    if args.memory_limit is not None and not args.memory_limit > 0:
        raise UserError(f"--memory-limit {args.memory_limit:g}: expected a size in MiB > 0")
    if not 1 <= args.start <= args.max_batch:
        raise UserError(f"--start {args.start} --max-batch {args.max_batch}: need 1 ≤ start ≤ max")
    config = load_config(args.config, args.overrides, args.device)
    apply_path = _apply_path(args) if args.apply else None
    target = finder_worker.batch_find_target(
        target=args.target,
        memory_limit_mb=args.memory_limit,
        start=args.start,
        max_batch=args.max_batch,
    )
    final, run_dir = _run(config, "batch-find", args.logdir, target, lambda e: None)
    if isinstance(final, int):
        return final
    summary = final.summary
    if final.status == STOPPED:
        print("batch-find: stopped by user")
        return EXIT_INTERRUPTED
    if args.json:
        print_json({**summary, "run_dir": str(run_dir)})
    else:
        _print_batch_report(summary, run_dir)
    with _human_lines(args):
        return _finish_batch_find(args, config, summary, apply_path)


def _finish_batch_find(args, config, summary, apply_path) -> int:
    plan = summary["plan"]
    if plan is None:
        return EXIT_FINDINGS
    print(
        f"batch size: {plan['micro_batch']}, grad_accum: {plan['accum_steps']}, "
        f"lr: {plan['lr']:.3g}"
    )
    if apply_path is not None:
        patch = {
            "data.batch_size": plan["micro_batch"],
            "train.grad_accum": plan["accum_steps"],
            "optim.lr": float(f"{plan['lr']:.3g}"),
        }
        _apply(config, patch, apply_path, new_file=not args.config)
    return EXIT_OK


def _print_batch_report(summary: dict[str, Any], run_dir: Path) -> None:
    limit = summary["memory_limit_mb"]
    limit_text = f"{limit:,.2f} MiB ({summary['memory_limit_source']})" if limit else "the device's"
    print(f"batch-find on {summary['device']}, memory limit {limit_text}")
    for trial in summary["tried"]:
        verdict = f"fits (peak {trial['peak_mb']:,.2f} MiB)" if trial["fits"] else "out of memory"
        print(f"  batch {trial['batch']:>6}: {verdict}")
    largest = summary["largest_fit"]
    if not largest:
        print("not even a batch of 1 fits: use a smaller model or mixed precision (train.amp)")
        print(f"folder: {run_dir}")
        return
    note = (
        f" (no out-of-memory up to {summary['max_batch']}, the cap: the training set size or "
        "--max-batch)"
        if summary["capped"]
        else ""
    )
    print(f"largest batch that fit: {largest}{note}")
    recommended = summary["recommended"]
    print(f"recommended batch (largest - 20%, rounded down to a power of two): {recommended}")
    if recommended < 16:
        print("  note: batches under 16 train unstably; accumulate gradients to a larger one")
    if recommended > 256:
        print("  note: batches over 256 may generalize worse; larger is not always better")
    plan, conf = summary["plan"], summary["configured"]
    print(
        f"target effective batch {summary['target']}: micro-batch {plan['micro_batch']} x "
        f"{plan['accum_steps']} accumulation step(s) = {plan['effective_batch']}, lr "
        f"{conf['lr']:g} x {plan['effective_batch']}/{conf['batch_size'] * conf['grad_accum']}"
        f" = {plan['lr']:.3g} (linear scaling)"
    )
    print(f"folder: {run_dir}")


# ---------------------------------------------------------------- shared


def _run(
    config: config_module.RunConfig,
    kind: str,
    logdir: str,
    target: Callable[..., None],
    on_event: Callable[[Any], None],
) -> tuple[Finished | int, Path]:
    """Run a finder to its end; returns its Finished event (or an exit code) and its folder."""
    named = config_module.apply_patch(config, {"name": f"{config.name}-{kind}"})
    handle = RunHandle(named, logdir, target=target)
    try:
        run_dir = handle.start()
    except OSError as exc:
        raise UserError(f"--logdir {logdir}: cannot create a folder ({exc})") from None
    print(f"{kind}: running in the background ({run_dir})…", file=sys.stderr)
    try:
        while handle.final is None:
            for event in handle.poll():
                if isinstance(event, Metrics):
                    on_event(event)
            if handle.final is None:
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        print(f"{kind}: stopping (Ctrl-C)…", file=sys.stderr)
        handle.stop()
        handle.wait(timeout=5.0)
        return EXIT_INTERRUPTED, run_dir
    finally:
        handle.close()
    final = handle.final
    if isinstance(final, Failed):
        if final.user_error:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise UserError(final.reason)
        print(f"{kind}: failed — {final.reason}")
        if final.traceback:
            print(final.traceback.rstrip(), file=sys.stderr)
        return EXIT_FINDINGS, run_dir
    assert isinstance(final, Finished)
    return final, run_dir


def _apply_path(args: argparse.Namespace) -> Path:
    """Where ``--apply`` writes; checked before the finder runs, so a refusal costs nothing."""
    if args.config:
        return Path(args.config)
    path = Path(DEFAULT_CONFIG_FILE)
    if path.exists():
        raise UserError(
            f"--apply without CONFIG writes {path}, which already exists; pass it as CONFIG"
        )
    return path


def _apply(
    config: config_module.RunConfig, patch: dict[str, Any], path: Path, *, new_file: bool
) -> None:
    try:
        new = config_module.apply_patch(config, patch)
        config_module.save(new, path)
    except config_module.ConfigError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{path}: cannot write config ({exc.strerror or exc})") from None
    changes = ", ".join(f"{key} = {value}" for key, value in patch.items())
    created = " (no CONFIG given: a new file in the current directory)" if new_file else ""
    print(f"applied: {changes} -> {path}{created}")


__all__ = ["DEFAULT_LOGDIR", "add_parsers", "run_batch_find", "run_lr_find"]


def print_json(obj: Any) -> None:
    """One strict JSON object on stdout (NaN and infinities become null)."""
    print(json.dumps(_finite(obj), allow_nan=False, default=str))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(value) for value in obj]
    return obj


def _human_lines(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """With --json, stdout holds the JSON object alone: the readable lines go to stderr."""
    return contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
