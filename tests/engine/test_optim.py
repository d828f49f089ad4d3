"""traindoc.engine.train.optim: optimizer classes, hyper-parameters, decay groups, peak lr."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from traindoc.engine.config import ModelConfig, OptimConfig
from traindoc.engine.train.models import build_model
from traindoc.engine.train.optim import build_optimizer, parameter_groups, set_lr_factor


def net() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize(
    ("name", "cls", "momentum"),
    [
        ("sgd", torch.optim.SGD, 0.0),
        ("momentum", torch.optim.SGD, 0.8),
        ("adam", torch.optim.Adam, None),
        ("adamw", torch.optim.AdamW, None),
    ],
)
def test_each_name_gives_its_class_and_hyper_parameters(name, cls, momentum) -> None:
    cfg = OptimConfig(name=name, lr=0.05, momentum=0.8, weight_decay=0.01)
    opt = build_optimizer(cfg, net())
    assert type(opt) is cls
    for group in opt.param_groups:
        assert group["lr"] == 0.05 and group["initial_lr"] == 0.05
        if momentum is not None:
            assert group["momentum"] == momentum and group["nesterov"] is False
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]


def test_decay_groups_split_weights_from_biases_and_norms() -> None:
    model = net()
    groups = {g["name"]: g for g in parameter_groups(model, 0.1)}
    decayed = {id(p) for p in groups["decay"]["params"]}
    assert decayed == {id(model[0].weight), id(model[3].weight)}
    plain = {id(p) for p in groups["no_decay"]["params"]}
    assert plain == {id(p) for p in (model[0].bias, model[1].weight, model[1].bias, model[3].bias)}
    assert groups["no_decay"]["weight_decay"] == 0.0
    assert len(decayed) + len(plain) == len(list(model.parameters()))


def test_frozen_parameters_and_empty_groups_left_out() -> None:
    model = nn.Linear(3, 2, bias=False)
    assert [g["name"] for g in parameter_groups(model, 0.1)] == ["decay"]
    model.weight.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer(OptimConfig(), model)


def test_conv_models_group_every_parameter_once() -> None:
    model = build_model(ModelConfig(arch="resnet", hidden=(4,)), (3, 8, 8), 10)
    opt = build_optimizer(OptimConfig(name="momentum"), model)
    seen = [id(p) for g in opt.param_groups for p in g["params"]]
    assert sorted(seen) == sorted(id(p) for p in model.parameters())
    assert all(p.ndim >= 2 for p in opt.param_groups[0]["params"])
    assert all(p.ndim == 1 for p in opt.param_groups[1]["params"])


def test_adamw_decay_is_decoupled_and_skips_biases() -> None:
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.fill_(1.0)
    opt = build_optimizer(OptimConfig(name="adamw", lr=0.1, weight_decay=0.5), layer)
    layer.weight.grad = torch.zeros_like(layer.weight)
    layer.bias.grad = torch.zeros_like(layer.bias)
    opt.step()  # zero gradient: only the decoupled decay moves the weights
    torch.testing.assert_close(layer.weight, torch.full((1, 2), 1 - 0.1 * 0.5))
    torch.testing.assert_close(layer.bias, torch.ones(1))


def test_sgd_decay_is_coupled_l2() -> None:
    layer = nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.fill_(2.0)
    opt = build_optimizer(OptimConfig(name="sgd", lr=0.1, weight_decay=0.5), layer)
    layer.weight.grad = torch.zeros_like(layer.weight)
    layer.bias.grad = torch.zeros_like(layer.bias)
    opt.step()  # w ← w − lr·(grad + wd·w)
    torch.testing.assert_close(layer.weight, torch.full((1, 2), 2 - 0.1 * 0.5 * 2))


def test_set_lr_factor_scales_from_peak() -> None:
    opt = build_optimizer(OptimConfig(name="adam", lr=0.01), net())
    set_lr_factor(opt, 0.5)
    set_lr_factor(opt, 0.1)  # not compounding
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.001, 0.001])
    assert [g["initial_lr"] for g in opt.param_groups] == [0.01, 0.01]


def test_unknown_name_rejected() -> None:
    with pytest.raises(ValueError, match=r"optim\.name = 'lion'"):
        build_optimizer(OptimConfig(name="lion"), net())
