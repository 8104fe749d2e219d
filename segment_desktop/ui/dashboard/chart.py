"""The delivery chart: received, sent and failed per minute (last hour) or per hour (last day).

The series are computed off the GUI thread (:mod:`.snapshot`); here they only replace the
points of three line series in one call each, which keeps a redraw short on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import QDateTime, QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QRadioButton, QVBoxLayout, QWidget

from segment_desktop.ui.dashboard.snapshot import Series

#: Series name → (legend label, colour readable on light and dark backgrounds).
LINES: dict[str, tuple[str, str]] = {
    "received": ("Received from Commerce", "#3b82f6"),
    "sent": ("Sent to Segment", "#22a559"),
    "failed": ("Failed", "#e5484d"),
}


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class DeliveryChart(QWidget):
    """Three lines over time, with a choice of the last hour or the last day."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hour_button = QRadioButton("Last &hour (per minute)", self)
        self.day_button = QRadioButton("Last da&y (per hour)", self)
        self.hour_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.hour_button)
        group.addButton(self.day_button)
        self.hour_button.toggled.connect(lambda _on: self._draw())
        choice = QHBoxLayout()
        choice.addWidget(self.hour_button)
        choice.addWidget(self.day_button)
        choice.addStretch(1)

        self.chart = QChart()
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.legend().setVisible(True)
        self.chart.setBackgroundVisible(False)
        self.lines: dict[str, QLineSeries] = {}
        for name, (label, colour) in LINES.items():
            line = QLineSeries()
            line.setName(label)
            pen = QPen(QColor(colour))
            # Received is drawn first and wider: where every event was sent, the two lines
            # coincide and received still shows as a border around sent.
            pen.setWidthF(4.5 if name == "received" else 2.0)
            line.setPen(pen)
            self.chart.addSeries(line)
            self.lines[name] = line
        self.x_axis = QDateTimeAxis()
        self.y_axis = QValueAxis()
        self.y_axis.setLabelFormat("%d")
        self.y_axis.setMin(0)
        self.chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        for line in self.lines.values():
            line.attachAxis(self.x_axis)
            line.attachAxis(self.y_axis)
        self.view = QChartView(self.chart, self)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setAccessibleName("Delivery chart")
        self.view.setMinimumHeight(self.fontMetrics().height() * 14)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(choice)
        layout.addWidget(self.view, 1)
        self.hour: Series | None = None
        self.day: Series | None = None
        self._apply_palette()

    def show_series(self, hour: Series, day: Series) -> None:
        """New data (from a snapshot); only the shown range is drawn."""
        self.hour, self.day = hour, day
        self._draw()

    def shown(self) -> Series | None:
        return self.hour if self.hour_button.isChecked() else self.day

    def totals(self) -> dict[str, int]:
        series = self.shown()
        return {n: sum(series.counts[n]) for n in LINES} if series is not None else {}

    def _draw(self) -> None:
        series = self.shown()
        if series is None or not series.starts:
            return
        for name, line in self.lines.items():
            values = series.counts.get(name, [])
            line.replace(
                [
                    QPointF((start + series.width / 2) * 1000.0, float(value))
                    for start, value in zip(series.starts, values, strict=False)
                ]
            )
        hourly = series.width >= 3600
        self.x_axis.setFormat("HH:mm" if not hourly else "ddd HH:mm")
        self.x_axis.setTickCount(7)
        first = series.starts[0] * 1000.0
        last = (series.starts[-1] + series.width) * 1000.0
        self.x_axis.setRange(
            QDateTime.fromMSecsSinceEpoch(int(first)), QDateTime.fromMSecsSinceEpoch(int(last))
        )
        # Whole numbers on every tick: the top is a multiple of the four intervals.
        top = max(4, -(-series.peak * 5 // 4))
        top = -(-top // 4) * 4
        self.y_axis.setRange(0, top)
        self.y_axis.setTickCount(5)
        span = "last hour" if not hourly else "last day"
        totals = ", ".join(f"{sum(series.counts[n])} {n}" for n in LINES)
        self.view.setAccessibleDescription(f"Deliveries in the {span}: {totals}")
        self.view.setToolTip(f"In the {span}: {totals}")

    # -- light and dark ----------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        grid = palette.color(QPalette.ColorRole.Mid)
        self.chart.legend().setLabelColor(text)
        for axis in (self.x_axis, self.y_axis):
            axis.setLabelsColor(text)
            axis.setGridLineColor(grid)
            axis.setLinePenColor(grid)
        self.view.setBackgroundBrush(palette.color(QPalette.ColorRole.Base))
