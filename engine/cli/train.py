"""``traindoc train``: a headless run with a progress bar, through the same launcher and
driver as the GUI (:class:`traindoc.engine.drive.RunDriver`)."""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path
from typing import Any

from traindoc.diagnostics.types import Diagnosis
from traindoc.diagnostics.wording import plural
from traindoc.engine import config as config_module
from traindoc.engine import rundir
from traindoc.engine.cli import autofix
from traindoc.engine.cli.exits import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    FAIL_LEVELS,
    UserError,
    findings_exit,
    ignore_sigint,
    interrupted,
)
from traindoc.engine.drive import RunDriver
from traindoc.engine.events import DIVERGED, Evaluated, Event, Failed, Finished, Metrics, Started
from traindoc.engine.launcher import RunHandle

DEFAULT_LOGDIR = "runs"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "train",
        help="train a model headless (default: an MLP on the bundled digits)",
        description="Train a model in a background process; logs go to DIR/<run-name>/.",
        epilog="Exit codes: 0 done; 1 the run failed or diverged, or its diagnosis has a "
        "finding at or above --fail-on; 2 bad input; 130 interrupted (Ctrl-C: the run stops "
        "cleanly, its logs kept). With --auto-fix: 0 only when the final run is healthy, "
        "else 1 (--fail-on does not apply); the report is repair.md in the first run's "
        "folder and the last line is 'final run: DIR'.",
    )
    add_config_arguments(parser, logdir=DEFAULT_LOGDIR)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--fail-on",
        choices=sorted(FAIL_LEVELS),
        default="error",
        help="exit 1 when the finished run's diagnosis has a finding at or above this "
        "severity (default: error)",
    )
    autofix.add_arguments(parser)
    add_distributed_arguments(parser)
    parser.set_defaults(handler=run)


#: train's flags for torchrun (DDP): flag -> the config key it sets, as --set would
DISTRIBUTED_FLAGS = {
    "--nproc": ("train.nproc_per_node", "N|gpu", "processes on this machine (DDP through "
                "torchrun; gpu = one per visible GPU; data.batch_size is per process)"),
    "--nnodes": ("train.nnodes", "N", "machines taking part (run the same command on each)"),
    "--node-rank": ("train.node_rank", "R", "this machine's place, 0..nnodes-1"),
    "--rdzv-endpoint": ("train.rdzv_endpoint", "HOST:PORT", "node 0's address and a free port "
                        "(with --nnodes > 1)"),
}


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("several processes or machines (torchrun, DDP)")
    for flag, (key, metavar, text) in DISTRIBUTED_FLAGS.items():
        group.add_argument(flag, dest=key, metavar=metavar, help=f"{text}; same as --set {key}=…")


def distributed_overrides(args: argparse.Namespace) -> list[str]:
    """The distributed flags given, as ``--set`` texts (after the others: they win)."""
    return [f"{key}={getattr(args, key)}" for key, *_ in DISTRIBUTED_FLAGS.values()
            if getattr(args, key, None) is not None]


def add_config_arguments(parser: argparse.ArgumentParser, *, logdir: str) -> None:
    """CONFIG, --set, --logdir and --device: what every command that runs a config takes."""
    parser.add_argument(
        "config",
        nargs="?",
        help="a TOML config file (each run folder's config.toml is a complete example); "
        "the default config if absent",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set optim.lr=0.01 (repeatable)",
    )
    parser.add_argument(
        "--logdir", default=logdir, help=f"where run folders go (default: {logdir})"
    )
    parser.add_argument(
        "--device", help="auto, cpu, cuda or cuda:N (same as --set train.device=...)"
    )


def load_config(
    path: str | None, overrides: list[str], device: str | None
) -> config_module.RunConfig:
    try:
        config = config_module.load(path) if path else config_module.RunConfig()
        patch = dict(config_module.parse_override(text) for text in overrides)
        if device:
            patch["train.device"] = device
        return config_module.apply_patch(config, patch)
    except config_module.ConfigError as exc:
        raise UserError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    wanted = autofix.requested(args)
    config = load_config(args.config, args.overrides + distributed_overrides(args), args.device)
    if wanted:
        return autofix.run(args, config, Progress)
    progress = Progress(enabled=not args.quiet)
    driver = RunDriver(RunHandle(config, args.logdir), on_events=progress.show)
    try:
        try:
            run_dir = driver.handle.start()
        except OSError as exc:
            why = rundir.disk_error_text(exc) if rundir.is_disk_error(exc) else str(exc)
            raise UserError(f"--logdir {args.logdir}: cannot create a run folder ({why})") from None
        driver.run()
    except KeyboardInterrupt:
        return stop_interrupted(driver, progress)
    finally:
        driver.close()
    progress.close()
    final = driver.final
    if isinstance(final, Failed) and final.user_error and not progress.started:
        # Bad input found by the training process before it started: nothing to keep.
        shutil.rmtree(run_dir, ignore_errors=True)
        raise UserError(final.reason)
    diagnoses = print_summary(driver, run_dir)
    if isinstance(final, Failed):
        return EXIT_BAD_INPUT if final.user_error else EXIT_FINDINGS
    if isinstance(final, Finished) and final.status == DIVERGED:
        return EXIT_FINDINGS
    return findings_exit(diagnoses, args.fail_on)


