"""traindoc.engine.train.augment: batch-wise, deterministic, shape-preserving image augmentation."""

from __future__ import annotations

import pytest
import torch

from traindoc.engine.train import augment
from traindoc.engine.train.augment import augment_batch, crop_padding

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def images(b=16, c=1, h=8, w=8, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g) * 16


def gen(seed: int, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x moved by (dy, dx) pixels, uncovered border zero (crop of a zero-padded image)."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        ..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def test_crop_padding_by_size() -> None:
    assert [crop_padding(h) for h in (4, 8, 28, 32)] == [1, 1, 3, 4]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(8, 1, 8, 8), (5, 1, 28, 28), (4, 3, 32, 32), (3, 2, 6, 10)])
def test_shape_dtype_and_device_preserved(device: str, shape: tuple) -> None:
    x = torch.rand(shape, device=device)
    out = augment_batch(x, gen(0, device))
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("device", DEVICES)
def test_deterministic_under_seed(device: str) -> None:
    x = images().to(device)
    a = augment_batch(x, gen(7, device))
    b = augment_batch(x, gen(7, device))
    c = augment_batch(x, gen(8, device))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, c)


def test_actually_changes_inputs_and_keeps_them_sane() -> None:
    x = images(b=64) / 4 - 2  # roughly centred, as normalized data is
    out = augment_batch(x, gen(0), flip=True)
    changed = (out - x).flatten(1).abs().amax(1) > 1e-3
    assert changed.float().mean() > 0.9
    spread = x.std().item()
    assert out.min() >= x.min() - 0.25 * spread
    assert out.max() <= x.max() + 0.25 * spread
    assert abs(out.mean().item() - x.mean().item()) < 0.25 * spread  # same content, moved


def test_crop_is_a_whole_pixel_shift_within_padding() -> None:
    x = images(b=32, h=8, w=8)
    out = augment_batch(x, gen(3), flip=False, rotate=False, brightness=False)
    pad = crop_padding(8)
    seen = set()
    for i in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(-pad, pad + 1)
            for dx in range(-pad, pad + 1)
            if torch.allclose(out[i], shifted(x[i], dy, dx), atol=1e-4)
        ]
        assert matches, f"sample {i} is not a shift of its input"
        seen.add(matches[0])
    assert len(seen) >= 5  # offsets differ between samples


def test_flip_mirrors_some_samples_only_when_asked() -> None:
    x = images(b=64, h=8, w=8)
    kwargs = {"rotate": False, "brightness": False}
    no_flip = augment_batch(x, gen(5), flip=False, **kwargs)
    with_flip = augment_batch(x, gen(5), flip=True, **kwargs)  # same shifts, some mirrored
    mirrored = [
        not torch.allclose(a, b, atol=1e-4) for a, b in zip(no_flip, with_flip, strict=True)
    ]
    assert 0.25 < sum(mirrored) / len(mirrored) < 0.75
    i = mirrored.index(True)
    torch.testing.assert_close(with_flip[i], no_flip[i].flip(-1), atol=1e-4, rtol=0)


def test_rotation_is_small() -> None:
    x = torch.zeros(32, 1, 32, 32)
    x[:, :, 16, :] = 1.0  # a horizontal line through the centre
    out = augment_batch(x, gen(1), flip=False, brightness=False)
    # a ±10° rotation plus a ≤4-pixel shift keeps the line within a narrow band at the centre
    centre_col = out[:, 0, :, 14:18].sum(-1)
    rows = centre_col.argmax(-1)
    assert ((rows - 16).abs() <= 5).all()
    assert not torch.allclose(
        out, augment_batch(x, gen(1), flip=False, rotate=False, brightness=False)
    )


def test_brightness_is_an_additive_shift_scaled_by_std() -> None:
    x = torch.arange(64.0).view(64, 1, 1, 1).expand(64, 1, 8, 8).contiguous()  # flat images
    out = augment_batch(x, gen(2), flip=False, rotate=False)
    inner = out[:, :, 2:6, 2:6] - x[:, :, 2:6, 2:6]  # away from the shifted border
    offsets = inner.flatten(1)
    # one offset per sample, within ±0.2 std
    assert (offsets.amax(1) - offsets.amin(1) < 1e-5).all()
    assert offsets.abs().max() <= augment.BRIGHTNESS * x.std() + 1e-5
    assert offsets[:, 0].std() > 0.05


def test_one_resampling_pass_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = augment.F.grid_sample

    def counting(inp, grid, **kw):
        calls.append(inp.shape[0])
        return real(inp, grid, **kw)

    monkeypatch.setattr(augment.F, "grid_sample", counting)
    augment_batch(images(b=256), gen(0))
    assert calls == [256]  # the whole batch at once, no per-sample loop


def test_no_generator_uses_global_rng_and_empty_batch() -> None:
    torch.manual_seed(0)
    a = augment_batch(images())
    torch.manual_seed(0)
    b = augment_batch(images())
    torch.testing.assert_close(a, b)
    empty = torch.zeros(0, 1, 8, 8)
    assert augment_batch(empty, gen(0)).shape == (0, 1, 8, 8)
    with pytest.raises(ValueError, match="B×C×H×W"):
        augment_batch(torch.zeros(4, 64), gen(0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_generator_with_cuda_batch_matches_cpu() -> None:
    x = images()
    cpu = augment_batch(x, gen(4))
    cuda = augment_batch(x.cuda(), gen(4))
    torch.testing.assert_close(cuda.cpu(), cpu, atol=1e-4, rtol=1e-4)
