"""Keeping top-level windows inside the screen's available area (no edge past the screen)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QWidget

#: What a window assumes when Qt knows no screen (it then never moves it).
FALLBACK = QRect(0, 0, 1280, 800)


def available(window: QWidget) -> QRect:
    screen = window.screen()
    return screen.availableGeometry() if screen is not None else FALLBACK


def keep_inside_screen(window: QWidget) -> None:
    """Shrink ``window`` to the screen's available area (frame included) and move it back
    inside when an edge reaches past it; a window already inside is left where it is."""
    area = available(window)
    extra = window.frameGeometry().size() - window.geometry().size()
    width = min(window.width(), area.width() - extra.width())
    height = min(window.height(), area.height() - extra.height())
    if (width, height) != (window.width(), window.height()):
        window.setMinimumSize(
            min(window.minimumWidth(), width), min(window.minimumHeight(), height)
        )
        window.resize(width, height)
    frame = window.frameGeometry()
    x = min(max(frame.left(), area.left()), area.right() - frame.width() + 1)
    y = min(max(frame.top(), area.top()), area.bottom() - frame.height() + 1)
    if QPoint(x, y) != frame.topLeft():
        window.move(x, y)
