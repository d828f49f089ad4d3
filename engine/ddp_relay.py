"""A distributed run, seen from the worker process: ``torchrun`` started, its rank 0 relayed.

With ``train.nproc_per_node × train.nnodes > 1`` the worker
(:func:`traindoc.engine.worker._train`) does not train itself: it starts PyTorch's own
launcher, ``python -m torch.distributed.run`` (torchrun), in a process group of its
own, with :mod:`traindoc.engine.train.rank` as the program of every rank, and turns
what the ranks say into the events a single process would have emitted:

- the ranks with ``LOCAL_RANK`` 0 connect to a ``multiprocessing.connection.Listener``
  on 127.0.0.1 (a random port, a random key, both passed in the environment) and send
  the loop's events; they go out through the worker's ``Emitter``, so the launcher,
  the driver, the GUI and the command line see one run, as before;
- a stop request goes to the rank over the same connection; the ranks agree on it
  at their next metrics flush and end together. A group that has not ended
  :data:`STOP_GRACE_SECONDS` later is ended (SIGTERM, then SIGKILL, ``torchrun`` and
  each rank);
- ``torchrun`` ending without a final event (a rank killed, a rank that raised) is
  a ``Failed`` naming what ``torchrun`` reported (the tail of its output is kept).

Every process of the group dies with its parent (Linux's parent-death signal:
``torchrun`` with the worker, each rank with ``torchrun``), so nothing outlives a
worker that is killed outright. This module imports no torch.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Listener
from pathlib import Path
from typing import Any

from traindoc.engine import rundir
from traindoc.engine.config_limits import ConfigError, endpoint_parts
from traindoc.engine.config_values import ALL_GPUS
from traindoc.engine.events import FAILED, RUNNING, STOPPED, Failed, Finished, Started
from traindoc.engine.train import rank

# After a stop request the ranks end at their next flush (0.1 s of steps) and save;
# past this the group is ended (the launcher kills the worker itself at 4 s).
STOP_GRACE_SECONDS = 2.0
KILL_GRACE_SECONDS = 0.8
POLL_SECONDS = 0.05
TAIL_LINES = 60  # of torchrun's output, kept for the reason of a failure
RANK_MODULE = "traindoc.engine.train.rank"


def is_distributed(train: Any) -> bool:
    """More than one process in all: ``torchrun`` runs the config."""
    return train.nproc_per_node != 1 or train.nnodes != 1


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``torchrun`` is asked for on this machine."""

    nproc: int
    nnodes: int
    node_rank: int
    device: str  # "cuda" (cuda:N with one process per machine) or "cpu": NCCL or gloo
    endpoint: str  # HOST:PORT of node 0; "" = one machine (--standalone)

    @property
    def world(self) -> int:
        return self.nproc * self.nnodes


def plan(train: Any, gpus: int) -> Plan:
    """The processes and device of ``train`` on a machine with ``gpus`` visible GPUs.

    ``"gpu"`` is one process per GPU; ``device = auto`` is CUDA when there is a GPU;
    more CUDA processes than GPUs is an error that says what to change.
    """
    procs, device = train.nproc_per_node, train.device
    key = "train.nproc_per_node"
    if procs == ALL_GPUS:
        if gpus == 0:
            raise ConfigError(f'{key} = "gpu": no CUDA GPU is visible on this machine; '
                              "give a process count with train.device = cpu instead")
        procs = gpus
    kind = "cpu" if device == "cpu" or (device == "auto" and gpus == 0) else "cuda"
    if kind == "cuda" and gpus == 0:
        raise ConfigError(f"train.device = {device}: CUDA is not available on this machine")
    if kind == "cuda" and procs > gpus:
        raise ConfigError(f"{key} = {procs}: this machine has {gpus} GPU{'s' * (gpus != 1)} "
                          f"(one per process); use at most {gpus}, or train.device = cpu "
                          "for CPU processes (gloo)")
    if kind == "cuda" and procs == 1 and device.startswith("cuda:"):
        kind = device  # one process per machine may name its GPU
    return Plan(procs, train.nnodes, train.node_rank, kind, train.rdzv_endpoint)


