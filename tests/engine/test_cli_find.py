"""`traindoc lr-find` / `traindoc batch-find` end to end, as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from traindoc.engine import config as cfg

from .cli_helpers import traindoc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_config(path: Path, **patch) -> Path:
    cfg.save(cfg.apply_patch(cfg.RunConfig(), {"train.device": "cpu", **patch}), path)
    return path


def test_lr_find_prints_suggestion_writes_png_and_applies_it(tmp_path):
    config = write_config(tmp_path / "run.toml", **{"optim.lr": 0.5})
    result = traindoc("lr-find", str(config), "--apply", "--steps", "60", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    suggested = [line for line in lines if line.startswith("suggested lr: ")]
    assert len(suggested) == 1
    lr = float(suggested[0].removeprefix("suggested lr: "))
    assert 1e-4 < lr < 1e-2  # AdamW on digits
    assert "steepest" in result.stdout and "min/10" in result.stdout
    # --apply rewrote the file through traindoc.engine.config: only optim.lr changed
    written = cfg.load(config)
    assert written.optim.lr == lr
    original = cfg.apply_patch(cfg.RunConfig(), {"train.device": "cpu", "optim.lr": 0.5})
    assert written == cfg.apply_patch(original, {"optim.lr": lr})
    assert tomllib.loads(config.read_text())["optim"]["lr"] == lr
    assert f"applied: optim.lr = {lr} -> {config}\n" in result.stdout
    assert result.stdout.strip().endswith(f"train with it: traindoc train {config}")
    (folder,) = (tmp_path / "runs" / "finders").iterdir()
    png = (folder / "lr_find.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    sweep = json.loads((folder / "lr_find.json").read_text())
    assert len(sweep["lrs"]) <= 60 and sweep["suggestion"]["lr"] == pytest.approx(lr, rel=5e-3)
    assert "Traceback" not in result.stderr


def test_apply_without_config_refuses_to_overwrite_traindoc_toml(tmp_path):
    (tmp_path / "traindoc.toml").write_text("# mine\n")
    result = traindoc("lr-find", "--apply", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "traindoc.toml" in lines[0] and "already exists" in lines[0]
    assert (tmp_path / "traindoc.toml").read_text() == "# mine\n"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["lr-find", "--set", "optim.lr=-1"], ["optim.lr", "-1"]),
        (["lr-find", "missing.toml"], ["missing.toml"]),
        (["lr-find", "--start-lr", "1", "--end-lr", "0.1"], ["--start-lr"]),
        (["batch-find", "--memory-limit", "0"], ["--memory-limit"]),
        (["batch-find", "--set", "data.dataset=npz:/no/such.npz"], ["/no/such.npz"]),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, words):
    result = traindoc(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len([line for line in lines if not line.endswith("…")]) == 1, lines
    assert all(word in lines[-1] for word in words), lines
    assert "Traceback" not in result.stderr


def test_batch_find_with_memory_limit_reports_plan_and_applies_it(tmp_path):
    config = write_config(tmp_path / "run.toml", **{"data.batch_size": 16, "optim.lr": 0.001})
    result = traindoc(
        "batch-find",
        str(config),
        "--target",
        "64",
        "--memory-limit",
        "1.39",
        "--apply",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "out of memory" in out and "batch      8: fits" in out
    report = json.loads(
        next((tmp_path / "runs" / "finders").iterdir()).joinpath("batch_find.json").read_text()
    )
    largest, rec, plan = report["largest_fit"], report["recommended"], report["plan"]
    assert 8 <= largest < report["first_failure"]
    assert rec == 1 << (int(largest * 0.8).bit_length() - 1)  # minus 20%, power of two
    assert plan["micro_batch"] * plan["accum_steps"] == 64 and plan["accum_steps"] > 1
    assert plan["lr"] == pytest.approx(0.001 * 64 / 16)  # linear scaling to the target
    # one recommendation, last before --apply's lines: the plan, within the memory ceiling
    ceiling = f"memory allows batches up to {rec} (the largest that fit, less 20%"
    assert ceiling in out
    (recommended,) = [line for line in out.splitlines() if "recommend" in line]
    assert recommended == (
        f"recommended: data.batch_size = {plan['micro_batch']}, train.grad_accum = "
        f"{plan['accum_steps']}, optim.lr = 0.004 (effective batch 64)"
    )
    assert plan["micro_batch"] <= rec
    assert out.splitlines()[-3] == recommended  # then "applied: ..." and "train with it: ..."
    written = cfg.load(config)
    assert (written.data.batch_size, written.train.grad_accum) == (
        plan["micro_batch"],
        plan["accum_steps"],
    )
    assert written.optim.lr == pytest.approx(0.004)


def test_finder_modules_keep_the_cli_and_gui_processes_torch_free():
    code = (
        "import sys\n"
        "import traindoc.engine.cli.main, traindoc.engine.cli.find\n"
        "import traindoc.engine.find.worker, traindoc.gui.lr_plot\n"
        "import traindoc.engine.find.suggest, traindoc.engine.find.results\n"
        "import traindoc.engine.find.plot, traindoc.engine.drive\n"
        "assert 'torch' not in sys.modules and 'PySide6' not in sys.modules, 'engine'\n"
        "import traindoc.gui.dialogs.lr_find, traindoc.gui.dialogs.batch_find\n"
        "assert 'torch' not in sys.modules, 'gui'\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    lean = subprocess.run(
        [sys.executable, "-c",
         "import sys, traindoc.engine.find.suggest; print(sorted(sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "torch" not in lean.stdout and "PySide6" not in lean.stdout


def test_json_modes_print_one_strict_json_object(tmp_path):
    lr = traindoc("lr-find", "--json", "--steps", "40", "--set", "train.device=cpu", cwd=tmp_path)
    assert lr.returncode in (0, 1), lr.stderr
    doc = json.loads(lr.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert doc["kind"] == "lr-find" and "suggestion" in doc and "run_dir" in doc
    assert "suggested lr:" in lr.stderr
    batch = traindoc(
        "batch-find", "--json", "--max-batch", "64", "--set", "train.device=cpu", cwd=tmp_path
    )
    assert batch.returncode in (0, 1), batch.stderr
    doc = json.loads(batch.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert "plan" in doc and doc["recommended"] >= 8


def test_apply_without_config_names_the_file_it_wrote_and_how_to_train_with_it(tmp_path):
    result = traindoc("lr-find", "--apply", "--steps", "60", "--set", "train.epochs=2",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "traindoc.toml"
    lr = cfg.load(written).optim.lr
    assert cfg.load(written).train.epochs == 2  # the config the search used, --set included
    lines = result.stdout.strip().splitlines()
    assert lines[-2].startswith(f"applied: optim.lr = {lr} -> traindoc.toml (no CONFIG given")
    assert lines[-1] == "train with it: traindoc train traindoc.toml"


def test_batch_find_default_target_keeps_the_configs_batch_and_says_why(tmp_path):
    result = traindoc("batch-find", "--max-batch", "256", "--set", "train.device=cpu",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "memory allows batches up to 128" in result.stdout  # 256 fits: 205 -> 128
    assert "target effective batch 64 (the config's; --target for another)" in result.stdout
    assert lines[-1] == "recommended: data.batch_size = 64, train.grad_accum = 1, optim.lr = " \
        "0.001 (effective batch 64)"
    assert sum("recommend" in line for line in lines) == 1


def test_lr_find_with_nothing_to_suggest_exits_1_and_writes_nothing(tmp_path):
    # rates of 1e-7..1e-6 barely move the loss: no descent to suggest from
    result = traindoc("lr-find", "--start-lr", "1e-7", "--end-lr", "1e-6", "--steps", "20",
                      "--apply", "--set", "train.device=cpu", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "no descent" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        "suggested lr: none; the configured lr 0.001 stays, nothing applied"
    )
    assert not (tmp_path / "traindoc.toml").exists()
