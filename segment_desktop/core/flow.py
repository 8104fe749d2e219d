"""The setup flow as a plain object: which page comes next, which is complete, what Finish does.

The Qt wizard (``ui/wizard``) only asks this object: ``QWizardPage.nextId()`` calls
:meth:`SetupFlow.next_page`, ``isComplete()`` calls :meth:`SetupFlow.is_complete`, and the
pages report what they learn (fields edited, a connection that worked or failed, busy) through
the ``commerce_*``, ``segment_*``, ``set_*`` and :meth:`SetupFlow.set_busy` methods. Nobody
toggles a button by hand: a page is complete when it is valid and not busy.

The flow holds a *draft*: a copy of the saved :class:`Config` plus the two secrets the user
typed, in memory only. :meth:`SetupFlow.accept` validates the draft, hands it to a ``register``
callable (which talks to Commerce and stores the secrets) and only after that succeeds to
``save``; when either raises, the saved settings are left exactly as they were.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from urllib.parse import urlsplit

from segment_desktop.core.config import DEFAULT_SEGMENT_PATH, Config, TrackingChoice
from segment_desktop.core.delivery import queue_region
from segment_desktop.core.errors import ConfigError
from segment_desktop.core.events import BY_KEY, TEMPLATES

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Step(IntEnum):
    """The wizard's steps (one page each), in order. The values are the Qt page ids."""

    WELCOME = 0
    COMMERCE = 1
    SEGMENT = 2
    CONFIGURATIONS = 3
    TEMPLATES = 4
    FINISH = 5


@dataclass(frozen=True)
class StepStatus:
    """What a page publishes: ``valid`` (its values are usable), ``busy`` (a request is in
    flight) and ``error`` (a message for the user, empty when none)."""

    valid: bool = False
    busy: bool = False
    error: str = ""

    @property
    def complete(self) -> bool:
        return self.valid and not self.busy


@dataclass(frozen=True)
class Draft:
    """What Finish registers and saves: settings plus the secrets typed in this session."""

    config: Config
    client_secret: str
    write_key: str
    #: The SQS queue's secret access key (``""`` for a webhook delivery).
    sqs_secret: str = ""


Listener = Callable[[Step], None]


def check_web_url(url: str, what: str) -> str:
    """``""`` when ``url`` is a usable http(s) URL, else a message saying what to fix.

    Plain ``http`` is accepted only for this computer (the sandbox, a local relay): anything
    else would send credentials or customer data unencrypted.
    """
    text = url.strip()
    if not text:
        return f"Enter the {what}."
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"The {what} must be a web address such as https://example.com."
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return f"The {what} must start with https:// (plain http is only allowed for 127.0.0.1)."
    return ""


