"""Step 3: Segment connection. The test is honest: it proves the host answers, not the key."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from segment_desktop.core.config import DEFAULT_SEGMENT_HOST, DEFAULT_SEGMENT_PATH
from segment_desktop.core.errors import InvalidURLError, NetworkError
from segment_desktop.core.flow import Step
from segment_desktop.services import SegmentCheck
from segment_desktop.ui.widgets.fields import (
    MessageLabel,
    SecretField,
    add_field_row,
    name_after_label,
)
from segment_desktop.ui.widgets.presets import apply_preset, sync_preset
from segment_desktop.ui.wizard.base import FlowPage, add_check_area

TEST_TASK = "wizard.segment"
OTHER = "Other (type the host)"
HOSTS: dict[str, str] = {
    "Default (US)": DEFAULT_SEGMENT_HOST,
    "EU": "https://events.eu1.segmentapis.com",
}
PROOF = (
    "• Test connection sends an empty batch: it proves that Segment answers at this host and "
    "path (network, TLS, any proxy). Segment accepts any write key there, so it cannot prove "
    "the key.\n"
    "• Send test event sends one track call named “Segment Desktop Connection Test”. When it "
    "appears in your source's Debugger, the write key and the region are right.\n"
    "• The EU host is for EU workspaces only: a write key sent to the wrong region is refused."
)
#: The write key's placeholder while the wizard reads the saved key from the keyring.
READING_KEYRING = "Reading the saved write key from the system keyring…"


class SegmentPage(FlowPage):
    """Host (with presets), Path, Write Key (masked); Test connection and Send test event."""

    page_id = Step.SEGMENT

    def build(self, layout: QVBoxLayout) -> None:
        self.setTitle("Segment Connection")
        self.setSubTitle(
            "Find the write key in Segment under Connections › Sources › your source › "
            "Settings › API Keys. Use the EU host only for an EU workspace."
        )
        form = QFormLayout()
        self.preset = QComboBox(self)
        self.preset.addItems([*HOSTS, OTHER])
        name_after_label(self.preset, "Region")
        self.host = QLineEdit(self)
        name_after_label(self.host, "Host")
        self.path = QLineEdit(self)
        name_after_label(self.path, "Path")
        self.write_key = SecretField("Write Key", self)
        self.host_problem = MessageLabel(self)
        self.path_problem = MessageLabel(self)
        self.field_problem = MessageLabel(self)
        self.problems = {
            "host": self.host_problem,
            "path": self.path_problem,
            "write_key": self.field_problem,
        }
        layout.addLayout(form)
        add_field_row(form, "&Region:", self.preset)
        add_field_row(form, "&Host:", self.host, self.host_problem)
        add_field_row(form, "&Path:", self.path, self.path_problem)
        add_field_row(form, "&Write Key:", self.write_key, self.field_problem)
        self.test_button = QPushButton("&Test connection", self)
        self.send_button = QPushButton("Send test &event", self)
        self.busy, self.result = add_check_area(
            self,
            layout,
            [self.test_button, self.send_button],
            "segmentResult",
            "What the buttons prove",
            PROOF,
        )
        self.preset.currentTextChanged.connect(self._preset_chosen)
        for edit in (self.host, self.path):
            edit.textEdited.connect(self._edited)
        self.write_key.edit.textEdited.connect(self._edited)
        self.test_button.clicked.connect(self.test_connection)
        self.send_button.clicked.connect(self.send_test_event)
        self.busy.cancelRequested.connect(self.cancel)
        self._tested = False
        self._load()

    def _load(self) -> None:
        segment = self.flow.config.segment
        self.host.setText(segment.host or DEFAULT_SEGMENT_HOST)
        self.path.setText(segment.path or DEFAULT_SEGMENT_PATH)
        self.write_key.setText(self.flow.write_key)
        self._sync_preset()
        self._edited()

    def action_button(self) -> QPushButton:
        return self.test_button

    def saved_secret_pending(self) -> None:
        """The wizard is reading the saved write key: say so in the (still empty) field."""
        self.write_key.edit.setPlaceholderText(READING_KEYRING)

    def saved_secret_arrived(self, write_key: str | None) -> None:
        """The saved write key was read (``None``: none stored, or the keyring failed); filled
        in only when the field is still empty (a typed or sandbox value wins)."""
        self.write_key.edit.setPlaceholderText("")
        if not write_key or self.flow.write_key:
            return
        segment = self.flow.config.segment
        self.flow.edit_segment(segment.host, segment.path, write_key)
        self._load()

    def initializePage(self) -> None:
        super().initializePage()
        segment = self.flow.config.segment
        if (segment.host, segment.path, self.flow.write_key) != (
            self.host.text().strip().rstrip("/"),
            self.path.text().strip(),
            self.write_key.text().strip(),
        ):
            self.result.clear_message()
            self._load()

    def _sync_preset(self) -> None:
        sync_preset(self.preset, HOSTS, OTHER, self.host.text())

    def _preset_chosen(self, label: str) -> None:
        apply_preset(label, HOSTS, self.host, self._edited)

    def _edited(self, _text: str = "") -> None:
        if self.flow.status(self.page_id).busy:
            self.cancel()
        self._sync_preset()
        self._tested = False
        self.result.clear_message()
        self.flow.edit_segment(self.host.text(), self.path.text(), self.write_key.text())
        problems = self.flow.segment_problems()
        for name, label in self.problems.items():
            label.show_hint(problems.get(name, ""))
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.flow.status(self.page_id).busy
        usable = not self.flow.segment_problem()
        self.test_button.setEnabled(usable and not busy)
        self.send_button.setEnabled(usable and not busy and self._tested)
        if busy:
            waiting = "Waiting for Segment: wait, or press Cancel."
            self.test_button.setToolTip(waiting)
            self.send_button.setToolTip(waiting)
            return
        self.test_button.setToolTip(
            "Check that Segment answers at this host and path."
            if usable
            else "Fix the fields marked above first."
        )
        if not usable:
            self.send_button.setToolTip("Fix the fields marked above first.")
        elif not self._tested:
            self.send_button.setToolTip("Test the connection first.")
        else:
            self.send_button.setToolTip("Send one track call, to see it arrive in Segment.")

    def _values(self) -> tuple[str, str, str]:
        s = self.flow.config.segment
        return s.host, s.path, self.flow.write_key

    def _start(self, text: str) -> None:
        for button in (self.test_button, self.send_button):
            self.keep_focus_from(button, self.write_key.edit)
        self.flow.set_busy(self.page_id, True)
        self.busy.start(text)
        self.result.clear_message()
        for label in self.problems.values():
            if label.kind == "error":  # a previous test's verdict; field hints stay
                label.clear_message()
        self._update_buttons()

    def _finished(self) -> None:
        self.busy.stop()
        self.flow.set_busy(self.page_id, False)
        self._update_buttons()

    def test_connection(self) -> None:
        host, path, key = self._values()
        self._start("Testing the connection to Segment…")
        self.tasks.submit(
            TEST_TASK,
            lambda _token: self.services.check_segment(host, path, key),
            on_result=self._checked,
            on_error=self._failed,
        )

    def send_test_event(self) -> None:
        host, path, key = self._values()
        self._start("Sending a test event to Segment…")
        self.tasks.submit(
            TEST_TASK,
            lambda _token: self.services.send_test_event(host, path, key),
            on_result=self._sent,
            on_error=self._failed,
        )

    def cancel(self) -> None:
        self.tasks.cancel(TEST_TASK)
        self._finished()
        self.result.show_hint("Cancelled.")

    def _checked(self, check: SegmentCheck) -> None:
        self._finished()
        self.flow.segment_checked(check.ok, "" if check.ok else check.summary)
        self._tested = check.ok
        self._update_buttons()
        if check.ok:
            self.result.show_ok(check.summary)
            self.focus_next()
        elif check.field in self.problems:
            self.problems[check.field].show_error(check.summary)  # under the field at fault
        else:
            self.result.show_error(check.summary)

    def _sent(self, summary: str) -> None:
        self._finished()
        self.result.show_ok(summary)

    def _failed(self, error: BaseException) -> None:
        self._finished()
        self.flow.segment_checked(False, str(error))
        self._tested = False
        self._update_buttons()
        at_fault = self.host_problem if isinstance(error, InvalidURLError | NetworkError) else None
        (at_fault or self.result).show_error(str(error))

    def page_error_text(self) -> str:
        return ""  # shown under the buttons, where the test was started
