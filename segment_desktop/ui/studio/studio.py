"""The template studio: edit a template, preview it live on a chosen event, save or send it."""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.errors import SegmentDesktopError, TemplateError, TemplateTimeout
from segment_desktop.core.events import TEMPLATES, TemplateSpec
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import Sample, list_samples
from segment_desktop.core.spec import Issue
from segment_desktop.core.template_history import TemplateHistory, history_directory
from segment_desktop.core.templates import TemplateSet, default_template
from segment_desktop.segment import SendReport
from segment_desktop.ui.studio.dialogs import QtDialogs, StudioDialogs, UnsavedChoice
from segment_desktop.ui.studio.editor import CodeEditor
from segment_desktop.ui.studio.highlighter import JsonataHighlighter
from segment_desktop.ui.studio.preview import (
    PreparedEventCache,
    Preview,
    PreviewPanel,
    build_preview,
)
from segment_desktop.ui.studio.sample_chooser import SampleChooser
from segment_desktop.ui.studio.trust_panels import attach_trust_panels
from segment_desktop.ui.tasks import CancelToken, Debouncer, TaskRunner

__all__ = ["PREVIEW_DEBOUNCE_MS", "SegmentSender", "TemplateStudio", "describe_send_report"]

#: Pause after the last keystroke before the preview re-renders (render time comes on top).
PREVIEW_DEBOUNCE_MS = 120


class SegmentSender(Protocol):
    """What the studio needs of :class:`~segment_desktop.segment.SegmentClient`."""

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


