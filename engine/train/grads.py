"""All parameter gradients as views into one flat buffer (training process only).

With the gradients contiguous, the per-step work a careful loop adds — the
global norm logged as ``opt/grad_norm``, clipping, the guard against non-finite
gradients, and zeroing — is one kernel each instead of one per parameter, and
none of them syncs with the device. Backward accumulates into the existing
``.grad`` views in place, so the buffer always holds every gradient.
"""

from __future__ import annotations

import torch

CLIP_EPS = 1e-6  # as torch.nn.utils.clip_grad_norm_


class FlatGrads:
    """Owns ``p.grad`` for ``params`` (which must share one dtype and device)."""

    __slots__ = ("buffer", "params")

    def __init__(self, params: list[torch.nn.Parameter]) -> None:
        if not params:
            raise ValueError("no parameters to train")
        kinds = {(p.dtype, p.device) for p in params}
        if len(kinds) != 1:
            raise ValueError(f"parameters of several dtypes/devices: {sorted(map(str, kinds))}")
        self.params = params
        first = params[0]
        self.buffer = torch.zeros(
            sum(p.numel() for p in params), dtype=first.dtype, device=first.device
        )
        offset = 0
        for p in params:
            p.grad = self.buffer[offset : offset + p.numel()].view_as(p)
            offset += p.numel()

    def norm(self) -> torch.Tensor:
        """Global L2 norm of the gradients, on the device."""
        return torch.linalg.vector_norm(self.buffer)

    def clip_(self, max_norm: float, norm: torch.Tensor) -> None:
        """Scale the gradients down to at most ``max_norm`` (no sync)."""
        self.buffer.mul_(torch.clamp(max_norm / (norm + CLIP_EPS), max=1.0))

    def zero_nonfinite_(self, norm: torch.Tensor) -> None:
        """Zero every gradient when ``norm`` is not finite (no sync): the step is skipped."""
        self.buffer.nan_to_num_(0.0, 0.0, 0.0).mul_(torch.isfinite(norm))

    def zero_(self) -> None:
        self.buffer.zero_()
