"""The sample event as a tree of fields, to find a path and put it in the template.

Filled lazily: a node's children are made when it is first expanded, and a long array shows
its items a page at a time, so a 500-item order opens at once. The filter searches every path
off the GUI thread and lists the matches flat. Double-click or Enter on a node asks for its
path to be inserted (:attr:`SampleTree.insertRequested`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from segment_desktop.core.completion import describe_value
from segment_desktop.core.jsonata_paths import format_path
from segment_desktop.ui.tasks import CancelToken, Debouncer, TaskRunner

__all__ = ["PAGE", "SampleTree", "search_paths"]

#: Children shown per page of a long array (the rest behind a "more" row).
PAGE = 50
#: Most matches the filter lists.
MAX_MATCHES = 60
#: A node's path parts, as JSON text (a Python value in a QVariant would be converted).
_PARTS = Qt.ItemDataRole.UserRole
_MORE = Qt.ItemDataRole.UserRole + 1

Parts = tuple[str | int, ...]


def _children(value: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(value, dict):
        yield from value.items()
    elif isinstance(value, list):
        yield from enumerate(value)


def search_paths(
    document: Any, query: str, token: CancelToken | None = None, limit: int = MAX_MATCHES
) -> list[tuple[Parts, Any]]:
    """Paths whose text or value contains every word of ``query`` (off the GUI thread).

    The path's text is built as the walk goes down, once per node: formatting every path in
    full would cost a 500-item order most of a second, all of it holding the GIL.
    """
    words = query.lower().split()
    found: list[tuple[Parts, Any]] = []
    stack: list[tuple[Parts, str, Any]] = [((), "", document)]
    seen = 0
    while stack and len(found) < limit:
        parts, text, value = stack.pop()
        seen += 1
        if token is not None and seen % 2000 == 0:
            token.raise_if_cancelled()
        if parts:
            haystack = text if isinstance(value, dict | list) else f"{text} {value}".lower()
            if all(w in haystack for w in words):
                found.append((parts, value))
        if isinstance(value, dict):
            for key in reversed(list(value)):
                stack.append(((*parts, key), f"{text}.{key.lower()}", value[key]))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append(((*parts, index), f"{text}[{index}]", value[index]))
    return found


class _Tree(QTreeWidget):
    activatedByKey = Signal(QTreeWidgetItem)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None:
            self.activatedByKey.emit(item)
            return
        super().keyPressEvent(event)


class SampleTree(QWidget):
    """The filter box and the tree.

    Signals:
        insertRequested(object): the user chose a node; its path parts (names and indexes).
    """

    insertRequested = Signal(object)

    def __init__(self, runner: TaskRunner, task_key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._task_key = task_key
        self._document: Any = None
        self.filter = QLineEdit(self)
        self.filter.setObjectName("sampleFilter")
        self.filter.setPlaceholderText("Filter fields (name or value)")
        self.filter.setAccessibleName("Filter sample fields")
        self.filter.setClearButtonEnabled(True)
        self.tree = _Tree(self)
        self.tree.setObjectName("sampleTree")
        self.tree.setAccessibleName("Sample fields")
        self.tree.setAccessibleDescription(
            "The sample event's fields. Enter or double-click puts a field's path in the template."
        )
        self.tree.setHeaderLabels(["Field", "Value"])
        self.tree.setColumnWidth(0, 135)
        self.tree.setUniformRowHeights(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a path's ends say the most
        title = QLabel("&Sample fields", self)
        title.setToolTip("Enter or a double-click puts a field's path in the template.")
        title.setBuddy(self.filter)  # Alt+S: to the filter; Enter or Down: on to the tree
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        self._debounce = Debouncer(150, self)
        self.filter.textChanged.connect(self._debounce.poke)
        self._debounce.triggered.connect(self._apply_filter)
        self.filter.returnPressed.connect(self._focus_tree)
        self.filter.installEventFilter(self)
        self.tree.itemExpanded.connect(self._fill)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._chosen(item))
        self.tree.activatedByKey.connect(self._chosen)

    def set_document(self, document: Any) -> None:
        """Show another sample (the top level at once, the rest when expanded)."""
        self._document = document
        self._apply_filter()

    @staticmethod
    def parts_of(item: QTreeWidgetItem) -> Parts:
        raw = item.data(0, _PARTS)
        return tuple(json.loads(raw)) if isinstance(raw, str) else ()

    def value_at(self, parts: Parts) -> Any:
        value = self._document
        for part in parts:
            value = value[part]
        return value

    def find_item(self, parts: Parts) -> QTreeWidgetItem | None:
        """The node of ``parts``, expanding its ancestors (for keyboard walks and tests)."""
        top = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        items: list[QTreeWidgetItem] = [i for i in top if i is not None]
        for depth in range(1, len(parts) + 1):
            match = next((i for i in items if self.parts_of(i) == parts[:depth]), None)
            if match is None:
                return None
            if depth == len(parts):
                return match
            match.setExpanded(True)
            items = [c for c in (match.child(i) for i in range(match.childCount())) if c]
        return None

    # -- lazy filling -----------------------------------------------------------------------
    def _node(self, parts: Parts, value: Any) -> QTreeWidgetItem:
        key = parts[-1] if parts else ""
        label = f"[{key}]" if isinstance(key, int) else str(key)
        item = QTreeWidgetItem([label, describe_value(value)])
        item.setData(0, _PARTS, json.dumps(parts))
        item.setToolTip(0, format_path(parts))
        if isinstance(value, dict | list) and value:
            item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
        return item

    def _fill(self, item: QTreeWidgetItem, start: int = 0) -> None:
        if item.data(0, _MORE) is not None:
            return
        if item.childCount() and start == 0:
            return  # filled before
        parts = self.parts_of(item)
        value = self.value_at(parts)
        children = list(_children(value))
        item.addChildren([self._node((*parts, k), c) for k, c in children[start : start + PAGE]])
        rest = len(children) - (start + PAGE)
        if rest > 0:
            more = QTreeWidgetItem([f"… {rest} more (Enter to show {min(rest, PAGE)})", ""])
            more.setData(0, _MORE, start + PAGE)
            item.addChild(more)

    def _chosen(self, item: QTreeWidgetItem) -> None:
        more = item.data(0, _MORE)
        if more is not None:
            parent = item.parent()
            if parent is not None:
                parent.removeChild(item)
                self._fill(parent, more)
            return
        parts = self.parts_of(item)
        if parts:
            self.insertRequested.emit(parts)

    # -- filtering --------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        self._debounce.cancel()
        query = self.filter.text().strip()
        document = self._document
        self._runner.cancel(self._task_key)
        if not query or document is None:
            self.tree.clear()
            self.tree.addTopLevelItems([self._node((k,), c) for k, c in _children(document)])
            return

        def work(token: CancelToken) -> list[tuple[Parts, Any]]:
            return search_paths(document, query, token)

        self._runner.submit(self._task_key, work, on_result=self._show_matches)

    def _show_matches(self, matches: list[tuple[Parts, Any]]) -> None:
        self.tree.clear()
        items = [self._node(parts, value) for parts, value in matches]
        for item, (parts, _value) in zip(items, matches, strict=True):
            item.setText(0, format_path(parts))
        self.tree.addTopLevelItems(items)
        if not matches:
            self.tree.addTopLevelItem(QTreeWidgetItem(["No field matches the filter.", ""]))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.filter
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
        ):
            self._focus_tree()
            return True
        return False

    def _focus_tree(self) -> None:
        self.tree.setFocus()
        first = self.tree.topLevelItem(0)
        if self.tree.currentItem() is None and first is not None:
            self.tree.setCurrentItem(first)
