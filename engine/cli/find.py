"""``traindoc lr-find`` and ``traindoc batch-find``, through the training launcher.

Both run in a background process (``traindoc.engine.find.worker``) driven by
:class:`traindoc.engine.drive.RunDriver`; this process loads neither torch nor Qt
(the PNG is drawn by a subprocess, :func:`traindoc.engine.find.plot.render_png`).
Their folders go to ``--logdir`` (default ``runs/finders``): ``config.toml``,
``status.json``, ``lr_find.json`` + ``lr_find.png`` or ``batch_find.json``.

``--apply`` writes the result's ``patch()`` (:mod:`traindoc.engine.find.results`)
into the config file with :func:`traindoc.engine.config.save`
(the file is rewritten in canonical form: comments are not kept). The config
written is the one the finder used, ``--set`` overrides included, since that is
what the result holds for. Without a CONFIG argument ``--apply`` writes
``traindoc.toml`` in the current directory and says so, with the ``traindoc train``
command that uses it; if that file already exists it refuses (exit 2) rather than
overwrite a file it was not given. Nothing to suggest or recommend exits 1 (each
command's ``--help`` says when).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traindoc.engine import config as config_module
from traindoc.engine.cli.exits import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, UserError
from traindoc.engine.cli.train import add_config_arguments, load_config
from traindoc.engine.drive import RunDriver
from traindoc.engine.events import STOPPED, Failed, Finished
from traindoc.engine.find import worker as finder_worker
from traindoc.engine.find.plot import render_png
from traindoc.engine.find.results import LR_FIND_PLOT, BatchFindResult, LrFindResult
from traindoc.engine.launcher import RunHandle

DEFAULT_LOGDIR = "runs/finders"
DEFAULT_CONFIG_FILE = "traindoc.toml"


def add_parsers(commands: Any) -> None:
    lr = commands.add_parser(
        "lr-find",
        help="LR range test: sweep the learning rate, plot loss against it, suggest one",
        description=(
            "Sweep the learning rate exponentially over a short run on a copy of the model, "
            "plot loss against learning rate and suggest a rate: the middle of the stretch "
            "where the loss falls."
        ),
        epilog=(
            "Exit codes: 0 a rate was suggested (and written to the config with --apply); "
            "1 no rate can be suggested (the loss did not clearly fall during the sweep, or "
            "the search failed): the configured rate stays and nothing is written; 2 bad "
            "input; 130 interrupted."
        ),
    )
    _common(lr)
    lr.add_argument("--start-lr", type=float, default=1e-7, help="first rate (default 1e-7)")
    lr.add_argument("--end-lr", type=float, default=10.0, help="last rate (default 10)")
    lr.add_argument("--steps", type=int, default=100, help="sweep length (default 100)")
    lr.add_argument("--plot", help="where to write the PNG (default: in the finder's folder)")
    lr.add_argument(
        "--apply",
        action="store_true",
        help="write the suggestion to CONFIG (without CONFIG: to a new traindoc.toml)",
    )
    lr.set_defaults(handler=run_lr_find)

    batch = commands.add_parser(
        "batch-find",
        help="find the largest batch that fits in memory and a plan for the target batch",
        description=(
            "Start at batch 8 and double until out of memory; keep the largest that fit minus "
            "20%, rounded down to a power of two; recommend the batch size, "
            "gradient-accumulation steps and linearly scaled learning rate that reach the "
            "target effective batch within it."
        ),
        epilog=(
            "Exit codes: 0 a batch size was recommended (and written to the config with "
            "--apply); 1 nothing can be recommended (not even a batch of 1 fits, or the "
            "search failed): nothing is written; 2 bad input; 130 interrupted."
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
        help="write data.batch_size, train.grad_accum and optim.lr to CONFIG (without "
        "CONFIG: to a new traindoc.toml)",
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
    final, run_dir = _run(config, "lr-find", args.logdir, target)
    if isinstance(final, int):
        return final
    result: LrFindResult = final.result
    plot = Path(args.plot) if args.plot else run_dir / LR_FIND_PLOT
    plot_error = render_png(result.as_dict(), plot)
    if args.json:
        print_json({**result.as_dict(), "run_dir": str(run_dir), "plot": str(plot)})
    else:
        _print_lr_report(result, run_dir, plot, plot_error)
    with _human_lines(args):
        patch = result.patch()
        if not patch:
            kept = config.optim.lr
            print(f"suggested lr: none; the configured lr {kept:g} stays, nothing applied")
            return EXIT_FINDINGS
        print(f"suggested lr: {result.suggestion.lr:.3g}")
        if apply_path is not None:
            _apply(config, patch, apply_path, new_file=not args.config)
        return EXIT_OK if final.status != STOPPED else EXIT_INTERRUPTED


def _print_lr_report(
    result: LrFindResult, run_dir: Path, plot: Path, plot_error: str | None
) -> None:
    lrs, suggestion = result.lrs, result.suggestion
    span = f"{lrs[0]:.3g} -> {lrs[-1]:.3g}" if len(lrs) else "no steps"
    print(f"lr-find: {len(lrs)} steps on {result.device}, lr {span} ({result.end_reason})")
    if suggestion.lr is not None:
        print(f"  {suggestion.rule:<15} {suggestion.lr:<10.3g} {suggestion.note}")
    else:
        print(f"  {'no suggestion':<15} {'-':<10} {suggestion.note}")
    for name, value in suggestion.alternatives.items():
        print(f"  {name:<15} {value:<10.3g} (alternative)")
    print(f"  {'configured':<15} {result.configured_lr:<10.3g}")
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
    final, run_dir = _run(config, "batch-find", args.logdir, target)
    if isinstance(final, int):
        return final
    result: BatchFindResult = final.result
    if args.json:
        print_json({**result.as_dict(), "run_dir": str(run_dir)})
    else:
        _print_batch_report(result, run_dir)
    with _human_lines(args):
        patch, plan = result.patch(), result.plan
        if not patch or plan is None:
            return EXIT_FINDINGS
        print(
            "recommended: "
            + ", ".join(f"{key} = {value}" for key, value in patch.items())
            + f" (effective batch {plan.effective_batch})"
        )
        if apply_path is not None:
            _apply(config, patch, apply_path, new_file=not args.config)
        return EXIT_OK


def _print_batch_report(result: BatchFindResult, run_dir: Path) -> None:
    limit = result.memory_limit_mb
    limit_text = f"{limit:,.2f} MiB ({result.memory_limit_source})" if limit else "the device's"
    print(f"batch-find on {result.device}, memory limit {limit_text}")
    for trial in result.tried:
        verdict = f"fits (peak {trial.peak_mb:,.2f} MiB)" if trial.fits else "out of memory"
        print(f"  batch {trial.batch:>6}: {verdict}")
    largest, plan = result.largest_fit, result.plan
    if not largest or plan is None:
        print("not even a batch of 1 fits: use a smaller model or mixed precision (train.amp)")
        print(f"folder: {run_dir}")
        return
    note = (
        f" (no out-of-memory up to {result.max_batch}, the cap: the training set size or "
        "--max-batch)"
        if result.capped
        else ""
    )
    print(f"largest batch that fit: {largest}{note}")
    print(
        f"memory allows batches up to {result.recommended} (the largest that fit, less 20%, "
        "rounded down to a power of two)"
    )
    base = result.configured_batch * result.configured_accum
    whose = " (the config's; --target for another)" if result.target == base else ""
    print(
        f"target effective batch {result.target}{whose}: batch {plan.micro_batch} x "
        f"{plan.accum_steps} accumulation step(s) = {plan.effective_batch}, lr "
        f"{result.configured_lr:g} x {plan.effective_batch}/{base}"
        f" = {plan.lr:.3g} (linear scaling)"
    )
    if plan.effective_batch < 16:
        print("  note: batches under 16 train unstably; a larger --target accumulates to one")
    if plan.effective_batch > 256:
        print("  note: batches over 256 may generalize worse; larger is not always better")
    print(f"folder: {run_dir}")


# ---------------------------------------------------------------- shared


def _run(
    config: config_module.RunConfig, kind: str, logdir: str, target: Callable[..., None]
) -> tuple[Finished | int, Path]:
    """Run a finder to its end; returns its Finished event (or an exit code) and its folder."""
    named = config_module.apply_patch(config, {"name": f"{config.name}-{kind}"})
    driver = RunDriver(RunHandle(named, logdir, target=target))
    try:
        run_dir = driver.handle.start()
    except OSError as exc:
        raise UserError(f"--logdir {logdir}: cannot create a folder ({exc})") from None
    print(f"{kind}: running in the background ({run_dir})…", file=sys.stderr)
    try:
        driver.run()
    except KeyboardInterrupt:
        print(f"{kind}: stopping (Ctrl-C)…", file=sys.stderr)
        driver.stop()
        driver.run(timeout=5.0)
        return EXIT_INTERRUPTED, run_dir
    finally:
        driver.close()
    final = driver.final
    if isinstance(final, Failed):
        if final.user_error:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise UserError(final.reason)
        print(f"{kind}: failed — {final.reason}")
        if final.traceback:
            print(final.traceback.rstrip(), file=sys.stderr)
        return EXIT_FINDINGS, run_dir
    assert isinstance(final, Finished)
    if final.result is None:  # stopped before it found anything
        print(f"{kind}: {final.reason}")
        return (EXIT_INTERRUPTED if final.status == STOPPED else EXIT_FINDINGS), run_dir
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
    created = (
        " (no CONFIG given: a new file in the current directory, holding the config this "
        "search used with the change)"
        if new_file
        else ""
    )
    print(f"applied: {changes} -> {path}{created}")
    print(f"train with it: traindoc train {shlex.quote(str(path))}")


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


__all__ = ["DEFAULT_LOGDIR", "add_parsers", "run_batch_find", "run_lr_find"]
