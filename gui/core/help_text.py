"""The Help menu's words: About, a short guide to reading the findings, and what to do
when TensorBoard is not installed. Versions are read from the installed packages'
metadata: torch is never imported in the GUI process.
"""

from __future__ import annotations

from importlib import metadata


def package_version(name: str) -> str:
    """An installed package's version, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def about_text(*, qt: str, pyside: str, device: str) -> str:
    """The About box: traindoc, torch, Qt versions and the device runs train on."""
    return "\n".join((
        f"traindoc {package_version('traindoc')}",
        "Trains PyTorch models, reads TensorBoard logs and says what went wrong.",
        "",
        f"torch {package_version('torch')} (training runs in its own process)",
        f"Qt {qt}, PySide6 {pyside}",
        f"Device: {device}",
    ))


def device_text(devices: list[str]) -> str:
    """The devices the runs of this session trained on, or how one is chosen."""
    if devices:
        return ", ".join(dict.fromkeys(devices))
    return "chosen per run (train.device = auto: the GPU when CUDA is available, else CPU)"


FINDINGS_GUIDE = """\
Reading the findings

Each finding names a problem seen in the curves: what it is, where it happened (the \
steps are shaded on the charts when you click it) and the evidence, with numbers.

Severity: ✖ error — the run is broken (NaN loss, divergence); ▲ warning — the run \
works but wastes time or generalises badly (overfitting, a plateau, oscillation); \
ℹ note — weak evidence, worth a look, not an alarm.

Confidence says how clear the evidence is: high when the signal is far beyond the \
noise, low when it is close to it or the run is short.

Remedies are listed best first. One marked "already tried" was applied earlier in this \
run's line of fixes. "Apply fix" starts a copy of the run with that one change; when \
it ends, the verdict says whether the finding went away.

"✓ healthy: no rule fired" means no rule found a problem: not that the model is as \
good as it can be. Compare runs (tick them in the Runs list) to judge that."""


def tensorboard_missing(folder: str) -> str:
    return (
        "TensorBoard is not installed.\n\n"
        "Install it in this environment with\n    pip install tensorboard\n"
        f"then choose Help > Open in TensorBoard again, or run\n"
        f"    tensorboard --logdir {folder}\n"
        "and open the address it prints."
    )
