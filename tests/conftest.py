"""Markers are facts, checked as the tests run.

- ``slow``: the test starts another process (a training run, the CLI, a Qt app in a
  child). A test that starts one without the marker fails, naming what it started, so
  ``pytest -m "not slow"`` really is the quick in-process suite.
- ``qt``: the test needs a Qt application (it uses ``qtbot`` or ``qapp``, directly or
  through a fixture); Qt-free GUI tests (state, buffers, reduction) are not marked.
"""

from __future__ import annotations

import multiprocessing.process
import subprocess

import pytest

QT_FIXTURES = {"qtbot", "qapp"}


def pytest_collection_modifyitems(items):
    for item in items:
        if QT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.qt)


@pytest.fixture(autouse=True)
def _spawns_only_when_marked_slow(request, monkeypatch):
    """Record every child process a test starts; fail an unmarked one at teardown."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    started: list[str] = []
    popen_init = subprocess.Popen.__init__
    process_start = multiprocessing.process.BaseProcess.start

    def recording_popen(self, args, *a, **kw):
        started.append(f"subprocess {args!r}"[:200])
        popen_init(self, args, *a, **kw)

    def recording_start(self):
        started.append(f"multiprocessing {self.name}")
        process_start(self)

    monkeypatch.setattr(subprocess.Popen, "__init__", recording_popen)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", recording_start)
    yield
    if started:
        pytest.fail(f"starts a process but is not marked slow: {started[0]}", pytrace=False)
