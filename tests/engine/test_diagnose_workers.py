"""The worker processes of ``traindoc diagnose`` (``diagnose_pool.Workers``): the runs go in
chunks that shrink towards the end; results come back in the order of the runs whatever
the chunking; a bug in a worker reaches the command as its exception, with the worker's
traceback; a worker that dies is an error, never a hang; leaving the iteration early
ends every worker."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from traindoc.engine.cli import diagnose_pool
from traindoc.engine.cli.diagnose_pool import Job, Options, Workers, chunked, results
from traindoc.engine.tb.discovery import RunSource

from .test_diagnose_pool import jobs_of, write_tree


def test_chunks_cover_the_runs_in_order_and_shrink_towards_the_end():
    jobs = list(range(1000))
    chunks = chunked(jobs, 2)
    assert [job for chunk in chunks for job in chunk] == jobs
    sizes = [len(chunk) for chunk in chunks]
    assert max(sizes) == diagnose_pool.MAX_CHUNK and sizes[0] == diagnose_pool.MAX_CHUNK
    assert sizes == sorted(sizes, reverse=True)  # never larger than the one before
    assert sizes[-8:] == [1] * 8  # the last runs one at a time
    assert [len(c) for c in chunked(jobs[:65], 2)][:3] == [8, 7, 6]  # a share of 65
    assert chunked([], 2) == []


@pytest.mark.slow  # starts processes
def test_results_keep_the_order_of_the_runs_with_any_chunking(tmp_path, monkeypatch):
    jobs = jobs_of(write_tree(tmp_path, 11))
    serial = list(results(jobs, Options({}, "jsonl"), workers=1))
    monkeypatch.setattr(diagnose_pool, "MAX_CHUNK", 3)  # chunks of 1 here: 11 of them
    assert list(results(jobs, Options({}, "jsonl"), workers=2)) == serial
    pool = Workers(3, Options({}, "jsonl"))
    try:
        chunks = [jobs[0:4], jobs[4:5], jobs[5:11]]
        assert list(pool.ordered(chunks)) == serial
    finally:
        pool.close()


@pytest.mark.slow
def test_a_bug_in_a_worker_raises_in_the_command_with_its_traceback(tmp_path):
    jobs = jobs_of(write_tree(tmp_path, 3))
    broken = Job(RunSource("broken", Path(tmp_path), None), "broken", "broken")  # no groups
    stream = results([*jobs, broken], Options({}, "jsonl"), workers=2)
    assert next(stream).name == jobs[0].name
    with pytest.raises(TypeError) as err:
        list(stream)
    assert "load_run" in str(err.value.__cause__)  # the worker's traceback


@pytest.mark.slow
def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path):
    jobs = jobs_of(write_tree(tmp_path, 4))
    pool = Workers(1, Options({}, "jsonl"))
    try:
        os.kill(pool.procs[0].pid, signal.SIGKILL)
        pool.procs[0].join()
        with pytest.raises(RuntimeError, match="ended unexpectedly"):
            list(pool.ordered([jobs[:2], jobs[2:]]))
    finally:
        pool.close()


@pytest.mark.slow
def test_leaving_early_ends_every_worker(tmp_path):
    jobs = jobs_of(write_tree(tmp_path, 8))
    pool = Workers(2, Options({}, "jsonl"))
    stream = pool.ordered([jobs[i : i + 1] for i in range(8)])
    assert next(stream).name == jobs[0].name
    stream.close()
    pool.close()
    assert all(proc.exitcode is not None for proc in pool.procs)
    assert all(conn.closed for conn in pool.conns)
