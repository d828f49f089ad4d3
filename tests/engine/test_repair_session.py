"""engine.repair: the loop over run folders written by FakeRuns (no process, no torch).

The decisions are unit-tested in tests/diagnostics/test_repair_policy.py; here the
session's running: events in order, lineage written, stop from another thread, the
time budget, a run that already ended, the words and the report.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from traindoc.diagnostics.repair_policy import Effect, StopReason
from traindoc.engine import rundir
from traindoc.engine.repair import text
from traindoc.engine.repair.events import AttemptEnded, AttemptStarted, RepairEnded
from traindoc.engine.repair.report import write_report
from traindoc.engine.repair.session import RepairSession

from .repair_fakes import FakeRuns, sgd


def repair(config, tmp_path: Path, runs: FakeRuns | None = None, **kwargs):
    runs = runs or FakeRuns()
    session = RepairSession(config, tmp_path / "runs", runs=runs, report=False, **kwargs)
    events = list(session.events())
    return session, runs, events


def test_sgd_lr_20_is_repaired_by_lower_lr_twice_with_the_lineage_written(tmp_path):
    _session, runs, events = repair(sgd(20.0), tmp_path)
    assert [type(e).__name__ for e in events] == [
        "AttemptStarted", "AttemptEnded"] * 3 + ["RepairEnded"]
    result = events[-1].result
    assert result.reason is StopReason.HEALTHY and result.healthy and result.final == 2
    assert [c.optim.lr for c in runs.started] == [20.0, 2.0, 0.2]
    assert [(a.remedy, a.effect, a.parent) for a in result.attempts[1:]] == [
        ("lower-lr", Effect.HELPED, 0), ("lower-lr", Effect.RESOLVED, 1)]
    started = [e for e in events if isinstance(e, AttemptStarted)]
    assert started[2].changes == (("optim.lr", 2.0, 0.2),)
    assert started[2].run_dir == result.final_dir
    link, problems = rundir.read_parent(result.final_dir)
    assert problems == [] and link.parent == str(result.records[1].run_dir)
    assert (link.rule, link.remedy, link.patch) == ("nan-loss", "lower-lr", {"optim.lr": 0.2})
    assert rundir.read_parent(result.first_dir) == (None, [])
    assert all(run.closed for run in runs.runs)


def test_a_healthy_config_gets_zero_attempts(tmp_path):
    _session, runs, events = repair(sgd(0.1), tmp_path)
    result = events[-1].result
    assert len(runs.started) == 1 and len(result.attempts) == 1
    assert result.reason is StopReason.HEALTHY and result.final == 0
    assert text.ending_line(result) == "repair: the first run is healthy; nothing to repair"


def test_the_attempt_budget_stops_the_repair_on_the_best_run(tmp_path):
    _session, runs, events = repair(sgd(20.0), tmp_path, attempts=1)
    result = events[-1].result
    assert len(runs.started) == 2 and result.reason is StopReason.ATTEMPTS
    assert not result.healthy and result.final == 1  # the blow-up came later at lr 2
    assert text.ending_line(result).startswith("repair: not healthy — attempts spent (1 attempt,")


def test_zero_attempts_only_judges_the_first_run(tmp_path):
    _session, runs, events = repair(sgd(20.0), tmp_path, attempts=0)
    assert len(runs.started) == 1 and events[-1].result.reason is StopReason.ATTEMPTS


def test_the_time_budget_stops_the_running_attempt_and_starts_no_other(tmp_path):
    now = [0.0]
    runs = FakeRuns(hold=(1,))

    def clock() -> float:
        now[0] += 20.0  # every look at the clock is 20 s later
        return now[0]

    session, runs, events = repair(sgd(20.0), tmp_path, runs, minutes=1.0, clock=clock)
    result = events[-1].result
    assert result.reason is StopReason.TIME
    assert runs.runs[1].stop_asked and len(runs.started) == 2
    assert result.attempts[1].effect is None  # stopped by us: not judged
    assert "stopped before its end (stopped)" in text.attempt_line(
        session.attempts, session.records, result.attempts[1], result.records[1])


def test_stop_from_another_thread_ends_the_running_attempt_and_keeps_everything(tmp_path):
    runs = FakeRuns(hold=(1,))
    session = RepairSession(sgd(20.0), tmp_path / "runs", runs=runs, report=False)
    seen = []
    for event in session.events():
        seen.append(event)
        if isinstance(event, AttemptStarted) and event.index == 1:
            thread = threading.Thread(target=session.stop)
            thread.start()
            thread.join()
    result = seen[-1].result
    assert result.reason is StopReason.INTERRUPTED and not session.interrupted
    assert runs.runs[1].stop_asked and len(result.attempts) == 2
    assert all(run.run_dir.is_dir() for run in runs.runs)


def test_a_run_that_already_ended_is_judged_without_training_it_again(tmp_path):
    runs = FakeRuns()
    first = runs.start(sgd(2.0), tmp_path / "runs", None)
    first.step()
    session = RepairSession(sgd(2.0), tmp_path / "runs", runs=runs, report=False,
                            first_run=first.run_dir)
    events = list(session.events())
    # Started by the session: only the children (clipping, which does not help here, then
    # a lower rate from there, since a remedy that did not help is not rolled back).
    assert [(c.optim.lr, c.train.clip_grad_norm) for c in runs.started[1:]] == [
        (2.0, 1.0), (0.2, 1.0)]
    assert events[0].run_dir == first.run_dir and events[-1].result.healthy


def test_run_events_reach_the_callback_with_the_attempt_index(tmp_path):
    calls = []
    repair(sgd(20.0), tmp_path, on_run_events=lambda index, events: calls.append(index))
    assert calls == [0, 1, 2]


def test_the_lines_say_what_each_attempt_did(tmp_path):
    session, _runs, events = repair(sgd(20.0), tmp_path)
    ended = [e for e in events if isinstance(e, AttemptEnded)]
    lines = [text.attempt_line(session.attempts, session.records, e.attempt, e.record)
             for e in ended]
    assert lines[0].startswith(f"first run {ended[0].record.run_dir.name}: nan-loss (error), ")
    assert lines[1].startswith("attempt 1: lower-lr (optim.lr 20 → 2): nan-loss still present, "
                               "but better (best ")
    assert lines[2].startswith("attempt 2: lower-lr (optim.lr 2 → 0.2): nan-loss resolved; "
                               "healthy (best val accuracy 0.1 → 0.9497)")
    assert ended[2].verdict.startswith("nan-loss: resolved · best val loss 2.31 → ")
    assert text.diff_lines(events[-1].result) == ["config diff (first → final):",
                                                  "  optim.lr: 20 → 0.2"]


def test_json_has_the_attempts_patches_verdicts_and_final_run(tmp_path):
    _session, _runs, events = repair(sgd(20.0), tmp_path)
    result = events[-1].result
    doc = json.loads(json.dumps(text.as_json(result, "R")))
    assert doc["healthy"] is True and doc["stopped"] == "healthy" and doc["attempts_used"] == 2
    assert doc["final_run"] == str(result.final_dir) and doc["report"] == "R"
    assert [(a["remedy"], a["patch"], a["effect"]) for a in doc["attempts"]] == [
        (None, {}, None), ("lower-lr", {"optim.lr": 2.0}, "helped"),
        ("lower-lr", {"optim.lr": 0.2}, "resolved")]
    assert doc["config_diff"] == [{"key": "optim.lr", "first": 20.0, "final": 0.2}]
    assert doc["attempts"][2]["parent"] == 1 and doc["attempts"][2]["alarms"] == []


def test_the_report_lists_everything_and_says_why_the_chart_is_missing(tmp_path):
    _session, _runs, events = repair(sgd(20.0), tmp_path)
    result = events[-1].result
    path, problems = write_report(result, chart=False)
    assert path == result.first_dir / "repair.md" and problems == []
    body = path.read_text(encoding="utf-8")
    assert "| 2 | `" in body and "| lower-lr | optim.lr 2 → 0.2 | nan-loss resolved; healthy |" \
        in body
    assert "      optim.lr: 20 → 0.2" in body
    assert "The chart was not drawn: not drawn." in body
    assert body.rstrip().endswith(f"final run: {result.final_dir}")
    saved = json.loads((result.first_dir / "repair.json").read_text(encoding="utf-8"))
    assert saved["final_run"] == str(result.final_dir)


def test_repair_ended_carries_no_report_when_none_was_asked(tmp_path):
    _session, _runs, events = repair(sgd(0.1), tmp_path)
    assert isinstance(events[-1], RepairEnded) and events[-1].report is None
    assert not (events[-1].result.first_dir / "repair.md").exists()
