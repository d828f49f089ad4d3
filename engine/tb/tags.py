"""The tags our own runs write (SPEC §3) and the role each one fills: defined once here.

The training loop writes these tags, the reader's role inference prefers them, and
the GUI maps a launched run's metrics by them. Importing this module loads nothing
else (the GUI imports it before its window shows).
"""

from __future__ import annotations

CANONICAL_TAGS = {  # role -> tag
    "train_loss": "train/loss",
    "val_loss": "val/loss",
    "train_accuracy": "train/accuracy",
    "val_accuracy": "val/accuracy",
    "lr": "opt/lr",
    "grad_norm": "opt/grad_norm",
    "samples_per_sec": "perf/samples_per_sec",
    "device_mem_mb": "perf/device_mem_mb",
}
TAG_ROLES = {tag: role for role, tag in CANONICAL_TAGS.items()}  # tag -> role
# The role vocabulary itself (with the objective-metric roles, which no tag of ours
# fills) is diagnostics.types.ROLES.
