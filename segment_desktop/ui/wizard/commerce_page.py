"""Step 2: Commerce connection. Connect obtains a real token off the GUI thread."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from segment_desktop.core.errors import (
    AuthenticationError,
    InvalidURLError,
    NetworkError,
    NotFoundError,
    SecretStoreError,
)
from segment_desktop.core.flow import Step
from segment_desktop.services import CommerceConnection
from segment_desktop.services.connections import address_note
from segment_desktop.ui.widgets.fields import (
    MessageLabel,
    SecretField,
    add_field_row,
    name_after_label,
)
from segment_desktop.ui.widgets.presets import apply_preset, sync_preset
from segment_desktop.ui.wizard.base import FlowPage, add_check_area

CONNECT_TASK = "wizard.commerce"
OTHER = "Other (type the URL)"
#: Region presets: label → API base URL (tokens come from ``<url>/oauth/access_token``).
REGIONS: dict[str, str] = {
    "EU West": "https://euwest.api.elasticpath.com",
    "US East": "https://useast.api.elasticpath.com",
}
WHERE = (
    "• Client ID and Client Secret: in Commerce Manager, System › Application Keys. Create a "
    "key there; its secret is shown only once, when it is created.\n"
    "• Token URL: your store's region, EU West (euwest.api.elasticpath.com) or US East "
    "(useast.api.elasticpath.com). A Commerce Manager address (…cm.elasticpath.com) is "
    "turned into its region's API address, and the page says so.\n\n"
    "Connect asks Commerce for an access token with this key (gives up within about 20 "
    "seconds) and checks that the key may manage webhooks. Nothing is changed at Commerce "
    "until Finish."
)
#: The secret field's placeholder while the wizard reads the saved secret from the keyring.
READING_KEYRING = "Reading the saved secret from the system keyring…"


class CommercePage(FlowPage):
    """Client ID, Client Secret (masked), Token URL with region presets, and Connect.

    An error is shown next to the field at fault: refused credentials under the ID or the
    secret, an unusable or unreachable address under the URL, anything else under Connect.
    """

    page_id = Step.COMMERCE

    def build(self, layout: QVBoxLayout) -> None:
        self.setTitle("Commerce Connection")
        self.setSubTitle(
            "Use an application key from Commerce Manager (System › Application Keys). "
            "Connect checks it; the secret then goes to your system keyring, never a file."
        )
        form = QFormLayout()
        self.region = QComboBox(self)
        self.region.addItems([*REGIONS, OTHER])
        name_after_label(self.region, "Region")
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("https://euwest.api.elasticpath.com")
        name_after_label(self.url, "Token URL")
        self.url_error = MessageLabel(self)
        self.client_id = QLineEdit(self)
        name_after_label(self.client_id, "Client ID")
        self.client_id_error = MessageLabel(self)
        self.secret = SecretField("Client Secret", self)
        self.secret_error = MessageLabel(self)
        self.secret.edit.setToolTip(
            "Stored in your system keyring as soon as the connection works; never in a file."
        )
        layout.addLayout(form)
        add_field_row(form, "&Region:", self.region)
        add_field_row(form, "&Token URL:", self.url, self.url_error)
        add_field_row(form, "Client &ID:", self.client_id, self.client_id_error)
        add_field_row(form, "Client &Secret:", self.secret, self.secret_error)
        self.connect_button = QPushButton("&Connect", self)
        self.busy, self.result = add_check_area(
            self, layout, [self.connect_button], "commerceResult", "Where to find these", WHERE
        )
        self.region.currentTextChanged.connect(self._region_chosen)
        for edit in (self.url, self.client_id):
            edit.textEdited.connect(self._edited)
        self.secret.edit.textEdited.connect(self._edited)
        self.connect_button.clicked.connect(self.connect_commerce)
        self.busy.cancelRequested.connect(self.cancel)
        self._load()

    # -- values ------------------------------------------------------------------------------

    def _load(self) -> None:
        commerce = self.flow.config.commerce
        url = commerce.base_url or REGIONS["EU West"]
        self.url.setText(url)
        self._sync_region(url)
        self.client_id.setText(commerce.client_id)
        self.secret.setText(self.flow.client_secret)
        self.flow.edit_commerce(self.url.text(), self.client_id.text(), self.secret.text())
        self._update_button()
        if self.flow.is_complete(self.page_id) and commerce.client_id:
            self.result.show_ok(f"Connected earlier to {commerce.base_url}.")

    def action_button(self) -> QPushButton:
        return self.connect_button

    def saved_secret_pending(self) -> None:
        """The wizard is reading the saved secret: say so in the (still empty) field."""
        self.secret.edit.setPlaceholderText(READING_KEYRING)

    def saved_secret_arrived(self, secret: str | None) -> None:
        """The saved secret was read (``None``: none stored, or the keyring failed).

        Filled in only when the field is still empty (a typed or sandbox value wins). Saved
        together with the URL and client ID still shown, it counts as connected, as when the
        wizard is opened with the secret at hand (:class:`SetupFlow`).
        """
        self.secret.edit.setPlaceholderText("")
        saved, current = self.flow.saved.commerce, self.flow.config.commerce
        if not secret and saved.client_id and not self.flow.client_secret:
            self.result.show_hint(
                "Connect is needed again: the client secret saved with this key could not be "
                "read from your system keyring. Enter it and press Connect."
            )
        if not secret or self.flow.client_secret:
            return
        same_key = (saved.base_url, saved.client_id) == (current.base_url, current.client_id)
        if saved.base_url and saved.client_id and same_key:
            self.flow.commerce_connected(saved.base_url, saved.client_id, secret, restored=True)
        else:
            self.flow.edit_commerce(current.base_url, current.client_id, secret)
        self._load()

    def initializePage(self) -> None:
        super().initializePage()
        # Values may have been filled in by the sandbox on the Welcome page.
        commerce = self.flow.config.commerce
        if (commerce.base_url, commerce.client_id, self.flow.client_secret) != (
            self.url.text().strip(),
            self.client_id.text().strip(),
            self.secret.text(),
        ):
            self.result.clear_message()
            self._load()

    def _sync_region(self, url: str) -> None:
        sync_preset(self.region, REGIONS, OTHER, url)

    def _region_chosen(self, label: str) -> None:
        apply_preset(label, REGIONS, self.url, self._edited)

    def _edited(self, _text: str = "") -> None:
        if self.flow.status(self.page_id).busy:
            self.cancel()
        self._sync_region(self.url.text())
        for label in (self.url_error, self.client_id_error, self.secret_error, self.result):
            label.clear_message()
        self.flow.edit_commerce(self.url.text(), self.client_id.text(), self.secret.text())
        self._update_button()

    def _update_button(self) -> None:
        busy = self.flow.status(self.page_id).busy
        self.connect_button.setEnabled(self.flow.can_connect() and not busy)
        if busy:
            why = "Connecting now: wait, or press Cancel."
        elif not self.flow.can_connect():
            why = "Fill in the Token URL, the Client ID and the Client Secret first."
        else:
            why = "Sign in to Commerce with this key (at most about 20 seconds)."
        self.connect_button.setToolTip(why)

    # -- connecting --------------------------------------------------------------------------

    def connect_commerce(self) -> None:
        if not self.flow.can_connect():
            return
        url, client_id, secret = self.url.text(), self.client_id.text().strip(), self.secret.text()
        self.keep_focus_from(self.connect_button, self.secret.edit)
        self.flow.set_busy(self.page_id, True)
        self._update_button()
        self.busy.start("Connecting to Commerce…")
        progress = self.busy.progress()
        self.tasks.submit(
            CONNECT_TASK,
            lambda _token: self.services.connect_commerce(url, client_id, secret, progress),
            on_result=lambda c: self._connected(c, client_id, secret),
            on_error=self._failed,
        )

    def cancel(self) -> None:
        """Stop waiting: the request may still finish in the background; its answer is
        dropped."""
        self.tasks.cancel(CONNECT_TASK)
        self._finished()
        self.result.show_hint("Connection attempt cancelled.")

    def _finished(self) -> None:
        self.busy.stop()
        self.flow.set_busy(self.page_id, False)
        self._update_button()

    def _connected(self, connection: CommerceConnection, client_id: str, secret: str) -> None:
        self._finished()
        self.url.setText(connection.base_url)
        self._sync_region(connection.base_url)
        self.flow.commerce_connected(connection.base_url, client_id, secret)
        note = f" {connection.note}" if connection.note else ""
        self.result.show_ok(
            f"Connected to {connection.base_url}. The client secret is saved in your "
            f"system keyring.{note}"
        )
        self.focus_next()

    def _failed(self, error: BaseException) -> None:
        self._finished()
        message = str(error)
        rewritten = address_note(self.url.text())
        if rewritten and isinstance(error, NetworkError | NotFoundError | AuthenticationError):
            message = f"{rewritten} {message}"
        self.flow.commerce_failed(message)
        if isinstance(error, AuthenticationError):
            target = (
                self.client_id_error
                if getattr(error, "field", None) == "client_id"
                else self.secret_error
            )
        elif isinstance(error, InvalidURLError | NetworkError | NotFoundError):
            target = self.url_error
        elif isinstance(error, SecretStoreError):
            target = self.result
            message = f"Connected, but the secret could not be saved: {message}"
        else:
            target = self.result
        target.show_error(message)
        field = {
            id(self.client_id_error): self.client_id,
            id(self.secret_error): self.secret.edit,
            id(self.url_error): self.url,
        }.get(id(target))
        if field is not None:
            field.setFocus()

    def page_error_text(self) -> str:
        return ""  # errors are shown next to their field
