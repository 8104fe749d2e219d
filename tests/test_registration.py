"""Registration against the Commerce emulator: plan, apply, idempotence, foreign integrations."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.config import Config, ConfigStore, DeliverySettings, TrackingChoice
from segment_desktop.core.delivery import Target
from segment_desktop.core.errors import ConfigError, InvalidURLError, ServerError
from segment_desktop.core.events import TEMPLATES, Group, TemplateSpec
from segment_desktop.core.secrets import SQS_SECRET_ACCESS_KEY, WEBHOOK_SECRET, secret_fingerprint
from segment_desktop.registration import (
    PREFIX,
    Plan,
    apply,
    desired_integrations,
    plan,
)
from segment_desktop.sandbox.runner import Sandbox

SECRET = "webhook-secret-" + "a1b2c3d4" * 6
RELAY = "http://127.0.0.1:8765/commerce"
ORDERS = f"{PREFIX}orders"
CUSTOMERS = f"{PREFIX}customers"
#: In the events table's order, as registration sends them.
DEFAULT_ORDER_EVENTS = [
    "order.created",
    "order.paid",
    "order.updated",
    "order.refunded",
    "order.cancelled",
]


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[CommerceClient]:
    with CommerceClient(
        sandbox.commerce_url,
        sandbox.client_id,
        sandbox.client_secret,
        timeout=httpx.Timeout(5.0),
        backoff_base=0.01,
    ) as c:
        yield c


def make_config(sandbox: Sandbox) -> Config:
    config = Config.default()
    config.commerce.base_url = sandbox.commerce_url
    config.commerce.client_id = sandbox.client_id
    config.relay_url = RELAY
    return config


def register(client: CommerceClient, config: Config, secret: str = SECRET) -> tuple[Plan, Config]:
    """Plan and apply; returns the plan and the settings as they would be saved."""
    the_plan = plan(config, secret, client.list_integrations())
    return the_plan, apply(the_plan, client).config


def writes(sandbox: Sandbox) -> int:
    time.sleep(0.05)  # the emulator logs a request just after answering it
    return sandbox.commerce.write_count()


def by_name(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in sandbox.commerce.integrations}


def turn_off(config: Config, *keys: str) -> None:
    for key in keys:
        config.tracking[key] = TrackingChoice(False, config.tracking[key].event)


# -- what must exist ----------------------------------------------------------------------------


def test_all_seven_with_alternatives_never_exceed_five_events_or_mix_groups() -> None:
    chosen = {
        "checkout_started": "order.authorized",
        "order_completed": "order.fulfilled",
        "order_updated": "order.updated",
        "order_refunded": "order.refunded",
        "order_cancelled": "order.cancelled",
        "customer_created": "customer.created",
        "customer_updated": "customer.deleted",
    }
    desired = desired_integrations(chosen)
    assert [d.name for d in desired] == [ORDERS, CUSTOMERS]
    assert all(len(d.observes) <= 5 for d in desired)
    assert set(desired[0].observes) == {
        "order.authorized",
        "order.fulfilled",
        "order.updated",
        "order.refunded",
        "order.cancelled",
    }
    assert desired[1].observes == ("customer.created", "customer.deleted")


def test_more_than_five_events_of_a_group_are_split_with_numbered_names() -> None:
    # the table cannot produce six order events today; the splitting must hold all the same
    extra = TemplateSpec("extra", "Extra", Group.ORDERS, "order.authorized")
    chosen = {t.key: t.default_event for t in TEMPLATES} | {"extra": "order.authorized"}
    desired = desired_integrations(chosen, (*TEMPLATES, extra))
    assert [d.name for d in desired] == [ORDERS, f"{ORDERS} (2)", CUSTOMERS]
    assert [len(d.observes) for d in desired] == [5, 1, 2]
    assert {e for d in desired[:2] for e in d.observes} == {
        *DEFAULT_ORDER_EVENTS,
        "order.authorized",
    }


# -- against the emulator -----------------------------------------------------------------------


def test_a_fresh_store_gets_its_integrations_created(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    the_plan, saved = register(client, make_config(sandbox))
    assert [a.kind for a in the_plan.actions] == ["create", "create"]
    assert "Will create 2 integrations" in the_plan.summary()
    assert f"observing {', '.join(DEFAULT_ORDER_EVENTS)}." in the_plan.summary()

    hooks = by_name(sandbox)
    assert set(hooks) == {ORDERS, CUSTOMERS}
    orders = hooks[ORDERS]
    assert orders["observes"] == DEFAULT_ORDER_EVENTS
    assert orders["enabled"] is True and orders["integration_type"] == "webhook"
    assert orders["description"].startswith("Sends order events")
    assert orders["configuration"] == {"url": RELAY, "secret_key": SECRET}
    assert hooks[CUSTOMERS]["observes"] == ["customer.created", "customer.updated"]
    assert saved.integration_ids == {ORDERS: orders["id"], CUSTOMERS: hooks[CUSTOMERS]["id"]}
    assert saved.webhook_secret_fingerprint == secret_fingerprint(SECRET)


def test_running_twice_makes_no_write(sandbox: Sandbox, client: CommerceClient) -> None:
    _, saved = register(client, make_config(sandbox))
    before = writes(sandbox)
    again, saved_again = register(client, saved)
    assert again.changes_nothing and writes(sandbox) == before
    assert again.summary().startswith("Nothing to change: 2 integrations already match.")
    assert saved_again == saved


def test_turning_an_event_off_updates_only_the_events(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    _, saved = register(client, make_config(sandbox))
    turn_off(saved, "order_refunded")
    the_plan, saved = register(client, saved)
    (action,) = the_plan.actions
    assert action.kind == "update" and action.changes == ("events",)
    assert action.attributes == {"observes": [e for e in DEFAULT_ORDER_EVENTS if "refund" not in e]}
    assert "order.refunded" not in by_name(sandbox)[ORDERS]["observes"]
    before = writes(sandbox)
    assert register(client, saved)[0].changes_nothing and writes(sandbox) == before


def test_an_alternative_event_updates_the_integration(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    _, saved = register(client, make_config(sandbox))
    saved.tracking["order_completed"] = TrackingChoice(True, "order.fulfilled")
    the_plan, saved = register(client, saved)
    assert [a.kind for a in the_plan.actions] == ["update"]
    observes = by_name(sandbox)[ORDERS]["observes"]
    assert "order.fulfilled" in observes and "order.paid" not in observes


def test_everything_off_disables_and_turning_back_on_reuses(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    config = make_config(sandbox)
    _, saved = register(client, config)
    ids = dict(saved.integration_ids)
    turn_off(saved, *saved.tracking)
    saved.relay_url = ""  # not needed when nothing is tracked
    the_plan, saved = register(client, saved)
    assert [a.kind for a in the_plan.actions] == ["disable", "disable"]
    assert all(a.attributes == {"enabled": False} for a in the_plan.actions)
    assert "Disable “Segment Desktop — orders”" in the_plan.summary()
    assert {i["id"]: i["enabled"] for i in sandbox.commerce.integrations} == {
        ids[ORDERS]: False,
        ids[CUSTOMERS]: False,
    }
    assert saved.integration_ids == ids  # still ours, still remembered

    before = writes(sandbox)
    assert register(client, saved)[0].changes_nothing and writes(sandbox) == before

    saved.tracking = make_config(sandbox).tracking
    saved.relay_url = RELAY
    the_plan, saved = register(client, saved)
    assert [(a.kind, a.changes) for a in the_plan.actions] == [
        ("update", ("enable",)),
        ("update", ("enable",)),
    ]
    assert saved.integration_ids == ids and len(sandbox.commerce.integrations) == 2


def test_foreign_integrations_are_never_touched(sandbox: Sandbox, client: CommerceClient) -> None:
    foreign = [
        client.create_integration(
            {
                "name": name,
                "description": "someone else's",
                "integration_type": "webhook",
                "enabled": True,
                "observes": ["order.paid", "order.created"],
                "configuration": {"url": "https://erp.example/hook"},
            }
        )
        for name in ("ERP sync", "Segment Desktop notes")  # the second lacks our exact prefix
    ]
    config = make_config(sandbox)
    the_plan, saved = register(client, config)
    assert the_plan.foreign == 2 and "Leaves 2 integrations" in the_plan.summary()
    turn_off(saved, *saved.tracking)
    register(client, saved)

    time.sleep(0.05)
    touched = {
        r.path.rsplit("/", 1)[-1]
        for r in sandbox.commerce.request_log
        if r.method in ("PUT", "DELETE")
    }
    assert touched.isdisjoint({f["id"] for f in foreign})
    now = {i["id"]: i for i in sandbox.commerce.integrations}
    for before in foreign:
        assert now[before["id"]] == before


def test_a_renamed_integration_we_remember_is_renamed_back(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    _, saved = register(client, make_config(sandbox))
    client.update_integration(saved.integration_ids[ORDERS], {"name": "My orders hook"})
    the_plan, _ = register(client, saved)
    (action,) = the_plan.actions
    assert action.changes == ("name",) and action.attributes == {"name": ORDERS}
    assert ORDERS in by_name(sandbox)


def test_a_duplicate_of_ours_is_disabled_not_doubled(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    config = make_config(sandbox)
    register(client, config)  # settings not saved: the ids are forgotten
    the_plan, saved = register(client, config)  # found again by name: nothing created
    assert the_plan.changes_nothing and len(sandbox.commerce.integrations) == 2
    stray = client.create_integration(
        {**the_plan.desired[0].attributes(Target("webhook", RELAY, SECRET)), "name": ORDERS}
    )
    the_plan, _ = register(client, saved)
    assert [(a.kind, a.integration_id) for a in the_plan.actions] == [("disable", stray["id"])]


def test_a_changed_secret_or_relay_url_updates_the_configuration(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    _, saved = register(client, make_config(sandbox))
    new_secret = "another-secret-" + "f" * 40
    the_plan, saved = register(client, saved, secret=new_secret)
    assert [a.changes for a in the_plan.actions] == [("webhook secret",), ("webhook secret",)]
    assert new_secret not in the_plan.summary() and new_secret not in repr(the_plan)
    assert by_name(sandbox)[ORDERS]["configuration"]["secret_key"] == new_secret
    assert saved.webhook_secret_fingerprint == secret_fingerprint(new_secret)

    saved.relay_url = "https://relay.example/commerce"
    the_plan, _ = register(client, saved, secret=new_secret)
    assert [a.changes for a in the_plan.actions] == [("relay URL",), ("relay URL",)]
    configuration = by_name(sandbox)[CUSTOMERS]["configuration"]
    assert configuration == {"url": "https://relay.example/commerce", "secret_key": new_secret}


def test_progress_is_remembered_when_a_write_fails(
    sandbox: Sandbox, client: CommerceClient, tmp_path: Any
) -> None:
    class FailsSecondCreate:
        def __init__(self) -> None:
            self.creates = 0

        def create_integration(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
            self.creates += 1
            if self.creates == 2:
                raise ServerError("Commerce failed (503).", status_code=503, service="Commerce")
            return client.create_integration(attributes)

        def update_integration(self, i: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
            return client.update_integration(i, attributes)

    store = ConfigStore(tmp_path / "settings")
    config = make_config(sandbox)
    the_plan = plan(config, SECRET, client.list_integrations())
    with pytest.raises(ServerError):
        apply(the_plan, FailsSecondCreate(), store)
    saved = store.load()
    assert saved.integration_ids == {ORDERS: by_name(sandbox)[ORDERS]["id"]}
    assert saved.webhook_secret_fingerprint == ""  # not everything was registered

    the_plan, _ = register(client, saved)  # the next run finishes the job
    assert [(a.kind, a.name) for a in the_plan.actions] == [("create", CUSTOMERS)]


# -- the plan alone ------------------------------------------------------------------------------


def existing_orders(**configuration: str) -> list[dict[str, Any]]:
    desired = desired_integrations({t: e for t, e in Config.default().chosen_events().items()})
    attributes = desired[0].attributes(Target("webhook", RELAY, SECRET))
    attributes["configuration"] = {"url": RELAY, **configuration}
    return [{"id": "i-1", "type": "integration", **attributes}]


def only_orders() -> Config:
    config = Config.default()
    config.relay_url = RELAY
    turn_off(config, "customer_created", "customer_updated")
    return config


def test_secret_not_echoed_with_a_matching_fingerprint_is_left_alone() -> None:
    config = only_orders()
    config.webhook_secret_fingerprint = secret_fingerprint(SECRET)
    assert plan(config, SECRET, existing_orders()).changes_nothing


def test_secret_not_echoed_and_never_recorded_is_sent_once() -> None:
    config = only_orders()
    the_plan = plan(config, SECRET, existing_orders())
    (action,) = the_plan.actions
    assert action.changes == ("webhook secret",)
    assert action.attributes == {"configuration": {"url": RELAY, "secret_key": SECRET}}
    assert the_plan.secret_fingerprint == secret_fingerprint(SECRET)


def test_secret_not_echoed_and_changed_locally_is_sent() -> None:
    config = only_orders()
    config.webhook_secret_fingerprint = secret_fingerprint("the old secret " * 4)
    (action,) = plan(config, {WEBHOOK_SECRET: SECRET}, existing_orders()).actions
    assert action.changes == ("webhook secret",)


def test_an_echoed_secret_is_compared_directly() -> None:
    config = only_orders()  # no fingerprint: the echo is enough
    the_plan = plan(config, SECRET, existing_orders(secret_key=SECRET))
    assert the_plan.changes_nothing
    assert the_plan.summary() == "Nothing to change: 1 integration already matches."


def test_missing_relay_url_or_secret_is_a_clear_error() -> None:
    config = only_orders()
    config.relay_url = ""
    with pytest.raises(ConfigError, match="No relay URL"):
        plan(config, SECRET, [])
    with pytest.raises(ConfigError, match="No webhook secret"):
        plan(only_orders(), {}, [])


def test_a_plain_http_relay_on_another_host_is_refused() -> None:
    config = only_orders()
    config.relay_url = "http://relay.example/commerce"
    with pytest.raises(InvalidURLError, match="https://"):
        plan(config, SECRET, [])


def test_a_loopback_relay_for_a_remote_store_is_a_warning() -> None:
    config = only_orders()
    config.commerce.base_url = "https://euwest.api.elasticpath.com"
    the_plan = plan(config, SECRET, [])
    assert the_plan.warnings and "cannot reach" in the_plan.warnings[0]
    assert "Warning: the relay URL" in the_plan.summary()


# -- what Commerce then does ---------------------------------------------------------------------


class Receiver:
    """A tiny webhook receiver on 127.0.0.1 recording (trigger, secret header) per delivery."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.received: list[tuple[str, str]] = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append(
                    (
                        self.headers.get("x-moltin-integration-trigger", ""),
                        self.headers.get("x-moltin-secret-key", ""),
                    )
                )
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/commerce"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    try:
        yield running
    finally:
        running.close()


