"""Run discovery: the layouts of every framework SPEC §1 names."""

from __future__ import annotations

import pytest

from traindoc.engine.tb.discovery import find_runs

from .helpers import records, simple, version_event


def _write(path, tag="loss", n=3):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(records([version_event()] + [simple(tag, float(i), i) for i in range(n)]))


def _layout(runs):
    return {r.name: [(g.prefix, [f.name for f in g.files]) for g in r.groups] for r in runs}


def test_single_file_and_run_folder(tmp_path):
    f = tmp_path / "run" / "events.out.tfevents.1.h.1.0"
    _write(f)
    assert _layout(find_runs(f)) == {".": [("", [f.name])]}
    assert _layout(find_runs(tmp_path / "run")) == {".": [("", [f.name])]}
    assert _layout(find_runs(tmp_path)) == {"run": [("", [f.name])]}


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        find_runs(tmp_path / "nope")
    assert find_runs(tmp_path) == []


def test_lightning_yolo_hf_layouts(tmp_path):
    for rel in ("lightning_logs/version_0/events.out.tfevents.1.h.1.0",
                "lightning_logs/version_1/events.out.tfevents.2.h.1.0",
                "runs/train/exp/events.out.tfevents.3.h.1.0",
                "runs/train/exp2/events.out.tfevents.4.h.1.0",
                "hf/runs/May01_12-00-00_host/events.out.tfevents.5.h.1.0"):
        _write(tmp_path / rel)
    (tmp_path / "lightning_logs/version_0/hparams.yaml").write_text("lr: 0.1\n")
    names = [r.name for r in find_runs(tmp_path)]
    assert names == ["hf/runs/May01_12-00-00_host", "lightning_logs/version_0",
                     "lightning_logs/version_1", "runs/train/exp", "runs/train/exp2"]


def test_keras_and_tf1_role_folders_join_their_parent(tmp_path):
    _write(tmp_path / "keras/fit/train/events.out.tfevents.1.h.1.0.v2")
    _write(tmp_path / "keras/fit/validation/events.out.tfevents.1.h.1.1.v2")
    _write(tmp_path / "est/events.out.tfevents.1.h")
    _write(tmp_path / "est/eval/events.out.tfevents.2.h")
    got = _layout(find_runs(tmp_path))
    assert got == {
        "est": [("", ["events.out.tfevents.1.h"]), ("eval", ["events.out.tfevents.2.h"])],
        "keras/fit": [("train", ["events.out.tfevents.1.h.1.0.v2"]),
                      ("validation", ["events.out.tfevents.1.h.1.1.v2"])],
    }
    # Opened directly, the folder is the run ('.'), still namespaced.
    assert _layout(find_runs(tmp_path / "keras/fit")) == {
        ".": got["keras/fit"]}
    assert _layout(find_runs(tmp_path / "keras/fit/validation")) == {
        ".": [("validation", ["events.out.tfevents.1.h.1.1.v2"])]}


def test_files_of_a_run_in_natural_order(tmp_path):
    for name in ("events.out.tfevents.100.h.7.10", "events.out.tfevents.100.h.7.2",
                 "events.out.tfevents.99.h.7.0", "notes.txt"):
        _write(tmp_path / name)
    (run,) = find_runs(tmp_path)
    assert [f.name for f in run.files] == ["events.out.tfevents.99.h.7.0",
                                           "events.out.tfevents.100.h.7.2",
                                           "events.out.tfevents.100.h.7.10"]
