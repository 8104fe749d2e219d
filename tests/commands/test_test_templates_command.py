"""``segment-desktop test-templates`` as CI runs it: a real process, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from segment_desktop.core.envelope import to_event
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import get_sample
from segment_desktop.core.template_tests import CaseStore, TestCase
from segment_desktop.core.templates import default_template

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "segment_desktop", "test-templates", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _save_cases(directory: Path) -> None:
    store = CaseStore(directory)
    renderer = Renderer()
    for key, samples in {
        "order_completed": ["order.paid", "order.paid.kwd", "order.paid.guest-jpy"],
        "customer_created": ["customer.created", "customer.created.single-name"],
    }.items():
        for name in samples:
            body = json.loads(get_sample(name).text())
            calls = renderer.render(default_template(key), to_event(body), template_key=key).calls
            store.save(TestCase(name, key, body, calls))


def test_all_pass_then_an_edit_fails_with_a_diff_and_junit(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    _save_cases(cases)
    ok = _run("--dir", str(cases), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS  order_completed/order-paid-kwd.json" in ok.stdout
    assert ok.stdout.strip().endswith("5 of 5 cases pass")

    templates = tmp_path / "templates"
    templates.mkdir()
    edited = default_template("order_completed").replace("revenue", "revenue_total")
    assert edited != default_template("order_completed")
    (templates / "order_completed.jsonata").write_text(edited)
    junit = tmp_path / "report.xml"
    bad = _run(
        "--dir", str(cases), "--templates", str(templates), "--junit", str(junit), cwd=tmp_path
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAIL  order_completed/order-paid.json" in bad.stdout
    assert ".properties.revenue: expected" in bad.stdout  # the structured diff
    assert "--- expected\n+++ actual" in bad.stdout  # the text diff
    assert '+      "revenue_total":' in bad.stdout
    assert bad.stdout.strip().endswith("2 of 5 cases pass")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("5", "3")
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert sorted(failed) == [
        "order_completed/order-paid-guest-jpy.json",
        "order_completed/order-paid-kwd.json",
        "order_completed/order-paid.json",
    ]


def test_a_broken_case_file_exits_2_naming_it(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    _save_cases(cases)
    broken = cases / "order_completed" / "order-paid.json"
    broken.write_text(broken.read_text()[:-20])
    result = _run("--dir", str(cases), cwd=tmp_path)
    assert result.returncode == 2
    assert f"The test case {broken} is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_tracking_plan_fails_cases_and_a_bad_plan_exits_2(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    _save_cases(cases)
    plan = tmp_path / "plan.json"
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "properties": {"type": "object", "properties": {"total": {"type": "string"}}}
        },
    }
    plan.write_text(
        json.dumps({"rules": {"events": [{"name": "Order Completed", "rules": schema}]}})
    )
    config = tmp_path / "config"
    result = _run(
        "--dir", str(cases), "--import-plan", str(plan), "--config-dir", str(config), cwd=tmp_path
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "$[0].properties.total: Tracking plan: 130.94 is not of type 'string'" in result.stdout
    assert (config / "tracking-plan.json").exists()
    again = _run("--dir", str(cases), "--config-dir", str(config), cwd=tmp_path)
    assert again.returncode == 1  # the imported plan applies from now on

    plan.write_text(json.dumps({"rules": {"events": [{"name": "X", "rules": {"type": 3}}]}}))
    bad = _run("--dir", str(cases), "--plan", str(plan), cwd=tmp_path)
    assert bad.returncode == 2
    assert f"{plan} is not a valid tracking plan" in bad.stderr


def test_no_cases_is_an_error_not_a_pass(tmp_path: Path) -> None:
    result = _run("--dir", str(tmp_path / "none"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no test cases in" in result.stderr


def test_saving_cases_from_the_command_line(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    for name, extra in [
        ("plain", []),
        ("renamed", ["--set", 'payload.data.name="Ada Lovelace"']),
        ("other address", ["--set", 'payload.data.email="ada@example.org"']),
    ]:
        saved = _run("--dir", str(cases), "--save", name, "--for", "Customer Updated", *extra,
                     cwd=tmp_path)  # fmt: skip
        assert saved.returncode == 0, saved.stderr
        assert saved.stdout.startswith(f"saved {cases / 'customer_updated'}")
    again = _run("--dir", str(cases), "--save", "plain", "--for", "customer_updated", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    typo = _run("--dir", str(cases), "--save", "x", "--for", "Customer Updated",
                "--set", "payload.data.emial=1", cwd=tmp_path)  # fmt: skip
    assert typo.returncode == 2
    assert "The override path payload.data.emial does not exist" in typo.stderr
    assert not (cases / "customer_updated" / "x.json").exists()
    ran = _run("--dir", str(cases), cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip().endswith("3 of 3 cases pass")
    saved_case = json.loads((cases / "customer_updated" / "renamed.json").read_text())
    assert saved_case["event"]["payload"]["data"]["name"] == "Ada Lovelace"
    assert "Ada" in json.dumps(saved_case["expected"])
