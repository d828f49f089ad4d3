"""The New-run form's "From a Python file…" field for model.source and data.source:
file dialog, function box read without importing, errors under the field, the
built-in fields it replaces disabled with a reason, Clear back to the built-in."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from traindoc.engine.config_limits import show
from traindoc.gui.core.config_draft import ConfigDraft
from traindoc.gui.core.field_rules import inapplicable
from traindoc.gui.core.source_functions import missing_name, top_level_names

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODEL_FILE = EXAMPLES / "digits_model.py"
DATA_FILE = EXAMPLES / "digits_data.py"




def choose_file(monkeypatch, path: Path) -> list[tuple]:
    calls: list[tuple] = []

    def fake(*args):
        calls.append(args)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake)
    return calls


def items(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_top_level_names_are_read_without_running_the_file(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise SystemExit('ran')\n"
                      "def a(): pass\nclass B: pass\nasync def c(): pass\n"
                      "def a(): pass\nx = 1\nif True:\n    def hidden(): pass\n")
    assert top_level_names(script) == ["a", "B", "c"]
    assert top_level_names(tmp_path / "nope.py") is None
    (tmp_path / "bad.py").write_text("def (:\n")
    assert top_level_names(tmp_path / "bad.py") is None
    assert top_level_names(MODEL_FILE) == ["make_mlp"]


def test_missing_name_is_one_line_naming_what_the_file_has():
    spec = f"{MODEL_FILE}:make_cnn"
    message = missing_name("model.source", spec)
    # The value is shown as engine shows values (a long path is elided), then the reason.
    assert message == (f"model.source = {show(spec)}: no function 'make_cnn' in "
                       "digits_model.py (it has: make_mlp)")
    assert "\n" not in message
    assert missing_name("model.source", f"{MODEL_FILE}:make_mlp") is None
    assert missing_name("model.source", "") is None


def test_draft_errors_for_missing_file_function_and_suffix(tmp_path):
    draft = ConfigDraft()
    draft.set("model.source", f"{MODEL_FILE}:nothing_here")
    assert not draft.valid
    assert "no function 'nothing_here'" in draft.errors["model.source"]
    draft.set("model.source", f"{tmp_path / 'gone.py'}:make")
    assert draft.errors["model.source"].endswith("file not found")
    (tmp_path / "net.txt").write_text("")
    draft.set("data.source", f"{tmp_path / 'net.txt'}:load")
    assert "'net.txt' is not a .py file" in draft.errors["data.source"]
    draft.set("model.source", f"{MODEL_FILE}:make_mlp")
    draft.set("data.source", f"{DATA_FILE}:load_digits")
    assert draft.valid and draft.errors == {}
    assert draft.config.model.source == f"{MODEL_FILE}:make_mlp"


def test_rules_disable_what_a_source_replaces(tmp_path):
    base = {"optim.name": "momentum", "schedule.kind": "warmup-plateau-decay",
            "train.early_stopping": True}
    assert inapplicable(base) == {}
    rules = inapplicable(dict(base, **{"model.source": f"{MODEL_FILE}:make_mlp",
                                       "data.source": f"{DATA_FILE}:load_digits"}))
    assert set(rules) == {"data.dataset", "model.arch", "model.activation"}
    assert rules["model.activation"] == ("not used: make_mlp in digits_model.py (model.source) "
                                         "takes no activation argument")
    net = tmp_path / "net.py"
    net.write_text("def anything(input_shape, num_classes, **options): pass\n"
                   "def bare(input_shape, num_classes): pass\n")
    assert set(inapplicable(dict(base, **{"model.source": f"{net}:anything"}))) == {"model.arch"}
    assert set(inapplicable(dict(base, **{"model.source": f"{net}:bare"}))) == {
        "model.arch", "model.hidden", "model.dropout", "model.activation"}


def test_choosing_a_file_and_function_sets_model_source(form, monkeypatch, qtbot):
    picker = form.editors["model.source"]
    calls = choose_file(monkeypatch, MODEL_FILE)
    qtbot.mouseClick(picker.browse_button, Qt.MouseButton.LeftButton)
    assert calls and "*.py" in calls[0][3]
    assert form.draft.values["model.source"] == f"{MODEL_FILE.resolve()}:make_mlp"
    assert form.draft.valid and form.draft.config.model.source.endswith("digits_model.py:make_mlp")
    assert Path(form.draft.config.model.source.rpartition(":")[0]).is_absolute()
    assert items(picker.function) == ["make_mlp"]
    assert picker.path.text() == str(MODEL_FILE.resolve())
    assert not form.error_labels["model.source"].isVisible()


def test_the_function_box_lists_the_files_functions(form, monkeypatch, tmp_path):
    net = tmp_path / "nets.py"
    net.write_text("import nothing_installed\n"
                   "def small(input_shape, num_classes, hidden): pass\n"
                   "def big(input_shape, num_classes): pass\n"
                   "class Net: pass\n")
    choose_file(monkeypatch, net)
    picker = form.editors["model.source"]
    picker.browse()
    assert items(picker.function) == ["small", "big", "Net"]
    assert form.draft.values["model.source"] == f"{net}:small"
    picker.function.setCurrentText("big")
    assert form.draft.values["model.source"] == f"{net}:big"
    assert form.draft.valid


def test_a_missing_function_shows_its_error_under_the_field(form, monkeypatch):
    choose_file(monkeypatch, MODEL_FILE)
    picker = form.editors["model.source"]
    picker.browse()
    picker.function.setCurrentText("make_transformer")
    label = form.error_labels["model.source"]
    assert label.isVisible()
    assert "no function 'make_transformer' in digits_model.py (it has: make_mlp)" in \
        label.toolTip()
    assert not form.draft.valid
    picker.function.setCurrentText("make_mlp")
    assert not label.isVisible() and form.draft.valid


def test_a_file_that_is_not_python_shows_its_error(form, monkeypatch, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("def f(): pass\n")
    choose_file(monkeypatch, notes)
    form.editors["data.source"].browse()
    assert form.error_labels["data.source"].isVisible()
    assert "'notes.txt' is not a .py file" in form.error_labels["data.source"].toolTip()


def test_replaced_fields_are_disabled_with_a_reason_and_clear_restores(form, monkeypatch):
    choose_file(monkeypatch, MODEL_FILE)
    model = form.editors["model.source"]
    model.browse()
    arch, hidden = form.editors["model.arch"], form.editors["model.hidden"]
    dropout, activation = form.editors["model.dropout"], form.editors["model.activation"]
    assert not arch.isEnabled()
    assert "the model comes from make_mlp in digits_model.py" in arch.toolTip()
    assert hidden.isEnabled() and dropout.isEnabled()  # make_mlp takes them
    assert not activation.isEnabled()
    assert "takes no activation argument" in activation.toolTip()
    choose_file(monkeypatch, DATA_FILE)
    data = form.editors["data.source"]
    data.browse()
    assert form.draft.values["data.source"] == f"{DATA_FILE.resolve()}:load_digits"
    dataset = form.editors["data.dataset"]
    assert not dataset.isEnabled()
    assert "the data comes from load_digits in digits_data.py" in dataset.toolTip()

    model.clear()
    data.clear()
    assert form.draft.values["model.source"] == "" and form.draft.values["data.source"] == ""
    assert form.draft.valid and form.draft.config.model.source == ""
    assert all(form.editors[k].isEnabled()
               for k in ("model.arch", "model.activation", "data.dataset"))
    assert "comes from" not in arch.toolTip()
    assert model.path.text() == "" and model.function.count() == 0


def test_a_loaded_config_shows_its_source(form):
    from dataclasses import replace

    from traindoc.engine.config import RunConfig

    config = RunConfig()
    config = replace(config, model=replace(config.model, source=f"{MODEL_FILE}:make_mlp"))
    form.draft.load(config)
    picker = form.editors["model.source"]
    assert picker.path.text() == str(MODEL_FILE)
    assert picker.function.currentText() == "make_mlp"
    assert not form.editors["model.arch"].isEnabled()
