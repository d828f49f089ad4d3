"""Reading and diagnosing the runs of ``traindoc diagnose``, here or in a process pool.

:func:`diagnose_one` reads one run, diagnoses it and makes its output (the text block or
the JSON run object) where it ran, and hands back a small :class:`RunResult`: that
output, the run's warnings, the severities of its findings (for ``--fail-on``) and, only
when ``--role`` names tags, which of them the run has. Never the scalars: a tree of
10,000 runs streams through in bounded memory.

:func:`results` yields them in the order of the runs (the order of the serial output),
from :func:`pool_size` worker processes (:class:`Workers`, chunks of runs over a pipe
each) when the tree repays starting them. The workers are started by ``forkserver``
(``spawn`` where there is none), never by forking this process; they import the reader
and ``diagnostics`` only (no torch, no Qt), ignore Ctrl-C (the command stops them) and
are ended when the iteration ends, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from traindoc.diagnostics.report import run_json, text_block
from traindoc.engine.run_diagnosis import diagnose_log
from traindoc.engine.tb.discovery import RunSource
from traindoc.engine.tb.reader import RunLog, load_run
from traindoc.engine.tb.roles import sum_parts_of

#: At or below both, the runs are diagnosed in this process: starting the workers (a
#: fork server that imports numpy and the rules, ~0.35 s) costs more than it saves.
#: Measured on 2 busy cores: 64 runs of 1,000 points take 0.35 s here and 0.5-0.7 s in
#: a pool of 2; the 59 runs of ../shared/realruns (39 MB) 2.1-2.5 s here, 1.9-2.3 s.
SERIAL_MAX_RUNS = 64
SERIAL_MAX_BYTES = 64 << 20
#: Most runs handed to a worker at a time: fewer round trips, still an even spread.
MAX_CHUNK = 16

OUTPUTS = ("text", "json", "jsonl")
ENDED = "a diagnosing worker process ended unexpectedly"


@dataclass(frozen=True, slots=True)
class Job:
    """One run to diagnose: where it is, its name in the JSON, its title in the text."""

    source: RunSource
    name: str
    title: str


@dataclass(frozen=True, slots=True)
class Options:
    """What every job shares (sent once to each worker)."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    output: str = "text"  # one of OUTPUTS

    @property
    def role_tags(self) -> tuple[str, ...]:
        """The tags ``--role`` names, checked against every run."""
        return tuple(tag for tag in self.overrides.values() if tag)


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run diagnosed: its output (a text block, a JSON line, or the JSON object for
    ``--json``), its warnings, its findings' severities, and for each ``--role`` tag
    whether the run has it (``tags``: the run's tags, when it lacks one)."""

    name: str
    output: Any
    warnings: list[str]
    severities: tuple[str, ...]
    has_tags: tuple[bool, ...] = ()
    tags: tuple[str, ...] = ()


def diagnose_one(job: Job, options: Options) -> RunResult:
    """Read ``job``'s run, diagnose it and make its output; never raises on file contents."""
    run_log = load_run(job.source, overrides=options.overrides)
    diagnosis = diagnose_log(run_log)
    if options.output == "text":
        # Imported here: the workers of a JSON diagnosis never need it (nor what it loads).
        from traindoc.engine.fix_lineage import fix_line

        output: Any = text_block(diagnosis, run=job.title) + roles_line(run_log)
        fix = fix_line(run_log, diagnosis)
        output += f"\n  {fix}" if fix else ""
    else:
        output = run_json(diagnosis, run=job.name, roles=run_log.roles, points=run_log.points)
        if options.output == "jsonl":
            output = json.dumps(output, allow_nan=False, default=str)
    has = tuple(has_tag(run_log, tag) for tag in options.role_tags)
    return RunResult(
        job.name, output, run_log.warnings, tuple(f.severity.value for f in diagnosis.findings),
        has, tuple(run_log.scalars) if not all(has) else (),
    )


def roles_line(run_log: RunLog) -> str:
    if not run_log.roles:
        return "\n  (no training or validation metric recognised; see --role)"
    return "\n  roles: " + ", ".join(f"{role}={tag}" for role, tag in run_log.roles.items())


def has_tag(run_log: RunLog, tag: str) -> bool:
    """The run logs ``tag``, or every part of a sum such as ``train/box_loss+train/obj_loss``."""
    return tag in run_log.scalars or sum_parts_of(tag, run_log.scalars) is not None


def pool_size(runs: int, total_bytes: int = 0) -> int:
    """Worker processes for ``runs`` runs of ``total_bytes`` in all: one per core (no more
    than runs), or 1 (no pool) for a tree too small to repay starting them."""
    if runs < 2 or (runs <= SERIAL_MAX_RUNS and total_bytes <= SERIAL_MAX_BYTES):
        return 1
    return max(1, min(cores(), runs))


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def results(jobs: Sequence[Job], options: Options, *, workers: int) -> Iterator[RunResult]:
    """Every job's result, in the order of ``jobs``; ``workers`` > 1: from worker processes."""
    if workers <= 1:
        for job in jobs:
            yield diagnose_one(job, options)
        return
    pool = Workers(workers, options)
    try:
        yield from pool.ordered(chunked(jobs, workers))
    finally:
        pool.close()  # done, an error, Ctrl-C, a closed generator: the workers end


def chunked(jobs: Sequence[Job], workers: int) -> list[Sequence[Job]]:
    """``jobs`` in chunks of at most ``MAX_CHUNK``, smaller as the end nears (a share of
    what is left): the workers finish together instead of one idling while another
    does its last full chunk."""
    chunks = []
    start = 0
    while start < len(jobs):
        size = max(1, min(MAX_CHUNK, (len(jobs) - start) // (workers * 4)))
        chunks.append(jobs[start : start + size])
        start += size
    return chunks


class Workers:
    """Worker processes, each on its own pipe: a chunk of jobs goes in, its results come
    out. Each worker holds two chunks (one queued behind the one it works on, so it never
    waits for this process), and gets the next as soon as it returns one. No thread
    here: ``multiprocessing.Pool``'s worker-handler thread woke at every result sent and
    spun until its result thread had read it (0.05-0.13 s of this process's CPU per
    1,000 runs, taken from the workers on 2 cores)."""

    def __init__(self, count: int, options: Options) -> None:
        ctx = _context()
        self.procs: list[Any] = []
        self.conns: list[Connection] = []
        try:
            for _ in range(count):
                ours, theirs = ctx.Pipe()
                proc = ctx.Process(target=_serve, args=(theirs, options), daemon=True)
                proc.start()
                theirs.close()  # the worker's end is the worker's: its exit is our EOF
                self.procs.append(proc)
                self.conns.append(ours)
        except BaseException:
            self.close()
            raise

    def ordered(self, chunks: list[Sequence[Job]]) -> Iterator[RunResult]:
        """The results of every chunk, in the order of the chunks."""
        done: dict[int, Any] = {}  # chunk -> its results, or a worker's exception
        sent = 0

        def hand(conn: Connection) -> None:
            nonlocal sent
            if sent < len(chunks):
                try:
                    conn.send((sent, chunks[sent]))
                except OSError:  # a broken pipe: the worker is gone
                    raise RuntimeError(ENDED) from None
                sent += 1

        for conn in self.conns * 2:
            hand(conn)
        for index in range(len(chunks)):
            while index not in done:
                for conn in wait(self.conns):
                    got, out = _receive(conn)
                    done[got] = out
                    hand(conn)
            out = done.pop(index)
            if isinstance(out, BaseException):
                raise out  # a bug in a worker, raised where its chunk's results would be
            yield from out

    def close(self) -> None:
        """End the workers (idle or not) and wait for them."""
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.terminate()
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.join()
        for conn in self.conns:
            conn.close()


def _receive(conn: Connection) -> tuple[int, Any]:
    """A worker's next chunk of results, or the exception of a bug it met."""
    try:
        return conn.recv()
    except EOFError:
        raise RuntimeError(ENDED) from None


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # The fork server imports this module (numpy, the rules) once; workers fork from it.
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


_options: Options | None = None  # a worker's shared options, set by _start_worker


def _start_worker(options: Options) -> None:
    global _options
    _options = options
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle


def _serve(conn: Connection, options: Options) -> None:
    """A worker: diagnose each chunk of jobs it is sent, send back its results (or the
    error of a bug, with its traceback, as ``multiprocessing.Pool`` does), until it is
    terminated or the command's end of the pipe closes."""
    _start_worker(options)
    while True:
        try:
            index, jobs = conn.recv()
        except EOFError:
            return
        try:
            out: Any = [diagnose_one(job, options) for job in jobs]
        except Exception as exc:  # a bug: sent with its traceback, as Pool sends it
            from multiprocessing.pool import ExceptionWithTraceback

            out = ExceptionWithTraceback(exc, exc.__traceback__)
        conn.send((index, out))


def _work(job: Job) -> RunResult:
    """One job in a ``multiprocessing.Pool`` worker started by :func:`_start_worker`."""
    assert _options is not None
    return diagnose_one(job, _options)
