"""A tree of many runs in the window: every run is listed and diagnosed, but only the runs
on the charts have their points in memory; a run's points are read, whole, when it is
selected, and its charts then show them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from traindoc.engine.tb.writer import ScalarWriter

LOAD_MS = 30_000


def write_tree(root: Path, runs: int) -> None:
    for i in range(runs):
        with ScalarWriter(root / f"run{i}", flush_secs=1e9) as w:
            for step in range(120):
                w.add_scalar("train/loss", 2.0 * np.exp(-step / (10 + i)) + 0.1, step)
                if step % 10 == 0:
                    w.add_scalar("val/loss", 2.0 * np.exp(-step / (10 + i)) + 0.2, step)


def points_in_memory(run) -> int:
    return sum(len(series) for series in run.tags.values())


def test_only_shown_runs_hold_points_and_a_selected_run_loads_them(qtbot, window, tmp_path,
                                                                 monkeypatch):
    from traindoc.gui import logs

    monkeypatch.setattr(logs, "LAZY_AFTER", 2)
    write_tree(tmp_path / "logs", 6)
    window.open_logs(tmp_path / "logs")
    source = window.logs.sources[(tmp_path / "logs").resolve()]
    qtbot.waitUntil(lambda: source.scans >= 1 and len(source.runs) == 6, timeout=LOAD_MS)
    qtbot.waitUntil(lambda: all(window.model.run(r).diagnosis is not None
                                for r in source.runs.values()), timeout=LOAD_MS)
    runs = {window.model.run(i).name: window.model.run(i) for i in source.runs.values()}
    current = window.model.state.current
    assert points_in_memory(window.model.run(current)) == 132  # shown: 120 + 12 points
    left = [run for run in runs.values() if run.id in source.lazy]
    assert len(left) >= 3  # past LAZY_AFTER and not shown: points left in the files
    for run in left:
        assert points_in_memory(run) == 0
        assert run.roles == {"train_loss": "train/loss", "val_loss": "val/loss"}
        assert run.diagnosis.points == 132  # diagnosed all the same
        assert set(run.tags) == {"train/loss", "val/loss"}  # tags known (role choices)
    chosen = left[-1]
    window.model.set_current(chosen.id)
    qtbot.waitUntil(lambda: points_in_memory(chosen) == 132, timeout=LOAD_MS)
    qtbot.waitUntil(lambda: chosen.diagnosis is not None, timeout=LOAD_MS)
    assert chosen.id not in source.lazy
    index = int(chosen.name.removeprefix("run"))
    want = 2.0 * np.exp(-np.arange(0, 120, 10) / (10 + index)) + 0.2
    curve = window.charts.curve(chosen.id, "val_loss")
    qtbot.waitUntil(lambda: len(curve.raw.yData) == 12, timeout=LOAD_MS)
    np.testing.assert_allclose(curve.raw.yData, want.astype(np.float32), rtol=1e-6)
