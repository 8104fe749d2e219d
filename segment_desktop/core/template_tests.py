"""Saved template test cases: an event, the template it goes through, and the calls expected.

Cases live in the ``template-tests`` folder beside the settings file, one JSON file per case in a
sub-folder per template (``template-tests/order_completed/guest-jpy.json``), written with sorted
keys and two-space indents so that a change to a case reads well in a code review.

A case passes when the template makes the expected calls of its event. Fields whose value
changes from run to run without the template changing (:data:`VOLATILE_KEYS`, and the library
version in ``context.library``, which changes with every release) are compared by presence: the
expected call has it exactly when the actual one has it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segment_desktop.core.config import config_directory
from segment_desktop.core.config_file import atomic_write
from segment_desktop.core.envelope import to_event
from segment_desktop.core.errors import EventError, TemplateError, TestCaseError
from segment_desktop.core.events import template as find_template
from segment_desktop.core.jsontypes import json_type_name
from segment_desktop.core.render import Renderer
from segment_desktop.core.spec import Issue

CASES_DIR_NAME = "template-tests"
CASE_FORMAT = 1
#: Keys compared by presence wherever they appear in a call.
VOLATILE_KEYS = frozenset({"timestamp", "sentAt"})
#: Paths compared by presence: the library version changes with each release of this app.
VOLATILE_PATHS = frozenset({("context", "library", "version")})
PRESENT = "<present>"
"""What a volatile value becomes in a diff: its value does not matter, only that it is there."""

_CASE_KEYS = {"format", "name", "template", "description", "event", "expected"}
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class TestCase:
    """One saved case. ``template`` is the template's key (``order_completed``)."""

    __test__ = False  # not a pytest class

    name: str
    template: str
    event: dict[str, Any]
    expected: list[dict[str, Any]]
    description: str = ""
    path: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CASE_FORMAT,
            "name": self.name,
            "template": find_template(self.template).name,
            "description": self.description,
            "event": self.event,
            "expected": self.expected,
        }

    def to_text(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def case_from_dict(data: Any, source: str) -> TestCase:
    """A case from its JSON shape; :class:`TestCaseError` naming ``source`` when it is not one."""

    def bad(problem: str) -> TestCaseError:
        return TestCaseError(f"The test case {source} is not usable: {problem}.", source)

    if not isinstance(data, dict):
        raise bad(f"it holds {json_type_name(data)}, not an object")
    unknown = sorted(set(data) - _CASE_KEYS)
    if unknown:
        raise bad(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(_CASE_KEYS))})")
    version = data.get("format", CASE_FORMAT)
    if version != CASE_FORMAT:
        raise bad(f'"format" is {version!r}; this version reads format {CASE_FORMAT}')
    name = data.get("template")
    if not isinstance(name, str):
        raise bad('"template" must name a template, e.g. "Order Completed"')
    try:
        spec = find_template(name)
    except KeyError as err:
        raise bad(str(err.args[0]).rstrip(".")) from None
    if not isinstance(data.get("event"), dict):
        raise bad('"event" must be a Commerce webhook body (an object)')
    try:
        to_event(data["event"])
    except EventError as err:
        raise bad(f'"event" is not a Commerce event ({str(err).rstrip(".")})') from None
    expected = data.get("expected")
    if not isinstance(expected, list) or not all(isinstance(c, dict) for c in expected):
        raise bad('"expected" must be an array of Segment calls (objects)')
    for key in ("name", "description"):
        if not isinstance(data.get(key, ""), str):
            raise bad(f'"{key}" must be a string')
    stem = Path(source).stem
    return TestCase(
        name=data.get("name") or stem,
        template=spec.key,
        event=data["event"],
        expected=expected,
        description=data.get("description", ""),
        path=Path(source),
    )


