"""Fault summary (issue 10): corrupted files read, process faults injected, bad input fed.

Three families, each through the product's own entry points:

- **corrupted event files** read by ``traindoc.engine.tb.reader.EventFileReader``: truncation at
  every byte, single-bit flips, inserted garbage, huge length fields, zero-filled
  tails, and special files (empty, a directory, a dangling symlink). A crash is an
  exception; a lost record is an intact record (every byte of its frame untouched)
  whose point is missing from what was read.
- **process faults**: ``traindoc train`` killed with SIGKILL at 0.2, 1 and 3 s; an
  orphan is a process of that run (found by a marker in its environment) still alive
  3 s after its parent died.
- **bad input and interrupts**: ``traindoc`` fed bad values and SIGINT at awkward
  moments; a traceback is any ``Traceback`` on its stderr.

The last line is the summary: everything but the number of corrupted files tried
should be zero.

    python bench/faults.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402

from traindoc.engine.tb.reader import EventFileReader  # noqa: E402
from traindoc.engine.tb.records import frame  # noqa: E402

RECORDS = 24


def _event(i: int) -> bytes:
    if i == 0:
        return event_pb2.Event(wall_time=1.0, file_version="brain.Event:2").SerializeToString()
    value = summary_pb2.Summary.Value(tag=f"tag{i % 3}", simple_value=float(i))
    return event_pb2.Event(wall_time=1.0 + i, step=i,
                           summary=summary_pb2.Summary(value=[value])).SerializeToString()


FRAMES = [frame(_event(i)) for i in range(RECORDS)]
DATA = b"".join(FRAMES)
BOUNDS = []
_pos = 0
for _f in FRAMES:
    BOUNDS.append((_pos, _pos + len(_f)))
    _pos += len(_f)


def _points(path: Path) -> set[tuple[str, int]]:
    chunk = EventFileReader(path).read(final=True)
    return {(tag, int(s)) for tag, sc in chunk.scalars.items() for s in sc.steps.tolist()}


def _expected(intact) -> set[tuple[str, int]]:
    """Points of the records whose frame ``intact(start, end)`` says is untouched."""
    return {(f"tag{i % 3}", i) for i, (s, e) in enumerate(BOUNDS) if i and intact(s, e)}


class Tally:
    def __init__(self) -> None:
        self.tried = self.crashes = self.lost = 0

    def read(self, tmp: Path, data: bytes, intact) -> None:
        path = tmp / "events.out.tfevents.1.fault"
        path.write_bytes(data)
        self.tried += 1
        try:
            got = _points(path)
        except Exception as exc:
            self.crashes += 1
            print(f"  crash: {type(exc).__name__}: {exc}")
            return
        self.lost += len(_expected(intact) - got)


def corrupted_files(quick: bool) -> Tally:
    rng = random.Random(0)
    t = Tally()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for cut in range(0, len(DATA) + 1, 7 if quick else 1):
            t.read(tmp, DATA[:cut], lambda s, e, c=cut: e <= c)
        for _ in range(300 if quick else 3000):
            pos = rng.randrange(len(DATA))
            flipped = bytearray(DATA)
            flipped[pos] ^= 1 << rng.randrange(8)
            t.read(tmp, bytes(flipped), lambda s, e, p=pos: not s <= p < e)
        for _ in range(200 if quick else 2000):
            pos = rng.randrange(len(DATA) + 1)
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            t.read(tmp, DATA[:pos] + junk + DATA[pos:], lambda s, e, p=pos: e <= p or s >= p)
        for i in range(1, RECORDS):
            for huge in (2**31, 2**40, 2**63 - 1, 2**64 - 1):
                s = BOUNDS[i][0]
                data = bytearray(DATA)
                data[s:s + 8] = huge.to_bytes(8, "little")
                t.read(tmp, bytes(data), lambda a, b, s=s: a != s)
        for zeros in (1, 12, 100, 4096, 1 << 20):
            t.read(tmp, DATA + b"\0" * zeros, lambda s, e: True)
            t.read(tmp, b"\0" * zeros + DATA, lambda s, e: True)
        for special in ("empty", "directory", "dangling"):
            path = tmp / f"events.out.tfevents.2.{special}"
            if special == "empty":
                path.write_bytes(b"")
            elif special == "directory":
                path.mkdir()
            else:
                path.symlink_to(tmp / "missing")
            t.tried += 1
            try:
                EventFileReader(path).read(final=True)
            except Exception as exc:
                t.crashes += 1
                print(f"  crash on a {special} file: {type(exc).__name__}: {exc}")
    return t


def _traindoc(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "traindoc", *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def _marked(marker: str) -> list[int]:
    """PIDs of live processes whose environment carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ")[-1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def orphans(tmp: Path) -> tuple[int, int]:
    """(kills, orphans left) for SIGKILL of ``traindoc train`` at 0.2, 1 and 3 s."""
    if not Path("/proc").is_dir():
        print("  (no /proc: orphan check skipped)")
        return 0, 0
    kills = left = 0
    for delay in (0.2, 1.0, 3.0):
        marker = f"TRAINDOC_FAULTS_{uuid.uuid4().hex}"
        proc = _traindoc("train", "--set", "train.epochs=1000", "--logdir",
                         str(tmp / f"kill{delay}"), env={marker: "1"})
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        time.sleep(3.0)
        alive = _marked(marker)
        left += len(alive)
        for pid in alive:  # leave nothing behind either way
            os.kill(pid, signal.SIGKILL)
        print(f"  SIGKILL at {delay:.1f} s: {len(alive)} process(es) of the run left")
    return kills, left


