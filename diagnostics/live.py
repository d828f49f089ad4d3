"""Live diagnosis of a run that is still being written.

``LiveDiagnoser`` keeps one ``SeriesSummarizer`` per role. ``feed`` costs O(new points)
(plus a bounded O(MAX_BLOCKS) append); ``diagnosis()`` runs the rules on the bounded
summaries, O(MAX_BLOCKS + log n) per role, whatever the length of the stream. Because
a summary depends only on the points and never on the chunking, the findings equal
``diagnose`` on the same data, exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traindoc.diagnostics.runner import diagnose_summaries
from traindoc.diagnostics.summary import SeriesSummarizer
from traindoc.diagnostics.types import Diagnosis


class LiveDiagnoser:
    """Incremental diagnoser: ``feed(role, steps, values)`` chunks, ask ``diagnosis()``."""

    __slots__ = ("_cache", "_series", "config", "name", "tags")

    def __init__(
        self, *, config: Mapping[str, Any] | None = None, name: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.tags = dict(tags or {})
        self._series: dict[str, SeriesSummarizer] = {}
        self._cache: Diagnosis | None = None

    def feed(self, role: str, steps, values) -> None:
        """Append points of one role (in logging order)."""
        s = self._series.get(role)
        if s is None:
            s = self._series[role] = SeriesSummarizer()
        before = s.n_points
        s.feed(steps, values)
        if s.n_points != before:
            self._cache = None

    def points(self, role: str | None = None) -> int:
        if role is not None:
            s = self._series.get(role)
            return s.n_points if s else 0
        return sum(s.n_points for s in self._series.values())

    def diagnosis(self) -> Diagnosis:
        """The diagnosis of everything fed so far (cached until the next new point)."""
        if self._cache is None:
            summaries = {role: s.segments() for role, s in self._series.items()}
            self._cache = diagnose_summaries(summaries, config=self.config, name=self.name,
                                             tags=self.tags)
        return self._cache