def read_case(path: Path) -> TestCase:
    """The case in ``path``, or :class:`TestCaseError` naming the file and the problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise TestCaseError(f"Cannot read the test case {path}: {reason}.", str(path)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise TestCaseError(
            f"The test case {path} is not valid JSON: {err.msg} at line {err.lineno}, "
            f"column {err.colno}. Fix the file or delete it.",
            str(path),
        ) from None
    return case_from_dict(data, str(path))


def slug(name: str) -> str:
    """A file name stem for a case name: lower case, words joined by ``-``."""
    return _SLUG.sub("-", name.lower()).strip("-")[:80] or "case"


def cases_directory(config_dir: Path | None = None) -> Path:
    """``template-tests`` beside the settings file."""
    return config_directory(config_dir) / CASES_DIR_NAME


class CaseStore:
    """The case files of one folder: list, save, delete."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.rglob("*.json") if p.is_file())

    def cases(self, template_key: str | None = None) -> list[TestCase]:
        """Every case (or one template's), in file order; the first broken file raises."""
        found = [read_case(p) for p in self.files()]
        return [c for c in found if template_key is None or c.template == template_key]

    def path_for(self, template_key: str, name: str) -> Path:
        return self.directory / find_template(template_key).key / f"{slug(name)}.json"

    def save(self, case: TestCase, *, replace: bool = False) -> Path:
        """Write ``case`` atomically; refuses to overwrite another case unless ``replace``."""
        path = self.path_for(case.template, case.name)
        if path.exists() and not replace:
            raise TestCaseError(
                f"A test case named {case.name!r} already exists ({path}). Choose another name.",
                str(path),
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, case.to_text().encode("utf-8"))
        except OSError as err:
            raise TestCaseError(
                f"Could not save the test case to {path}: {err.strerror or err}.", str(path)
            ) from None
        return path

    def delete(self, case: TestCase) -> None:
        path = case.path or self.path_for(case.template, case.name)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as err:
            raise TestCaseError(
                f"Could not delete the test case {path}: {err.strerror or err}.", str(path)
            ) from None


# --------------------------------------------------------------------------- comparing calls


