"""The command line starts without a display and answers --version and --help."""

from __future__ import annotations

import subprocess
import sys

from segment_desktop import __version__


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    return subprocess.run(
        [sys.executable, "-m", "segment_desktop", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_version_without_display() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"segment-desktop {__version__}"


def test_help_lists_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    assert "render" in result.stdout
