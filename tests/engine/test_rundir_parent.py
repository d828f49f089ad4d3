"""engine.rundir's fix lineage file (``parent.json``) and its checked side-file reads."""

from __future__ import annotations

import json
import os

from traindoc.engine import rundir


def test_parent_link_round_trips(tmp_path):
    link = rundir.ParentLink(parent=str(tmp_path / "a" / ".." / "a"), rule="divergence",
                             remedy="lower-lr", patch={"optim.lr": 0.001}, parent_name="a")
    assert rundir.write_parent(tmp_path, link) is None
    record = json.loads((tmp_path / rundir.PARENT_FILE).read_text())
    assert record == {"parent": link.parent, "rule": "divergence", "remedy": "lower-lr",
                      "patch": {"optim.lr": 0.001}, "parent_name": "a"}
    back, problems = rundir.read_parent(tmp_path)
    assert problems == []
    assert back == rundir.ParentLink(os.path.normpath(link.parent), "divergence", "lower-lr",
                                     {"optim.lr": 0.001}, "a")
    assert back.parent == str(tmp_path / "a")


def test_no_parent_file_is_no_link_and_no_problem(tmp_path):
    assert rundir.read_parent(tmp_path) == (None, [])
    assert rundir.read_parent(tmp_path / "missing") == (None, [])


def test_each_bad_field_is_ignored_with_its_own_problem(tmp_path):
    (tmp_path / rundir.PARENT_FILE).write_text(json.dumps(
        {"parent": 5, "rule": ["x"], "remedy": "clip-grad", "patch": [1, 2]}))
    link, problems = rundir.read_parent(tmp_path)
    assert link == rundir.ParentLink(None, "", "clip-grad", {})
    assert len(problems) == 3
    assert "parent is int 5, not a folder; ignored" in problems[0]
    assert "rule is list" in problems[1] and "patch is list" in problems[2]
    assert all(str(tmp_path / rundir.PARENT_FILE) in p for p in problems)


def test_an_unreadable_parent_file_is_one_problem(tmp_path):
    path = tmp_path / rundir.PARENT_FILE
    for content, why in (("[1, 2]", "not a JSON object (list)"), ("{", "not valid JSON"),
                         ("[" * 100_000 + "]" * 100_000, "nested too deeply")):
        path.write_text(content)
        link, problems = rundir.read_parent(tmp_path)
        assert link is None and len(problems) == 1 and why in problems[0], problems
    path.write_bytes(b" " * (rundir.MAX_SIDE_FILE + 1))
    assert "larger than" in rundir.read_parent(tmp_path)[1][0]


def test_a_parent_file_that_cannot_be_written_is_reported_not_raised(tmp_path):
    problem = rundir.write_parent(tmp_path / "missing", rundir.ParentLink(None))
    assert problem is not None and rundir.PARENT_FILE in problem


def test_checked_status_keeps_good_fields_and_names_bad_ones(tmp_path):
    assert rundir.checked_status(tmp_path) == (None, "", [])
    path = tmp_path / rundir.STATUS_FILE
    path.write_text(json.dumps({"status": " finished ", "reason": "done"}))
    assert rundir.checked_status(tmp_path) == ("finished", "done", [])
    path.write_text(json.dumps({"status": 3, "reason": None}))
    status, reason, problems = rundir.checked_status(tmp_path)
    assert (status, reason) == (None, "") and "status is int 3, not a name" in problems[0]
