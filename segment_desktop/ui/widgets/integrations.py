"""The registered integrations and their delivery history (Commerce's logs, paged)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.config import Config
from segment_desktop.services import Services
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.widgets.busy import BusyBar
from segment_desktop.ui.widgets.dialogs import Dialogs, QtDialogs
from segment_desktop.ui.widgets.fields import MessageLabel, button_named
from segment_desktop.ui.widgets.tables import ReadOnlyTable

LIST_TASK = "main.integrations"
ACTION_TASK = "main.integration-action"
LOGS_TASK = "main.logs"
LOG_PAGE_SIZE = 20


def _relay_answer(entry: dict[str, Any]) -> dict[str, Any]:
    """The relay's JSON answer to this attempt (Commerce logs the receiver's response body)."""
    try:
        answer = json.loads(str(entry.get("body") or ""))
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _said(answer: dict[str, Any]) -> str:
    status = answer.get("status")
    if status == "queued":
        calls = int(answer.get("calls") or 0)
        return f"relay queued {calls} call{'' if calls == 1 else 's'}"
    if status == "template_error":
        failed = ", ".join(str(t) for t in answer.get("failed_templates") or [])
        return f"relay could not render it: template error in {failed}"
    if status == "ignored":
        return "no enabled template tracks it"
    if status == "duplicate":
        return "already received (a retry)"
    return str(answer.get("error") or "")


def log_row(entry: dict[str, Any], events: Mapping[str, tuple[str, str]]) -> list[str]:
    """A delivery log row; ``events`` maps a Commerce event id to (event name, subject)."""
    created = str(entry.get("meta", {}).get("timestamps", {}).get("created_at", ""))
    outcome = "delivered" if entry.get("succeeded") else "failed"
    status = entry.get("status_code")
    answer = _relay_answer(entry)
    event_id = str(answer.get("event_id") or "")
    name, subject = events.get(event_id, ("", ""))
    what = " · ".join(p for p in (name or (f"event {event_id}" if event_id else ""), subject) if p)
    said = _said(answer) or str(entry.get("error_detail") or "")
    return [
        created.replace("T", " ")[:19],
        str(entry.get("attempt", "")),
        outcome,
        "" if status in (None, 0) else str(status),
        " — ".join(p for p in (what, said) if p),
    ]


class IntegrationsPanel(QWidget):
    """Our integrations at Commerce with Enable/Disable/Delete/Re-register, and the selected
    one's delivery logs with paging. Every call runs off the GUI thread.

    Signals:
        configChanged(object): an action changed the saved settings (e.g. an id forgotten).
        listed(list): our integrations as Commerce has them now.
        listFailed(str): reading them failed (the message says why).
    """

    configChanged = Signal(object)
    listed = Signal(list)
    listFailed = Signal(str)

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        config: Callable[[], Config],
        parent: QWidget | None = None,
        events: Callable[[], Mapping[str, tuple[str, str]]] = dict,
        *,
        dialogs: Dialogs | None = None,
    ) -> None:
        """``events``: Commerce event id → (event name, order or customer), for the log's
        Detail column (the relay in this process knows them)."""
        super().__init__(parent)
        self.services = services
        self.dialogs: Dialogs = dialogs or QtDialogs()
        self.tasks = tasks
        self.config = config
        self.events = events
        self.integrations: list[dict[str, Any]] = []
        self.log_offset = 0
        self.next_offset: int | None = None

        box = QGroupBox("Integrations", self)
        self.table = ReadOnlyTable(
            ["Name", "Enabled", "Events", "Delivers to"], "Registered integrations", box
        )
        self.table.itemSelectionChanged.connect(self._selected)
        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("&Refresh", box)
        self.enable_button = QPushButton("&Enable", box)
        self.disable_button = QPushButton("Dis&able", box)
        self.delete_button = QPushButton("De&lete…", box)
        self.reregister_button = QPushButton("Re-re&gister", box)
        for button in (
            self.refresh_button,
            self.enable_button,
            self.disable_button,
            self.delete_button,
            self.reregister_button,
        ):
            button_named(button)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.refresh_button.clicked.connect(lambda: self.refresh())
        self.enable_button.clicked.connect(lambda: self._set_enabled(True))
        self.disable_button.clicked.connect(lambda: self._set_enabled(False))
        self.delete_button.clicked.connect(self._delete)
        self.reregister_button.clicked.connect(self._reregister)
        self.reregister_button.setToolTip(
            "Register the integrations again from the saved settings (fixes changes made in "
            "Commerce Manager)."
        )
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(self.table)
        box_layout.addLayout(buttons)

        logs = QGroupBox("Delivery log", self)
        self.logs_table = ReadOnlyTable(
            ["Time (UTC)", "Attempt", "Result", "Status", "Detail"], "Delivery log", logs
        )
        paging = QHBoxLayout()
        self.newer_button = QPushButton("◀ &Newer", logs)
        self.older_button = QPushButton("&Older ▶", logs)
        self.newer_button.setAccessibleName("Newer")
        self.older_button.setAccessibleName("Older")
        self.page_label = QLabel(logs)
        paging.addWidget(self.newer_button)
        paging.addWidget(self.page_label, 1)
        paging.addWidget(self.older_button)
        self.newer_button.clicked.connect(
            lambda: self.load_logs(max(0, self.log_offset - LOG_PAGE_SIZE))
        )
        self.older_button.clicked.connect(
            lambda: self.load_logs(self.next_offset or self.log_offset)
        )
        logs_layout = QVBoxLayout(logs)
        logs_layout.addWidget(self.logs_table)
        logs_layout.addLayout(paging)

        self.busy = BusyBar(self)
        self.busy.cancelRequested.connect(self._cancel)
        self.message = MessageLabel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box, 3)
        layout.addWidget(logs, 4)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        self._update_buttons()

    # -- state -------------------------------------------------------------------------------

    def selected(self) -> dict[str, Any] | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.integrations):
            return None
        return self.integrations[rows[0].row()]

    def _update_buttons(self) -> None:
        chosen = self.selected()
        busy = self.tasks.is_busy(ACTION_TASK)
        enabled = bool(chosen.get("enabled")) if chosen is not None else None
        self.enable_button.setEnabled(enabled is False and not busy)
        self.disable_button.setEnabled(enabled is True and not busy)
        self.delete_button.setEnabled(chosen is not None and not busy)
        self.reregister_button.setEnabled(not busy)
        self.newer_button.setEnabled(chosen is not None and self.log_offset > 0)
        self.older_button.setEnabled(chosen is not None and self.next_offset is not None)

    def _start(self, text: str, *, clear: bool = True) -> None:
        if clear:
            self.message.clear_message()
        self.busy.start(text)

    def _cancel(self) -> None:
        for key in (LIST_TASK, ACTION_TASK, LOGS_TASK):
            self.tasks.cancel(key)
        self.busy.stop()
        self._update_buttons()

    def _error(self, error: BaseException) -> None:
        self.busy.stop()
        self.message.show_error(str(error))
        self._update_buttons()

    # -- integrations ------------------------------------------------------------------------

    def refresh(self, *, clear: bool = True) -> None:
        """Read our integrations again (``clear=False`` keeps the last action's message)."""
        config = self.config()
        self._start("Reading the integrations from Commerce…", clear=clear)
        self.tasks.submit(
            LIST_TASK,
            lambda _t: self.services.list_integrations(config),
            on_result=self._show_integrations,
            on_error=self._list_failed,
        )

    def _list_failed(self, error: BaseException) -> None:
        self._error(error)
        self.listFailed.emit(str(error))

    def _show_integrations(self, integrations: list[dict[str, Any]]) -> None:
        self.busy.stop()
        previous = self.selected()
        self.integrations = integrations
        self.table.set_rows(
            [
                [
                    str(i.get("name", "")),
                    "yes" if i.get("enabled") else "no",
                    ", ".join(i.get("observes") or []),
                    str((i.get("configuration") or {}).get("url", "")),
                ]
                for i in integrations
            ]
        )
        if not integrations:
            self.message.show_hint("No integrations are registered. Use Re-register.")
        keep = next(
            (n for n, i in enumerate(integrations) if previous and i.get("id") == previous["id"]),
            0 if integrations else None,
        )
        if keep is not None:
            self.table.blockSignals(True)  # one log read below, not a second one for the signal
            self.table.selectRow(keep)
            self.table.blockSignals(False)
            same = previous is not None and previous["id"] == integrations[keep].get("id")
            self.load_logs(self.log_offset if same else 0)
        else:
            self.logs_table.set_rows([])
            self.page_label.setText("")
        self._update_buttons()
        self.listed.emit(integrations)

    def _selected(self) -> None:
        self.log_offset = 0
        self.next_offset = None
        self.logs_table.set_rows([])
        self._update_buttons()
        if self.selected() is not None:
            self.load_logs(0)

    def _action(self, text: str, work: Callable[[], object], done: str) -> None:
        self._start(text)
        self._update_buttons()

        def finished(result: object) -> None:
            self.busy.stop()
            if isinstance(result, Config):
                self.configChanged.emit(result)
            self.message.show_ok(done)
            self.refresh(clear=False)

        self.tasks.submit(ACTION_TASK, lambda _t: work(), on_result=finished, on_error=self._error)

    def _set_enabled(self, enabled: bool) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        config = self.config()
        verb = "Enabling" if enabled else "Disabling"
        self._action(
            f"{verb} {chosen.get('name')}…",
            lambda: self.services.set_enabled(config, str(chosen["id"]), enabled),
            f"{chosen.get('name')} is {'enabled' if enabled else 'disabled'}.",
        )

    def _delete(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        config = self.config()

        def answered(yes: bool) -> None:
            if yes:
                self._delete_now(config, chosen)

        self.dialogs.ask_later(
            self,
            "Delete integration?",
            f"Delete {chosen.get('name')} at Commerce? Its events will no longer reach "
            "Segment until you register again.",
            "Delete",
            safe="Cancel",
            answered=answered,
        )

    def _delete_now(self, config: Config, chosen: dict[str, Any]) -> None:
        self._action(
            f"Deleting {chosen.get('name')}…",
            lambda: self.services.delete_integration(config, str(chosen["id"])),
            f"{chosen.get('name')} was deleted.",
        )

    def _reregister(self) -> None:
        """Read what registering would change at Commerce, show it, and ask first."""
        config = self.config()
        services = self.services
        self._start("Reading what re-registering would change at Commerce…")
        self.reregister_button.setEnabled(False)

        def plan(_token: object) -> list[str]:
            from segment_desktop.core.flow import Draft
            from segment_desktop.core.secrets import COMMERCE_CLIENT_SECRET, SEGMENT_WRITE_KEY

            secret = services.secrets.get(COMMERCE_CLIENT_SECRET) or ""
            write_key = services.secrets.get(SEGMENT_WRITE_KEY) or ""
            summary = services.plan_registration(Draft(config, secret, write_key))
            return list(summary.lines)

        self.tasks.submit(ACTION_TASK, plan, on_result=self._confirm_plan, on_error=self._error)

    def _confirm_plan(self, lines: list[str]) -> None:
        self.busy.stop()
        self._update_buttons()
        config = self.config()

        def answered(yes: bool) -> None:
            if yes:
                self._action(
                    "Registering the integrations with Commerce…",
                    lambda: self.services.reregister(config),
                    "The integrations are registered as configured.",
                )

        plan = "\n".join(lines) or "Nothing changes: Commerce already has it all."
        self.dialogs.ask_later(
            self,
            "Re-register with Commerce?",
            "Re-registering makes these changes at Commerce (as the setup's Finish page "
            f"does):\n\n{plan}",
            "Re-register",
            safe="Cancel",
            answered=answered,
        )

    # -- logs --------------------------------------------------------------------------------

    def load_logs(self, offset: int) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        config = self.config()
        integration_id = str(chosen["id"])
        self.tasks.submit(
            LOGS_TASK,
            lambda _t: self.services.integration_logs(
                config, integration_id, offset, LOG_PAGE_SIZE
            ),
            on_result=lambda page: self._show_logs(page, offset),
            on_error=self._error,
        )

    def _show_logs(self, page: Any, offset: int) -> None:
        self.log_offset = offset
        self.next_offset = page.next_offset
        events = self.events()
        self.logs_table.set_rows([log_row(entry, events) for entry in page.items])
        total = f" of {page.total}" if page.total is not None else ""
        if page.items:
            self.page_label.setText(f"{offset + 1}–{offset + len(page.items)}{total}")
        else:
            self.page_label.setText("No deliveries yet.")
        self._update_buttons()
