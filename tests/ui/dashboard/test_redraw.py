"""What a dashboard refresh changes on screen: only what differs, rows kept with their
selection, the chart drawn when it is on screen and made only after it is first shown."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QGraphicsView, QWidget
from pytestqt.qtbot import QtBot

from segment_desktop.relay.journal import SENT, JournalCall, JournalEntry
from segment_desktop.relay.records import ParkedItem
from segment_desktop.ui.dashboard.chart import DeliveryChart, axis_top
from segment_desktop.ui.dashboard.dashboard import prepare
from segment_desktop.ui.dashboard.delivery_log import DeliveryLog
from segment_desktop.ui.dashboard.needs_me import NeedsMePanel
from segment_desktop.ui.dashboard.snapshot import Hop, Series, Snapshot

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)"),
]

NOW = 1_800_000_000.0


def entry(number: int, answer: str | None = SENT) -> JournalEntry:
    event_id = f"evt-{number}"
    body = {"triggered_by": "order.created", "payload": {"data": {"id": f"order-{number}"}}}
    return JournalEntry(
        event_id,
        "order.created",
        NOW + number,
        json.dumps(body).encode(),
        "queued",
        (JournalCall("order_created", f"msg-{number}", '{"type": "track"}', answer),),
        (),
    )


def newest_first(*numbers: int, waiting: int | None = None) -> list[JournalEntry]:
    return [entry(n, None if n == waiting else SENT) for n in numbers]


def rows_of(log: DeliveryLog) -> list[tuple[str, str]]:
    model = log.model
    return [(model.item(r, 2).text(), model.item(r, 4).text()) for r in range(model.rowCount())]


def test_new_deliveries_are_inserted_above_and_the_selection_stays_on_its_row(
    qtbot: QtBot,
) -> None:
    log = DeliveryLog()
    qtbot.addWidget(log)
    log.show()
    log.show_entries(newest_first(3, 2, 1, waiting=3))
    log.table.selectRow(1)  # evt-2
    assert log.selected() is not None and log.selected().event_id == "evt-2"
    removed: list[int] = []
    log.model.rowsRemoved.connect(lambda _p, first, last: removed.append(last - first + 1))
    resets: list[bool] = []
    log.model.modelReset.connect(lambda: resets.append(True))

    # Two new ones on top, evt-3 delivered meanwhile, evt-1 aged out of the journal.
    log.show_entries(newest_first(5, 4, 3, 2))
    assert rows_of(log) == [
        ("order order-5", "delivered"),
        ("order order-4", "delivered"),
        ("order order-3", "delivered"),
        ("order order-2", "delivered"),
    ]
    assert resets == [] and removed == [1]
    selected = log.selected()
    assert selected is not None and selected.event_id == "evt-2"
    assert '"order-2"' in log.webhook_view.toPlainText()
    assert "4 of 4 recent deliveries" in log.count.text()


def test_a_filter_change_shows_the_matching_rows_and_keeps_the_selected_one(
    qtbot: QtBot,
) -> None:
    log = DeliveryLog()
    qtbot.addWidget(log)
    log.show()
    log.show_entries(newest_first(3, 2, 1, waiting=2))
    log.table.selectRow(1)
    log.result_filter.setCurrentText("waiting")
    assert [e.event_id for e in log.visible()] == ["evt-2"]
    assert rows_of(log) == [("order order-2", "waiting")]
    selected = log.selected()
    assert selected is not None and selected.event_id == "evt-2"
    log.result_filter.setCurrentIndex(0)
    assert [e.event_id for e in log.visible()] == ["evt-3", "evt-2", "evt-1"]


def test_a_hidden_log_keeps_the_deliveries_and_shows_their_rows_when_shown(
    qtbot: QtBot,
) -> None:
    log = DeliveryLog()
    qtbot.addWidget(log)
    log.show_entries(newest_first(2, 1))
    assert [e.event_id for e in log.all] == ["evt-2", "evt-1"]
    assert log.known_events()["evt-1"] == ("order.created", "order order-1")
    assert log.model.rowCount() == 0  # nothing laid out while nobody looks
    log.show()
    assert rows_of(log) == [("order order-2", "delivered"), ("order order-1", "delivered")]
    assert "2 of 2 recent deliveries" in log.count.text()


def parked(number: int) -> ParkedItem:
    return ParkedItem(
        "template_error", f"evt-{number}", "order.cancelled", "order_cancelled", "no event", NOW
    )


def test_new_parked_items_are_appended_and_the_selection_is_kept(qtbot: QtBot) -> None:
    panel = NeedsMePanel()
    qtbot.addWidget(panel)
    panel.show_items([parked(1), parked(2)])
    panel.table.selectRow(0)
    first_cell = panel.table.item(0, 2)
    panel.show_items([parked(1), parked(2), parked(3)])
    assert panel.table.rowCount() == 3
    assert panel.table.item(0, 2) is first_cell  # the rows shown stay as they are
    assert panel.table.cell_text(2, 2) == "order.cancelled evt-3"
    assert panel.event_ids() == ["evt-1"]
    assert panel.summary.text().startswith("0 refused by Segment, 3 template errors")
    panel.show_items([parked(2)])  # a replay took the first and the last away
    assert panel.table.rowCount() == 1 and panel.event_ids() == []


def series(counts: list[int], width: float = 60.0) -> Series:
    starts = [NOW - width * (len(counts) - 1 - i) for i in range(len(counts))]
    return Series(starts, width, {"received": counts, "sent": counts, "failed": [0] * len(counts)})


def snapshot(counts: list[int], deliveries: list[JournalEntry], numbers: str) -> Snapshot:
    hop = Hop("Relay", "ok", "Receiving webhooks.")
    return Snapshot(
        relay=hop,
        segment=hop,
        hour=series(counts),
        day=series(counts[:1], 3600.0),
        deliveries=deliveries,
        numbers=numbers,
    )


def test_a_refresh_carries_only_what_changed() -> None:
    first = prepare(snapshot([0, 1], newest_first(1), "1 event"), None)
    assert first.plots is not None and first.delivery_keys is not None
    assert first.plots[0].totals == {"received": 1, "sent": 1, "failed": 0}
    assert first.plots[0].words == "Deliveries in the last hour: 1 received, 1 sent, 0 failed"

    same = prepare(snapshot([0, 1], newest_first(1), "1 event"), first)
    assert same.plots is None and same.delivery_keys is None and same.parked_rows is None
    assert not same.numbers_changed

    later = prepare(snapshot([0, 3], newest_first(3, 2, 1), "3 events"), same)
    assert later.plots is not None and later.plots[0].top == 4
    assert later.delivery_keys is not None and [k[0] for k in later.delivery_keys] == [
        "evt-3",
        "evt-2",
        "evt-1",
    ]
    assert later.numbers_changed and later.parked_rows is None


def test_the_chart_is_made_once_shown_and_drawn_only_while_on_screen(qtbot: QtBot) -> None:
    chart = DeliveryChart()
    qtbot.addWidget(chart)
    assert chart.findChildren(QGraphicsView) == []  # nothing of QtCharts before it shows
    chart.show_series(series([0, 2, 5]), series([7], 3600.0))
    assert chart.totals() == {"received": 7, "sent": 7, "failed": 0}
    chart.show()
    qtbot.waitUntil(lambda: len(chart.findChildren(QGraphicsView)) == 1)
    received = chart.lines["received"]
    assert [p.y() for p in received.points()] == [0.0, 2.0, 5.0]
    assert chart.y_axis.max() == 8  # 5 and a quarter more, to a multiple of 4

    chart.hide()
    chart.show_series(series([1, 1, 1]), series([3], 3600.0))
    assert [p.y() for p in received.points()] == [0.0, 2.0, 5.0]  # not drawn while hidden
    assert "3 received" in chart.view.accessibleDescription()  # yet what it says is current
    chart.show()
    qtbot.waitUntil(lambda: [p.y() for p in received.points()] == [1.0, 1.0, 1.0])
    chart.day_button.setChecked(True)
    assert [p.y() for p in received.points()] == [3.0]
    assert chart.x_axis.format() == "ddd HH:mm"
    assert chart.totals()["received"] == 3


def test_the_y_axis_has_whole_ticks_headroom_and_few_distinct_tops() -> None:
    tops = {axis_top(peak) for peak in range(5001)}
    for peak in range(5001):
        top = axis_top(peak)
        assert top % 4 == 0 and top * 4 >= peak * 5 and top <= max(8, 2 * peak), peak
    assert len(tops) <= 30  # the chart's layout is redone only when the top moves


def test_a_chart_closed_before_it_was_made_is_left_alone(qtbot: QtBot) -> None:
    import shiboken6

    window = QWidget()
    qtbot.addWidget(window)
    chart = DeliveryChart(window)
    window.show()
    assert chart.isVisible() and chart.findChildren(QGraphicsView) == []
    shiboken6.delete(chart)  # the pass that would make it comes after this
    qtbot.wait(20)  # nothing is made on a deleted chart, and nothing raises
    assert window.findChildren(QGraphicsView) == []