class TemplateStudio(QWidget):
    """Template list, editor, event chooser and live preview, with save, reset, diff and send.

    Services come in through the constructor: the renderer, the settings store (for saving
    overrides), the samples, and optional Commerce and Segment clients (settable later). With
    no ``config`` the settings are loaded from ``store`` (which raises ``ConfigError`` when the
    file is damaged). ``runner`` may be shared with other views; the studio's work runs under
    keys of its own.

    Signals:
        dirtyChanged(bool): the editor's text differs (or stops differing) from the saved one.
        templateOpened(str): the template with this key is now in the editor.
        saved(str): the template with this key was saved.
        previewUpdated(object): a preview was shown (a :class:`Preview`) or replaced by an
            error (the exception).
        sendFinished(object): a send finished (the client's report, or the exception).
    """

    dirtyChanged = Signal(bool)
    templateOpened = Signal(str)
    saved = Signal(str)
    previewUpdated = Signal(object)
    sendFinished = Signal(object)

    def __init__(
        self,
        renderer: Renderer,
        store: ConfigStore,
        config: Config | None = None,
        *,
        samples: Callable[[str | None], list[Sample]] = list_samples,
        commerce: CommerceClient | None = None,
        segment: SegmentSender | None = None,
        dialogs: StudioDialogs | None = None,
        runner: TaskRunner | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("templateStudio")
        self._renderer = renderer
        self._store = store
        self._config = config if config is not None else store.load()
        self._segment = segment
        self._dialogs: StudioDialogs = dialogs or QtDialogs()
        self._owns_runner = runner is None
        self._runner = runner or TaskRunner(self)
        # Keys of our own, so a runner shared with other pages (or another studio) is safe.
        self._task_prefix = f"studio-{id(self):x}."
        self._key: str | None = None
        self._saved_text = ""
        self._dirty = False
        self._last_preview: Preview | None = None
        self._prepared_event = PreparedEventCache()
        #: More checks for every previewed call, beside Segment's own (a tracking plan's).
        self.extra_checks: Callable[[dict[str, Any]], list[Issue]] | None = None

        self.template_list = QListWidget(self)
        self.template_list.setObjectName("templateList")
        self.template_list.setAccessibleName("Templates")
        self.title = QLabel("", self)
        self.title.setObjectName("templateTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.editor = CodeEditor(self)
        self.editor.setObjectName("templateEditor")
        self.editor.setAccessibleName("Template")
        self.editor.set_highlighter(JsonataHighlighter(self.editor.document()))
        self.status = QLabel("", self)
        self.status.setObjectName("templateStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.reset_button = QPushButton("Reset to default…", self)
        self.diff_button = QPushButton("Compare with default", self)
        self.save_button = QPushButton("Save", self)
        self.save_button.setObjectName("saveButton")
        self.save_button.setEnabled(False)
        self.samples = SampleChooser(
            self._runner,
            self._dialogs,
            samples=samples,
            commerce=commerce,
            task_prefix=self._task_prefix,
            parent=self,
        )
        self.preview = PreviewPanel(self)
        self.side_tabs = QTabWidget(self)
        self.side_tabs.setAccessibleName("Studio panels")
        self.side_tabs.hide()  # shown once a panel is added
        self._debounce = Debouncer(PREVIEW_DEBOUNCE_MS, self)
        self._build_layout()

        self.template_list.currentItemChanged.connect(self._list_selection_changed)
        self.editor.textChanged.connect(self._text_changed)
        self.status.linkActivated.connect(lambda _link: self.editor.go_to_error())
        self.reset_button.clicked.connect(self.reset_to_default)
        self.diff_button.clicked.connect(self.show_diff)
        self.save_button.clicked.connect(self.save)
        self.preview.send_button.clicked.connect(self.send_to_segment)
        self.samples.eventChanged.connect(lambda _event: self.request_preview())
        self._debounce.triggered.connect(self.request_preview)
        save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        save_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        save_shortcut.activated.connect(self.save)
        self._history = TemplateHistory(history_directory(store.directory))
        self.trust = attach_trust_panels(self, store.directory)
        self._fill_list()

    def _build_layout(self) -> None:
        middle = QWidget(self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.diff_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        mid = QVBoxLayout(middle)
        mid.setContentsMargins(0, 0, 0, 0)
        mid.addWidget(self.title)
        mid.addWidget(self.editor, 1)
        mid.addWidget(self.status)
        mid.addLayout(buttons)
        right = QWidget(self)
        side = QVBoxLayout(right)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.samples)
        side.addWidget(self.preview, 3)
        side.addWidget(self.side_tabs, 2)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.template_list)
        splitter.addWidget(middle)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([180, 560, 420])
        self.template_list.setMinimumWidth(150)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def add_panel(self, panel: QWidget, title: str) -> int:
        """Add a tab under the preview (its accessible name should say what it shows)."""
        self.side_tabs.show()
        return self.side_tabs.addTab(panel, title)

    @property
    def renderer(self) -> Renderer:
        return self._renderer

    @property
    def runner(self) -> TaskRunner:
        return self._runner

    # -- the services, settable after construction --------------------------------------------
    def set_commerce_client(self, client: CommerceClient | None) -> None:
        self.samples.set_commerce_client(client)

    def set_segment_client(self, client: SegmentSender | None) -> None:
        self._segment = client
        if self._last_preview is not None:
            self.preview.send_button.setEnabled(self._can_send())

    def set_config(self, config: Config) -> None:
        """New settings (e.g. templates turned on or off): refresh the list, keep the edit."""
        self._config = config
        self._fill_list()
        key = self._key
        if key is None:
            return
        if not self._dirty and self._template_set().text(key) != self._saved_text:
            self._open(key)  # saved elsewhere meanwhile: show that version
            return
        spec = next(t for t in TEMPLATES if t.key == key)
        self.samples.set_target(self._event_for(spec), spec.group)  # its event may have changed

    # -- state --------------------------------------------------------------------------------
    @property
    def current_key(self) -> str | None:
        return self._key

    @property
    def is_dirty(self) -> bool:
        return self._dirty

    @property
    def last_preview(self) -> Preview | None:
        return self._last_preview

    def visible_templates(self) -> list[TemplateSpec]:
        """The enabled templates, or all of them when none is enabled yet. The template being
        edited stays listed while it has unsaved changes, even if it was just turned off."""
        chosen = self._config.chosen_events()
        return [
            t for t in TEMPLATES if t.key in chosen or (self._dirty and t.key == self._key)
        ] or list(TEMPLATES)

    def _event_for(self, spec: TemplateSpec) -> str:
        choice = self._config.tracking.get(spec.key)
        return choice.event if choice is not None else spec.default_event

    def _template_set(self) -> TemplateSet:
        return TemplateSet(self._config.template_overrides)

    # -- template list ------------------------------------------------------------------------
    def _fill_list(self) -> None:
        self.template_list.blockSignals(True)
        self.template_list.clear()
        templates = self._template_set()
        for spec in self.visible_templates():
            item = QListWidgetItem(self._item_text(spec, templates))
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            item.setToolTip(f"Tracks {self._event_for(spec)}")
            self.template_list.addItem(item)
        self.template_list.blockSignals(False)
        keys = [t.key for t in self.visible_templates()]
        if self._key in keys:
            self._select_row(keys.index(self._key))
            self._refresh_title()
        elif keys:
            self._key = None
            self._select_row(0)
            self._open(keys[0])

    def _item_text(self, spec: TemplateSpec, templates: TemplateSet) -> str:
        mark = "● " if self._dirty and spec.key == self._key else ""
        suffix = "  (customised)" if templates.is_overridden(spec.key) else ""
        return f"{mark}{spec.name}{suffix}"

    def _refresh_items(self) -> None:
        templates = self._template_set()
        specs = {t.key: t for t in TEMPLATES}
        for row in range(self.template_list.count()):
            item = self.template_list.item(row)
            key = item.data(Qt.ItemDataRole.UserRole)
            item.setText(self._item_text(specs[key], templates))

    def _select_row(self, row: int) -> None:
        self.template_list.blockSignals(True)
        self.template_list.setCurrentRow(row)
        self.template_list.blockSignals(False)

    def _list_selection_changed(self, current: QListWidgetItem | None, _prev: object) -> None:
        if current is None:
            return
        key = current.data(Qt.ItemDataRole.UserRole)
        if key != self._key and not self.select_template(key):
            keys = [t.key for t in self.visible_templates()]
            if self._key in keys:
                self._select_row(keys.index(self._key))

    def select_template(self, key: str) -> bool:
        """Open another template, asking first when the current one has unsaved changes.

        Returns ``False`` when the user chose to stay.
        """
        if key == self._key:
            return True
        if not self.confirm_leave():
            return False
        keys = [t.key for t in self.visible_templates()]
        if key in keys:
            self._select_row(keys.index(key))
        self._open(key)
        return True

    def _open(self, key: str) -> None:
        spec = next(t for t in TEMPLATES if t.key == key)
        self._key = key
        self._saved_text = self._template_set().text(key)
        self._debounce.cancel()
        self.editor.blockSignals(True)
        self.editor.setPlainText(self._saved_text)
        self.editor.blockSignals(False)
        self.editor.clear_error()
        self.editor.document().setModified(False)
        self._set_dirty(False)
        self.status.setText("")
        self.preview.send_status.setText("")
        self._refresh_title()
        self.samples.set_target(self._event_for(spec), spec.group)
        self.request_preview()
        self.templateOpened.emit(key)

    def _refresh_title(self) -> None:
        if self._key is None:
            self.title.setText("")
            return
        spec = next(t for t in TEMPLATES if t.key == self._key)
        customised = self._template_set().is_overridden(spec.key)
        origin = "your version" if customised else "the built-in default"
        self.title.setText(
            f"<b>{spec.name}</b> — sent for <code>{self._event_for(spec)}</code> · {origin}"
        )

    # -- editing ------------------------------------------------------------------------------
    def _text_changed(self) -> None:
        self._set_dirty(self.editor.toPlainText() != self._saved_text)
        self._debounce.poke()

    def _set_dirty(self, dirty: bool) -> None:
        self.save_button.setEnabled(dirty)
        if dirty != self._dirty:
            self._dirty = dirty
            self._refresh_items()
            self.dirtyChanged.emit(dirty)

    def confirm_leave(self) -> bool:
        """Before leaving the current template (or closing): Save / Discard / Cancel.

        Returns ``True`` when it is fine to go on (saved, discarded, or nothing to save).
        """
        if not self._dirty or self._key is None:
            return True
        spec = next(t for t in TEMPLATES if t.key == self._key)
        choice = self._dialogs.ask_unsaved(self, spec.name)
        if choice is UnsavedChoice.SAVE:
            return self.save()
        if choice is UnsavedChoice.DISCARD:
            self._discard()
            return True
        return False

    def _discard(self) -> None:
        self.editor.blockSignals(True)
        self.editor.setPlainText(self._saved_text)
        self.editor.blockSignals(False)
        self._set_dirty(False)

    def save(self) -> bool:
        """Store the editor's text as this template's override (or drop the override when it
        equals the default). Other settings are re-read first so nothing else is overwritten.
        """
        if self._key is None:
            return False
        text = self.editor.toPlainText()
        try:
            fresh = self._store.load()
            overrides = dict(fresh.template_overrides)
            if text.strip() == default_template(self._key).strip():
                overrides.pop(self._key, None)
            else:
                overrides[self._key] = text
            fresh.template_overrides = overrides
            self._history.record(self._key, self._saved_text)  # what this save replaces
            self._store.save(fresh)
        except SegmentDesktopError as err:
            self.status.setText(f"Not saved: {err}")
            return False
        self._config.template_overrides = dict(overrides)
        self._saved_text = text
        self._set_dirty(False)
        self._refresh_items()
        self._refresh_title()
        if self.editor.error is None:
            self.status.setText("Saved.")
        self.saved.emit(self._key)
        return True

    def reset_to_default(self) -> None:
        """Put the default text in the editor (undoable; saved only on Save)."""
        if self._key is None:
            return
        spec = next(t for t in TEMPLATES if t.key == self._key)
        if not self._dialogs.confirm_reset(self, spec.name):
            return
        cursor = self.editor.textCursor()
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(default_template(self._key))
        cursor.endEditBlock()

    def diff_against_default(self) -> str:
        """A unified diff from the default template to the editor's text ("" when equal)."""
        if self._key is None:
            return ""
        default = default_template(self._key).splitlines(keepends=True)
        mine = self.editor.toPlainText().splitlines(keepends=True)
        lines = difflib.unified_diff(default, mine, "default", "yours", lineterm="")
        return "\n".join(line.rstrip("\n") for line in lines)

    def show_diff(self) -> None:
        if self._key is None:
            return
        spec = next(t for t in TEMPLATES if t.key == self._key)
        self._dialogs.show_diff(self, f"{spec.name}: your template against the default",
                                self.diff_against_default())  # fmt: skip

    # -- preview ------------------------------------------------------------------------------
    def request_preview(self) -> None:
        """Render the editor's current text on the chosen event, in the background."""
        self._debounce.cancel()
        key = self._key
        event = self.samples.current_event
        if key is None:
            return
        if event is None:
            self._runner.cancel(self._task_prefix + "preview")
            self._last_preview = None
            self.editor.clear_error()  # it belonged to an earlier render
            self.status.setText("")
            self.preview.show_problem("Choose an event to preview the template on.")
            return
        text = self.editor.toPlainText()
        renderer = self._renderer

        cache = self._prepared_event
        extra = self.extra_checks

        def work(token: CancelToken) -> Preview:
            return build_preview(renderer, text, event, key, token, cache, extra)

        self._runner.submit(
            self._task_prefix + "preview",
            work,
            on_result=self._show_preview,
            on_error=self._show_error,
        )

    def _show_preview(self, preview: Preview) -> None:
        self._last_preview = preview
        self.editor.clear_error()
        self.status.setText("")
        self.preview.show_preview(preview)
        self.preview.send_button.setEnabled(self._can_send())
        self.previewUpdated.emit(preview)

    def _show_error(self, err: BaseException) -> None:
        self._last_preview = None
        if isinstance(err, TemplateError):
            where = ""
            if err.line is not None:
                self.editor.set_error(err.line, err.column, err.message)
                where = f'<a href="#error">Line {err.line}, column {err.column}</a>: '
            else:
                self.editor.clear_error()
            hint = (
                " The template ran too long or too deep; look for a loop that never ends."
                if isinstance(err, TemplateTimeout)
                else ""
            )
            self.status.setText(f"⚠ {where}{html.escape(err.message)} ({err.code}){hint}")
            self.preview.show_problem(f"No preview: {err.message}")
        else:
            self.editor.clear_error()
            text = (
                str(err) if isinstance(err, SegmentDesktopError) else f"{type(err).__name__}: {err}"
            )
            self.status.setText(f"⚠ {html.escape(text)}")
            self.preview.show_problem(f"No preview: {text}")
        self.previewUpdated.emit(err)

    # -- sending ------------------------------------------------------------------------------
    def _can_send(self) -> bool:
        return (
            self._segment is not None
            and self._last_preview is not None
            and self._last_preview.sendable
        )

    def send_to_segment(self) -> None:
        """Send the previewed calls for real, after the user confirms."""
        preview = self._last_preview
        client = self._segment
        if client is None:
            self.preview.send_status.setText("Connect Segment (a write key) to send test calls.")
            return
        if preview is None or not preview.sendable:
            self.preview.send_status.setText("Nothing to send: the preview has errors.")
            return
        calls = [dict(call) for call in preview.calls]
        labels = ", ".join(c.label for c in preview.checks)
        if not self._dialogs.confirm_send(self, f"Send {len(calls)} call(s) to Segment: {labels}."):
            return
        self.preview.send_button.setEnabled(False)
        self.preview.send_status.setText("Sending…")

        def done(report: SendReport) -> None:
            self.preview.send_status.setText(describe_send_report(report))
            self.preview.send_button.setEnabled(self._can_send())
            self.sendFinished.emit(report)

        def failed(err: BaseException) -> None:
            message = str(err) if isinstance(err, SegmentDesktopError) else repr(err)
            self.preview.send_status.setText(f"Not sent: {message}")
            self.preview.send_button.setEnabled(self._can_send())
            self.sendFinished.emit(err)

        self._runner.submit(
            self._task_prefix + "send",
            lambda token: client.send(calls),
            on_result=done,
            on_error=failed,
        )

    # -- closing ------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the studio as a window: Save / Discard / Cancel first. It can be shown again."""
        if self.confirm_leave():
            self.cancel_work()
            event.accept()
        else:
            event.ignore()

    def cancel_work(self) -> None:
        """Drop the studio's pending work (previews, fetches, sends); nothing more is shown."""
        self._debounce.cancel()
        for key in ("preview", "send", *SampleChooser.TASKS):
            self._runner.cancel(self._task_prefix + key)

    def shutdown(self, wait_ms: int = 2000) -> None:
        """Stop background work for good (before the application quits). A runner handed in
        by the caller is left running for its other users."""
        self.cancel_work()
        if self._owns_runner:
            self._runner.shutdown(wait_ms)
