"""The distributed keys (issue 15): read, validated, planned for a machine, and turned
into a torchrun command; train's flags; torchrun's report of a failed rank. No process
is started here."""

from __future__ import annotations

import sys
from collections import deque

import pytest

from traindoc.engine import config as cfg
from traindoc.engine import ddp_relay
from traindoc.engine.cli.main import build_parser
from traindoc.engine.cli.train import distributed_overrides
from traindoc.engine.config_limits import endpoint_parts
from traindoc.engine.find.worker import single_process_note


def patched(**patch) -> cfg.RunConfig:
    return cfg.apply_patch(cfg.RunConfig(), {k.replace("__", "."): v for k, v in patch.items()})


def error(**patch) -> str:
    with pytest.raises(cfg.ConfigError) as info:
        patched(**patch)
    return str(info.value)


def test_defaults_are_one_process_on_one_machine_and_take_todays_path():
    train = cfg.RunConfig().train
    assert (train.nproc_per_node, train.nnodes, train.node_rank, train.rdzv_endpoint) == (
        1, 1, 0, "")
    assert not ddp_relay.is_distributed(train)
    assert ddp_relay.is_distributed(patched(train__nproc_per_node=2).train)
    assert ddp_relay.is_distributed(patched(train__nnodes=2, train__rdzv_endpoint="h:1").train)


@pytest.mark.parametrize(("raw", "expected"), [
    (2, 2), ("2", 2), (" 3 ", 3), ("gpu", "gpu"), ("GPU", "gpu"), (4.0, 4)])
def test_the_process_count_is_a_number_or_gpu(raw, expected):
    assert patched(train__nproc_per_node=raw).train.nproc_per_node == expected


def test_a_process_count_survives_the_toml_round_trip():
    for value in (3, "gpu"):
        config = patched(train__nproc_per_node=value)
        assert cfg.loads(cfg.dumps(config)) == config


@pytest.mark.parametrize(("patch", "message"), [
    ({"train__nproc_per_node": 0}, "train.nproc_per_node = 0: expected an integer 1..1024"),
    ({"train__nproc_per_node": "many"},
     "train.nproc_per_node = 'many': expected a process count (an integer) or \"gpu\""),
    ({"train__nproc_per_node": True}, "expected a process count"),
    ({"train__nproc_per_node": "gpu", "train__device": "cpu"},
     'train.nproc_per_node = "gpu": counts the GPUs, but train.device = cpu'),
    ({"train__nproc_per_node": 2, "train__device": "cuda:1"},
     "train.device = 'cuda:1': with 2 processes per machine each one uses its own GPU"),
    ({"train__nnodes": 0}, "train.nnodes = 0: expected an integer 1..4096"),
    ({"train__nnodes": 2}, "train.rdzv_endpoint = '': with train.nnodes = 2 every machine "
                           "needs HOST:PORT of node 0"),
    ({"train__nnodes": 2, "train__rdzv_endpoint": "h:29500", "train__node_rank": 2},
     "train.node_rank = 2: expected 0..1"),
    ({"train__rdzv_endpoint": "10.0.0.1"}, "train.rdzv_endpoint = '10.0.0.1': expected HOST:PORT"),
    ({"train__rdzv_endpoint": "h:0"}, "(port 1..65535)"),
    ({"train__rdzv_endpoint": "h:65536"}, "(port 1..65535)"),
    ({"train__rdzv_endpoint": "a b:80"}, "expected HOST:PORT"),
])
def test_each_bad_value_is_named_with_what_is_allowed(patch, message):
    assert message in error(**patch)


def test_endpoints_are_split_into_host_and_port():
    assert endpoint_parts("10.0.0.1:29500") == ("10.0.0.1", 29500)
    assert endpoint_parts("node0.cluster:1") == ("node0.cluster", 1)
    assert endpoint_parts("[::1]:29500") == ("::1", 29500)
    for bad in ("", ":80", "host:", "host:x", "host:123456", "a/b:80"):
        assert endpoint_parts(bad) is None, bad


def plan(gpus: int, **patch) -> ddp_relay.Plan:
    return ddp_relay.plan(patched(**patch).train, gpus)


def test_the_plan_counts_the_gpus_and_picks_nccl_or_gloo():
    assert plan(0, train__nproc_per_node=2, train__device="cpu").device == "cpu"
    assert plan(0, train__nproc_per_node=2).device == "cpu"  # auto without a GPU: gloo
    assert plan(4, train__nproc_per_node=2).device == "cuda"  # auto with GPUs: NCCL
    every = plan(4, train__nproc_per_node="gpu")
    assert (every.nproc, every.device, every.world) == (4, "cuda", 4)
    two_machines = plan(8, train__nproc_per_node="gpu", train__nnodes=2,
                        train__rdzv_endpoint="h:1")
    assert two_machines.world == 16
    one_each = plan(2, train__nnodes=2, train__rdzv_endpoint="h:1", train__device="cuda:1")
    assert (one_each.nproc, one_each.device) == (1, "cuda:1")  # its GPU, as configured


