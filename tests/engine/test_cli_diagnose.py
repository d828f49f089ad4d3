"""`traindoc diagnose`: text, JSON per SPEC §5, exit codes, role overrides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from traindoc.engine.cli.main import main
from traindoc.engine.tb.writer import ScalarWriter

REALRUNS = Path(__file__).resolve().parents[2].parent / "shared" / "realruns"


def write_run(folder: Path, tags: dict[str, np.ndarray], *, every: dict[str, int] | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    every = every or {}
    with ScalarWriter(folder) as writer:
        for tag, values in tags.items():
            stride = every.get(tag, 1)
            for i, value in enumerate(values):
                writer.add_scalar(tag, float(value), (i + 1) * stride)


def healthy_losses(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    train = 2.3 * np.exp(-t / 60) + 0.1 + rng.normal(0, 0.03, n)
    val = 2.3 * np.exp(-np.arange(20) * 20 / 60) + 0.15
    return train, val


@pytest.fixture
def logs(tmp_path) -> Path:
    train, val = healthy_losses()
    write_run(tmp_path / "good", {"Loss/train": train, "Loss/test": val}, every={"Loss/test": 20})
    nan_train = train.copy()
    nan_train[150:] = np.nan
    write_run(
        tmp_path / "nan", {"Loss/train": nan_train, "Loss/test": val}, every={"Loss/test": 20}
    )
    return tmp_path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["diagnose", *args])
    out, err = capsys.readouterr()
    return code, out, err


def check_schema(doc: dict) -> None:
    assert set(doc) == {"version", "runs", "warnings"} and doc["version"] == 1
    assert all(isinstance(w, str) for w in doc["warnings"])
    for run in doc["runs"]:
        assert set(run) == {"run", "roles", "points", "status", "findings"}
        assert isinstance(run["run"], str) and isinstance(run["points"], int)
        assert run["status"] in ("healthy", "problems", "insufficient-data")
        alarms = [f for f in run["findings"] if f["severity"] != "info"]  # info: a note
        assert (run["status"] == "problems") == bool(alarms)
        for finding in run["findings"]:
            assert set(finding) == {
                "rule",
                "severity",
                "title",
                "step_start",
                "step_end",
                "evidence",
                "confidence",
                "remedies",
            }
            assert finding["severity"] in ("error", "warning", "info")
            assert finding["confidence"] in ("high", "medium", "low")
            assert finding["step_start"] <= finding["step_end"]
            for remedy in finding["remedies"]:
                assert {"id", "text"} <= set(remedy) <= {"id", "text", "patch"}


def test_json_follows_the_schema(logs, capsys):
    code, out, _ = run_cli(capsys, str(logs), "--json")
    assert code == 0
    doc = json.loads(out)
    check_schema(doc)
    runs = {r["run"]: r for r in doc["runs"]}
    assert set(runs) == {"good", "nan"}
    assert runs["good"]["status"] == "healthy"
    assert runs["good"]["roles"] == {"train_loss": "Loss/train", "val_loss": "Loss/test"}
    assert runs["good"]["points"] == 420
    nan = runs["nan"]
    assert nan["status"] == "problems"
    first = nan["findings"][0]
    assert first["rule"] == "nan-loss" and first["severity"] == "error"
    assert first["step_start"] == 151
    assert "patch" not in first["remedies"][0]  # foreign log: no config, no patch


def test_run_is_dot_when_path_is_the_run(logs, capsys):
    code, out, _ = run_cli(capsys, str(logs / "good"), "--json")
    assert code == 0 and json.loads(out)["runs"][0]["run"] == "."


def test_fail_on_exit_codes(logs, capsys):
    assert run_cli(capsys, str(logs / "nan"), "--fail-on", "error")[0] == 1
    assert run_cli(capsys, str(logs / "good"), "--fail-on", "warning")[0] == 0
    assert run_cli(capsys, str(logs / "nan"))[0] == 0


def test_text_output_is_readable(logs, capsys):
    code, out, _ = run_cli(capsys, str(logs))
    assert code == 0
    assert "good: healthy" in out
    assert "nan: problems" in out and "nan-loss" in out and "lower-lr" in out


def test_role_override(logs, capsys):
    code, out, _ = run_cli(
        capsys,
        str(logs / "good"),
        "--json",
        "--role",
        "val_loss=",
        "--role",
        "train_loss=Loss/test",
    )
    assert code == 0
    roles = json.loads(out)["runs"][0]["roles"]
    assert roles == {"train_loss": "Loss/test"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["/no/such/dir"], ["/no/such/dir", "no such file"]),
        (["{logs}", "--role", "speed=x"], ["speed=x", "ROLE=TAG"]),
    ],
)
def test_bad_input_exits_2(logs, capsys, args, words):
    code, _, err = run_cli(capsys, *[a.format(logs=logs) for a in args])
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err


def test_damaged_file_becomes_a_warning(tmp_path, capsys):
    train, _ = healthy_losses()
    write_run(tmp_path / "run", {"loss": train})
    event_file = next((tmp_path / "run").glob("events.out.tfevents.*"))
    data = bytearray(event_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    event_file.write_bytes(bytes(data))
    code, out, _ = run_cli(capsys, str(tmp_path), "--json")
    assert code == 0
    doc = json.loads(out)
    check_schema(doc)
    assert doc["warnings"] and "events.out.tfevents" in doc["warnings"][0]
    assert 0 < doc["runs"][0]["points"] < 400


@pytest.mark.skipif(not REALRUNS.exists(), reason="../shared/realruns is absent")
def test_realruns_schema_and_no_alarm_on_healthy(capsys):
    code, out, _ = run_cli(capsys, str(REALRUNS), "--json")
    assert code == 0
    doc = json.loads(out)
    check_schema(doc)
    labels = {}
    for line in (REALRUNS / "labels.tsv").read_text().splitlines()[1:]:
        run_id, label = line.split("\t")[:2]
        labels[run_id] = label
    runs = {r["run"]: r for r in doc["runs"]}
    assert set(runs) == set(labels)
    for run_id, label in labels.items():
        if label == "healthy":
            severities = {f["severity"] for f in runs[run_id]["findings"]}
            assert not severities & {"error", "warning"}, (run_id, runs[run_id]["findings"])
    assert all(r["points"] > 0 for r in runs.values())


def test_a_path_without_runs_is_bad_input(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no event files here")
    code, _, err = run_cli(capsys, str(tmp_path), "--fail-on", "error")
    assert code == 2 and "no TensorBoard event files" in err
