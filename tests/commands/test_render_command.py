"""``segment-desktop render`` as a user runs it: a real process, real files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from segment_desktop.core.samples import list_samples

ORDER_PAID = next(s for s in list_samples("order.paid") if s.name == "order.paid")


def _render(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segment_desktop", "render", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def _event_file(tmp_path: Path) -> Path:
    path = tmp_path / "event.json"
    path.write_text(ORDER_PAID.text(), encoding="utf-8")
    return path


def test_configured_template_is_picked_from_triggered_by(tmp_path: Path) -> None:
    result = _render("--event", str(_event_file(tmp_path)), "--check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    calls = json.loads(result.stdout)
    calls = calls if isinstance(calls, list) else [calls]
    assert any(c.get("event") == "Order Completed" for c in calls)
    assert all(c["messageId"].startswith("sd-") for c in calls)
    assert "Traceback" not in result.stderr


def test_template_file_and_for_name(tmp_path: Path) -> None:
    template = tmp_path / "t.jsonata"
    template.write_text('{"type": "track", "event": "Paid", "userId": payload.data.id}')
    result = _render(
        "--event", str(_event_file(tmp_path)), "--template", str(template), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"] == "Paid"
    by_name = _render(
        "--event", str(_event_file(tmp_path)), "--for", "Order Completed", cwd=tmp_path
    )
    assert by_name.returncode == 0, by_name.stderr


def test_template_error_exits_2_with_code_and_position(tmp_path: Path) -> None:
    template = tmp_path / "t.jsonata"
    template.write_text('{\n  "type": "track",,\n}')
    result = _render(
        "--event", str(_event_file(tmp_path)), "--template", str(template), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "S0211" in result.stderr
    assert "2:19" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_exits_3_when_segment_would_discard(tmp_path: Path) -> None:
    template = tmp_path / "t.jsonata"
    template.write_text('{"type": "track", "event": "No user"}')
    result = _render(
        "--event", str(_event_file(tmp_path)), "--template", str(template), "--check", cwd=tmp_path
    )
    assert result.returncode == 3
    assert "userId" in result.stderr
    without_check = _render(
        "--event", str(_event_file(tmp_path)), "--template", str(template), cwd=tmp_path
    )
    assert without_check.returncode == 0


def test_unreadable_or_foreign_event_exits_2(tmp_path: Path) -> None:
    missing = _render("--event", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert missing.returncode == 2
    assert "Cannot read the event file" in missing.stderr
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"hello": "world"}')
    result = _render("--event", str(foreign), cwd=tmp_path)
    assert result.returncode == 2
    assert "not a Commerce webhook event" in result.stderr
    assert "Traceback" not in missing.stderr + result.stderr
