"""The All-scalars view, like TensorBoard's Scalars tab: every scalar tag of the shown
runs (not only the tags mapped to roles), grouped by prefix, with a tag filter.

Groups (:class:`~traindoc.gui.widgets.scalar_group.TagGroup`) fold; the first is
unfolded, the others create their charts only when unfolded. The view takes the
same options as the Diagnosis charts (smoothing, log scale, x axis) from the model,
and does no work at all while hidden (it catches up when shown).
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QLineEdit, QScrollArea, QVBoxLayout, QWidget

from traindoc.gui.model import AppModel
from traindoc.gui.widgets.scalar_group import TagGroup

NO_PREFIX = "(no prefix)"


def prefix_of(tag: str) -> str:
    return tag.split("/", 1)[0] if "/" in tag else NO_PREFIX


def tag_matcher(text: str):
    """A case-insensitive regular expression; plain text when it does not compile."""
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
    return lambda tag: pattern.search(tag) is not None


class AllScalarsView(QWidget):
    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter tags (regular expression), e.g. loss|mAP")
        self.filter.setClearButtonEnabled(True)
        self.groups: dict[str, TagGroup] = {}
        self._body = QWidget()
        self._groups_layout = QVBoxLayout(self._body)
        self._groups_layout.setContentsMargins(4, 4, 4, 4)
        self._groups_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(scroll, 1)
        self._signature: tuple = ()
        self._stale = True

        self.filter.textChanged.connect(lambda _t: self.sync(force=True))
        model.frame.connect(self._frame)
        for signal in (model.visible_changed, model.roles_changed, model.run_removed):
            signal.connect(lambda *_: self.sync(force=True))
        model.smoothing_changed.connect(lambda _w: self._each(TagGroup.redraw))
        model.log_y_changed.connect(lambda _on: self._each(TagGroup.apply_log))
        model.x_axis_changed.connect(lambda mode: self._each(lambda g: g.apply_x_axis(mode)))

    # ------------------------------------------------------------ tags and groups

    def all_tags(self) -> list[str]:
        """Every tag of the shown runs, in first-seen order (sums of loss parts left out)."""
        tags: dict[str, None] = {}
        for run_id in self.model.visible_runs():
            run = self.model.run(run_id)
            tags.update((t, None) for t in run.tags if not run.is_sum(t))
        return list(tags)

    def sync(self, *, force: bool = False) -> None:
        """Regroup when the shown runs' tags or the filter changed (O(runs) otherwise)."""
        if not self.isVisible():
            self._stale = True
            return
        signature = tuple((r, len(self.model.run(r).tags)) for r in self.model.visible_runs())
        if not force and not self._stale and signature == self._signature:
            return
        self._signature, self._stale = signature, False
        matches = tag_matcher(self.filter.text())
        grouped: dict[str, list[str]] = {}
        for tag in sorted(self.all_tags()):
            if matches(tag):
                grouped.setdefault(prefix_of(tag), []).append(tag)
        first = not self.groups
        for prefix in grouped.keys() - self.groups.keys():
            self.groups[prefix] = TagGroup(self.model, prefix)
        order = sorted(self.groups, key=lambda p: (p == NO_PREFIX, p))
        for index, prefix in enumerate(order):
            group = self.groups[prefix]
            self._groups_layout.insertWidget(index, group)
            group.set_tags(grouped.get(prefix, []))
            group.setVisible(prefix in grouped)
        if first and grouped:  # the first group starts unfolded, the others wait
            self.groups[min(grouped, key=lambda p: (p == NO_PREFIX, p))].set_expanded(True)

    def _frame(self) -> None:
        if not self.isVisible():
            self._stale = True
            return
        self.sync()
        self._each(TagGroup.redraw)

    def _each(self, action) -> None:
        if not self.isVisible():
            self._stale = True
            return
        for group in self.groups.values():
            if group.expanded and group.isVisible():
                action(group)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.sync(force=True)
            self._each(lambda g: g.apply_x_axis(self.model.state.x_axis))

    def plots(self) -> dict[str, object]:
        """The charts that exist now, by tag (unfolded groups only)."""
        return {tag: plot for g in self.groups.values() for tag, plot in g.plots.items()}
