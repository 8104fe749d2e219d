"""The live dashboard: pipeline header, delivery chart, what needs me and the delivery log, kept
fresh from one snapshot a second gathered off the GUI thread."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGroupBox, QVBoxLayout, QWidget

from segment_desktop.core.config import Config
from segment_desktop.ui.dashboard import actions
from segment_desktop.ui.dashboard.chart import DeliveryChart, Plot, plot
from segment_desktop.ui.dashboard.delivery_log import DeliveryLog, RowKey, row_key
from segment_desktop.ui.dashboard.needs_me import NeedsMePanel, item_rows
from segment_desktop.ui.dashboard.pipeline import PipelineHeader
from segment_desktop.ui.dashboard.snapshot import DEGRADED, FAILING, OK, Hop, Snapshot, collect
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.widgets.dialogs import Dialogs, QtDialogs
from segment_desktop.ui.widgets.relay_status import RelayStatusPanel

SNAPSHOT_TASK = "dashboard.snapshot"
ACTION_TASK = "dashboard.action"
OPEN_TASK = "dashboard.open"
REFRESH_MS = 1000


@dataclass(frozen=True)
class View:
    """A snapshot and, for each part that changed since the view before, what to draw
    (``None``: unchanged)."""

    snapshot: Snapshot
    plots: tuple[Plot, Plot] | None
    numbers_changed: bool
    parked_rows: list[list[str]] | None
    delivery_keys: tuple[RowKey, ...] | None
    seen: tuple[tuple[RowKey, ...], list[tuple[str, ...]]] = ((), [])
    """The deliveries' and the parked items' keys, whether or not they changed."""


def prepare(snapshot: Snapshot, before: View | None) -> View:
    """Work out what changed since ``before`` and how to draw it: the chart's points and
    words, the rows of what needs me, the delivery log's keys. Runs in the snapshot task, so
    the GUI thread only copies ready values (and skips what did not change)."""
    old = before.snapshot if before is not None else None
    keys = tuple(row_key(e) for e in snapshot.deliveries)
    parked: list[tuple[str, ...]] = [
        (i.kind, i.event_id, i.template_key, i.reason) for i in snapshot.parked
    ]
    old_keys, old_parked = before.seen if before is not None else ((), [])
    changed_series = old is None or (old.hour, old.day) != (snapshot.hour, snapshot.day)
    return View(
        snapshot,
        plots=(plot(snapshot.hour), plot(snapshot.day)) if changed_series else None,
        numbers_changed=old is None or old.numbers != snapshot.numbers,
        parked_rows=item_rows(snapshot.parked) if old is None or parked != old_parked else None,
        delivery_keys=keys if old is None or keys != old_keys else None,
        seen=(keys, parked),
    )


_frozen = False


def _freeze_start_up() -> None:
    """Once the dashboard shows its first snapshot, start-up is over (its modules, widgets and
    the relay's lazily loaded modules are in memory for good): moving them out of the
    collector's sight keeps a full collection, which holds the GIL and so stalls the GUI
    thread too, down to the objects made since."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


class Dashboard(QWidget):
    """The overview (chart, relay numbers, what needs me); the pipeline header and the
    delivery log are parts the main window places itself.

    Signals:
        refreshed(object): a new :class:`Snapshot` is on the screen.
        openInStudio(str, object): a template key and the Commerce event to edit it on.
        message(str): a sentence for the status bar.
    """

    refreshed = Signal(object)
    openInStudio = Signal(str, object)
    message = Signal(str)

    def __init__(
        self,
        services: Any,
        tasks: TaskRunner,
        config: Callable[[], Config],
        pipeline: PipelineHeader,
        parent: QWidget | None = None,
        *,
        dialogs: Dialogs | None = None,
    ) -> None:
        """``pipeline``: the header the window shows above its tabs (built before the rest)."""
        super().__init__(parent)
        self.dialogs: Dialogs = dialogs or QtDialogs()
        self.services = services
        self.tasks = tasks
        self.config = config
        self.snapshot: Snapshot | None = None
        self._view: View | None = None  # what is on the screen, as the task prepared it
        self._subjects: dict[str, str] = {}  # filled by the snapshot task only
        self._commerce = Hop("Commerce store", "unknown", "Reading the integrations…")

        self.pipeline = pipeline
        self.chart = DeliveryChart(self)
        self.relay_numbers = RelayStatusPanel(self)
        self.needs_me = NeedsMePanel(self)
        self.log = DeliveryLog()
        self.needs_me.replayRequested.connect(self.replay)
        self.needs_me.discardRequested.connect(self.discard)
        self.needs_me.openRequested.connect(
            lambda item: self.open_event(item.event_id, item.template_key)
        )
        self.log.openRequested.connect(self._open_delivery)

        chart_box = QGroupBox("Activity", self)
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.addWidget(self.chart, 1)
        chart_layout.addWidget(self.relay_numbers)
        needs_box = QGroupBox("What needs me", self)
        QVBoxLayout(needs_box).addWidget(self.needs_me)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(chart_box, 3)
        layout.addWidget(needs_box, 2)
        # A few rows are enough to see what needs you; the chart takes the rest.
        self.needs_me.table.setMaximumHeight(self.fontMetrics().height() * 12)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    # -- refreshing --------------------------------------------------------------------------

    def start(self) -> None:
        self.refresh()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def refresh(self) -> None:
        """Gather a snapshot off the GUI thread (skipped while one is being gathered)."""
        if self.tasks.is_busy(SNAPSHOT_TASK):
            return
        services, subjects, config = self.services, self._subjects, self.config()
        before = self._view
        self.tasks.submit(
            SNAPSHOT_TASK,
            lambda _t: prepare(collect(services, subjects=subjects, config=config), before),
            on_result=self._show,
            on_error=lambda err: self.relay_numbers.summary.setText(f"Relay status: {err}"),
        )

    def _show(self, view: View | Snapshot) -> None:
        """Copy what changed onto the screen: the task worked out what and how."""
        if isinstance(view, Snapshot):
            view = prepare(view, self._view)
        snapshot = view.snapshot
        self.snapshot, self._view = snapshot, view
        self.pipeline.relay.show_hop(snapshot.relay)
        self.pipeline.segment.show_hop(snapshot.segment)
        self._show_commerce()
        if view.plots is not None:
            self.chart.show_series(snapshot.hour, snapshot.day, view.plots)
        if view.numbers_changed:
            self.relay_numbers.show_text(snapshot.numbers)
        if view.parked_rows is not None:
            self.needs_me.show_items(snapshot.parked, view.parked_rows)
        if view.delivery_keys is not None:
            self.log.show_entries(snapshot.deliveries, snapshot.subjects, view.delivery_keys)
        self.refreshed.emit(snapshot)
        _freeze_start_up()

    def commerce_listed(self, integrations: list[dict[str, Any]]) -> None:
        """The integrations panel read our integrations at Commerce."""
        if not integrations:
            self._commerce = Hop(
                "Commerce store", FAILING, "No integration is registered: use Re-register."
            )
        else:
            off = [i for i in integrations if not i.get("enabled")]
            if off:
                self._commerce = Hop(
                    "Commerce store",
                    DEGRADED,
                    f"{len(off)} of {len(integrations)} integrations are disabled.",
                )
            else:
                noun = "integration" if len(integrations) == 1 else "integrations"
                self._commerce = Hop(
                    "Commerce store", OK, f"{len(integrations)} {noun} deliver events."
                )
        self._show_commerce()

    def commerce_failed(self, error: str) -> None:
        self._commerce = Hop("Commerce store", FAILING, error)
        self._show_commerce()

    def _show_commerce(self) -> None:
        snapshot = self.snapshot
        last = snapshot.last_webhook if snapshot is not None else None
        local = snapshot is None or snapshot.local
        hop = self._commerce
        self.pipeline.commerce.show_hop(Hop(hop.title, hop.state, hop.words, last, local))

    # -- actions -----------------------------------------------------------------------------

    def _act(self, text: str, work: Callable[[], str]) -> None:
        self.needs_me.set_busy(True)
        self.needs_me.message.show_hint(text)

        def done(summary: str) -> None:
            self.needs_me.set_busy(False)
            self.needs_me.message.show_ok(summary)
            self.message.emit(summary)
            self.refresh()

        def failed(error: BaseException) -> None:
            self.needs_me.set_busy(False)
            self.needs_me.message.show_error(str(error))

        self.tasks.submit(ACTION_TASK, lambda _t: work(), on_result=done, on_error=failed)

    def replay(self, event_ids: list[str]) -> None:
        config = self.config()
        services = self.services
        self._act(
            "Replaying with the saved templates…",
            lambda: actions.replay(services, config, event_ids or None),
        )

    def discard(self, event_ids: list[str]) -> None:
        if not event_ids:
            return
        services = self.services
        noun = "this event's" if len(event_ids) == 1 else f"these {len(event_ids)} events'"

        def answered(yes: bool) -> None:
            if yes:
                self._act("Discarding…", lambda: actions.discard(services, event_ids))

        self.dialogs.ask_later(
            self,
            "Discard parked work?",
            f"Delete {noun} refused calls and template errors? They will never reach Segment, "
            "and the webhook kept for them is deleted.\n\n" + "\n".join(event_ids),
            "Discard",
            safe="Cancel",
            answered=answered,
        )

    def _open_delivery(self, entry: Any) -> None:
        key = (
            entry.template_errors[0][0]
            if entry.template_errors
            else entry.calls[0].template_key
            if entry.calls
            else ""
        )
        self.open_event(entry.event_id, key)

    def open_event(self, event_id: str, template_key: str) -> None:
        """Open ``template_key`` in the studio with this Commerce event as the sample."""
        services = self.services
        deliveries = list(self.snapshot.deliveries) if self.snapshot is not None else []
        self.tasks.submit(
            OPEN_TASK,
            lambda _t: actions.event_for(services, event_id, deliveries),
            on_result=lambda event: self.openInStudio.emit(template_key, event),
            on_error=lambda err: self.needs_me.message.show_error(str(err)),
        )