def test_commerce_delivers_exactly_the_registered_events_with_the_secret(
    sandbox: Sandbox, client: CommerceClient, receiver: Receiver
) -> None:
    config = make_config(sandbox)
    config.relay_url = receiver.url
    turn_off(config, "order_refunded")
    register(client, config)
    for event in ("order.paid", "order.refunded", "customer.created"):
        sandbox.commerce.fire(event, wait=True)
    assert sorted(receiver.received) == [("customer.created", SECRET), ("order.paid", SECRET)]


# -- delivery to an Amazon SQS queue --------------------------------------------------------------

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/commerce-events"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SQS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SECRETS = {WEBHOOK_SECRET: SECRET, SQS_SECRET_ACCESS_KEY: SQS_SECRET}


def queue_config(sandbox: Sandbox) -> Config:
    config = make_config(sandbox)
    config.delivery = DeliverySettings("aws_sqs", QUEUE, "", ACCESS_KEY_ID)
    return config


def test_a_queue_delivery_registers_aws_sqs_integrations_once(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    the_plan = plan(queue_config(sandbox), SECRETS, client.list_integrations())
    saved = apply(the_plan, client).config
    integrations = by_name(sandbox)
    assert set(integrations) == {ORDERS, CUSTOMERS}
    for integration in integrations.values():
        assert integration["integration_type"] == "aws_sqs"
        assert integration["configuration"] == {
            "url": QUEUE,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SQS_SECRET,
            "region": "eu-west-1",  # read from the queue URL
        }
    assert integrations[ORDERS]["observes"] == DEFAULT_ORDER_EVENTS
    assert saved.delivery.sqs_secret_fingerprint == secret_fingerprint(SQS_SECRET)
    before = writes(sandbox)
    again = plan(saved, SECRETS, client.list_integrations())
    assert again.changes_nothing, again.summary()
    assert writes(sandbox) == before


def test_switching_from_webhooks_to_a_queue_updates_the_same_integrations(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    _, saved = register(client, make_config(sandbox))
    ids = dict(saved.integration_ids)
    saved.delivery = DeliverySettings("aws_sqs", QUEUE, "eu-west-1", ACCESS_KEY_ID)
    the_plan = plan(saved, SECRETS, client.list_integrations())
    assert [a.kind for a in the_plan.actions] == ["update", "update"]
    assert "type" in the_plan.actions[0].changes
    assert "secret access key" in the_plan.actions[0].changes
    result = apply(the_plan, client)
    assert result.integration_ids == ids
    assert {i["integration_type"] for i in by_name(sandbox).values()} == {"aws_sqs"}
    assert plan(result.config, SECRETS, client.list_integrations()).changes_nothing


def test_a_changed_secret_access_key_is_sent_with_the_whole_configuration() -> None:
    config = only_orders()
    config.delivery = DeliverySettings("aws_sqs", QUEUE, "eu-west-1", ACCESS_KEY_ID)
    config.delivery.sqs_secret_fingerprint = secret_fingerprint("an older secret key")
    existing = existing_orders()
    existing[0]["integration_type"] = "aws_sqs"
    existing[0]["configuration"] = {
        "url": QUEUE, "aws_access_key_id": ACCESS_KEY_ID, "region": "eu-west-1",
    }  # fmt: skip
    (action,) = plan(config, SECRETS, existing).actions
    assert action.changes == ("secret access key",)
    assert action.attributes["configuration"]["aws_secret_access_key"] == SQS_SECRET
    assert set(action.attributes["configuration"]) == {
        "url", "aws_access_key_id", "aws_secret_access_key", "region",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("delivery", "secrets", "named"),
    [
        (DeliverySettings("aws_sqs", QUEUE, "", ACCESS_KEY_ID), {}, "the secret access key"),
        (DeliverySettings("aws_sqs", "", "", ACCESS_KEY_ID), SECRETS, "the queue URL"),
        (DeliverySettings("aws_sqs", QUEUE, "", ""), SECRETS, "the access key id"),
        (
            DeliverySettings("aws_sqs", "https://queue.example.com/q", "", ACCESS_KEY_ID),
            SECRETS,
            "the queue's region",
        ),
    ],
)
def test_a_queue_delivery_missing_a_setting_names_it(
    delivery: DeliverySettings, secrets: dict[str, str], named: str
) -> None:
    config = only_orders()
    config.delivery = delivery
    with pytest.raises(ConfigError, match=named):
        plan(config, secrets, [])


def test_register_on_the_command_line_switches_to_a_queue_and_back(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from segment_desktop.cli import main

    directory = tmp_path / "settings"
    ConfigStore(directory).save(make_config(sandbox))
    monkeypatch.setenv("COMMERCE_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("COMMERCE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SQS_SECRET)
    args = ["register", "--config-dir", str(directory)]
    assert main([*args, "--sqs-queue-url", QUEUE, "--sqs-access-key-id", ACCESS_KEY_ID]) == 0
    saved = ConfigStore(directory).load()
    assert (saved.delivery.kind, saved.delivery.sqs_queue_url) == ("aws_sqs", QUEUE)
    assert {i["integration_type"] for i in by_name(sandbox).values()} == {"aws_sqs"}
    out = capsys.readouterr().out
    assert SQS_SECRET not in out and SQS_SECRET not in (directory / "config.json").read_text()
    assert main(args) == 0
    assert "Nothing to change" in capsys.readouterr().out
    assert main([*args, "--webhook"]) == 0
    assert ConfigStore(directory).load().delivery.kind == "webhook"
    assert {i["integration_type"] for i in by_name(sandbox).values()} == {"webhook"}


def masked(value: str) -> str:
    """As Commerce shows an aws_sqs integration's keys: asterisks, then the last four."""
    return "*" * (len(value) - 4) + value[-4:]


def queue_integration(configuration: dict[str, str]) -> list[dict[str, Any]]:
    existing = existing_orders()
    existing[0]["integration_type"] = "aws_sqs"
    existing[0]["configuration"] = configuration
    return existing


def test_keys_commerce_answers_masked_are_not_taken_for_changes() -> None:
    config = only_orders()
    config.delivery = DeliverySettings("aws_sqs", QUEUE, "eu-west-1", ACCESS_KEY_ID)
    config.delivery.sqs_secret_fingerprint = secret_fingerprint(SQS_SECRET)
    shown = {"url": QUEUE, "region": "eu-west-1", "aws_access_key_id": masked(ACCESS_KEY_ID),
             "aws_secret_access_key": masked(SQS_SECRET)}  # fmt: skip
    assert plan(config, SECRETS, queue_integration(shown)).changes_nothing


def test_a_masked_key_with_another_ending_is_a_change() -> None:
    config = only_orders()
    config.delivery = DeliverySettings("aws_sqs", QUEUE, "eu-west-1", ACCESS_KEY_ID)
    config.delivery.sqs_secret_fingerprint = secret_fingerprint(SQS_SECRET)
    shown = {"url": QUEUE, "region": "eu-west-1",
             "aws_access_key_id": masked("AKIAOTHERKEY00000XYZW"),
             "aws_secret_access_key": masked("another secret access key ending QQQQ")}  # fmt: skip
    (action,) = plan(config, SECRETS, queue_integration(shown)).actions
    assert action.changes == ("access key id", "secret access key")
