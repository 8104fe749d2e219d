"""Completion, paths and the function reference, without Qt: on the real default template and
the real sample orders."""

from __future__ import annotations

import json

import pytest

from segment_desktop.core.completion import FieldIndex, analyze, complete, describe_value
from segment_desktop.core.engine import UNDEFINED, available_engines
from segment_desktop.core.jsonata_paths import (
    chain_before,
    format_path,
    relative_path,
    scope_at,
)
from segment_desktop.core.jsonata_reference import BY_NAME, FUNCTIONS, search_functions
from segment_desktop.core.render import HELPERS, Renderer
from segment_desktop.core.samples import list_samples
from segment_desktop.core.templates import default_template

TEMPLATE = default_template("order_completed")


@pytest.fixture(scope="module")
def index() -> FieldIndex:
    return FieldIndex([s.load().body for s in list_samples("order.paid")])


def labels(text: str, index: FieldIndex, *, explicit: bool = False) -> list[str]:
    request = analyze(text, len(text), explicit=explicit)
    assert request is not None, text
    return [c.label for c in complete(request, index)]


def in_template(marker: str, typed: str) -> str:
    """The default template cut after ``marker``, with ``typed`` added: what the user sees
    while typing there."""
    return TEMPLATE[: TEMPLATE.index(marker) + len(marker)] + typed


def test_fields_after_a_dot_follow_the_path(index: FieldIndex) -> None:
    assert labels("payload.data.meta.display_price.with_tax.", index) == [
        "amount",
        "currency",
        "formatted",
    ]
    assert "included" in labels("payload.", index)
    assert labels("payload.data.meta.display_price.with_tax.cur", index) == ["currency"]


def test_fields_follow_variables_bound_above(index: FieldIndex) -> None:
    found = labels(in_template("$order := payload.data;\n", "  $order."), index)
    assert {"id", "status", "meta", "customer", "relationships"} <= set(found)
    found = labels(in_template("$prices := $order.meta.display_price;\n", "$prices."), index)
    assert "with_tax" in found and "tax" in found


def test_a_predicate_or_an_index_does_not_change_the_fields(index: FieldIndex) -> None:
    plain = labels("payload.included.items.", index)
    assert "sku" in plain and "quantity" in plain
    assert labels('payload.included.items[type = "cart_item"].', index) == plain
    assert labels("payload.included.items[0].", index) == plain


def test_bare_names_inside_a_block_complete_the_context_items_fields(index: FieldIndex) -> None:
    text = in_template('[$products#$i.{\n          "product_id": ', "qu")
    assert labels(text, index) == ["quantity"]
    text = "payload.included.items[ty"
    assert labels(text, index) == ["type", "quantity"]  # starts with, then contains


def test_dollar_offers_variables_functions_and_our_helpers(index: FieldIndex) -> None:
    text = in_template('"currency": $currency,', "\n $")
    request = analyze(text, len(text))
    assert request is not None and request.kind == "dollar"
    found = complete(request, index)
    names = [c.label for c in found]
    assert "$order" in names and "$products" in names and "$currency" in names
    amount = next(c for c in found if c.label.startswith("$amount("))
    assert amount.kind == "helper" and amount.insert == "$amount("
    assert "minor units" in amount.detail
    order = next(c for c in found if c.label == "$order")
    assert order.detail.startswith("= payload.data")
    assert [c.label for c in complete(analyze("$subs", 5), index)] == [  # type: ignore[arg-type]
        "$substring(str, start[, length])",
        "$substringBefore(str, chars)",
        "$substringAfter(str, chars)",
    ]


def test_nothing_is_offered_inside_strings_and_comments(index: FieldIndex) -> None:
    assert analyze('"payload.', 9) is None
    assert analyze("/* payload.", 11) is None
    assert analyze("1.", 2) is not None and labels("x.", index) == []


def test_fields_seen_only_in_other_samples_say_so(index: FieldIndex) -> None:
    current = {"payload": {"data": {"id": "o-1"}}}
    other = {"payload": {"data": {"id": "o-2", "status": "paid"}}}
    both = FieldIndex([current, other])
    fields = both.fields(("payload", "data"))
    assert [f.name for f in fields] == ["id", "status"]
    assert fields[0].in_current and not fields[1].in_current
    assert "other samples only" in fields[1].detail
    assert fields[0].detail == 'a string, e.g. "o-1"'


def test_names_that_need_backticks(index: FieldIndex) -> None:
    odd = FieldIndex([{"a": {"first-name": 1, "ok": 2}}])
    request = analyze("a.", 2)
    assert request is not None
    assert [c.insert for c in complete(request, odd)] == ["`first-name`", "ok"]
    assert format_path(["payload", "included", "items", 0, "first-name"]) == (
        "payload.included.items[0].`first-name`"
    )
    assert chain_before("a.`first-name`", 14) is not None


