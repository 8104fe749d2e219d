"""The setup flow without Qt: page order, completeness, resuming, and an all-or-nothing Finish."""

from __future__ import annotations

import copy

import pytest

from segment_desktop.core.config import CommerceSettings, Config
from segment_desktop.core.errors import ConfigError, ServiceError
from segment_desktop.core.flow import Draft, SetupFlow, Step, check_web_url

URL = "https://useast.api.elasticpath.com"


def ready_flow() -> SetupFlow:
    flow = SetupFlow(Config.default())
    flow.edit_commerce(URL, "client", "s3cret")
    flow.commerce_connected(URL, "client", "s3cret")
    flow.edit_segment("https://api.segment.io", "/v1/batch", "k" * 32)
    flow.set_relay_url("https://relay.example.com/hook")
    return flow


def test_pages_in_order_and_templates_page_optional() -> None:
    flow = SetupFlow(Config.default())
    assert flow.first_page() == Step.WELCOME
    assert flow.next_page(Step.CONFIGURATIONS) == Step.TEMPLATES
    assert flow.next_page(Step.FINISH) is None
    assert flow.is_final(Step.FINISH)
    without = SetupFlow(Config.default(), with_templates=False)
    assert without.next_page(Step.CONFIGURATIONS) == Step.FINISH
    assert Step.TEMPLATES not in without.pages


def test_commerce_needs_a_connection_made_with_the_current_values() -> None:
    flow = SetupFlow(Config.default())
    seen: list[Step] = []
    flow.subscribe(seen.append)
    assert not flow.is_complete(Step.COMMERCE)
    flow.edit_commerce(URL, "client", "s3cret")
    assert flow.can_connect()
    assert not flow.is_complete(Step.COMMERCE)
    flow.set_busy(Step.COMMERCE, True)
    flow.commerce_connected(URL, "client", "s3cret")
    assert not flow.is_complete(Step.COMMERCE), "busy pages are never complete"
    flow.set_busy(Step.COMMERCE, False)
    assert flow.is_complete(Step.COMMERCE)
    assert Step.COMMERCE in seen
    flow.edit_commerce(URL, "client", "other")
    assert not flow.is_complete(Step.COMMERCE)
    flow.commerce_failed("Commerce refused the client ID or secret.")
    assert flow.status(Step.COMMERCE).error == "Commerce refused the client ID or secret."
    flow.edit_commerce(URL, "client", "other2")
    assert flow.status(Step.COMMERCE).error == ""


def test_segment_fields_are_checked_and_a_failed_test_blocks_until_edited() -> None:
    flow = SetupFlow(Config.default())
    flow.edit_segment("https://api.segment.io", "/v1/batch", "")
    assert "write key" in flow.segment_problem()
    flow.edit_segment("http://api.segment.io", "/v1/batch", "key")
    assert "https://" in flow.segment_problem()
    flow.edit_segment("https://api.segment.io/v1/batch", "/v1/batch", "key")
    assert "no path" in flow.segment_problem()
    flow.edit_segment("https://api.segment.io/", "v1/batch", "key")
    assert "start with /" in flow.segment_problem()
    flow.edit_segment("https://events.eu1.segmentapis.com/", "/v1/batch", "key")
    assert flow.config.segment.host == "https://events.eu1.segmentapis.com"
    assert flow.is_complete(Step.SEGMENT)
    flow.segment_checked(False, "Segment did not answer.")
    assert not flow.is_complete(Step.SEGMENT)
    assert flow.status(Step.SEGMENT).error == "Segment did not answer."
    flow.edit_segment("http://127.0.0.1:9", "/v1/batch", "key")
    assert flow.is_complete(Step.SEGMENT)
    assert flow.status(Step.SEGMENT).error == ""


def test_configurations_need_a_template_and_a_relay_url() -> None:
    flow = SetupFlow(Config.default())
    assert "relay URL" in flow.configurations_problem()
    flow.set_relay_url("https://relay.example.com/hook")
    assert flow.is_complete(Step.CONFIGURATIONS)
    flow.set_tracking("checkout_started", enabled=True, event="order.authorized")
    flow.set_tracking("customer_updated", enabled=True, event="customer.deleted")
    assert flow.config.chosen_events()["checkout_started"] == "order.authorized"
    with pytest.raises(ValueError, match="cannot track"):
        flow.set_tracking("order_updated", enabled=True, event="order.paid")
    for key in list(flow.config.tracking):
        flow.set_tracking(key, enabled=False)
    assert flow.enabled_templates() == []
    assert "at least one" in flow.status(Step.CONFIGURATIONS).error
    assert not flow.is_complete(Step.CONFIGURATIONS)


