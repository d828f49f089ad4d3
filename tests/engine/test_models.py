"""traindoc.engine.train.models: every arch on every input kind, and what [model] keys change."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from traindoc.engine.config import ModelConfig
from traindoc.engine.train.models import ModelError, build_model, count_parameters

IMAGE_SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]


def run(model: nn.Module, shape: tuple[int, ...], batch: int = 4) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(torch.randn(batch, *shape))


@pytest.mark.parametrize("shape", [(2,), (64,), *IMAGE_SHAPES])
def test_mlp_output_shape(shape: tuple) -> None:
    model = build_model(ModelConfig(arch="mlp", hidden=(32, 16)), shape, 10)
    assert run(model, shape).shape == (4, 10)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (torch.Size(shape).numel(), 32),
        (32, 16),
        (16, 10),
    ]


@pytest.mark.parametrize("arch", ["cnn", "resnet"])
@pytest.mark.parametrize("shape", IMAGE_SHAPES)
def test_conv_archs_on_every_image_size(arch: str, shape: tuple) -> None:
    model = build_model(ModelConfig(arch=arch, hidden=(8, 16)), shape, 7)
    assert run(model, shape).shape == (4, 7)
    model.train()
    out = model(torch.randn(1, *shape))  # a last batch of one sample still trains
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_cnn_channels_follow_hidden() -> None:
    model = build_model(ModelConfig(arch="cnn", hidden=(8, 16, 32)), (1, 28, 28), 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 8), (8, 16), (16, 32)]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 3  # 28 → 14 → 7 → 3
    small = build_model(ModelConfig(arch="cnn", hidden=(8, 8, 8, 8)), (1, 8, 8), 10)
    assert len([m for m in small.modules() if isinstance(m, nn.MaxPool2d)]) == 2  # 8 → 4 → 2


def test_resnet_widths_and_blocks() -> None:
    model = build_model(ModelConfig(arch="resnet", hidden=(16,)), (3, 32, 32), 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert [c.out_channels for c in convs] == [16, 16, 16, 32, 32, 64, 64]  # ResNet-8
    assert [c.stride for c in convs] == [(1, 1)] * 3 + [(2, 2), (1, 1)] * 2
    assert count_parameters(model) == pytest.approx(78_000, rel=0.05)
    listed = build_model(ModelConfig(arch="resnet", hidden=(8, 12)), (3, 32, 32), 10)
    widths = [m.out_channels for m in listed.modules() if isinstance(m, nn.Conv2d)]
    assert max(widths) == 12 and widths[0] == 8


@pytest.mark.parametrize("arch", ["mlp", "cnn", "resnet"])
def test_activation_honoured(arch: str) -> None:
    gelu = build_model(ModelConfig(arch=arch, hidden=(8,), activation="gelu"), (1, 8, 8), 10)
    relu = build_model(ModelConfig(arch=arch, hidden=(8,), activation="relu"), (1, 8, 8), 10)
    assert any(isinstance(m, nn.GELU) for m in gelu.modules())
    assert not any(isinstance(m, nn.ReLU) for m in gelu.modules())
    assert any(isinstance(m, nn.ReLU) for m in relu.modules())
    assert not any(isinstance(m, nn.GELU) for m in relu.modules())


@pytest.mark.parametrize("arch", ["mlp", "cnn", "resnet"])
def test_dropout_honoured(arch: str) -> None:
    cfg = ModelConfig(arch=arch, hidden=(8, 8), dropout=0.3)
    model = build_model(cfg, (1, 8, 8), 10)
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert drops and all(d.p == 0.3 for d in drops)
    if arch == "mlp":
        assert len(drops) == 2  # after each hidden layer
    none = build_model(ModelConfig(arch=arch, hidden=(8, 8), dropout=0.0), (1, 8, 8), 10)
    assert not any(isinstance(m, nn.Dropout) for m in none.modules())
    # dropout is active in train mode only
    x = torch.randn(16, 1, 8, 8)
    model.eval()
    torch.testing.assert_close(model(x), model(x))
    model.train()
    if arch == "mlp":
        assert not torch.allclose(model(x), model(x))


@pytest.mark.parametrize("arch", ["mlp", "cnn", "resnet"])
def test_parameter_count_grows_with_hidden(arch: str) -> None:
    counts = [
        count_parameters(build_model(ModelConfig(arch=arch, hidden=h), (3, 32, 32), 10))
        for h in [(8,), (16,), (32,), (32, 32)]
    ]
    assert counts[0] < counts[1] < counts[2]
    if arch != "resnet":  # for resnet a list gives the stage widths: (32, 32) < (32, 64, 128)
        assert counts[2] < counts[3]


def test_mlp_parameter_count_exact() -> None:
    model = build_model(ModelConfig(arch="mlp", hidden=(256, 256)), (1, 8, 8), 10)
    assert count_parameters(model) == 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    frozen = build_model(ModelConfig(arch="mlp", hidden=(4,)), (2,), 3)
    for p in frozen.parameters():
        p.requires_grad_(False)
    assert count_parameters(frozen) == 0


def test_conv_archs_reject_tabular_data() -> None:
    with pytest.raises(ModelError, match=r"needs image input .* use model.arch = 'mlp'"):
        build_model(ModelConfig(arch="cnn"), (2,), 3)
    with pytest.raises(ModelError, match="resnet"):
        build_model(ModelConfig(arch="resnet"), (2,), 3)


def test_invalid_settings_rejected() -> None:
    with pytest.raises(ModelError, match=r"model\.arch"):
        build_model(ModelConfig(arch="transformer"), (2,), 3)
    with pytest.raises(ModelError, match=r"model\.activation"):
        build_model(ModelConfig(activation="tanh"), (2,), 3)
    with pytest.raises(ModelError, match=r"model\.hidden"):
        build_model(ModelConfig(hidden=()), (2,), 3)


def test_mlp_learns_blobs_quickly() -> None:
    torch.manual_seed(0)
    centres = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = torch.arange(300) % 3
    x = centres[y] + torch.randn(300, 2) * 0.5
    model = build_model(ModelConfig(arch="mlp", hidden=(16,)), (2,), 3)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (model(x).argmax(1) == y).float().mean() > 0.95
