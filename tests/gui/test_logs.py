"""Log directories in the window: charted, diagnosed, followed live; roles overridable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from traindoc.engine.tb.discovery import find_runs
from traindoc.engine.tb.writer import ScalarWriter

ROOT = Path(__file__).resolve().parents[2]
REALRUNS = ROOT.parent / "shared" / "realruns"
LOAD_MS = 30_000


def write_run(folder: Path, points: dict[str, np.ndarray], start: int = 1) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with ScalarWriter(folder) as writer:
        for tag, values in points.items():
            for i, value in enumerate(values):
                writer.add_scalar(tag, float(value), start + i)


def healthy(n=200):
    return 2.0 * np.exp(-np.arange(n) / 40) + 0.1


def open_and_wait(qtbot, window, path, runs: int):
    window.open_logs(path)
    source = window.logs.sources[Path(path).resolve()]
    qtbot.waitUntil(lambda: source.scans >= 1 and len(source.runs) >= runs, timeout=LOAD_MS)
    qtbot.waitUntil(lambda: all(window.model.run(r).diagnosis is not None
                                for r in source.runs.values()), timeout=LOAD_MS)
    return source


def test_every_run_is_charted_and_diagnosed(qtbot, window, tmp_path):
    steps = np.arange(200)
    write_run(tmp_path / "logs" / "good", {"Loss/train": healthy(), "Loss/test": healthy() + 0.05})
    rising = np.r_[healthy(60)[:30], 10 ** (steps[:30] / 5)]
    write_run(tmp_path / "logs" / "bad", {"loss": rising})
    source = open_and_wait(qtbot, window, tmp_path / "logs", runs=2)
    runs = {window.model.run(i).name: window.model.run(i) for i in source.runs.values()}
    assert set(runs) == {"good", "bad"}
    good, bad = runs["good"], runs["bad"]
    assert good.roles["train_loss"] == "Loss/train" and good.roles["val_loss"] == "Loss/test"
    assert good.diagnosis.status.value == "healthy"
    assert "divergence" in bad.diagnosis.rules
    window.model.set_current(good.id)
    curve = window.charts.curve(good.id, "val_loss")
    np.testing.assert_allclose(curve.raw.yData, healthy() + 0.05)
    assert window.recent_paths()[0] == str((tmp_path / "logs").resolve())
    window.model.set_current(bad.id)
    assert window.findings.list.count() >= 1
    assert window.findings.fix_button("lower-lr") is None  # foreign log: text and snippet only
    assert any(card.remedy.snippet for card in window.findings.cards)


def test_a_directory_being_written_is_followed_live(qtbot, window, tmp_path):
    logs = tmp_path / "live"
    (logs / "first").mkdir(parents=True)
    writer = ScalarWriter(logs / "first")
    for step in range(20):
        writer.add_scalar("train/loss", 1.0 / (step + 1), step)
    writer.flush()
    source = open_and_wait(qtbot, window, logs, runs=1)
    run = window.model.run(source.runs["first"])
    assert len(run.series("train_loss")) == 20
    for step in range(20, 50):
        writer.add_scalar("train/loss", 1.0 / (step + 1), step)
    writer.flush()
    qtbot.waitUntil(lambda: len(run.series("train_loss")) == 50, timeout=LOAD_MS)
    write_run(logs / "second", {"train/loss": healthy(30)})
    qtbot.waitUntil(lambda: "second" in source.runs, timeout=LOAD_MS)
    writer.close()
    np.testing.assert_array_equal(run.series("train_loss").steps, np.arange(50))
    window.model.set_current(run.id)
    qtbot.waitUntil(lambda: len(window.charts.curve(run.id, "train_loss").raw.xData) == 50,
                    timeout=LOAD_MS)


def test_role_override_changes_what_is_charted_and_diagnosed(qtbot, window, tmp_path):
    write_run(tmp_path / "r", {"loss": healthy(), "aux_loss": np.linspace(1, 5, 200)})
    source = open_and_wait(qtbot, window, tmp_path / "r", runs=1)
    run_id = next(iter(source.runs.values()))
    run = window.model.run(run_id)
    assert run.roles["train_loss"] == "loss"
    window.logs.set_overrides(run_id, {"train_loss": "aux_loss"})  # applied off the GUI thread
    qtbot.waitUntil(lambda: run.roles["train_loss"] == "aux_loss" and run.diagnosis is not None,
                    timeout=LOAD_MS)
    window.model.set_current(run_id)
    window.model.frame.emit()
    np.testing.assert_allclose(window.charts.curve(run_id, "train_loss").raw.yData,
                               np.linspace(1, 5, 200))
    assert run.diagnosis is not None and run.diagnosis.findings  # a rising loss is a finding


def test_drop_a_folder_and_the_recent_list_persists(qtbot, window, tmp_path, settings):
    write_run(tmp_path / "dropped", {"loss": healthy(50)})
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "dropped"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert (tmp_path / "dropped").resolve() in window.logs.sources
    from traindoc.gui.main_window import MainWindow

    again = MainWindow(logdir=tmp_path / "runs", settings=settings)
    qtbot.addWidget(again)
    texts = [a.text() for a in again.recent_menu.actions()]
    assert texts[0] == str((tmp_path / "dropped").resolve())
    again.shutdown()


@pytest.mark.skipif(not REALRUNS.is_dir(), reason="../shared/realruns is absent")
def test_realruns_every_run_listed_with_its_diagnosis(qtbot, window):
    expected = {source.name for source in find_runs(REALRUNS)}
    source = open_and_wait(qtbot, window, REALRUNS, runs=len(expected))
    runs = [window.model.run(i) for i in source.runs.values()]
    assert {r.name for r in runs} == expected
    by_name = {r.name: r for r in runs}
    assert by_name["facial_v1_short"].diagnosis.status.value == "insufficient-data"
    assert "underfitting" in by_name["signlang_7152"].diagnosis.rules
    assert all(r.diagnosis is not None for r in runs)
    # a loss, or (Stable-Baselines3 eval-only, a bare REINFORCE reward) an objective metric
    assert all(any(r.series(role) is not None
                   for role in ("train_loss", "val_loss", "train_metric", "val_metric"))
               for r in runs)
    yolo = by_name["helmet_yolov5_exp2"]
    assert yolo.roles["val_loss"] == "val/box_loss+val/cls_loss+val/obj_loss"
    assert len(yolo.series("val_loss")) == 150
    assert source.warnings == []


def test_a_replaced_event_file_is_read_again_and_its_stale_finding_goes(qtbot, window, tmp_path):
    # Issue 10 item 11: a run whose event file is rewritten (truncated and written anew)
    # shows the new points only, and a divergence that no longer holds disappears.
    logs = tmp_path / "replaced"
    steps = np.arange(60)
    write_run(logs / "run", {"loss": np.r_[healthy(60)[:30], 10 ** (steps[:30] / 5)]})
    source = open_and_wait(qtbot, window, logs, runs=1)
    run = window.model.run(source.runs["run"])
    assert "divergence" in run.diagnosis.rules
    (event_file,) = (logs / "run").iterdir()
    event_file.unlink()
    write_run(logs / "run", {"loss": healthy(40)})
    qtbot.waitUntil(lambda: len(run.series("train_loss")) == 40, timeout=LOAD_MS)
    qtbot.waitUntil(lambda: run.diagnosis is not None
                    and "divergence" not in run.diagnosis.rules, timeout=LOAD_MS)
    np.testing.assert_allclose(run.series("train_loss").values, healthy(40))
