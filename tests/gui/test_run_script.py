"""The "Run a script…" dialog and its controller: fields checked with the CLI's code, the
script started as ``traindoc run`` starts it, its logs charted and diagnosed live, and
Stop / closing the window ending its whole process group."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.qt

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_MS = 120_000  # torch import plus three epochs on a busy 2-core machine


@pytest.fixture
def dialog(qtbot, tmp_path):
    from traindoc.gui.dialogs.run_script import RunScriptDialog

    d = RunScriptDialog(tmp_path / "runs")
    qtbot.addWidget(d)
    d.cwd.setText(str(ROOT))
    return d


def test_dialog_defaults_to_a_new_folder_under_the_runs_folder(dialog, tmp_path):
    logdir = Path(dialog.logdir.text())
    assert logdir.parent == tmp_path / "runs"
    assert logdir.name.startswith("script-")
    assert not logdir.exists()
    assert not dialog.start_button.isEnabled()  # no command yet
    assert dialog.error("command") == ""  # nothing typed: no red text yet


def test_dialog_shows_each_bad_field_under_it(dialog, tmp_path):
    dialog.command.setText('python "unclosed')
    assert "cannot split" in dialog.error("command")
    dialog.command.setText("no-such-program-xyz --lr 1")
    assert dialog.error("command") == "no-such-program-xyz: command not found"
    dialog.command.setText(f"{sys.executable} examples/train_script.py --lr 20")
    assert dialog.error("command") == ""
    dialog.cwd.setText(str(tmp_path / "absent"))
    assert dialog.error("cwd").startswith("no such folder")
    dialog.cwd.setText(str(ROOT))
    (tmp_path / "file").write_text("x")
    dialog.logdir.setText(str(tmp_path / "file"))
    assert dialog.error("logdir").startswith("not a folder")
    dialog.logdir.setText("")
    assert dialog.error("logdir") == "a log folder is needed"
    dialog.logdir.setText(str(tmp_path / "logs"))
    for text, words in [("optim.lr", "expected KEY=FLAG"),
                        ("optim.nope=--lr", "unknown config key 'optim.nope'"),
                        ("optim.lr=lr", "'lr' is not an option"),
                        ("optim.lr=--rate", "the command has no --rate VALUE argument")]:
        dialog.params.setPlainText(text)
        assert words in dialog.error("params"), text
        assert not dialog.start_button.isEnabled()
    dialog.params.setPlainText("optim.lr=--lr\n\n")
    assert all(dialog.error(name) == "" for name in ("command", "cwd", "logdir", "params"))
    assert dialog.start_button.isEnabled()
    spec = dialog.spec
    assert spec.command == [sys.executable, "examples/train_script.py", "--lr", "20"]
    assert spec.cwd == ROOT
    assert spec.logdir == tmp_path / "logs"
    assert spec.params.flags == {"optim.lr": "--lr"}
    assert spec.params.current(spec.command) == {"optim.lr": 20.0}


def test_a_bad_value_for_a_mapped_key_is_a_field_message(dialog):
    dialog.command.setText(f"{sys.executable} examples/train_script.py --lr fast")
    dialog.params.setPlainText("optim.lr=--lr")
    assert "--lr fast" in dialog.error("params")
    assert dialog.spec is None


def test_run_menu_has_the_action(window):
    texts = [a.text() for a in window.menuBar().actions()[1].menu().actions()]
    assert "Run a &script…" in texts


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _start_from_dialog(window, qtbot, tmp_path, epochs: int):
    from traindoc.gui import menus

    window.build_heavy()
    dialog = menus.run_script(window)
    dialog.cwd.setText(str(ROOT))
    dialog.command.setText(
        f"{sys.executable} examples/train_script.py --lr 20 --epochs {epochs}")
    dialog.params.setPlainText("optim.lr=--lr")
    logdir = Path(dialog.logdir.text())
    assert logdir.parent == window.logdir
    dialog.start_button.click()
    assert not dialog.isVisible()
    script = window.script_runs.scripts[logdir.resolve()]
    return script, logdir


@pytest.mark.slow
def test_a_diverging_script_shows_in_the_run_list_with_its_finding(window, qtbot, tmp_path):
    script, logdir = _start_from_dialog(window, qtbot, tmp_path, epochs=3)
    assert script.process.pgid > 0
    source = window.logs.sources[logdir.resolve()]

    def diagnosed():
        runs = [window.model.run(r) for r in source.runs.values()]
        return any(run is not None and run.diagnosis is not None
                   and {f.rule for f in run.findings()} & {"divergence", "nan-loss"}
                   for run in runs)

    qtbot.waitUntil(diagnosed, timeout=SCRIPT_MS)
    run = next(window.model.run(r) for r in source.runs.values())
    assert len(run.tags["train/loss"]) >= 1
    assert Path(run.source) == logdir.resolve()
    qtbot.waitUntil(lambda: script.code is not None, timeout=SCRIPT_MS)
    assert script.code == 0
    assert _group_gone(script.process.pgid)
    assert script.process.group_alive() is False


@pytest.mark.slow
def test_stop_ends_the_whole_group(window, qtbot, tmp_path):
    script, logdir = _start_from_dialog(window, qtbot, tmp_path, epochs=1000)
    source = window.logs.sources[logdir.resolve()]
    qtbot.waitUntil(lambda: len(source.runs) >= 1, timeout=SCRIPT_MS)
    run_id = next(iter(source.runs.values()))
    window.model.set_current(run_id)
    assert window.script_runs.running(run_id)
    window._update_actions()
    assert window.stop_action.isEnabled()
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: script.code is not None, timeout=30_000)
    assert _group_gone(script.process.pgid)
    assert not window.script_runs.running(run_id)


@pytest.mark.slow
def test_closing_the_window_ends_the_whole_group(window, qtbot, tmp_path):
    script, _ = _start_from_dialog(window, qtbot, tmp_path, epochs=1000)
    pgid = script.process.pgid
    assert not _group_gone(pgid)
    window.close()
    assert _group_gone(pgid)


@pytest.mark.slow
def test_the_script_modules_never_import_torch():
    import subprocess

    code = ("import sys, traindoc.gui.script_runs, traindoc.gui.dialogs.run_script, "
            "traindoc.gui.menus; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_the_script_runs_in_its_working_folder_with_the_logdir_exported(tmp_path):
    from traindoc.engine.script_run import ScriptProcess

    work = tmp_path / "work"
    work.mkdir()
    probe = ("import os, pathlib; pathlib.Path('where.txt').write_text("
             "os.getcwd() + '\\n' + os.environ['TRAINDOC_LOGDIR'])")
    proc = ScriptProcess([sys.executable, "-c", probe], str(tmp_path / "logs"),
                         stdout_to_stderr=False, cwd=str(work))
    assert proc.finish() == 0
    cwd, logdir = (work / "where.txt").read_text().splitlines()
    assert Path(cwd) == work.resolve()
    assert Path(logdir) == (tmp_path / "logs").resolve()