def test_finish_requires_every_page_and_templates_wait_for_saved_edits() -> None:
    flow = ready_flow()
    assert flow.is_complete(Step.FINISH)
    flow.templates_dirty(True)
    assert not flow.is_complete(Step.TEMPLATES)
    assert not flow.is_complete(Step.FINISH)
    flow.templates_dirty(False)
    flow.set_template_override("order_completed", "{}")
    assert flow.draft().config.template_overrides == {"order_completed": "{}"}
    flow.set_template_override("order_completed", None)
    assert flow.draft().config.template_overrides == {}


def test_accept_registers_then_saves() -> None:
    flow = ready_flow()
    calls: list[str] = []

    def register(draft: Draft) -> Config:
        calls.append("register")
        assert draft.client_secret == "s3cret" and draft.write_key == "k" * 32
        result = copy.deepcopy(draft.config)
        result.integration_ids = {"Segment Desktop orders": "abc"}
        return result

    saved: list[Config] = []

    def save(config: Config) -> None:
        calls.append("save")
        saved.append(config)

    result = flow.accept(register, save)
    assert calls == ["register", "save"]
    assert saved[0].integration_ids == {"Segment Desktop orders": "abc"}
    assert flow.saved is result


def test_failed_accept_saves_nothing_and_keeps_previous_state() -> None:
    previous = Config.default()
    previous.commerce = CommerceSettings(client_id="old", base_url=URL)
    flow = SetupFlow(previous, client_secret="old-secret")
    flow.edit_segment("https://api.segment.io", "/v1/batch", "key")
    flow.set_relay_url("https://relay.example.com")
    saves: list[Config] = []

    def register(draft: Draft) -> Config:
        raise ServiceError("Commerce is down.")

    with pytest.raises(ServiceError):
        flow.accept(register, saves.append)
    assert saves == []
    assert flow.saved is previous
    assert previous.relay_url == "", "the saved settings object was not touched"


def test_incomplete_flow_refuses_to_accept() -> None:
    flow = SetupFlow(Config.default())
    with pytest.raises(ConfigError, match="Commerce"):
        flow.accept(lambda d: d.config, lambda c: None)


def test_resuming_saved_values_counts_as_connected() -> None:
    saved = Config.default()
    saved.commerce = CommerceSettings(client_id="client", base_url=URL)
    saved.relay_url = "https://relay.example.com"
    flow = SetupFlow(saved, client_secret="s3cret", write_key="key")
    assert flow.is_complete(Step.COMMERCE)
    assert flow.is_complete(Step.SEGMENT)
    assert flow.is_complete(Step.FINISH)
    no_secret = SetupFlow(saved)
    assert not no_secret.is_complete(Step.COMMERCE)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "Enter"),
        ("ftp://x", "web address"),
        ("http://example.com", "https://"),
        ("http://127.0.0.1:8080/hook", ""),
        ("https://example.com", ""),
    ],
)
def test_check_web_url(url: str, fragment: str) -> None:
    message = check_web_url(url, "relay URL")
    assert (fragment in message) if fragment else message == ""


def test_progress_is_what_the_user_did_not_what_was_filled_in() -> None:
    saved = Config.default()
    saved.commerce = CommerceSettings(client_id="client", base_url=URL)
    flow = SetupFlow(saved)
    flow.edit_segment("https://api.segment.io", "/v1/batch", "")  # what a page fills in
    flow.mark_untouched()
    assert not flow.has_progress()
    flow.commerce_connected(URL, "client", "s3cret", restored=True)  # the saved secret
    assert not flow.has_progress()
    flow.set_relay_url("https://relay.example.com/hook")
    assert flow.has_progress()

    sandbox = SetupFlow(Config.default())
    sandbox.use_sandbox(
        commerce_url="http://127.0.0.1:1",
        client_id="demo",
        client_secret="demo",
        segment_url="http://127.0.0.1:2",
        write_key="k" * 32,
        relay_url="http://127.0.0.1:3/webhooks/commerce",
    )
    assert not sandbox.has_progress(), "the sandbox's values are not the user's work"
    sandbox.commerce_connected("http://127.0.0.1:1", "demo", "demo")
    assert sandbox.has_progress(), "a connection made now would be lost"

    editing = SetupFlow(Config.default())
    editing.templates_dirty(True)
    assert editing.has_progress()


def test_segment_problems_name_their_field() -> None:
    flow = SetupFlow(Config.default())
    flow.edit_segment("ftp://api.segment.io", "v1/batch", "")
    problems = flow.segment_problems()
    assert set(problems) == {"host", "path", "write_key"}
    assert "write key is empty" in problems["write_key"]
    assert flow.segment_problem() == problems["host"]
    flow.edit_segment("https://api.segment.io/v1", "/v1/batch", "k" * 32)
    assert set(flow.segment_problems()) == {"host"}
    assert "no path" in flow.segment_problems()["host"]