@pytest.mark.parametrize(("gpus", "patch", "message"), [
    (0, {"train__nproc_per_node": "gpu"}, 'train.nproc_per_node = "gpu": no CUDA GPU'),
    (0, {"train__nproc_per_node": 2, "train__device": "cuda"}, "CUDA is not available"),
    (1, {"train__nproc_per_node": 2}, "train.nproc_per_node = 2: this machine has 1 GPU "
                                      "(one per process); use at most 1, or train.device = cpu"),
    (2, {"train__nproc_per_node": 3, "train__device": "cuda"}, "this machine has 2 GPUs"),
])
def test_what_the_machine_cannot_give_is_a_config_error(gpus, patch, message):
    with pytest.raises(cfg.ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan(gpus, **patch)


def test_one_machine_is_standalone_and_several_use_node_0s_endpoint():
    one = ddp_relay.torchrun_command(plan(0, train__nproc_per_node=2), "/runs/r")
    assert one[:4] == [sys.executable, "-m", "traindoc.engine.train.rank", "--torchrun"]
    assert "--standalone" in one and "--nproc-per-node=2" in one and "--nnodes=1" in one
    assert "--max-restarts=0" in one
    assert one[-3:] == ["-m", "traindoc.engine.train.rank", "/runs/r"]
    two = ddp_relay.torchrun_command(
        plan(0, train__nproc_per_node=2, train__nnodes=2, train__node_rank=1,
             train__rdzv_endpoint="10.0.0.1:29500"), "/runs/r")
    assert "--standalone" not in two
    assert {"--rdzv-backend=static", "--rdzv-endpoint=10.0.0.1:29500", "--node-rank=1",
            "--nnodes=2"} <= set(two)


def test_trains_flags_are_the_same_as_set():
    args = build_parser().parse_args(
        ["train", "--nproc", "gpu", "--nnodes", "2", "--node-rank", "1", "--rdzv-endpoint",
         "10.0.0.1:29500"])
    overrides = distributed_overrides(args)
    assert overrides == ["train.nproc_per_node=gpu", "train.nnodes=2", "train.node_rank=1",
                         "train.rdzv_endpoint=10.0.0.1:29500"]
    patch = dict(cfg.parse_override(text) for text in overrides)
    train = cfg.apply_patch(cfg.RunConfig(), patch).train
    assert (train.nproc_per_node, train.nnodes, train.node_rank) == ("gpu", 2, 1)
    assert distributed_overrides(build_parser().parse_args(["train"])) == []


def test_the_finders_say_they_run_in_one_process():
    assert single_process_note(cfg.RunConfig(), "lr-find") == ""
    note = single_process_note(patched(train__nproc_per_node=2), "batch-find")
    assert note.startswith("note: batch-find runs in one process (train.nproc_per_node = 2")
    assert "per process" in note


TORCHRUN_TAIL = """\
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
traindoc.engine.train.rank FAILED
------------------------------------------------------------
Failures:
[1]:
  time      : 2026-11-30_12:42:00
  host      : localhost
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 12207)  (SIGTERM)
  error_file: <N/A>
  traceback : Signal 15 (SIGTERM) received by PID 12207
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-11-30_12:42:00
  host      : localhost
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 12208)  (SIGKILL)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 12208
============================================================"""


class EndedGroup(ddp_relay.Group):
    """A Group as torchrun leaves it, without starting anything."""

    def __init__(self, lines: str, code: int) -> None:
        self.tail = deque(lines.splitlines(), maxlen=ddp_relay.TAIL_LINES)
        self.process = type("Ended", (), {"returncode": code})()


def test_torchruns_root_cause_names_the_failed_rank():
    group = EndedGroup(TORCHRUN_TAIL, 1)
    assert group.root_rank() == 1  # not rank 0, listed first but only ended after it
    assert group.failure() == (
        "distributed training failed: torchrun exited with code 1: rank 1 (local_rank: 1) "
        "failed with exit code -9 (pid: 12208) (SIGKILL) (Signal 9 (SIGKILL) received by "
        "PID 12208); the other ranks were ended")


def test_without_a_root_cause_the_last_line_is_the_reason():
    group = EndedGroup("starting\nRendezvousTimeoutError: the other node never came\n", 1)
    assert group.root_rank() is None
    assert group.failure().endswith(
        "code 1: RendezvousTimeoutError: the other node never came; the other ranks were ended")
