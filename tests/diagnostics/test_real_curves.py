"""A tiny in-test corpus: real trainings (a few seconds on CPU), so CI checks real curves.

One healthy run, one with a learning rate far too high, one with NaN batches; each a
plain PyTorch loop on the bundled digits, diagnosed through ``traindoc.diagnostics.diagnose``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from traindoc.diagnostics.runner import diagnose
from traindoc.diagnostics.types import RunData, Series, Severity, Status

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("traindoc.engine.data.datasets")


@pytest.fixture(scope="module")
def digits():
    ds = datasets.load_dataset("digits")
    x = ds.x.reshape(len(ds.y), -1)
    x = (x - x.mean(0)) / np.where(x.std(0) > 1e-6, x.std(0), 1.0)
    n_val = 360
    return (torch.as_tensor(x[n_val:]), torch.as_tensor(ds.y[n_val:]),
            torch.as_tensor(x[:n_val]), torch.as_tensor(ds.y[:n_val]))


def train(digits, *, opt="adam", lr=1e-3, epochs=4, nan_steps=(), skip_nonfinite=False):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    xt, yt, xv, yv = digits
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    if opt == "adam":
        optim = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        optim = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(0)
    step, logs = 0, {"train_loss": [], "val_loss": [], "train_accuracy": [], "val_accuracy": []}
    for _ in range(epochs):
        correct = 0
        for b in torch.randperm(len(yt), generator=g).split(64):
            step += 1
            xb = xt[b].clone()
            if step in nan_steps:
                xb[0, 0] = math.nan
            out = model(xb)
            loss = loss_fn(out, yt[b])
            optim.zero_grad()
            loss.backward()
            value = float(loss.detach())
            if math.isfinite(value) or not skip_nonfinite:
                optim.step()
            logs["train_loss"].append((step, value))
            correct += int((out.argmax(1) == yt[b]).sum())
        with torch.no_grad():
            out = model(xv)
            logs["val_loss"].append((step, float(loss_fn(out, yv))))
            logs["val_accuracy"].append((step, float((out.argmax(1) == yv).float().mean())))
        logs["train_accuracy"].append((step, correct / len(yt)))
    series = {k: Series(np.array([s for s, _ in v]), np.array([x for _, x in v]))
              for k, v in logs.items()}
    return diagnose(RunData(series, name="real"))


def test_real_healthy_run_is_healthy(digits):
    d = train(digits)
    assert d.status is Status.HEALTHY, [f.evidence for f in d.findings]


def test_real_lr_far_too_high_is_flagged_with_lower_lr_first(digits):
    d = train(digits, opt="momentum", lr=20.0, epochs=2)
    assert d.rules & {"divergence", "nan-loss"}
    first = d.findings[0]
    assert first.severity is Severity.ERROR and first.remedies[0].id == "lower-lr"
    assert "underfitting" not in d.rules


def test_real_nan_batches_are_a_data_problem(digits):
    d = train(digits, nan_steps=(30, 31, 70), skip_nonfinite=True)
    assert d.rules == {"nan-loss"}
    f = d.findings[0]
    assert f.cause == "data" and f.remedies[0].id == "check-data"
