"""What the window asks before it closes while runs are training or queued."""

from __future__ import annotations


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def close_question(training: list[str], queued: list[str]) -> str | None:
    """The question for the close dialog, or None when nothing would be lost.

    ``training``: names of runs whose process is going; ``queued``: runs not yet
    started, which closing drops.
    """
    if not training and not queued:
        return None
    lines = []
    if training:
        verb = "is" if len(training) == 1 else "are"
        them = "it" if len(training) == 1 else "them"
        lines.append(f"{_runs(len(training))} {verb} training; stop {them} and quit?")
        lines.append("Training: " + ", ".join(training) + ".")
    if queued:
        if not training:
            lines.append(f"{_runs(len(queued))} waiting in the queue; quit anyway?")
        lines.append("Queued runs that will be dropped: " + ", ".join(queued) + ".")
    return "\n".join(lines)
