"""``segment-desktop test-templates``: run every saved template test case, without a display.

Exit codes: 0 every case passes, 1 at least one fails (each failure is printed as a diff), 2 a
case file, a template file or the tracking plan cannot be used (the message names the file), or
there is no case to run.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segment_desktop.core.render import Renderer
    from segment_desktop.core.template_tests import CaseResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="the folder of test cases (default: template-tests beside the settings)",
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML to FILE")
    parser.add_argument(
        "--templates",
        type=Path,
        metavar="DIR",
        help="read templates from DIR/<key>.jsonata (e.g. order_completed.jsonata) where "
        "present; the others come from the settings, else the built-in defaults",
    )
    parser.add_argument(
        "--plan",
        type=Path,
        metavar="FILE",
        help="check every call against this Segment tracking plan (default: the imported one)",
    )
    parser.add_argument(
        "--import-plan",
        type=Path,
        metavar="FILE",
        help="check the tracking plan in FILE and keep it beside the settings, then run",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "jsonata-python", "jlens"),
        default=None,
        help="template engine (default: jlens when installed)",
    )
    parser.add_argument(
        "--config-dir", type=Path, metavar="DIR", help="the settings folder (default: the app's)"
    )
    save = parser.add_argument_group(
        "saving a case instead of running them (what the studio's Save as test case does)"
    )
    save.add_argument("--save", metavar="NAME", help="save a new case called NAME, then stop")
    save.add_argument("--for", dest="template_name", metavar="TEMPLATE",
                      help='the template of the new case, e.g. "Order Completed"')  # fmt: skip
    source = save.add_mutually_exclusive_group()
    source.add_argument("--event", type=Path, metavar="FILE", help="the case's webhook body")
    source.add_argument("--sample", metavar="NAME", help="a built-in sample, e.g. order.paid.kwd")
    save.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="change the event first (as trigger does), e.g. payload.data.status='\"complete\"'",
    )


def run(args: argparse.Namespace) -> int:
    from segment_desktop.core.errors import SegmentDesktopError

    try:
        return _run(args)
    except SegmentDesktopError as err:
        print(f"segment-desktop test-templates: {err}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from segment_desktop.core.config import ConfigStore
    from segment_desktop.core.template_tests import CaseStore, cases_directory, run_case, summary
    from segment_desktop.core.templates import TemplateSet
    from segment_desktop.core.tracking_plan import (
        TrackingPlan,
        import_plan,
        read_plan,
        saved_plan,
    )

    directory = args.dir or cases_directory(args.config_dir)
    if args.save is not None:
        return _save(args, directory)
    cases = CaseStore(directory).cases()
    if not cases:
        print(
            f"segment-desktop test-templates: no test cases in {directory}. Save some in the "
            "template studio (Save as test case), or point --dir at their folder.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    plan: TrackingPlan | None
    if args.import_plan is not None:
        plan = import_plan(args.import_plan, args.config_dir)
    elif args.plan is not None:
        plan = read_plan(args.plan)
    else:
        plan = saved_plan(args.config_dir)
    templates = TemplateSet(ConfigStore(args.config_dir).load().template_overrides)
    files = _template_files(args.templates)
    renderer = _renderer(args.engine)

    if plan is not None:
        print(f"tracking plan: {plan.describe()}")
    results: list[tuple[CaseResult, float]] = []
    for case in cases:
        started = time.perf_counter()
        text = files.get(case.template) or templates.text(case.template)
        result = run_case(case, text, renderer, plan.check if plan is not None else None)
        results.append((result, time.perf_counter() - started))
        where = _label(result, directory)
        print(f"{'PASS' if result.passed else 'FAIL'}  {where}")
        if not result.passed:
            print(result.report())
            diff = failure_diff(result)
            if diff:
                print(diff)
    line = summary(r for r, _ in results)
    print(line)
    if args.junit is not None:
        _write_junit(args.junit, results, directory)
    return EXIT_OK if all(r.passed for r, _ in results) else EXIT_FAILED


def _renderer(engine: str | None) -> Renderer:
    from segment_desktop.core.errors import TemplateError
    from segment_desktop.core.render import Renderer

    try:
        return Renderer(engine)
    except ValueError as err:
        raise TemplateError("SD300", str(err)) from None


def _save(args: argparse.Namespace, directory: Path) -> int:
    """Keep an event and the calls the template makes of it now as a new case."""
    import json

    from segment_desktop.core.config import ConfigStore
    from segment_desktop.core.envelope import to_event
    from segment_desktop.core.errors import EventError
    from segment_desktop.core.events import template
    from segment_desktop.core.samples import get_sample
    from segment_desktop.core.template_tests import CaseStore, TestCase
    from segment_desktop.core.templates import TemplateSet
    from segment_desktop.core.webhook_trigger import apply_override, parse_override

    if not args.template_name:
        raise EventError(
            'Name the template of the new case with --for, e.g. --for "Order Completed".'
        )
    try:
        spec = template(args.template_name)
    except KeyError as err:
        raise EventError(str(err.args[0])) from None
    if args.event is not None:
        try:
            body = json.loads(args.event.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "strerror", None) or str(err)
            raise EventError(f"Cannot read the event file {args.event}: {reason}.") from None
        except json.JSONDecodeError as err:
            raise EventError(
                f"The event file {args.event} is not valid JSON: {err.msg} at line {err.lineno}, "
                f"column {err.colno}."
            ) from None
    else:
        body = json.loads(get_sample(args.sample or spec.default_event).text())
    overrides = [parse_override(text) for text in args.overrides]
    for override in overrides:
        apply_override(body, override)
    event = to_event(body)
    files = _template_files(args.templates)
    text = files.get(spec.key) or TemplateSet(
        ConfigStore(args.config_dir).load().template_overrides
    ).text(spec.key)
    calls = _renderer(args.engine).render(text, event, template_key=spec.key).calls
    path = CaseStore(directory).save(TestCase(args.save, spec.key, event.body, calls))
    print(f"saved {path} ({len(calls)} call{'s' if len(calls) != 1 else ''})")
    return EXIT_OK


def _template_files(folder: Path | None) -> dict[str, str]:
    from segment_desktop.core.errors import TemplateError
    from segment_desktop.core.events import TEMPLATES

    if folder is None:
        return {}
    if not folder.is_dir():
        raise TemplateError("SD300", f"The templates folder {folder} does not exist.")
    found: dict[str, str] = {}
    for spec in TEMPLATES:
        path = folder / f"{spec.key}.jsonata"
        if path.exists():
            try:
                found[spec.key] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                reason = getattr(err, "strerror", None) or str(err)
                raise TemplateError(
                    "SD300", f"Cannot read the template {path}: {reason}."
                ) from None
    return found


def _label(result: CaseResult, directory: Path) -> str:
    path = result.case.path
    if path is None:
        return f"{result.case.template}/{result.case.name}"
    try:
        return str(path.relative_to(directory))
    except ValueError:
        return str(path)


def failure_diff(result: CaseResult) -> str:
    """Expected and actual calls as a unified diff (volatile values shown as ``<present>``)."""
    from segment_desktop.core.template_tests import pretty

    lines = difflib.unified_diff(
        pretty(result.case.expected).splitlines(),
        pretty(result.actual).splitlines(),
        fromfile="expected",
        tofile="actual",
        lineterm="",
        n=2,
    )
    return "\n".join(lines)


def _write_junit(path: Path, results: list[tuple[CaseResult, float]], directory: Path) -> None:
    from segment_desktop.core.config_file import atomic_write
    from segment_desktop.core.errors import TestCaseError

    failures = sum(not r.passed for r, _ in results)
    suite = ET.Element(
        "testsuite",
        name="template-tests",
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        time=f"{sum(t for _, t in results):.3f}",
    )
    for result, seconds in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=result.case.template,
            name=_label(result, directory),
            time=f"{seconds:.3f}",
        )
        if not result.passed:
            first = result.report().strip().splitlines()[0].strip()
            failure = ET.SubElement(case, "failure", message=first)
            failure.text = result.report() + "\n" + failure_diff(result)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    try:
        atomic_write(Path(path), data)
    except OSError as err:
        raise TestCaseError(
            f"Could not write the JUnit report {path}: {err.strerror or err}.", str(path)
        ) from None
