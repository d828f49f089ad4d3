"""`traindoc train`'s exit code follows the finished run's diagnosis (issue 12, item 15):
1 when a finding is at or above ``--fail-on`` (default: error), as ``diagnose --fail-on``."""

from __future__ import annotations

import pytest

from .cli_helpers import traindoc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_a_run_whose_diagnosis_has_an_error_exits_1(tmp_path):
    # lr 5 on the digits: the run finishes (no NaN) but the loss diverges.
    result = traindoc("train", "--set", "optim.lr=5", "--quiet", "--logdir", "runs", cwd=tmp_path)
    assert "status: finished" in result.stdout, result.stdout + result.stderr
    assert "ERROR divergence" in result.stdout
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_fail_on_warning_exits_1_for_a_warning_that_error_lets_pass(tmp_path):
    # lr 1e-5 for 3 epochs: a slow-descent warning and no error.
    args = ["train", "--set", "optim.lr=1e-5", "--set", "train.epochs=3", "--quiet"]
    default = traindoc(*args, "--logdir", "a", cwd=tmp_path)
    assert "WARN  slow-descent" in default.stdout, default.stdout
    assert "ERROR" not in default.stdout
    assert default.returncode == 0, default.stderr
    strict = traindoc(*args, "--logdir", "b", "--fail-on", "warning", cwd=tmp_path)
    assert "WARN  slow-descent" in strict.stdout, strict.stdout
    assert strict.returncode == 1, strict.stderr


def test_a_healthy_run_exits_0_even_with_fail_on_warning(tmp_path):
    result = traindoc(
        "train", "--set", "train.epochs=3", "--quiet", "--fail-on", "warning", cwd=tmp_path
    )
    assert "healthy" in result.stdout, result.stdout
    assert result.returncode == 0, result.stderr