class SetupFlow:
    """The wizard's state and rules, without Qt. See the module docstring.

    ``saved`` is the current settings (``Config.default()`` on a first run); ``client_secret``
    and ``write_key`` are the secrets read back from the keyring, or ``None``. Values that were
    saved together with their secret count as valid, so reopening the wizard to change one
    template does not demand a new connection test.
    """

    def __init__(
        self,
        saved: Config,
        *,
        client_secret: str | None = None,
        write_key: str | None = None,
        sqs_secret: str | None = None,
        with_templates: bool = True,
    ) -> None:
        self.saved = saved
        self.config = copy.deepcopy(saved)
        self.client_secret = client_secret or ""
        self.write_key = write_key or ""
        self.sqs_secret = sqs_secret or ""
        self.with_templates = with_templates
        self._listeners: list[Listener] = []
        self._status: dict[Step, StepStatus] = {page: StepStatus() for page in Step}
        self._status[Step.WELCOME] = StepStatus(valid=True)
        self._status[Step.TEMPLATES] = StepStatus(valid=True)
        self._connected: tuple[str, str, str] | None = None
        #: What the user started from: a change from it (or a connection made in this
        #: session) is work that quitting would lose.
        self._baseline = copy.deepcopy(saved)
        self._connected_here = False
        self._segment_failed: tuple[str, str, str] | None = None
        commerce = saved.commerce
        if commerce.base_url and commerce.client_id and self.client_secret:
            self._connected = (commerce.base_url, commerce.client_id, self.client_secret)
        self._revalidate_commerce()
        self._revalidate_segment()
        self._revalidate_configurations()
        self._revalidate_finish()

    # -- observing ---------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(page)`` whenever that page's status changes."""
        self._listeners.append(listener)

    def _set(self, page: Step, status: StepStatus) -> None:
        if self._status[page] == status:
            return
        self._status[page] = status
        for listener in list(self._listeners):
            listener(page)

    def _update(
        self,
        page: Step,
        *,
        valid: bool | None = None,
        busy: bool | None = None,
        error: str | None = None,
    ) -> None:
        old = self._status[page]
        self._set(
            page,
            StepStatus(
                valid=old.valid if valid is None else valid,
                busy=old.busy if busy is None else busy,
                error=old.error if error is None else error,
            ),
        )

    # -- navigation --------------------------------------------------------------------------

    @property
    def pages(self) -> tuple[Step, ...]:
        """The pages shown, in order (Templates only when a template studio is available)."""
        return tuple(p for p in Step if p != Step.TEMPLATES or self.with_templates)

    def first_page(self) -> Step:
        return self.pages[0]

    def next_page(self, page: Step) -> Step | None:
        """The page after ``page``, or ``None`` on the last one."""
        order = self.pages
        index = order.index(page)
        return order[index + 1] if index + 1 < len(order) else None

    def is_final(self, page: Step) -> bool:
        return self.next_page(page) is None

    def status(self, page: Step) -> StepStatus:
        return self._status[page]

    def is_complete(self, page: Step) -> bool:
        """Next (or Finish) may be pressed: the page is valid, nothing is in flight, and for
        Finish every earlier page is complete too."""
        if page == Step.FINISH:
            return all(self._status[p].complete for p in self.pages)
        return self._status[page].complete

    def mark_untouched(self) -> None:
        """The values as they are now are the starting point, not the user's work (what
        the pages fill in when they are built: defaults, saved values)."""
        self._baseline = copy.deepcopy(self.config)

    def has_progress(self) -> bool:
        """Whether quitting now loses something the user did: a changed value, a connection
        made in this session, or a template edit not saved yet."""
        return (
            self.config != self._baseline
            or self._connected_here
            or not self._status[Step.TEMPLATES].valid
        )

    def set_busy(self, page: Step, busy: bool) -> None:
        self._update(page, busy=busy)

    def set_error(self, page: Step, message: str) -> None:
        """Show ``message`` on ``page`` without changing whether it is valid (e.g. Finish could
        not preview its plan: pressing Finish will try for real and report)."""
        self._update(page, error=message)

    # -- Commerce ----------------------------------------------------------------------------

    def can_connect(self) -> bool:
        """All three Commerce fields are filled in (the Connect button's state)."""
        c = self.config.commerce
        return bool(c.base_url.strip() and c.client_id.strip() and self.client_secret)

    def edit_commerce(self, base_url: str, client_id: str, client_secret: str) -> None:
        """The user changed a Commerce field: a connection made with other values no longer
        counts, and an old error no longer applies."""
        self.config.commerce.base_url = base_url.strip()
        self.config.commerce.client_id = client_id.strip()
        self.client_secret = client_secret
        self._revalidate_commerce(error="")

    def commerce_connected(
        self, base_url: str, client_id: str, client_secret: str, *, restored: bool = False
    ) -> None:
        """A token was obtained with these values (``base_url`` as normalised by the client);
        ``restored``: they are the saved ones, with the saved secret (no work of this session).
        """
        self.config.commerce.base_url = base_url
        self.config.commerce.client_id = client_id
        self.client_secret = client_secret
        self._connected = (base_url, client_id, client_secret)
        self._connected_here = self._connected_here or not restored
        self._revalidate_commerce(error="")

    def commerce_failed(self, message: str) -> None:
        self._connected = None
        self._revalidate_commerce(error=message)

    def _revalidate_commerce(self, error: str | None = None) -> None:
        c = self.config.commerce
        valid = self._connected == (c.base_url, c.client_id, self.client_secret)
        self._update(Step.COMMERCE, valid=valid, error=error)

    def use_sandbox(
        self,
        *,
        commerce_url: str,
        client_id: str,
        client_secret: str,
        segment_url: str,
        write_key: str,
        relay_url: str,
    ) -> None:
        """Fill every field with the in-process emulators' addresses and demo credentials.

        Commerce still has to be connected (the Connect button proves the emulator answers).
        Values filled in here are not the user's work: quitting right after loses nothing.
        """
        self.config.sandbox = True
        self.edit_commerce(commerce_url, client_id, client_secret)
        self.edit_segment(segment_url, DEFAULT_SEGMENT_PATH, write_key)
        self.set_relay_url(relay_url)
        self._baseline = copy.deepcopy(self.config)

    # -- Segment -----------------------------------------------------------------------------

    def segment_problems(self) -> dict[str, str]:
        """What is wrong with each Segment field (``host``, ``path``, ``write_key``), so the
        page can say it under the field it concerns; empty when all are usable."""
        s = self.config.segment
        problems: dict[str, str] = {}
        host_problem = check_web_url(s.host, "Segment host")
        if not host_problem and urlsplit(s.host.strip()).path.strip("/"):
            host_problem = "Enter only the Segment host here (no path); the path has its own field."
        if host_problem:
            problems["host"] = host_problem
        if not s.path.startswith("/"):
            problems["path"] = "The Segment path must start with / (usually /v1/batch)."
        if not self.write_key.strip():
            problems["write_key"] = (
                "The write key is empty. Copy it from Segment: Connections › Sources › your "
                "source › Settings › API Keys."
            )
        return problems

    def segment_problem(self) -> str:
        """The first thing wrong with the Segment fields, or ``""``."""
        return next(iter(self.segment_problems().values()), "")

    def edit_segment(self, host: str, path: str, write_key: str) -> None:
        self.config.segment.host = host.strip().rstrip("/")
        self.config.segment.path = path.strip()
        self.write_key = write_key.strip()
        self._revalidate_segment()

    def segment_checked(self, ok: bool, message: str = "") -> None:
        """The connection test finished. A failure blocks Next until a field changes or a
        later test passes; a success shows nothing extra (the page shows the summary)."""
        s = self.config.segment
        self._segment_failed = None if ok else (s.host, s.path, self.write_key)
        self._revalidate_segment(error="" if ok else message)

    def _revalidate_segment(self, error: str | None = None) -> None:
        s = self.config.segment
        problem = self.segment_problem()
        failed = self._segment_failed == (s.host, s.path, self.write_key)
        self._update(
            Step.SEGMENT,
            valid=not problem and not failed,
            error=error if error is not None else (None if failed else ""),
        )

    # -- Configurations ----------------------------------------------------------------------

    def set_tracking(self, key: str, *, enabled: bool, event: str | None = None) -> None:
        """Turn a template on or off and choose its event (``ValueError`` for an event the
        template cannot track)."""
        spec = BY_KEY[key]
        chosen = event or self.config.tracking[key].event
        if chosen not in spec.choices:
            raise ValueError(f"{spec.name} cannot track {chosen!r}: one of {spec.choices}.")
        self.config.tracking[key] = TrackingChoice(enabled=enabled, event=chosen)
        self._revalidate_configurations()

    def set_relay_url(self, url: str) -> None:
        self.config.relay_url = url.strip()
        self._revalidate_configurations()

    def configurations_problem(self) -> str:
        if not self.config.chosen_events():
            return "Enable at least one template, or nothing will reach Segment."
        if self.config.delivery.kind == "aws_sqs":
            return next(iter(self.queue_problems().values()), "")
        return check_web_url(self.config.relay_url, "relay URL")

    # -- delivery ----------------------------------------------------------------------------

    def set_delivery_kind(self, kind: str) -> None:
        """Commerce delivers to the relay URL (``webhook``) or to an SQS queue (``aws_sqs``)."""
        if kind not in ("webhook", "aws_sqs"):
            raise ValueError(f"Unknown delivery {kind!r}: webhook or aws_sqs.")
        self.config.delivery.kind = kind
        self._revalidate_configurations()

    def edit_queue(self, url: str, region: str, access_key_id: str, secret: str) -> None:
        """The user changed a queue field. Another queue's registered key no longer counts
        (registration writes the key afresh)."""
        delivery = self.config.delivery
        if url.strip() != self.saved.delivery.sqs_queue_url:
            delivery.sqs_secret_fingerprint = ""
        else:
            delivery.sqs_secret_fingerprint = self.saved.delivery.sqs_secret_fingerprint
        delivery.sqs_queue_url = url.strip()
        delivery.sqs_region = region.strip()
        delivery.sqs_access_key_id = access_key_id.strip()
        self.sqs_secret = secret.strip()
        self._revalidate_configurations()

    def queue_problems(self) -> dict[str, str]:
        """What is wrong with each queue field (``url``, ``region``, ``access_key_id``,
        ``secret``), to show under the field it concerns; empty when all are usable."""
        d = self.config.delivery
        problems: dict[str, str] = {}
        url_problem = check_web_url(d.sqs_queue_url, "queue URL")
        if not url_problem and len(urlsplit(d.sqs_queue_url).path.strip("/").split("/")) != 2:
            url_problem = (
                "Enter the whole queue URL, as the SQS console shows it: "
                "https://sqs.<region>.amazonaws.com/<account>/<queue>."
            )
        if url_problem:
            problems["url"] = url_problem
        if not d.sqs_region.strip() and not queue_region(d.sqs_queue_url):
            problems["region"] = "Enter the queue's region (for example eu-west-1)."
        if not d.sqs_access_key_id.strip():
            problems["access_key_id"] = (
                "Enter the access key id of an IAM user allowed sqs:SendMessage on the queue."
            )
        if not self.sqs_secret:
            problems["secret"] = "Enter the secret access key that belongs to that key id."
        return problems

    def _revalidate_configurations(self) -> None:
        problem = self.configurations_problem()
        self._update(Step.CONFIGURATIONS, valid=not problem, error=problem)

    def enabled_templates(self) -> list[str]:
        """Keys of the enabled templates, in the table's order (for the Templates page)."""
        return [t.key for t in TEMPLATES if self.config.tracking[t.key].enabled]

    # -- Templates ---------------------------------------------------------------------------

    def set_template_override(self, key: str, text: str | None) -> None:
        """The studio saved ``text`` for ``key`` (``None``: back to the built-in default)."""
        if key not in BY_KEY:
            raise ValueError(f"Unknown template {key!r}.")
        if text is None:
            self.config.template_overrides.pop(key, None)
        else:
            self.config.template_overrides[key] = text

    def templates_dirty(self, dirty: bool) -> None:
        """The studio has unsaved edits: Next waits until they are saved or reverted."""
        self._update(
            Step.TEMPLATES,
            valid=not dirty,
            error="Save or revert your template changes first." if dirty else "",
        )

    # -- Finish ------------------------------------------------------------------------------

    def _revalidate_finish(self) -> None:
        self._update(Step.FINISH, valid=True)

    def draft(self) -> Draft:
        """A copy of what Finish would register and save."""
        sqs_secret = self.sqs_secret if self.config.delivery.kind == "aws_sqs" else ""
        return Draft(copy.deepcopy(self.config), self.client_secret, self.write_key, sqs_secret)

    def accept(
        self,
        register: Callable[[Draft], Config],
        save: Callable[[Config], None],
    ) -> Config:
        """Finish: validate, ``register`` (talks to Commerce, stores secrets, returns the
        settings to keep, e.g. with integration ids), then ``save``. Safe to run off the GUI
        thread (it touches no listener). When anything raises, ``saved`` is unchanged.
        """
        incomplete = [p for p in self.pages if p != Step.FINISH and not self._status[p].complete]
        if incomplete:
            names = ", ".join(p.name.title() for p in incomplete)
            noun = "step" if len(incomplete) == 1 else "steps"
            raise ConfigError(f"Setup is not complete yet: check the {noun} {names}.")
        draft = self.draft()
        draft.config.validate()
        result = register(draft)
        save(result)
        self.saved = result
        return result
