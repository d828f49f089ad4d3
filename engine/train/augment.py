"""Image augmentation (``data.augment``, SPEC §6) on whole batches, on the batch's device.

One random draw per batch and one ``grid_sample`` per batch: random crop with
padding (a shift by a whole number of pixels, up to ``max(1, H // 8)`` — 1 for
8×8, 3 for 28×28, 4 for 32×32 — the uncovered border filled with 0), optional
horizontal flip, a small rotation (±10°) and a brightness jitter. The crop, flip
and rotation are one affine transform per sample, so a batch costs a single
resampling pass and no Python loop over samples.

The data reaching this function is usually normalized (``data.normalize``), so
the zero fill is the mean colour and the brightness jitter is *additive*: each
sample is shifted by up to ±``BRIGHTNESS`` × the batch's standard deviation,
which means the same on raw (0–255) and normalized inputs.

Flipping a digit changes its meaning; the caller passes ``flip=False`` for
digits/MNIST and ``flip=True`` for natural images (CIFAR-10).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_ROTATION_DEG = 10.0
BRIGHTNESS = 0.2  # ± fraction of the batch's standard deviation


def crop_padding(height: int) -> int:
    """Pixels of padding for the random crop: ``max(1, height // 8)``."""
    return max(1, height // 8)


def augment_batch(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    flip: bool = True,
    rotate: bool = True,
    brightness: bool = True,
) -> torch.Tensor:
    """Return an augmented copy of the image batch ``x`` (B×C×H×W), same shape and device.

    Deterministic for a seeded ``generator`` (on any device: numbers drawn on a
    CPU generator are copied to the batch's device without a sync).
    """
    if x.ndim != 4:
        raise ValueError(f"augment_batch expects B×C×H×W images, got shape {tuple(x.shape)}")
    batch, _, height, width = x.shape
    if batch == 0:
        return x
    draw_device = generator.device if generator is not None else x.device
    u = torch.rand(batch, 5, generator=generator, device=draw_device)
    u = u.to(device=x.device, dtype=torch.float32, non_blocking=True)
    pad_y, pad_x = crop_padding(height), crop_padding(width)
    # whole-pixel shifts in [-pad, pad], as a crop of the zero-padded image would give
    shift_x = torch.floor(u[:, 0] * (2 * pad_x + 1)) - pad_x
    shift_y = torch.floor(u[:, 1] * (2 * pad_y + 1)) - pad_y
    angle = (u[:, 2] * 2 - 1) * math.radians(MAX_ROTATION_DEG if rotate else 0.0)
    mirror = torch.where(u[:, 3] < 0.5, -1.0, 1.0) if flip else torch.ones_like(u[:, 3])
    cos, sin = torch.cos(angle), torch.sin(angle)
    # theta maps output to input coordinates in grid_sample's normalized [-1, 1] space:
    # rotation in pixel units (S⁻¹ R S with S = diag(W/2, H/2)), the mirror on the
    # output x axis, then the shift (content moves by +shift pixels).
    theta = torch.stack(
        [
            torch.stack([cos * mirror, -sin * (height / width), -2 * shift_x / width], dim=1),
            torch.stack([sin * (width / height) * mirror, cos, -2 * shift_y / height], dim=1),
        ],
        dim=1,
    ).to(x.dtype if x.is_floating_point() else torch.float32)
    source = x if x.is_floating_point() else x.float()
    grid = F.affine_grid(theta, list(source.shape), align_corners=False)
    out = F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if brightness:
        # note: x.std() stays on the device (no host sync)
        offset = (u[:, 4] * 2 - 1) * BRIGHTNESS * source.std()
        out = out + offset.to(out.dtype).view(batch, 1, 1, 1)
    return out


__all__ = ["BRIGHTNESS", "MAX_ROTATION_DEG", "augment_batch", "crop_padding"]