def test_paths_for_the_tree_are_relative_inside_a_block() -> None:
    parts: tuple[str | int, ...] = ("payload", "included", "items", 3, "name")
    assert relative_path(parts, ()) == "payload.included.items[3].name"
    assert relative_path(parts, ("payload", "included", "items")) == "name"
    assert relative_path(parts, ("payload", "data")) == "payload.included.items[3].name"


def test_scope_knows_higher_order_parameters_and_positions() -> None:
    text = "$map(payload.included.items, function($line) { $line."
    scope = scope_at(text, len(text))
    assert scope.variables["line"] == ("payload", "included", "items")
    scope = scope_at(TEMPLATE, TEMPLATE.index('"sku": sku'))
    assert scope.context == ("payload", "included", "items")
    assert scope.variables["i"] is None  # a position: known only while running


def test_describe_value() -> None:
    assert describe_value({"a": 1}) == "{1 field}"
    assert describe_value(list(range(500))) == "[500 items]"
    assert describe_value("x" * 100).endswith('…"')
    assert describe_value(None) == "null"


# --------------------------------------------------------------------------- the reference


def test_every_example_gives_its_stated_result_on_every_engine() -> None:
    for name in available_engines():
        renderer = Renderer(name)
        data = renderer.engine.prepare({})
        for function in FUNCTIONS:
            out = renderer.compile(function.example).evaluate(data, renderer.limits)
            if function.result is not None:
                assert out is not UNDEFINED, (name, function.name)
                assert out == json.loads(function.result), (name, function.name, out)


def test_the_table_names_our_helpers_and_each_name_once() -> None:
    assert {f.name for f in FUNCTIONS if f.ours} == set(HELPERS)
    assert len(BY_NAME) == len(FUNCTIONS)
    for function in FUNCTIONS:
        assert function.signature.startswith(f"${function.name}(")
        assert function.description.endswith(".")


def test_search_finds_by_name_and_by_words() -> None:
    assert search_functions("$sub")[0].name == "substring"
    assert {f.name for f in search_functions("base64")} == {"base64encode", "base64decode"}
    assert [f.name for f in search_functions("minor units")] == ["amount"]
    assert len(search_functions("")) == len(FUNCTIONS)


# --------------------------------------------------------------------------- selections


def test_a_selection_gets_the_bindings_above_it_and_names_what_it_cannot_know() -> None:
    from segment_desktop.core.expression_values import evaluate, selection_expression

    renderer = Renderer()
    event = list_samples("order.paid")[0].load()
    data = renderer.prepare(event).data
    start = TEMPLATE.index("$money($revenueMinor)")
    selection = selection_expression(TEMPLATE, start, start + len("$money($revenueMinor)"))
    assert selection.unknown == ()
    assert "$revenueMinor :=" in selection.expression and "$money :=" in selection.expression
    value = evaluate(renderer, data, selection).value
    revenue = event.body["payload"]["data"]["meta"]["display_price"]
    assert isinstance(value, int | float) and 0 < value < revenue["with_tax"]["amount"]

    start = TEMPLATE.index("$products#$i.{")
    end = TEMPLATE.index("}]", start) + 1
    whole = selection_expression(TEMPLATE, start, end)
    assert whole.unknown == ()  # $i is bound by the selection itself; $amount is a function
    products = evaluate(renderer, data, whole).value
    assert [p["position"] for p in products] == list(range(1, len(products) + 1))

    start = TEMPLATE.index("$i + 1")
    alone = selection_expression(TEMPLATE, start, start + len("$i + 1"))
    assert alone.unknown == ("i",)
    assert "$i gets a value only while the whole template runs" in alone.note

    start = TEMPLATE.index('"name": name') + len('"name": ')
    inside = selection_expression(TEMPLATE, start, start + len("name"))
    assert inside.note.startswith("For each payload.included.items")
    names = evaluate(renderer, data, inside).value
    assert names == [i["name"] for i in event.body["payload"]["included"]["items"]]


def test_the_bracket_index_agrees_with_a_plain_scan_everywhere() -> None:
    from segment_desktop.core.events import TEMPLATES
    from segment_desktop.core.jsonata_scan import Brackets, code_mask

    for spec in TEMPLATES:
        text = default_template(spec.key)
        mask = code_mask(text)
        index = Brackets(text, mask)
        for position in range(0, len(text) + 1, 7):
            stack: list[int] = []
            for i in range(position):
                if mask[i] and text[i] in "([{":
                    stack.append(i)
                elif (
                    mask[i]
                    and text[i] in ")]}"
                    and stack
                    and text[stack[-1]] == "([{"[")]}".index(text[i])]
                ):
                    stack.pop()
            assert index.open_at(position) == stack, (spec.key, position)
