"""A malformed ``parent.json`` or ``status.json`` spoils only its own run (issue 10, item 6)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from tests.gui.test_logs import healthy, open_and_wait, write_run

# (file, content, the run's status once loaded)
BAD_FILES = {
    "parent-list": ("parent.json", "[1, 2]", "log"),
    "parent-types": ("parent.json", json.dumps(
        {"parent": 5, "rule": ["x"], "remedy": {"a": 1}, "patch": [1, 2]}), "log"),
    "parent-deep": ("parent.json", "[" * 100_000 + "]" * 100_000, "log"),
    "status-number": ("status.json", json.dumps({"status": 3, "reason": "ok"}), "log"),
    "status-list": ("status.json", json.dumps({"status": ["finished"], "reason": 7}), "log"),
    "status-not-object": ("status.json", '"finished"', "log"),
    "status-binary": ("status.json", b"\xff\xfe{", "log"),
}


def write_bad(folder: Path, name: str, content) -> None:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@pytest.mark.parametrize("kinds", [
    ("parent-list", "status-number", "status-list"),
    ("parent-types", "parent-deep", "status-not-object", "status-binary"),
])
def test_a_bad_run_file_affects_only_its_run(qtbot, window, tmp_path, caplog, kinds):
    logs = tmp_path / "logs"
    for kind in kinds:
        write_run(logs / kind, {"train/loss": healthy(60)})
        name, content, _ = BAD_FILES[kind]
        write_bad(logs / kind, name, content)
    write_run(logs / "good", {"train/loss": healthy(60)})
    (logs / "good" / "status.json").write_text(json.dumps({"status": "finished", "reason": "done"}))
    messages: list[str] = []
    window.model.message.connect(messages.append)
    caplog.set_level(logging.WARNING, logger="traindoc.gui.logs")
    with qtbot.captureExceptions() as raised:
        source = open_and_wait(qtbot, window, logs, runs=len(kinds) + 1)
        qtbot.wait(100)  # a few more pump ticks and repaints
    assert not raised, raised
    assert window.logs.sources.get(logs.resolve()) is source and source in window.pump.sources
    runs = {window.model.run(i).name: window.model.run(i) for i in source.runs.values()}
    assert set(runs) == {*kinds, "good"}
    assert runs["good"].status == "finished" and runs["good"].reason == "done"
    for kind in kinds:
        name, _, status = BAD_FILES[kind]
        run = runs[kind]
        assert run.status == status and isinstance(run.reason, str)
        assert run.fix is None
        assert len(run.series("train_loss")) == 60
        np.testing.assert_allclose(run.series("train_loss").values, healthy(60), rtol=1e-6)
        path = str(logs.resolve() / kind / name)
        assert any(path in m for m in messages), (kind, messages)
        assert any(path in r.getMessage() for r in caplog.records), kind
    # the summary line counts the warnings (a file may have more than one bad field)
    assert len(source.warnings) >= len(kinds)
    assert any(f"{len(source.warnings)} warning(s)" in m for m in messages), messages


def test_a_bad_parent_field_is_ignored_but_the_rest_is_kept(qtbot, window, tmp_path):
    logs = tmp_path / "logs"
    write_run(logs / "a", {"train/loss": healthy(40)})
    write_run(logs / "b", {"train/loss": healthy(40)})
    record = {"parent": str((logs / "a").resolve()), "rule": "oscillation",
              "remedy": "lower-lr", "patch": ["not", "a", "dict"]}
    (logs / "b" / "parent.json").write_text(json.dumps(record))
    messages: list[str] = []
    window.model.message.connect(messages.append)
    with qtbot.captureExceptions() as raised:
        source = open_and_wait(qtbot, window, logs, runs=2)
    assert not raised, raised
    a, b = (window.model.run(source.runs[n]) for n in ("a", "b"))
    assert b.fix is not None and b.fix.parent == a.id
    assert b.fix.rule == "oscillation" and b.fix.remedy == "lower-lr" and b.fix.patch == {}
    assert any("patch" in m and "parent.json" in m for m in messages), messages


def test_a_folder_that_cannot_be_listed_is_refused_with_the_reason(window, tmp_path, monkeypatch):
    import errno
    import os

    locked = tmp_path / "locked"
    write_run(locked, {"train/loss": healthy(10)})
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(os.fspath(path)) == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(FileNotFoundError, match=r"locked: cannot open it \(Permission denied\)"):
        window.logs.open(locked)
    assert not window.logs.sources
