"""Saved test cases: files, comparison with volatile fields, running, export and import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.errors import TestCaseError
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import get_sample
from segment_desktop.core.template_tests import (
    CaseStore,
    TestCase,
    compare,
    extras_for_export,
    read_case,
    restore_from_export,
    run_case,
    summary,
)
from segment_desktop.core.templates import default_template


def _case(name: str = "paid", sample: str = "order.paid") -> TestCase:
    event = json.loads(get_sample(sample).text())
    calls = (
        Renderer()
        .render(default_template("order_completed"), _event(event), template_key="order_completed")
        .calls
    )
    return TestCase(name, "order_completed", event, calls)


def _event(body: dict[str, object]):  # type: ignore[no-untyped-def]
    from segment_desktop.core.envelope import to_event

    return to_event(body)


def test_a_saved_case_reads_back_equal_and_is_diff_friendly(tmp_path: Path) -> None:
    store = CaseStore(tmp_path / "template-tests")
    path = store.save(_case("Guest JPY!", "order.paid.guest-jpy"))
    assert path == tmp_path / "template-tests" / "order_completed" / "guest-jpy.json"
    text = path.read_text()
    assert '\n  "template": "Order Completed"\n' in text  # indented, sorted keys, the name
    again = read_case(path)
    assert again == _case("Guest JPY!", "order.paid.guest-jpy")
    with pytest.raises(TestCaseError, match="already exists"):
        store.save(_case("guest jpy", "order.paid.guest-jpy"))


def test_volatile_fields_compare_by_presence_only() -> None:
    expected = [{"type": "track", "timestamp": "2020-01-01T00:00:00Z", "properties": {"a": 1}}]
    assert compare(expected, [{**expected[0], "timestamp": "2030-05-05T00:00:00Z"}]) == []
    missing = compare(expected, [{"type": "track", "properties": {"a": 1}}])
    assert [(d.path, d.kind) for d in missing] == [("$[0].timestamp", "missing")]
    library = [{"context": {"library": {"name": "segment-desktop", "version": "0.1"}}}]
    assert (
        compare(library, [{"context": {"library": {"name": "segment-desktop", "version": "9.9"}}}])
        == []
    )


def test_the_structured_diff_names_each_path() -> None:
    expected = [{"properties": {"total": 27.5, "currency": "GBP", "flag": True}}]
    actual = [{"properties": {"total": 2750, "flag": 1, "extra": "x"}}, {"type": "track"}]
    found = {(d.path, d.kind) for d in compare(expected, actual)}
    assert found == {
        ("$[0].properties.total", "changed"),
        ("$[0].properties.currency", "missing"),
        ("$[0].properties.flag", "changed"),  # true is not 1 in JSON
        ("$[0].properties.extra", "unexpected"),
        ("$[1]", "unexpected"),
    }
    assert compare([{"n": 1500}], [{"n": 1500.0}]) == []


def test_running_cases_passes_then_fails_after_an_edit() -> None:
    case = _case()
    renderer = Renderer()
    good = run_case(case, default_template("order_completed"), renderer)
    assert good.passed and good.report() == ""
    broken = default_template("order_completed").replace('"Order Completed"', '"Order Done"')
    assert broken != default_template("order_completed")
    bad = run_case(case, broken, renderer)
    assert not bad.passed
    assert "$[0].event" in bad.report() or "$[1].event" in bad.report()
    assert summary([good, bad]) == "1 of 2 cases pass"
    failing = run_case(case, "{", renderer)
    assert failing.error is not None and "template error" in failing.report()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON: .* line 1, column 2"),
        ("[]", "holds an array"),
        ('{"template": "Nope", "event": {}, "expected": []}', "Unknown template 'Nope'"),
        (
            '{"template": "Order Completed", "event": {"x": 1}, "expected": []}',
            '"event" is not a Commerce event',
        ),
        ('{"template": "Order Completed", "event": {}, "expected": {}, "x": 1}', "unknown field"),
    ],
)
def test_a_broken_case_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "order_completed" / "broken.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(TestCaseError, match=message) as caught:
        CaseStore(tmp_path).cases()
    assert str(path) in str(caught.value) and caught.value.path == str(path)


def test_cases_travel_with_a_settings_export(tmp_path: Path) -> None:
    source_dir, target_dir = tmp_path / "a", tmp_path / "b"
    CaseStore(source_dir / "template-tests").save(_case())
    export = tmp_path / "export.json"
    ConfigStore(source_dir).export_to(export, Config.default(), extras_for_export(source_dir))
    target = ConfigStore(target_dir)
    assert target.import_from(export) == Config.default()
    saved = restore_from_export(target.import_extras(export), str(export), target_dir)
    assert [p.relative_to(target_dir) for p in saved] == [
        Path("template-tests/order_completed/paid.json")
    ]
    assert CaseStore(target_dir / "template-tests").cases() == [_case()]


def test_an_export_with_a_broken_case_saves_none(tmp_path: Path) -> None:
    good = _case().to_dict()
    extras = {"template_tests": [good, {**good, "expected": "nope"}]}
    with pytest.raises(TestCaseError, match="test case 2"):
        restore_from_export(extras, "export.json", tmp_path)
    assert not (tmp_path / "template-tests").exists()