BAD_INPUTS = [
    ("train", "--set", "seed=4294967296"),
    ("train", "--set", "seed=18446744073709551616"),
    ("train", "--set", "optim.lr=-1"),
    ("train", "--set", "model.hidden=[0]"),
    ("train", "--set", "optim.lr=" + "[" * 50_000 + "]" * 50_000),
    ("train", "--set", "no.such.key=1"),
    ("train", "/no/such/config.toml"),
    ("diagnose", "/no/such/path"),
    ("diagnose", "--role", "nonsense=x", "."),
]


def tracebacks(tmp: Path) -> tuple[int, int]:
    """(cases, tracebacks seen) over bad input and interrupts."""
    cases = seen = 0
    for args in BAD_INPUTS:
        proc = _traindoc(*args, "--logdir", str(tmp / "bad")) if args[0] == "train" else (
            _traindoc(*args))
        _, err = proc.communicate(timeout=300)
        cases += 1
        if "Traceback" in err:
            seen += 1
            print(f"  traceback for {' '.join(a[:40] for a in args)}")
    for what, delay in (("train", 0.3), ("train", 4.0), ("diagnose", 1.0)):
        args = (("train", "--set", "train.epochs=1000", "--logdir", str(tmp / "int"))
                if what == "train" else ("diagnose", str(_big_log(tmp))))
        proc = _traindoc(*args)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        cases += 1
        if "Traceback" in err or proc.returncode not in (0, 130):
            seen += "Traceback" in err
            print(f"  SIGINT during {what} at {delay} s: exit {proc.returncode}"
                  + (", traceback" if "Traceback" in err else ""))
    return cases, seen


def _big_log(tmp: Path) -> Path:
    path = tmp / "big" / "events.out.tfevents.1.big"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        from traindoc.engine.tb.writer import ScalarWriter

        with ScalarWriter(path.parent) as w:
            for step in range(400_000):
                w.add_scalar("train/loss", 1.0 / (1 + step), step)
    return path.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer corrupted files")
    args = p.parse_args(argv)
    print("corrupted event files ...")
    files = corrupted_files(args.quick)
    print(f"  {files.tried} files read: {files.crashes} crashes, {files.lost} intact records "
          "lost")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("process faults ...")
        kills, left = orphans(tmp)
        print("bad input and interrupts ...")
        cases, seen = tracebacks(tmp)
    print(f"faults: {files.tried} corrupted files tried, {files.crashes} crashes, "
          f"{files.lost} records lost, {left} orphans left ({kills} kills), "
          f"{seen} tracebacks seen ({cases} bad inputs and interrupts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
