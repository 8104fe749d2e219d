"""The pipeline header: Commerce store → relay → Segment source, a status light for each hop."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from segment_desktop.ui.dashboard.snapshot import DEGRADED, FAILING, OK, UNKNOWN, Hop

#: Light colours chosen to read on light and dark backgrounds alike; the state is always also
#: written out, so colour is never the only cue.
COLOURS = {
    OK: QColor("#2e9d4f"),
    DEGRADED: QColor("#d99a00"),
    FAILING: QColor("#d64040"),
    UNKNOWN: QColor("#8a8f98"),
}
STATE_WORDS = {OK: "OK", DEGRADED: "Degraded", FAILING: "Failing", UNKNOWN: "Unknown"}


def when(moment: float | None, now: float | None = None) -> str:
    """``last success 14:02:11`` (local time), or that there was none yet."""
    if moment is None:
        return "no success yet"
    stamp = dt.datetime.fromtimestamp(moment).astimezone()
    today = dt.datetime.now().astimezone().date()
    text = stamp.strftime("%H:%M:%S") if stamp.date() == today else stamp.strftime("%d %b %H:%M")
    return f"last success {text}"


class StatusLight(QLabel):
    """A filled circle in the state's colour (sized by the font, so it scales with DPI),
    drawn in the middle of the height its row gives it.

    The circle is a pixmap, drawn once for each state, size and pixel ratio, that the label
    paints: a repaint of the header runs no Python, whose every ``paintEvent`` would take the
    GIL from the relay's threads in this process (and wait for it).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = UNKNOWN
        self._drawn: tuple[str, int, float] | None = None
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.set_state(UNKNOWN)

    def set_state(self, state: str) -> None:
        """Show ``state`` (also after the font or the screen's pixel ratio changed)."""
        drawn = (state, self.fontMetrics().height(), self.devicePixelRatioF())
        self.state = state
        if drawn != self._drawn:
            self._drawn = drawn
            self.setPixmap(_light(*drawn))


_LIGHTS: dict[tuple[str, int, float], QPixmap] = {}


def _light(state: str, side: int, ratio: float) -> QPixmap:
    """The light for ``state``: a ``side`` square (in device-independent pixels), the circle
    one pixel inside its edges, filled and stroked as a path with the brush taken from a
    palette (the shorter ways, setPen and setBrush with a colour, go through overloads that
    make PySide build the whole Qt namespace, and this is drawn before the first window is
    shown)."""
    key = (state, side, ratio)
    if key not in _LIGHTS:
        pixels = max(1, round(side * ratio))
        image = QImage(pixels, pixels, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        circle = QPainterPath()
        circle.addEllipse(QRectF(1, 1, side - 2, side - 2))
        fill = QPalette()
        fill.setColor(QPalette.ColorRole.Window, COLOURS[state])
        outline = QPen()
        outline.setColor(COLOURS[state].darker(130))
        painter = QPainter(image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        painter.eraseRect(QRectF(0, 0, side, side))  # transparent around the circle
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillPath(circle, fill.brush(QPalette.ColorRole.Window))
        painter.strokePath(circle, outline)
        painter.end()
        _LIGHTS[key] = QPixmap.fromImage(image)
    return _LIGHTS[key]


class HopView(QFrame):
    """One hop: light, title and state, what it means, last success.

    Built before the first paint, so its constructor names nothing in the ``Qt`` namespace
    (PySide builds that namespace's enums on first use, which takes longer than drawing
    the window). Its first texts are our own; the labels become plain-text-only with the
    first hop shown after that, whose words come from elsewhere.
    """

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.light = StatusLight(self)
        self.title = QLabel(self)
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        self.words = QLabel(self)
        self.words.setWordWrap(True)
        self.since = QLabel(self)
        self.since.setEnabled(False)  # the palette's muted text, in either theme
        self._plain = False
        top = QHBoxLayout()
        top.addWidget(self.light)
        top.addWidget(self.title, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.words)
        layout.addWidget(self.since)
        layout.addStretch(1)
        self.hop = Hop(title, UNKNOWN, "")
        self._show(self.hop)

    def show_hop(self, hop: Hop) -> None:
        self.light.set_state(hop.state)  # redrawn only if it changed, or the screen did
        if hop == self.hop:
            return
        if not self._plain:
            from PySide6.QtCore import Qt

            self._plain = True
            for label in (self.title, self.words, self.since):
                label.setTextFormat(Qt.TextFormat.PlainText)
        self._show(hop)

    def _show(self, hop: Hop) -> None:
        self.hop = hop
        self.light.set_state(hop.state)
        self.title.setText(f"{hop.title}: {STATE_WORDS[hop.state]}")
        self.words.setText(hop.words)
        since = when(hop.last_success) if hop.seen_here else "last success: not seen from here"
        self.since.setText(since)
        self.setAccessibleName(f"{hop.title}: {STATE_WORDS[hop.state]}")
        self.setAccessibleDescription(f"{hop.words} ({since})")


class PipelineHeader(QWidget):
    """Commerce store → relay (or queue) → Segment source."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Pipeline")
        self.commerce = HopView("Commerce store", self)
        self.relay = HopView("Relay", self)
        self.segment = HopView("Segment source", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for index, hop in enumerate((self.commerce, self.relay, self.segment)):
            if index:
                arrow = QLabel("→", self)
                arrow.setAccessibleName("then")
                layout.addWidget(arrow)
            layout.addWidget(hop, 1)

    def hops(self) -> list[HopView]:
        return [self.commerce, self.relay, self.segment]
