"""The delivery chart: received, sent and failed per minute (last hour) or per hour (last day).

Everything a redraw needs is worked out off the GUI thread (:func:`plot`, called by the
snapshot task): the points, the axes' ranges and the words. The GUI thread then only hands
each line its points in one call and sets what changed, and skips it all while the chart is
hidden or unchanged. The chart itself (and the QtCharts module) is made after the window's
first paint, the first time the chart is shown or asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QDateTime, QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QShowEvent
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QRadioButton, QVBoxLayout, QWidget

from segment_desktop.ui.dashboard.snapshot import Series

if TYPE_CHECKING:  # QtCharts loads with the first chart, after the window's first paint
    from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis

#: Series name → (legend label, colour readable on light and dark backgrounds).
LINES: dict[str, tuple[str, str]] = {
    "received": ("Received from Commerce", "#3b82f6"),
    "sent": ("Sent to Segment", "#22a559"),
    "failed": ("Failed", "#e5484d"),
}
TICKS_X, TICKS_Y = 7, 5


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def axis_top(peak: int) -> int:
    """The y axis' top: a quarter above ``peak``, in four whole ticks of 1, 1.5, 2, 2.5, 3, 4,
    5, 6 or 8 times a power of ten. Steps that coarse change the range (and so the chart's
    layout) rarely while counts grow, and still fill most of the height."""
    need = -(-max(4, -(-peak * 5 // 4)) // (TICKS_Y - 1))  # per tick, rounded up
    scale = 1
    while True:
        for tenths in (10, 15, 20, 25, 30, 40, 50, 60, 80):
            step, rest = divmod(tenths * scale, 10)
            if not rest and step >= need:
                return step * (TICKS_Y - 1)
        scale *= 10


@dataclass(frozen=True)
class Plot:
    """One range of the chart, ready to draw: built by :func:`plot` on any thread."""

    key: tuple[object, ...]
    """Equal keys draw the same picture."""
    points: dict[str, list[QPointF]]
    first: QDateTime
    last: QDateTime
    hourly: bool
    top: int
    totals: dict[str, int]
    words: str


def plot(series: Series) -> Plot:
    """The points, ranges and words of ``series`` (no widget touched: safe off the GUI thread)."""
    half = series.width / 2
    points = {
        name: [
            QPointF((start + half) * 1000.0, float(value))
            for start, value in zip(series.starts, series.counts.get(name, []), strict=False)
        ]
        for name in LINES
    }
    hourly = series.width >= 3600
    top = axis_top(series.peak)
    totals = {n: sum(series.counts.get(n, [])) for n in LINES}
    span = "last day" if hourly else "last hour"
    words = f"Deliveries in the {span}: " + ", ".join(f"{totals[n]} {n}" for n in LINES)
    first = series.starts[0] if series.starts else 0.0
    last = series.starts[-1] + series.width if series.starts else 0.0
    return Plot(
        key=(
            tuple(series.starts),
            series.width,
            tuple(tuple(series.counts.get(n, [])) for n in LINES),
        ),
        points=points,
        first=QDateTime.fromMSecsSinceEpoch(int(first * 1000)),
        last=QDateTime.fromMSecsSinceEpoch(int(last * 1000)),
        hourly=hourly,
        top=top,
        totals=totals,
        words=words,
    )


class DeliveryChart(QWidget):
    """Three lines over time, with a choice of the last hour or the last day.

    ``chart``, ``view``, ``lines``, ``x_axis`` and ``y_axis`` are made on first use.
    """

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
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addLayout(choice)
        # The chart's place until it is made, as tall as the chart will be at least.
        self._place = QWidget(self)
        self._place.setMinimumHeight(self.fontMetrics().height() * 14)
        self._layout.addWidget(self._place, 1)
        self.hour: Series | None = None
        self.day: Series | None = None
        self._plots: dict[bool, Plot] = {}  # hourly → the latest plot of that range
        self._drawn: Plot | None = None  # what the lines and axes show now
        self._parts: tuple[QChart, QChartView, dict[str, QLineSeries], QDateTimeAxis, QValueAxis]
        self._made = False

    # -- made on first use -------------------------------------------------------------------

    @property
    def chart(self) -> QChart:
        return self._make()[0]

    @property
    def view(self) -> QChartView:
        return self._make()[1]

    @property
    def lines(self) -> dict[str, QLineSeries]:
        return self._make()[2]

    @property
    def x_axis(self) -> QDateTimeAxis:
        return self._make()[3]

    @property
    def y_axis(self) -> QValueAxis:
        return self._make()[4]

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._made:
            # One event-loop pass later: the window first paints what it has without it.
            QTimer.singleShot(0, self, self._make_and_draw)  # dropped if the chart goes first
        else:
            self._draw()

    def _make_and_draw(self) -> None:
        if self.isVisible():
            self._make()
            self._draw()

    def _make(
        self,
    ) -> tuple[QChart, QChartView, dict[str, QLineSeries], QDateTimeAxis, QValueAxis]:
        if self._made:
            return self._parts
        from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis

        chart = QChart()
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.legend().setVisible(True)
        chart.setBackgroundVisible(False)
        lines: dict[str, QLineSeries] = {}
        for name, (label, colour) in LINES.items():
            line = QLineSeries()
            line.setName(label)
            pen = QPen(QColor(colour))
            # Received is drawn first and wider: where every event was sent, the two lines
            # coincide and received still shows as a border around sent.
            pen.setWidthF(4.5 if name == "received" else 2.0)
            line.setPen(pen)
            chart.addSeries(line)
            lines[name] = line
        x_axis = QDateTimeAxis()
        x_axis.setFormat("HH:mm")
        x_axis.setTickCount(TICKS_X)
        y_axis = QValueAxis()
        y_axis.setLabelFormat("%d")
        y_axis.setTickCount(TICKS_Y)
        y_axis.setRange(0, 4)
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        for line in lines.values():
            line.attachAxis(x_axis)
            line.attachAxis(y_axis)
        view = QChartView(chart, self)
        view.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.setAccessibleName("Delivery chart")
        view.setMinimumHeight(self._place.minimumHeight())
        self._layout.replaceWidget(self._place, view)
        self._place.deleteLater()
        self._parts = (chart, view, lines, x_axis, y_axis)
        self._made = True
        self._apply_palette()
        self._show_words()
        return self._parts

    # -- data --------------------------------------------------------------------------------

    def show_series(
        self, hour: Series, day: Series, plots: tuple[Plot, Plot] | None = None
    ) -> None:
        """New data (from a snapshot), with its plots when they were made off the GUI thread.
        Only the shown range is drawn, and only while the chart is on screen."""
        self.hour, self.day = hour, day
        hour_plot, day_plot = plots if plots is not None else (plot(hour), plot(day))
        self._plots = {False: hour_plot, True: day_plot}
        self._draw()

    def shown(self) -> Series | None:
        return self.hour if self.hour_button.isChecked() else self.day

    def totals(self) -> dict[str, int]:
        series = self.shown()
        return {n: sum(series.counts[n]) for n in LINES} if series is not None else {}

    def _shown_plot(self) -> Plot | None:
        return self._plots.get(not self.hour_button.isChecked())

    def _show_words(self) -> None:
        shown = self._shown_plot()
        if shown is not None and self._made:
            view = self._parts[1]
            if view.accessibleDescription() != shown.words:
                view.setAccessibleDescription(shown.words)
                view.setToolTip(shown.words.replace("Deliveries in", "In"))

    def _draw(self) -> None:
        shown = self._shown_plot()
        if shown is None or not self._made:
            return
        self._show_words()  # cheap, and what assistive tools read even while hidden
        drawn = self._drawn
        if not self.isVisible() or (drawn is not None and shown.key == drawn.key):
            return
        _, _, lines, x_axis, y_axis = self._parts
        for name, line in lines.items():
            line.replace(shown.points[name])
        if drawn is None or drawn.hourly != shown.hourly:
            x_axis.setFormat("ddd HH:mm" if shown.hourly else "HH:mm")
        if drawn is None or (drawn.first, drawn.last) != (shown.first, shown.last):
            x_axis.setRange(shown.first, shown.last)
        if drawn is None or drawn.top != shown.top:
            y_axis.setRange(0, shown.top)
        self._drawn = shown

    # -- light and dark ----------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        if not self._made:
            return  # made with the palette of the moment
        chart, view, _, x_axis, y_axis = self._parts
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        grid = palette.color(QPalette.ColorRole.Mid)
        chart.legend().setLabelColor(text)
        for axis in (x_axis, y_axis):
            axis.setLabelsColor(text)
            axis.setGridLineColor(grid)
            axis.setLinePenColor(grid)
        view.setBackgroundBrush(palette.color(QPalette.ColorRole.Base))