def stop_interrupted(driver: RunDriver, progress: Progress) -> int:
    """Ctrl-C: stop the run (a second Ctrl-C meanwhile changes nothing) and exit 130.

    Before the run started (no ``Started`` event), nothing is worth keeping: the run
    folder goes and one line says so. Otherwise the run is stopped cleanly, its logs
    flushed, and the summary printed as for any other ending.
    """
    ignore_sigint()
    run_dir = driver.handle.run_dir
    if run_dir is None:  # start() itself was interrupted (and cleaned up after itself)
        interrupted("train", "before the run started")
        return EXIT_INTERRUPTED
    if progress.started:
        progress.note("stopping (Ctrl-C)…")
    driver.stop()
    driver.step()  # what the run sent before it stopped: did it start?
    if not progress.started:
        driver.close()
        progress.close()
        shutil.rmtree(run_dir, ignore_errors=True)
        interrupted("train", "before the run started")
        return EXIT_INTERRUPTED
    driver.run(timeout=5.0)
    progress.close()
    print_summary(driver, run_dir)
    return EXIT_INTERRUPTED


class Progress:
    """A tqdm bar over optimizer steps with the latest loss and validation metrics."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.postfix: dict[str, str] = {}
        self.epochs = 0
        self.started = False

    def show(self, events: list[Event]) -> None:
        for event in events:
            self._show(event)

    def _show(self, event: Event) -> None:
        if isinstance(event, Started):
            self.started = True
            self.epochs = event.epochs
            print(
                f"run {Path(event.run_dir).name}: {event.train_size} train / {event.val_size} val "
                f"samples, {event.parameters:,} parameters, device {event.device}"
                f" (amp {event.amp}), effective batch {event.effective_batch}",
                file=sys.stderr,
            )
            if self.enabled:
                from tqdm import tqdm

                self.bar = tqdm(total=event.total_steps, unit="step", file=sys.stderr, leave=True)
        elif isinstance(event, Metrics):
            steps, losses = event.points["train/loss"]
            self.postfix["epoch"] = f"{event.epoch + 1}/{self.epochs}"
            self.postfix["loss"] = f"{losses[-1]:.4g}"
            if "perf/samples_per_sec" in event.points:
                self.postfix["samples/s"] = f"{event.points['perf/samples_per_sec'][1][-1]:,.0f}"
            if self.bar is not None:
                self.bar.update(int(steps[-1]) - self.bar.n)
                self.bar.set_postfix(self.postfix, refresh=False)
        elif isinstance(event, Evaluated):
            self.postfix["val_loss"] = f"{event.metrics['val/loss']:.4g}"
            if "val/accuracy" in event.metrics:  # a regression logs no accuracy
                self.postfix["val_acc"] = f"{event.metrics['val/accuracy']:.3f}"
            if self.bar is not None:
                self.bar.set_postfix(self.postfix)

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def print_summary(driver: RunDriver, run_dir: Path) -> list[Diagnosis]:
    """The run's ending, its logs and its diagnosis; returns the diagnoses printed."""
    final = driver.final
    if isinstance(final, Failed):
        print(f"status: failed — {final.reason}")
        if final.traceback and not final.user_error:
            print(final.traceback.rstrip(), file=sys.stderr)
    elif isinstance(final, Finished):
        print(f"status: {final.status} — {final.reason}")
        summary = final.summary
        parts = [plural(final.steps, "step"), plural(final.epochs_done, "epoch"),
                 f"{final.seconds:.1f} s"]
        if "val/accuracy" in summary:
            parts.append(f"val accuracy {summary['val/accuracy']:.4f}")
        if "val/loss" in summary:
            parts.append(f"val loss {summary['val/loss']:.4g}")
        best = summary.get("best_val_loss")
        if isinstance(best, float) and math.isfinite(best):
            parts.append(f"best val loss {best:.4g} (epoch {summary.get('best_epoch')})")
        print("summary: " + ", ".join(parts))
    print(f"logs: {run_dir}")
    diagnoses = print_diagnosis(run_dir)
    for warning in driver.handle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if driver.lost:
        print(f"warning: {driver.lost} events lost", file=sys.stderr)
    return diagnoses


def print_diagnosis(run_dir: Path) -> list[Diagnosis]:
    """The rules' verdict on the run just trained, read back from its own logs."""
    from traindoc.diagnostics.report import text_block
    from traindoc.engine.run_diagnosis import diagnose_log
    from traindoc.engine.tb.reader import load_path

    diagnoses = []
    for run_log in load_path(run_dir):
        diagnosis = diagnose_log(run_log)
        diagnoses.append(diagnosis)
        print("diagnosis: " + text_block(diagnosis, run=run_dir.name))
    return diagnoses

