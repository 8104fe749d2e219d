"""The template studio: edit a template, preview it live on a chosen event, save or send it.

This module composes the pieces (see the package's module map) and keeps the edit's state.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.errors import SegmentDesktopError
from segment_desktop.core.events import BY_KEY, TEMPLATES, TemplateSpec
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import Sample, list_samples
from segment_desktop.core.templates import TemplateSet, default_template
from segment_desktop.ui.studio.assist import EditorAssist
from segment_desktop.ui.studio.dialogs import QtDialogs, StudioDialogs, UnsavedChoice
from segment_desktop.ui.studio.editor import CodeEditor
from segment_desktop.ui.studio.highlighter import JsonataHighlighter
from segment_desktop.ui.studio.live_preview import PREVIEW_DEBOUNCE_MS, LivePreview, failure_of
from segment_desktop.ui.studio.preview import Preview, PreviewPanel
from segment_desktop.ui.studio.sample_chooser import SampleChooser
from segment_desktop.ui.studio.sending import SegmentSender, SendAction, describe_send_report
from segment_desktop.ui.studio.storage import (
    SettingsStorage,
    TemplateStorage,
    diff_against_default,
    override_for,
)
from segment_desktop.ui.studio.template_list import TemplateList
from segment_desktop.ui.studio.trust_panels import attach_trust_panels
from segment_desktop.ui.tasks import TaskRunner

__all__ = ["PREVIEW_DEBOUNCE_MS", "SegmentSender", "TemplateStudio", "describe_send_report"]


class TemplateStudio(QWidget):
    """Template list, editor, event chooser and live preview, with save, revert, reset, diff
    and send.

    Services come in through the constructor: the renderer, the settings store, the samples,
    and optional Commerce and Segment clients (settable later). Saves go to ``storage``: by
    default the settings file behind ``store``; the setup wizard hands in its draft. With no
    ``config`` the settings are loaded from ``store`` (which raises ``ConfigError`` when the
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
        storage: TemplateStorage | None = None,
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
        self._config = config if config is not None else store.load()
        self._storage: TemplateStorage = storage or SettingsStorage(store)
        self._dialogs: StudioDialogs = dialogs or QtDialogs()
        self._owns_runner = runner is None
        self._runner = runner or TaskRunner(self)
        # Keys of our own, so a runner shared with other pages (or another studio) is safe.
        self._task_prefix = f"studio-{id(self):x}."
        self._key: str | None = None
        self._saved_text = ""
        self._dirty = False
        self._save_when_previewed = False

        self.template_list = TemplateList(self)
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
        self.revert_button = QPushButton("&Revert", self)
        self.revert_button.setObjectName("revertButton")
        self.revert_button.setToolTip("Go back to the saved version of this template.")
        self.revert_button.setEnabled(False)
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
        self.side_tabs.setObjectName("studioPanels")
        self.side_tabs.setAccessibleName("Studio panels")
        self.side_tabs.hide()  # shown once a panel is added
        runner, prefix = self._runner, self._task_prefix
        self.live = LivePreview(
            renderer, runner, prefix + "preview", self.editor, self.status, self.preview, self
        )
        self._sender = SendAction(
            self.preview,
            self._runner,
            self._dialogs,
            lambda: self.live.last_preview,
            self._task_prefix + "send",
            self,
        )
        self._sender.client = segment
        self.assist = EditorAssist(
            self.editor, self.live, renderer, runner, prefix, samples, self.side_tabs, self
        )
        self._build_layout()

        self.template_list.currentItemChanged.connect(self._list_selection_changed)
        self.editor.textChanged.connect(self._text_changed)
        self.status.linkActivated.connect(lambda _link: self.editor.go_to_error())
        self.reset_button.clicked.connect(self.reset_to_default)
        self.diff_button.clicked.connect(self.show_diff)
        self.revert_button.clicked.connect(self.revert)
        self.save_button.clicked.connect(self.request_save)
        self._sender.finished.connect(self.sendFinished)
        self.samples.eventChanged.connect(lambda _event: self.request_preview())
        self.samples.eventChanged.connect(self.assist.set_event)
        self.assist.set_event(self.samples.current_event)
        self.add_panel(self.assist.selection, "Selection value")
        self.add_panel(self.assist.reference, "Functions")
        self.live.debounce.triggered.connect(self.request_preview)
        self.live.updated.connect(self._previewed)
        save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        save_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        save_shortcut.activated.connect(self.request_save)
        self.trust = attach_trust_panels(self, renderer, self._runner, store.directory)
        self._fill_list()

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.diff_button)
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        self.middle = QWidget(self)
        mid = QVBoxLayout(self.middle)
        mid.setContentsMargins(0, 0, 0, 0)
        mid.addWidget(self.title)
        mid.addWidget(self.editor, 1)
        mid.addWidget(self.status)
        mid.addLayout(buttons)
        self.left = QSplitter(Qt.Orientation.Vertical, self)
        self.left.addWidget(self.template_list)
        self.left.addWidget(self.assist.tree)
        self.left.setStretchFactor(1, 1)
        self.left.setSizes([140, 560])
        self.left.setMinimumWidth(220)
        self.right_split = QSplitter(Qt.Orientation.Vertical, self)
        self.right_split.addWidget(self.preview)
        self.right_split.addWidget(self.side_tabs)
        self.right_split.setSizes([480, 220])
        right = QWidget(self)
        side = QVBoxLayout(right)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.samples)
        side.addWidget(self.right_split, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.left)
        splitter.addWidget(self.middle)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 2)
        splitter.setSizes([260, 470, 420])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def add_panel(self, panel: QWidget, title: str) -> int:
        """Add a tab under the preview (its accessible name should say what it shows)."""
        self.side_tabs.show()
        return self.side_tabs.addTab(panel, title)

    # -- the services, settable after construction --------------------------------------------
    def set_commerce_client(self, client: CommerceClient | None) -> None:
        self.samples.set_commerce_client(client)

    def set_segment_client(self, client: SegmentSender | None) -> None:
        self._sender.client = client
        if self.live.last_preview is not None:
            self._sender.refresh()

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
        self.samples.set_target(self._event_for(BY_KEY[key]), BY_KEY[key].group)

    # -- state --------------------------------------------------------------------------------
    @property
    def current_key(self) -> str | None:
        return self._key

    @property
    def is_dirty(self) -> bool:
        return self._dirty

    @property
    def last_preview(self) -> Preview | None:
        return self.live.last_preview

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
    def _item_text(self, spec: TemplateSpec) -> str:
        mark = "● " if self._dirty and spec.key == self._key else ""
        suffix = "  (customised)" if self._template_set().is_overridden(spec.key) else ""
        return f"{mark}{spec.name}{suffix}"

    def _fill_list(self) -> None:
        self.template_list.show_templates(
            self.visible_templates(), self._event_for, self._item_text
        )
        keys = self.template_list.keys()
        if self.template_list.select_key(self._key):
            self._refresh_title()
        elif keys:
            self._key = None
            self.template_list.select_key(keys[0])
            self._open(keys[0])

    def _list_selection_changed(self, current: QListWidgetItem | None, _prev: object) -> None:
        if current is None:
            return
        key = current.data(Qt.ItemDataRole.UserRole)
        if key != self._key and not self.select_template(key):
            self.template_list.select_key(self._key)

    def select_template(self, key: str) -> bool:
        """Open another template, asking first when the current one has unsaved changes.

        Returns ``False`` when the user chose to stay.
        """
        if key == self._key:
            return True
        if not self.confirm_leave():
            return False
        self.template_list.select_key(key)
        self._open(key)
        return True

    def _open(self, key: str) -> None:
        spec = BY_KEY[key]
        self._key = key
        self._saved_text = self._template_set().text(key)
        self.live.debounce.cancel()
        self._save_when_previewed = False
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
        spec = BY_KEY[self._key]
        customised = self._template_set().is_overridden(spec.key)
        origin = "your version" if customised else "the built-in default"
        self.title.setText(
            f"<b>{spec.name}</b> — sent for <code>{self._event_for(spec)}</code> · {origin}"
        )

    # -- editing ------------------------------------------------------------------------------
    def _text_changed(self) -> None:
        self._set_dirty(self.editor.toPlainText() != self._saved_text)
        self.live.debounce.poke()

    def _set_dirty(self, dirty: bool) -> None:
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
        if dirty != self._dirty:
            self._dirty = dirty
            self.template_list.mark(self._item_text)
            self.dirtyChanged.emit(dirty)

    def confirm_leave(self) -> bool:
        """Before leaving the current template (or closing): Save / Discard / Cancel.

        Returns ``True`` when it is fine to go on (saved, discarded, or nothing to save).
        """
        if not self._dirty or self._key is None:
            return True
        choice = self._dialogs.ask_unsaved(self, BY_KEY[self._key].name)
        if choice is UnsavedChoice.SAVE:
            return self.save()
        if choice is UnsavedChoice.DISCARD:
            self.revert()
            return True
        return False

    def revert(self) -> None:
        """Put the saved version back in the editor (undoable) and preview it."""
        if not self._dirty:
            return
        self.editor.replace_all(self._saved_text)
        self.request_preview()

    def request_save(self) -> None:
        """Save (the Save button and Ctrl+S), warning first when the template fails on the
        selected sample. A preview still to come for this text is waited for."""
        if self._key is None or not self._dirty:
            return
        if self.samples.current_event is None:
            self.save()  # no event to check it on
            return
        text = self.editor.toPlainText()
        outcome = self.live.outcome_for(text)
        if outcome is None:
            self._save_when_previewed = True
            self.request_preview()
            return
        problem = failure_of(outcome)
        if problem and not self._dialogs.confirm_save_failing(
            self, BY_KEY[self._key].name, f"On the selected event {problem}."
        ):
            self.status.setText("Not saved: the template fails on the selected event.")
            return
        self.save()

    def save(self) -> bool:
        """Keep the editor's text as this template's override (or drop the override when it
        equals the default), in :attr:`storage <TemplateStorage>`."""
        if self._key is None:
            return False
        text = self.editor.toPlainText()
        try:
            overrides = self._storage.save_override(self._key, override_for(self._key, text))
        except SegmentDesktopError as err:
            self.status.setText(f"Not saved: {html.escape(str(err))}")
            return False
        self._config.template_overrides = overrides
        self._saved_text = text
        self._set_dirty(False)
        self.template_list.mark(self._item_text)
        self._refresh_title()
        if self.editor.error is None:
            self.status.setText(self._storage.saved_message)
        self.saved.emit(self._key)
        return True

    def reset_to_default(self) -> None:
        """Put the default text in the editor (undoable; saved only on Save)."""
        if self._key is None:
            return
        if self._dialogs.confirm_reset(self, BY_KEY[self._key].name):
            self.editor.replace_all(default_template(self._key))

    def show_diff(self) -> None:
        if self._key is not None:
            title = f"{BY_KEY[self._key].name}: your template against the default"
            diff = diff_against_default(self._key, self.editor.toPlainText())
            self._dialogs.show_diff(self, title, diff)

    # -- preview ------------------------------------------------------------------------------
    def request_preview(self) -> None:
        """Render the editor's current text on the chosen event, in the background."""
        if self._key is None:
            self.live.debounce.cancel()
            return
        event = self.samples.current_event
        if event is None:
            self._save_when_previewed = False
        self.live.request(self.editor.toPlainText(), self._key, event)

    def _previewed(self, outcome: object) -> None:
        if isinstance(outcome, Preview):
            self._sender.refresh()
        self.previewUpdated.emit(outcome)
        if self._save_when_previewed:
            self._save_when_previewed = False
            self.request_save()

    # -- sending ------------------------------------------------------------------------------
    def send_to_segment(self) -> None:
        """Send the previewed calls for real, after the user confirms."""
        self._sender.send()

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
        self.live.cancel()
        self.assist.cancel()
        self.trust.cancel()
        for key in ("send", *SampleChooser.TASKS):
            self._runner.cancel(self._task_prefix + key)

    def shutdown(self, wait_ms: int = 2000) -> None:
        """Stop background work for good (before the application quits). A runner handed in
        by the caller is left running for its other users."""
        self.cancel_work()
        if self._owns_runner:
            self._runner.shutdown(wait_ms)