@dataclass(frozen=True)
class Difference:
    """One place where the actual calls differ from the expected ones.

    ``path`` is a JSON path (``$[0].properties.total``); ``kind`` is ``changed``, ``missing``
    (expected, not made) or ``unexpected`` (made, not expected).
    """

    path: str
    kind: str
    expected: Any = None
    actual: Any = None

    def __str__(self) -> str:
        if self.kind == "missing":
            return f"{self.path}: expected {_short(self.expected)}, missing"
        if self.kind == "unexpected":
            return f"{self.path}: not expected, got {_short(self.actual)}"
        return f"{self.path}: expected {_short(self.expected)}, got {_short(self.actual)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def normalise(value: Any, path: tuple[str, ...] = ()) -> Any:
    """``value`` with every volatile field's value replaced by :data:`PRESENT`."""
    if isinstance(value, dict):
        return {
            k: PRESENT
            if k in VOLATILE_KEYS or (*path, k) in VOLATILE_PATHS
            else normalise(v, (*path, k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        # The calls of a list at the top are each a call: their paths start afresh.
        return [normalise(v, (*path, "*") if path else ()) for v in value]
    return value


def compare(expected: Sequence[Any], actual: Sequence[Any]) -> list[Difference]:
    """Every difference between two lists of calls, volatile fields by presence."""
    differences: list[Difference] = []
    _walk(normalise(list(expected)), normalise(list(actual)), "$", differences)
    return differences


def _same_scalar(a: Any, b: Any) -> bool:
    # true == 1 in Python, not in JSON; 1500 and 1500.0 are the same JSON number.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _walk(expected: Any, actual: Any, path: str, out: list[Difference]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            sub = (
                f"{path}.{key}"
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)
                else (f"{path}[{json.dumps(key)}]")
            )
            if key not in actual:
                out.append(Difference(sub, "missing", expected=expected[key]))
            else:
                _walk(expected[key], actual[key], sub, out)
        for key in actual:
            if key not in expected:
                out.append(Difference(f"{path}.{key}", "unexpected", actual=actual[key]))
        return
    if isinstance(expected, list) and isinstance(actual, list):
        for index in range(max(len(expected), len(actual))):
            sub = f"{path}[{index}]"
            if index >= len(actual):
                out.append(Difference(sub, "missing", expected=expected[index]))
            elif index >= len(expected):
                out.append(Difference(sub, "unexpected", actual=actual[index]))
            else:
                _walk(expected[index], actual[index], sub, out)
        return
    containers = isinstance(expected, dict | list) or isinstance(actual, dict | list)
    if containers or not _same_scalar(expected, actual):
        out.append(Difference(path, "changed", expected, actual))


def pretty(calls: Any) -> str:
    """Calls as the diff shows them: normalised, sorted keys, two-space indents."""
    return json.dumps(normalise(calls), indent=2, sort_keys=True, ensure_ascii=False)


# --------------------------------------------------------------------------- running cases


@dataclass(frozen=True)
class CaseResult:
    """What running one case gave. ``error`` is set when the template failed to render."""

    case: TestCase
    actual: list[dict[str, Any]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    violations: list[Issue] = field(default_factory=list)
    error: TemplateError | None = None

    @property
    def passed(self) -> bool:
        """No template error, no difference, no tracking-plan error (its warnings, such as an
        event the plan does not list, are shown but do not fail a case)."""
        errors = any(issue.level == "error" for issue in self.violations)
        return self.error is None and not self.differences and not errors

    def report(self) -> str:
        """A failure as text for a terminal or a CI log; empty when the case passed."""
        if self.passed:
            return ""
        lines: list[str] = []
        if self.error is not None:
            lines.append(f"  template error: {self.error}")
        for difference in self.differences:
            lines.append(f"  {difference}")
        for issue in self.violations:
            lines.append(f"  {issue}")
        return "\n".join(lines)


def run_case(
    case: TestCase,
    text: str,
    renderer: Renderer,
    plan_check: Any = None,
) -> CaseResult:
    """Render ``case``'s event with the template ``text`` and compare with what it expects.

    ``plan_check`` (a call → issues function, e.g. ``TrackingPlan.check``) adds the
    tracking plan's violations: a case whose calls break the plan fails.
    """
    try:
        event = to_event(case.event)
        result = renderer.render(text, event, template_key=case.template)
    except TemplateError as err:
        return CaseResult(case, error=err)
    except EventError as err:
        return CaseResult(case, error=TemplateError("SD400", str(err)))
    calls = result.calls
    violations: list[Issue] = []
    if plan_check is not None:
        for index, call in enumerate(calls):
            for issue in plan_check(call):
                violations.append(Issue(issue.level, f"$[{index}].{issue.path}", issue.message))
    return CaseResult(case, calls, compare(case.expected, calls), violations)


def summary(results: Iterable[CaseResult]) -> str:
    """``"5 of 5 cases pass"``; ``"No test cases"`` when there are none."""
    results = list(results)
    if not results:
        return "No test cases"
    passed = sum(r.passed for r in results)
    if len(results) == 1:
        return f"{passed} of 1 case passes"
    return f"{passed} of {len(results)} cases pass"


# --------------------------------------------------------------------------- export and import

#: The key under which cases travel in a settings export.
EXPORT_KEY = "template_tests"


def export_cases(store: CaseStore) -> list[dict[str, Any]]:
    """Every case as JSON data, for a settings export."""
    return [case.to_dict() for case in store.cases()]


def import_cases(store: CaseStore, data: Any, source: str) -> list[Path]:
    """Save the cases of a settings export; all are checked before the first is written."""
    if not isinstance(data, list):
        raise TestCaseError(
            f"The test cases in {source} must be an array, not {json_type_name(data)}.", source
        )
    cases = [case_from_dict(item, f"{source} (test case {i + 1})") for i, item in enumerate(data)]
    return [store.save(case, replace=True) for case in cases]


def extras_for_export(config_dir: Path | None = None) -> Mapping[str, Any]:
    """What a settings export carries besides the settings themselves."""
    return {EXPORT_KEY: export_cases(CaseStore(cases_directory(config_dir)))}


def restore_from_export(
    extras: Mapping[str, Any], source: str, config_dir: Path | None = None
) -> list[Path]:
    """Save the cases an export carried (see :meth:`ConfigStore.import_extras`)."""
    if EXPORT_KEY not in extras:
        return []
    return import_cases(CaseStore(cases_directory(config_dir)), extras[EXPORT_KEY], source)
