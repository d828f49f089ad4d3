"""Issue 12 item 1, end to end: an opened YOLOv5-style log shows all 13 of its scalars
in the All-scalars view, with the wall times written in the log on a time axis."""

from __future__ import annotations

import numpy as np

from tests.gui.test_all_scalars import YOLO_TAGS
from tests.gui.test_logs import open_and_wait
from traindoc.engine.tb.writer import ScalarWriter

START = 1_700_000_000.0


def test_an_opened_yolo_log_shows_all_13_scalars(qtbot, window, tmp_path):
    folder = tmp_path / "yolo" / "exp"
    folder.mkdir(parents=True)
    with ScalarWriter(folder) as writer:
        for epoch in range(20):
            for k, tag in enumerate(YOLO_TAGS):
                writer.add_scalar(tag, 0.1 + (k + 1) / (epoch + 1), epoch,
                                  wall_time=START + 60.0 * epoch)
    source = open_and_wait(qtbot, window, tmp_path / "yolo", runs=1)
    run = window.model.run(next(iter(source.runs.values())))
    window.model.set_current(run.id)
    qtbot.waitUntil(lambda: all(len(run.tags.get(t, ())) == 20 for t in YOLO_TAGS), timeout=30_000)
    window.charts.tabs.setCurrentIndex(1)
    view = window.charts.all_scalars
    window.model.frame.emit()
    assert sorted(view.all_tags()) == sorted(YOLO_TAGS)
    assert {p: len(g.tags) for p, g in view.groups.items()} == {
        "metrics": 4, "train": 3, "val": 3, "x": 3}
    series = run.tags["metrics/mAP_0.5"]
    np.testing.assert_allclose(series.walls, START + 60.0 * np.arange(20))
    window.model.set_x_axis("relative")
    curve = view.groups["metrics"].curves[(run.id, "metrics/mAP_0.5")]
    assert curve.displayed()[0].max() == 60.0 * 19  # seconds since the first epoch