def torchrun_command(p: Plan, run_dir: str | Path) -> list[str]:
    """``torch.distributed.run …`` for ``p``: one machine (``--standalone``, a free port)
    or several (static rendezvous at node 0's ``HOST:PORT``); no restarts. torchrun runs
    in :func:`traindoc.engine.train.rank.torchrun` (``runpy`` of torch's own module), which
    first makes it die with the worker."""
    where = ["--standalone"]
    if p.endpoint:
        host, port = endpoint_parts(p.endpoint) or ("", 0)
        where = ["--rdzv-backend=static", f"--rdzv-endpoint={host}:{port}",
                 f"--node-rank={p.node_rank}"]
    return [sys.executable, "-m", RANK_MODULE, rank.TORCHRUN_FLAG,  # torchrun, guarded
            f"--nproc-per-node={p.nproc}", f"--nnodes={p.nnodes}", *where, "--max-restarts=0",
            "-m", RANK_MODULE, str(run_dir)]


def visible_gpus(train: Any) -> int:
    """GPUs torch sees here (0 without asking torch when the run is on the CPU)."""
    if train.device == "cpu":
        return 0
    from traindoc.engine.train.setup import visible_gpus as count  # imports torch

    return count()


def children(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (Linux ``/proc``; empty elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def run_distributed(config: Any, run_dir: Path, *, emit: Callable[[Any], None],
                    should_stop: Callable[[], bool]) -> Finished | Failed:
    """Run ``config`` under ``torchrun`` and relay its events; the final event."""
    p = plan(config.train, visible_gpus(config.train))
    key = os.urandom(16)
    with Listener(("127.0.0.1", 0), authkey=key) as listener:
        host, port = listener.address
        env = {**os.environ, rank.ADDRESS_ENV: f"{host}:{port}", rank.KEY_ENV: key.hex(),
               rank.DEVICE_ENV: p.device, rank.WORKER_PID_ENV: str(os.getpid())}
        group = Group(torchrun_command(p, run_dir), env)
        relayed = Relayed(listener, group, emit, should_stop, p)
        try:
            final = relayed.run()
        finally:
            group.end()
    # Rank 0 wrote the status of a run that ended on its terms; the rest is ours to write.
    if isinstance(final, Failed) or p.node_rank != 0 or relayed.forced:
        status = FAILED if isinstance(final, Failed) else final.status
        note = "" if p.node_rank == 0 else f" (node {p.node_rank}: the logs are node 0's)"
        rundir.write_status(run_dir, status, final.reason + note)
    return final


class Group:
    """``torchrun`` and its ranks: started in a session of their own, ended together."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.reader = threading.Thread(target=self._read, name="torchrun-output", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in self.process.stdout:
                self.tail.append(line.decode("utf-8", "replace").rstrip())

    def alive(self) -> bool:
        return self.process.poll() is None

    def end(self) -> None:
        """SIGTERM to ``torchrun`` (it ends its ranks), then SIGKILL to whatever is left."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(KILL_GRACE_SECONDS)
        ranks = children(self.process.pid) if self.alive() else []
        for pid in [self.process.pid, *ranks]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        self.reader.join(1.0)

    def root_cause(self) -> dict[str, str]:
        """torchrun's "Root Cause (first observed failure)" block: rank, exitcode, traceback."""
        lines = list(self.tail)
        start = next((i for i, line in enumerate(lines) if line.startswith("Root Cause")), None)
        fields: dict[str, str] = {}
        for line in lines[start:] if start is not None else ():
            name, sep, value = line.strip().partition(":")
            if sep and name.strip() in ("rank", "exitcode", "traceback"):
                fields.setdefault(name.strip(), re.sub(r"\s+", " ", value.strip()))
        return fields

    def root_rank(self) -> int | None:
        """The global rank torchrun names as the first to fail, if it names one."""
        rank_text = self.root_cause().get("rank", "")
        return int(rank_text.split()[0]) if rank_text[:1].isdigit() else None

    def failure(self) -> str:
        """What ``torchrun`` said about its end, in one line."""
        code = self.process.returncode
        fields = self.root_cause()
        last = next((line for line in reversed(self.tail) if line.strip()), "")
        if "rank" in fields:
            why = f"rank {fields['rank']} failed with exit code {fields.get('exitcode', '?')}"
            cause = fields.get("traceback", "")
            if cause and not cause.startswith("To enable traceback"):
                why += f" ({cause})"
        else:
            why = re.sub(r"\s+", " ", last)[:300] or "no output"
        return (f"distributed training failed: torchrun exited with code {code}: {why}; "
                "the other ranks were ended")


class Relayed:
    """The worker's side of the connection: events in, a stop request out."""

    def __init__(self, listener: Listener, group: Group, emit, should_stop, p: Plan) -> None:
        self.listener, self.group, self.emit, self.should_stop, self.plan = (
            listener, group, emit, should_stop, p)
        self.conn: Any = None
        self.connected = threading.Event()
        self.stop_sent_at: float | None = None
        self.forced = False  # the group was ended after a stop request it did not follow
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()

    def _accept(self) -> None:
        """Wait for rank 0; a stranger without the key is turned away, not waited for."""
        while True:
            try:
                self.conn = self.listener.accept()
            except (AuthenticationError, EOFError, ConnectionError):
                continue
            except OSError:  # the listener was closed: the run is over
                return
            self.listener.close()  # rank 0 is in: nobody else may knock
            self.connected.set()
            return

    def run(self) -> Finished | Failed:
        while True:
            final = self._receive()
            if final is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.group.process.wait(STOP_GRACE_SECONDS)  # the ranks leave the group
                return self._root_cause(final)
            if not self.group.alive():
                final = self._receive()  # what was sent just before the end
                if final is None:
                    self.group.reader.join(1.0)
                    final = Failed(seq=-1, reason=self.group.failure(),
                                   traceback="\n".join(self.group.tail))
                return final
            stopped = self._stop()
            if stopped is not None:
                return stopped

    def _root_cause(self, final: Finished | Failed) -> Finished | Failed:
        """Rank 0's failure, unless torchrun saw another rank killed first (rank 0 then
        only lost its peer: a gloo/NCCL error): that rank's end is the reason. A rank
        that raised is not preferred: every rank raises alike (the same config, data
        and code), and rank 0's exception is the one with its message."""
        if not isinstance(final, Failed) or final.user_error or self.group.alive():
            return final
        self.group.reader.join(1.0)
        cause = self.group.root_rank()
        if cause is None or cause == 0 or not self.group.root_cause().get(
                "exitcode", "").startswith("-"):
            return final
        first_line = final.reason.splitlines()[0][:200] if final.reason else ""
        return Failed(seq=-1, reason=f"{self.group.failure()} (rank 0: {first_line})",
                      traceback="\n".join(self.group.tail))

    def _receive(self) -> Finished | Failed | None:
        """Relay what arrived (waiting at most a poll); the final event once it comes."""
        if self.conn is None:
            if self.connected.is_set():  # connected once, then lost: torchrun says why
                time.sleep(POLL_SECONDS)
            else:
                self.connected.wait(POLL_SECONDS)
            return None
        try:
            while self.conn.poll(POLL_SECONDS):
                event = self.conn.recv()
                if isinstance(event, Finished | Failed):
                    return event
                if isinstance(event, Started) and self.plan.node_rank != 0:
                    rundir.write_status(Path(event.run_dir), RUNNING,
                                        f"node {self.plan.node_rank} of {self.plan.nnodes}")
                self.emit(event)
                if self.should_stop() and self.stop_sent_at is None:
                    return None
        except (EOFError, OSError):  # rank 0 is gone: torchrun's exit says why
            self.conn = None
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.group.process.wait(STOP_GRACE_SECONDS)
        return None

    def _stop(self) -> Finished | None:
        """Pass a stop request on once; end the group when it outlasts the grace."""
        if not self.should_stop():
            return None
        now = time.monotonic()
        if self.stop_sent_at is None:
            self.stop_sent_at = now
            if self.conn is not None:
                with contextlib.suppress(OSError):
                    self.conn.send(rank.STOP_MESSAGE)
            return None
        if now - self.stop_sent_at < STOP_GRACE_SECONDS:
            return None
        self.group.end()
        self.forced = True
        return Finished(seq=-1, status=STOPPED,
                        reason="stopped by user (the ranks did not stop in time and were ended)",
                        steps=0, epochs_done=0, seconds=0.0)
