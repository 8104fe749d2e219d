"""The live preview's loop: the latest text, rendered off the GUI thread, its outcome shown.

A burst of keystrokes becomes one render (:data:`PREVIEW_DEBOUNCE_MS` after the last); only
the latest render's outcome reaches the screen. A failed render marks the error in the editor
and says what went wrong in the status line; the panel keeps the last good preview, dimmed.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from segment_desktop.core.envelope import CommerceEvent
from segment_desktop.core.errors import SegmentDesktopError, TemplateError, TemplateTimeout
from segment_desktop.core.render import PreparedEvent, Renderer
from segment_desktop.core.spec import Issue
from segment_desktop.ui.studio.editor import CodeEditor
from segment_desktop.ui.studio.preview import (
    PreparedEventCache,
    Preview,
    PreviewPanel,
    build_preview,
)
from segment_desktop.ui.tasks import CancelToken, Debouncer, TaskRunner

__all__ = ["PREVIEW_DEBOUNCE_MS", "LivePreview", "error_status", "failure_of"]

#: Pause after the last keystroke before the preview re-renders (render time comes on top).
PREVIEW_DEBOUNCE_MS = 120


def error_status(err: BaseException) -> str:
    """The status line (rich text) under the editor for a failed preview."""
    if not isinstance(err, TemplateError):
        text = str(err) if isinstance(err, SegmentDesktopError) else f"{type(err).__name__}: {err}"
        return f"⚠ {html.escape(text)}"
    where = ""
    if err.line is not None:
        where = f'<a href="#error">Line {err.line}, column {err.column}</a>: '
    hint = (
        " The template ran too long or too deep; look for a loop that never ends."
        if isinstance(err, TemplateTimeout)
        else ""
    )
    return f"⚠ {where}{html.escape(err.message)} ({err.code}){hint}"


def failure_of(outcome: Preview | BaseException | None) -> str:
    """Why an outcome says the template fails on its sample ("" when it does not)."""
    if isinstance(outcome, TemplateError):
        return f"it stops with an error: {outcome.message}"
    if isinstance(outcome, Preview) and outcome.error_count:
        errors = "1 error" if outcome.error_count == 1 else f"{outcome.error_count} errors"
        return f"Segment would refuse what it makes ({errors} in the checks)"
    return ""


class LivePreview(QObject):
    """Renders, and shows the outcome in the editor, the status line and the panel.

    Signals:
        updated(object): a :class:`Preview` was shown, or the exception that replaced it.
    """

    updated = Signal(object)

    def __init__(
        self,
        renderer: Renderer,
        runner: TaskRunner,
        task_key: str,
        editor: CodeEditor,
        status: QLabel,
        panel: PreviewPanel,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._renderer = renderer
        self._runner = runner
        self.task_key = task_key
        self._editor = editor
        self._status = status
        self._panel = panel
        self._cache = PreparedEventCache()
        self.debounce = Debouncer(PREVIEW_DEBOUNCE_MS, self)
        #: The last preview shown (``None`` after an error, or with no event).
        self.last_preview: Preview | None = None
        #: The last outcome and the template text it was for.
        self.outcome: tuple[str, Preview | BaseException] | None = None
        #: More checks of each call, beside Segment's own (the imported tracking plan's).
        self.extra_checks: Callable[[dict[str, Any]], list[Issue]] | None = None

    def prepared(self, event: CommerceEvent) -> PreparedEvent:
        """The event in the engine's form, shared with the preview (call off the GUI thread)."""
        return self._cache.get(self._renderer, event)

    def outcome_for(self, text: str) -> Preview | BaseException | None:
        """The outcome of exactly this text, if it is the last one shown."""
        return self.outcome[1] if self.outcome is not None and self.outcome[0] == text else None

    def cancel(self) -> None:
        self.debounce.cancel()
        self._runner.cancel(self.task_key)

    def request(self, text: str, key: str, event: CommerceEvent | None) -> None:
        """Render ``text`` (template ``key``) on ``event`` now, in the background."""
        self.debounce.cancel()
        if self._runner.closed:
            return  # the window is going away: a pause that ends now has nothing to show
        if event is None:
            self._runner.cancel(self.task_key)
            self.last_preview = None
            self.outcome = None
            self._editor.clear_error()  # it belonged to an earlier render
            self._status.setText("")
            self._panel.show_problem("Choose an event to preview the template on.")
            return
        renderer, cache, extra = self._renderer, self._cache, self.extra_checks

        def work(token: CancelToken) -> Preview:
            return build_preview(renderer, text, event, key, token, cache, extra)

        self._runner.submit(
            self.task_key,
            work,
            on_result=self._show_preview,
            on_error=lambda err: self._show_error(text, err),
        )

    def _show_preview(self, preview: Preview) -> None:
        self.last_preview = preview
        self.outcome = (preview.template_text, preview)
        self._editor.clear_error()
        self._status.setText("")
        self._panel.show_preview(preview)
        self.updated.emit(preview)

    def _show_error(self, text: str, err: BaseException) -> None:
        self.last_preview = None
        self.outcome = (text, err)
        if isinstance(err, TemplateError) and err.line is not None:
            self._editor.set_error(err.line, err.column, err.message)
        else:
            self._editor.clear_error()
        self._status.setText(error_status(err))
        message = err.message if isinstance(err, TemplateError) else str(err)
        self._panel.show_problem(f"No preview: {message}", keep_last=True)
        self.updated.emit(err)
