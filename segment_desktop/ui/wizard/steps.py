"""The wizard's side panel: every step of the setup, the current one marked, done ones ticked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from segment_desktop.core.flow import Step

if TYPE_CHECKING:
    from PySide6.QtGui import QPixmap

TITLES: dict[Step, str] = {
    Step.WELCOME: "Welcome",
    Step.COMMERCE: "Commerce",
    Step.SEGMENT: "Segment",
    Step.CONFIGURATIONS: "Configurations",
    Step.TEMPLATES: "Templates",
    Step.FINISH: "Finish",
}
ICON_SIZE = 20
DONE, CURRENT, AHEAD = "done", "current", "ahead"


_drawn: dict[tuple[str, int, int, int, float], QPixmap] = {}


def state_icon(state: str, palette: QPalette, ratio: float = 1.0) -> QPixmap:
    """:func:`draw_state_icon`, drawn once per state, palette and scale."""
    key = (
        state,
        palette.color(QPalette.ColorRole.Highlight).rgba(),
        palette.color(QPalette.ColorRole.HighlightedText).rgba(),
        palette.color(QPalette.ColorRole.PlaceholderText).rgba(),
        ratio,
    )
    if key not in _drawn:
        _drawn[key] = draw_state_icon(state, palette, ratio)
    return _drawn[key]


def draw_state_icon(state: str, palette: QPalette, ratio: float = 1.0) -> QPixmap:
    """A round marker drawn from the palette, so it suits light and dark themes alike: a
    filled circle with a tick (done), a thick ring with a dot (current), a thin ring (ahead).

    Drawn once the first window is on screen; what draws them is imported only then.
    """
    from PySide6.QtCore import QPointF, QRectF
    from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap

    side = round(ICON_SIZE * ratio)
    pixmap = QPixmap(side, side)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(QColor(0, 0, 0, 0))
    accent = palette.color(QPalette.ColorRole.Highlight)
    muted = palette.color(QPalette.ColorRole.PlaceholderText)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    box = QRectF(2, 2, ICON_SIZE - 4, ICON_SIZE - 4)
    if state == DONE:
        painter.setPen(QPen(accent, 1))
        painter.setBrush(QBrush(accent))
        painter.drawEllipse(box)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.HighlightedText), 2.2))
        painter.drawPolyline([QPointF(6, 10.5), QPointF(9, 13.5), QPointF(14.5, 7)])
    elif state == CURRENT:
        painter.setPen(QPen(accent, 2.5))
        painter.setBrush(QBrush())
        painter.drawEllipse(box.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.setPen(QPen(accent, 1))
        painter.setBrush(QBrush(accent))
        painter.drawEllipse(box.center(), 3.5, 3.5)
    else:
        painter.setPen(QPen(muted, 1.5))
        painter.setBrush(QBrush())
        painter.drawEllipse(box)
    painter.end()
    return pixmap


class StepRow(QWidget):
    """One step: its marker and its name."""

    def __init__(self, step: Step, number: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = step
        self.number = number
        self.state = AHEAD
        self.icon = QLabel(self)
        self.icon.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.label = QLabel(TITLES[step], self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 6)
        layout.setSpacing(10)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)

    def set_state(self, state: str, *, icon: bool = True) -> None:
        self.state = state
        if icon:
            self.icon.setPixmap(state_icon(state, self.palette(), self.devicePixelRatioF()))
        font = QFont(self.label.font())
        font.setBold(state == CURRENT)
        self.label.setFont(font)
        role = (
            QPalette.ColorRole.PlaceholderText if state == AHEAD else QPalette.ColorRole.WindowText
        )
        self.label.setForegroundRole(role)
        words = {DONE: "done", CURRENT: "current step", AHEAD: "not yet"}[state]
        self.setAccessibleName(f"Step {self.number}, {TITLES[self.step]}: {words}")


class StepList(QWidget):
    """The steps of this setup (Templates only when the studio is there), top to bottom."""

    def __init__(self, steps: Sequence[Step], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setupSteps")
        self.setAccessibleName("Setup steps")
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.setMinimumWidth(180)
        layout = QVBoxLayout(self)
        self._layout = layout
        layout.setContentsMargins(16, 20, 16, 20)
        layout.setSpacing(2)
        self.heading = QLabel("Setup", self)
        font = QFont(self.heading.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.heading.setFont(font)
        layout.addWidget(self.heading)
        layout.addSpacing(8)
        #: Markers are drawn once the first window is on screen (:meth:`show_icons`): the first
        #: painting in a process costs more than the rest of this list.
        self.icons = False
        self.rows: dict[Step, StepRow] = {}
        for number, step in enumerate(steps, start=1):
            row = StepRow(step, number, self)
            self.rows[step] = row
            layout.addWidget(row)
        layout.addStretch(1)
        self.show_current(steps[0])

    def set_compact(self, compact: bool) -> None:
        """Markers only (their names in tooltips), for a page that needs the width."""
        margin = 4 if compact else 16
        self._layout.setContentsMargins(margin, 20, margin, 20)
        self.setMinimumWidth(0 if compact else 180)
        self.heading.setVisible(not compact)
        for row in self.rows.values():
            row.label.setVisible(not compact)
            row.setToolTip(TITLES[row.step] if compact else "")

    def show_current(self, current: Step) -> None:
        """Mark ``current``; the steps before it are done (the wizard only moves on from a
        complete page)."""
        for step, row in self.rows.items():
            state = DONE if step < current else CURRENT if step == current else AHEAD
            row.set_state(state, icon=self.icons)

    def show_icons(self) -> None:
        self.icons = True
        for row in self.rows.values():
            row.set_state(row.state)

    def current(self) -> Step | None:
        return next((s for s, r in self.rows.items() if r.state == CURRENT), None)
