"""Step 4: which templates to enable, which Commerce event each tracks, and where Commerce
delivers (the relay URL or an SQS queue: ``delivery_section``)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.events import TEMPLATES, Group, TemplateSpec
from segment_desktop.core.flow import Step
from segment_desktop.ui.widgets.fields import name_after_label
from segment_desktop.ui.wizard.base import FlowPage, help_box
from segment_desktop.ui.wizard.delivery_section import LETTERS, DeliverySection

GROUP_TITLES = {
    Group.ORDERS: "Order Tracking Configuration",
    Group.CUSTOMERS: "Customer Tracking Configuration",
}
WHERE_EVENTS_GO = (
    "• As a webhook, Commerce sends each chosen event to the relay URL: the public "
    "https:// address where the relay (segment-desktop relay) runs, on a server or through "
    "a tunnel. Commerce's "
    "servers cannot reach 127.0.0.1; only the sandbox's Commerce, on this computer, can.\n"
    "• The relay turns each event into Segment calls with its template (next step) and sends "
    "them to your Segment source, retrying while Segment is unreachable.\n"
    "• On an SQS queue, events wait until a relay worker takes them, so an outage of the "
    "relay costs none; the same templates serve both deliveries.\n"
    "• Turning a template off later takes its event off the integration at Commerce (one "
    "left with no events is disabled); nothing is deleted there."
)
#: Mnemonic letters already taken on this page: the Relay URL field, the delivery box's, and
#: the wizard's Back, Next and Finish buttons.
TAKEN = frozenset("rbnf") | LETTERS


def with_mnemonic(label: str, name: str, taken: set[str]) -> str:
    """``label`` with an ``&`` before a letter of ``name`` (inside it) not in ``taken``:
    the first letter of one of its words if possible, else any of its letters. Adds the
    letter to ``taken``; returns ``label`` unchanged when every letter is taken."""
    start = label.find(name)
    if start < 0:
        return label
    words = [i for i, c in enumerate(name) if c.isalpha() and (i == 0 or name[i - 1] == " ")]
    others = [i for i, c in enumerate(name) if c.isalpha() and i not in words]
    for i in words + others:
        letter = name[i].lower()
        if letter not in taken:
            taken.add(letter)
            at = start + i
            return label[:at] + "&" + label[at:]
    return label


class TemplateRow:
    """One template: its check box, and its event (a combo when an alternative exists)."""

    def __init__(self, spec: TemplateSpec, parent: QWidget, taken: set[str]) -> None:
        self.spec = spec
        self.check = QCheckBox(with_mnemonic(spec.label, spec.name, taken), parent)
        self.check.setAccessibleName(spec.label)
        self.event_label = QLabel(f"{spec.name} event:", parent)
        self.combo: QComboBox | None = None
        self.fixed: QLabel | None = None
        if spec.alternatives:
            self.combo = QComboBox(parent)
            self.combo.addItems(list(spec.choices))
            name_after_label(self.combo, self.event_label.text())
            self.event_label.setBuddy(self.combo)
        else:
            self.fixed = QLabel(spec.default_event, parent)
            self.fixed.setAccessibleName(f"{spec.name} event: {spec.default_event}")

    def value_widget(self) -> QWidget:
        widget = self.combo if self.combo is not None else self.fixed
        assert widget is not None
        return widget

    def event(self) -> str:
        return self.combo.currentText() if self.combo is not None else self.spec.default_event


class ConfigurationsPage(FlowPage):
    """Check boxes labelled as in the Integrations Hub, event choices, and the relay URL."""

    page_id = Step.CONFIGURATIONS

    def build(self, layout: QVBoxLayout) -> None:
        self.setTitle("Configurations")
        self.setSubTitle("Choose what to send to Segment, and where Commerce delivers its events.")
        self.rows: dict[str, TemplateRow] = {}
        taken = set(TAKEN)
        for group, title in GROUP_TITLES.items():
            box = QGroupBox(title, self)
            grid = QGridLayout(box)
            grid.setColumnStretch(0, 1)
            for index, spec in enumerate(t for t in TEMPLATES if t.group == group):
                row = TemplateRow(spec, box, taken)
                self.rows[spec.key] = row
                grid.addWidget(row.check, index, 0)
                grid.addWidget(row.event_label, index, 1)
                grid.addWidget(row.value_widget(), index, 2)
                row.check.toggled.connect(lambda _on, key=spec.key: self._changed(key))
                if row.combo is not None:
                    row.combo.currentTextChanged.connect(
                        lambda _text, key=spec.key: self._changed(key)
                    )
            layout.addWidget(box)
        self.delivery = DeliverySection(self, self)
        layout.addWidget(self.delivery)
        self.relay_url = self.delivery.relay_url
        self.relay_error = self.delivery.relay_error
        layout.addSpacing(12)
        layout.addWidget(help_box("Where events go", WHERE_EVENTS_GO, self))
        self.relay_url.textEdited.connect(self._relay_edited)
        self._load()

    def _load(self) -> None:
        for key, row in self.rows.items():
            choice = self.flow.config.tracking[key]
            row.check.blockSignals(True)
            row.check.setChecked(choice.enabled)
            row.check.blockSignals(False)
            if row.combo is not None:
                row.combo.blockSignals(True)
                row.combo.setCurrentText(choice.event)
                row.combo.blockSignals(False)
                row.combo.setEnabled(choice.enabled)
        self.delivery.load()
        self._show_status()

    def initializePage(self) -> None:
        self._load()

    def _changed(self, key: str) -> None:
        row = self.rows[key]
        if row.combo is not None:
            row.combo.setEnabled(row.check.isChecked())
        self.flow.set_tracking(key, enabled=row.check.isChecked(), event=row.event())

    def _relay_edited(self, text: str) -> None:
        self.flow.set_relay_url(text)

    def saved_secret_pending(self) -> None:
        self.delivery.saved_secret_pending()

    def cleanupPage(self) -> None:
        if self.delivery.tasks_busy():
            self.delivery.cancel()

    def _show_status(self) -> None:
        if not hasattr(self, "relay_error"):
            return
        error = self.flow.status(self.page_id).error
        if "relay URL" in error and not self.relay_url.text().strip():
            self.relay_error.show_hint(error)
        elif "relay URL" in error:
            self.relay_error.show_error(error)
        else:
            self.relay_error.clear_message()
        queue = self.flow.config.delivery.kind == "aws_sqs" and self.flow.config.chosen_events()
        # A queue's problems are shown under their fields (see DeliverySection).
        self.page_error.show_error("" if "relay URL" in error or queue else error)
