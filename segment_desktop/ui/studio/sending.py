"""Sending the previewed calls to Segment for real, after the user confirms."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Signal

from segment_desktop.core.errors import SegmentDesktopError
from segment_desktop.segment import SendReport
from segment_desktop.ui.studio.dialogs import StudioDialogs
from segment_desktop.ui.studio.preview import Preview, PreviewPanel
from segment_desktop.ui.tasks import TaskRunner

if TYPE_CHECKING:
    import httpx

__all__ = ["SegmentSender", "SendAction", "describe_send_report"]


class SegmentSender(Protocol):
    """What the studio needs of :class:`~segment_desktop.segment.SegmentClient`."""

    url: httpx.URL

    def send(self, calls: Iterable[dict[str, Any]]) -> SendReport: ...


def describe_send_report(report: SendReport) -> str:
    """One line for the user: what was sent, and what a 200 from Segment does not prove."""
    text = report.summary()
    if report.all_sent and report.sent_calls:
        text += (
            " Look for the calls in your Segment source's debugger: Segment answers 200 even "
            "for an unknown write key."
        )
    return text


class SendAction(QObject):
    """The preview panel's "Send to Segment…" button: confirm, send off the GUI thread, report.

    Signals:
        finished(object): a send finished (the client's report, or the exception).
    """

    finished = Signal(object)

    def __init__(
        self,
        panel: PreviewPanel,
        runner: TaskRunner,
        dialogs: StudioDialogs,
        current: Callable[[], Preview | None],
        task_key: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._panel = panel
        self._runner = runner
        self._dialogs = dialogs
        self._current = current
        self.task_key = task_key
        self.client: SegmentSender | None = None
        panel.send_button.clicked.connect(self.send)

    def can_send(self) -> bool:
        preview = self._current()
        return self.client is not None and preview is not None and preview.sendable

    def refresh(self) -> None:
        self._panel.send_button.setEnabled(self.can_send())

    def send(self) -> None:
        preview = self._current()
        client = self.client
        status = self._panel.send_status
        if client is None:
            status.setText("Connect Segment (a write key) to send test calls.")
            return
        if preview is None or not preview.sendable:
            status.setText("Nothing to send: the preview has errors.")
            return
        calls = [dict(call) for call in preview.calls]
        labels = ", ".join(c.label for c in preview.checks)
        noun = "call" if len(calls) == 1 else "calls"
        summary = f"Send {len(calls)} {noun} to Segment at {client.url.host}: {labels}."
        if not self._dialogs.confirm_send(self._panel.window(), summary):
            return
        self._panel.send_button.setEnabled(False)
        status.setText("Sending…")

        def done(report: SendReport) -> None:
            status.setText(describe_send_report(report))
            self.refresh()
            self.finished.emit(report)

        def failed(err: BaseException) -> None:
            message = str(err) if isinstance(err, SegmentDesktopError) else repr(err)
            status.setText(f"Not sent: {message}")
            self.refresh()
            self.finished.emit(err)

        self._runner.submit(
            self.task_key, lambda _token: client.send(calls), on_result=done, on_error=failed
        )
