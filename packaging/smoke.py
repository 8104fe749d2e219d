"""Smoke checks of a built ``segment-desktop`` executable (PyInstaller bundle or installed wheel).

    python packaging/smoke.py dist/segment-desktop/segment-desktop            # every check
    python packaging/smoke.py .venv-x/bin/segment-desktop --checks version,render

Each check runs the executable as a user would, in private folders (config, logs, data, HOME),
and fails with a message naming what went wrong:

``version``  ``--version`` prints the expected version.
``render``   ``render --event <sample> --check`` with a sample and the default templates read
             from the executable's own resources, printing an Order Completed call.
``sandbox``  ``sandbox`` starts, prints its URLs, really serves a Commerce token, stops on SIGTERM.
``keyring``  under a private D-Bus session with an unlocked gnome-keyring, ``register --dry-run``
             reads the Commerce client secret from the Secret Service and plans against the
             sandbox; without a bus it fails about the keyring instead. Proves the bundle's
             keyring backend (SecretService, jeepney, secretstorage) works.
``gui``      the desktop app with no arguments, on a fresh config: under Xvfb (``xcb``) its first
             window must be mapped (``xwininfo``); without Xvfb, offscreen, it must stay up.

``tests/test_packaging.py`` runs the same checks against the wheel; ``scripts/package bundle``
against the bundle. Needs: the Debian packages dbus-x11 gnome-keyring libsecret-tools for
``keyring``, xvfb x11-utils for the windowed ``gui`` check.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CHECKS = ("version", "render", "sandbox", "relay", "keyring", "gui")
APP_TITLE = "Segment Desktop"
SAMPLE = "order.paid.json"
KEYRING_PASSWORD = "segment-desktop-smoke"


class SmokeFailure(AssertionError):
    """A check failed; the message says what was expected and what happened."""


# -- environment -------------------------------------------------------------------------------


def private_env(root: Path, **extra: str) -> dict[str, str]:
    """A minimal environment whose every folder is under ``root`` (never the user's own)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(root / "home"),
        "XDG_RUNTIME_DIR": str(root / "runtime"),
        "XDG_DATA_HOME": str(root / "home" / ".local" / "share"),
        "XDG_CONFIG_HOME": str(root / "home" / ".config"),
        "SEGMENT_DESKTOP_CONFIG_DIR": str(root / "config"),
        "SEGMENT_DESKTOP_LOG_DIR": str(root / "logs"),
        "SEGMENT_DESKTOP_DATA_DIR": str(root / "data"),
        "NO_PROXY": "127.0.0.1,localhost",
        # a bus that does not exist: nothing may reach the user's session keyring
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={root / 'no-bus'}",
        "QT_QPA_PLATFORM": "offscreen",
    }
    for folder in ("home", "runtime"):
        (root / folder).mkdir(mode=0o700, exist_ok=True)
    env.update(extra)
    return env


def run(
    exe: Path, args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(exe), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _explain(what: str, result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{what}: exit code {result.returncode}\n--- stdout\n{result.stdout[-3000:]}"
        f"\n--- stderr\n{result.stderr[-3000:]}"
    )


def resource(exe: Path, relative: str) -> Path:
    """A file of the package's ``resources/`` as shipped with ``exe`` (bundle or venv)."""
    roots = [exe.parent / "_internal"]  # PyInstaller one-folder
    roots += sorted(exe.parent.parent.glob("lib/python3*/site-packages"))  # a venv's bin/
    for root in roots:
        candidate = root / "segment_desktop" / "resources" / relative
        if candidate.is_file():
            return candidate
    raise SmokeFailure(f"{relative} is not among the resources shipped with {exe}")


# -- checks ------------------------------------------------------------------------------------


def check_version(exe: Path, root: Path) -> str:
    expected = _source_version()
    result = run(exe, ["--version"], private_env(root))
    if result.returncode != 0 or result.stdout.strip() != f"segment-desktop {expected}":
        raise SmokeFailure(_explain(f"--version should print 'segment-desktop {expected}'", result))
    return result.stdout.strip()


def check_render(exe: Path, root: Path, sample: Path | None = None) -> str:
    sample = sample or resource(exe, f"samples/{SAMPLE}")
    result = run(exe, ["render", "--event", str(sample), "--check"], private_env(root))
    if result.returncode != 0:
        raise SmokeFailure(_explain(f"render --event {sample.name} --check", result))
    try:
        output = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise SmokeFailure(f"render printed no JSON ({err}):\n{result.stdout[:2000]}") from None
    calls = output if isinstance(output, list) else [output]
    events = [c.get("event") for c in calls if isinstance(c, dict) and c.get("type") == "track"]
    if "Order Completed" not in events:
        raise SmokeFailure(f"render of {sample.name} gave no Order Completed track: {events}")
    return f"{len(calls)} call(s), events {events}"


@contextlib.contextmanager
def sandbox(exe: Path, env: dict[str, str], timeout: float = 30) -> Iterator[dict[str, str]]:
    """``exe sandbox`` running; yields what it printed (commerce_url, client_id, …)."""
    process = subprocess.Popen(
        [str(exe), "sandbox"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        info = _read_sandbox_banner(process, timeout)
        yield info
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise SmokeFailure("sandbox did not stop within 15 s of SIGTERM") from None
        leftover = process.stderr.read() if process.stderr else ""
        process.stdout and process.stdout.close()
        process.stderr and process.stderr.close()
    if code != 0:
        raise SmokeFailure(f"sandbox ended with exit code {code} after SIGTERM:\n{leftover}")


_BANNER = {
    "commerce_url": "Commerce API",
    "client_id": "client id",
    "client_secret": "client secret",
    "segment_url": "Segment host",
    "write_key": "write key",
}


def _read_sandbox_banner(process: subprocess.Popen[str], timeout: float) -> dict[str, str]:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    info: dict[str, str] = {}
    lines: list[str] = []
    while len(info) < len(_BANNER):
        if time.monotonic() > deadline:
            raise SmokeFailure(f"sandbox printed no complete banner in {timeout} s: {lines}")
        line = process.stdout.readline()
        if not line:
            error = process.stderr.read() if process.stderr else ""
            raise SmokeFailure(f"sandbox exited early ({process.wait()}):\n{lines}\n{error}")
        lines.append(line.rstrip())
        for key, label in _BANNER.items():
            match = re.match(rf"\s+{re.escape(label)}\s+(\S+)\s*$", line)
            if match:
                info[key] = match.group(1)
    return info


def check_sandbox(exe: Path, root: Path) -> str:
    with sandbox(exe, private_env(root)) as info:
        for key in ("commerce_url", "segment_url"):
            if not info[key].startswith("http://127.0.0.1:"):
                raise SmokeFailure(f"sandbox {key} is not a loopback URL: {info[key]}")
        token = _commerce_token(info)
    return f"Commerce at {info['commerce_url']} issued a {token.get('token_type')} token"


RELAY_SECRET = "smoke-webhook-secret-0123456789abcdef"


def check_relay(exe: Path, root: Path, timeout: float = 60) -> str:
    """The relay with render processes (spawned copies of ``exe``): one event to the sandbox."""
    sample = resource(exe, f"samples/{SAMPLE}")
    with sandbox(exe, private_env(root)) as info:
        env = private_env(
            root, SEGMENT_WRITE_KEY=info["write_key"], COMMERCE_WEBHOOK_SECRET=RELAY_SECRET
        )
        errors = root / "relay-stderr.txt"
        with errors.open("w") as stderr, subprocess.Popen(
            [str(exe), "relay", "--listen", "127.0.0.1:0", "--data-dir", str(root / "relay"),
             "--segment-host", info["segment_url"], "--render-processes", "2"],
            env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
        ) as relay:  # fmt: skip
            try:
                answer = _deliver_to_relay(relay, sample, errors, timeout)
            finally:
                relay.terminate()
                relay.wait(30)
    return f"{SAMPLE} rendered by a render process and queued ({answer.get('calls')} call(s))"


def _deliver_to_relay(
    relay: subprocess.Popen[str], sample: Path, errors: Path, timeout: float
) -> dict[str, object]:
    assert relay.stdout is not None
    line = relay.stdout.readline()
    if not line.startswith("Relay listening on"):
        relay.kill()
        relay.wait(30)
        raise SmokeFailure(f"the relay did not start: {line!r}\n{errors.read_text()[-3000:]}")
    request = urllib.request.Request(
        line.split()[-1],
        data=sample.read_bytes(),
        headers={"X-MOLTIN-SECRET-KEY": RELAY_SECRET, "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:  # the render processes may still be starting: 503 means "again"
        try:
            with opener.open(request, timeout=10) as response:
                answer: dict[str, object] = json.load(response)
            break
        except urllib.error.HTTPError as err:
            detail = err.read()[:300]
            err.close()
            if err.code != 503 or time.monotonic() > deadline:
                raise SmokeFailure(f"the relay answered {err.code}: {detail!r}") from None
            time.sleep(0.5)
    if answer.get("status") != "queued":
        raise SmokeFailure(f"the relay did not queue the event: {answer}")
    return answer


def _commerce_token(info: dict[str, str]) -> dict[str, object]:
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
        }
    ).encode()
    request = urllib.request.Request(f"{info['commerce_url']}/oauth/access_token", data=body)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        token: dict[str, object] = json.load(response)
    if not token.get("access_token"):
        raise SmokeFailure(f"the sandbox's token answer has no access_token: {sorted(token)}")
    return token


def check_keyring(exe: Path, root: Path) -> str:
    missing = [p for p in ("dbus-run-session", "gnome-keyring-daemon", "secret-tool") if not
               shutil.which(p)]  # fmt: skip
    if missing:
        raise SmokeFailure(
            f"keyring check needs {', '.join(missing)}: install the Debian packages "
            "dbus-x11 gnome-keyring libsecret-tools (scripts/system-deps)"
        )
    env = private_env(root)
    with sandbox(exe, env) as info:
        config_dir = root / "register-config"
        _write_config(config_dir, info["commerce_url"], info["client_id"])
        args = ["register", "--dry-run", "--config-dir", str(config_dir)]
        # 1. no keyring reachable: the error must be about the keyring
        refused = run(exe, args, env)
        if refused.returncode != 2 or "keyring" not in refused.stderr.lower():
            raise SmokeFailure(_explain("register without a keyring should fail about it", refused))
        # 2. a private, unlocked gnome-keyring holding the client secret
        script = (
            'printf %s "$SMOKE_KEYRING_PASSWORD" | gnome-keyring-daemon --daemonize --unlock '
            "--components=secrets >/dev/null && "
            'printf %s "$SMOKE_CLIENT_SECRET" | secret-tool store --label="smoke test" '
            "service segment-desktop username commerce_client_secret && "
            'exec "$SMOKE_EXE" "$@"'
        )
        keyring_env = {k: v for k, v in env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
        keyring_env |= {
            "SMOKE_KEYRING_PASSWORD": KEYRING_PASSWORD,
            "SMOKE_CLIENT_SECRET": info["client_secret"],
            "SMOKE_EXE": str(exe),
        }
        result = subprocess.run(
            ["dbus-run-session", "--", "sh", "-c", script, "sh", *args],
            env=keyring_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if result.returncode != 0 or "Dry run" not in result.stdout:
        raise SmokeFailure(_explain("register --dry-run with the secret in gnome-keyring", result))
    if info["client_secret"] in result.stdout + result.stderr:
        raise SmokeFailure("register printed the Commerce client secret")
    return "client secret read from gnome-keyring over D-Bus; without a bus: a keyring error"


def _write_config(directory: Path, commerce_url: str, client_id: str) -> None:
    """Settings as the wizard leaves them, written by this checkout's own ConfigStore."""
    from segment_desktop.core.config import CommerceSettings, Config, ConfigStore

    config = Config.default()
    config.commerce = CommerceSettings(client_id=client_id, base_url=commerce_url)
    config.relay_url = "http://127.0.0.1:8787/webhooks"
    ConfigStore(directory).save(config)


def check_gui(exe: Path, root: Path, settle: float = 3.0) -> str:
    """The first window appears (Xvfb) or the app stays up (offscreen); see the module doc."""
    if shutil.which("Xvfb") and shutil.which("xwininfo"):
        with xvfb() as display:
            return _gui_on_x(exe, root, display)
    env = private_env(root)
    with _running(exe, [], env) as app:
        time.sleep(settle)
        if app.process.poll() is not None:
            raise SmokeFailure(
                f"the app exited offscreen with {app.process.returncode}:\n{app.output()}"
            )
    return f"offscreen: still running after {settle} s (install xvfb x11-utils to see a window)"


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A private Xvfb server on a free display number; yields ``":N"``."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number.isdigit():
            raise SmokeFailure("Xvfb did not report a display number")
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@dataclass
class Running:
    """A process started by :func:`_running`, its output going to a temporary file."""

    process: subprocess.Popen[str]
    log: IO[str]

    def output(self) -> str:
        """What it has written so far (the last 3000 characters)."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:]


@contextlib.contextmanager
def _running(exe: Path, args: list[str], env: dict[str, str]) -> Iterator[Running]:
    """``exe`` running; stopped at the end, then its output checked for errors."""
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [str(exe), *args], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        running = Running(process, log)
        try:
            yield running
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            output = running.output()
    if "Traceback" in output or "qt.qpa.plugin" in output:
        raise SmokeFailure(f"the app wrote an error:\n{output}")


def _gui_on_x(exe: Path, root: Path, display: str, timeout: float = 30) -> str:
    env = private_env(root, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    started = time.monotonic()
    with _running(exe, [], env) as app:
        while time.monotonic() - started < timeout:
            if app.process.poll() is not None:
                raise SmokeFailure(
                    f"the app exited with {app.process.returncode} before a window:\n{app.output()}"
                )
            title = _mapped_window(display)
            if title:
                return f"xcb: window {title!r} mapped after {time.monotonic() - started:.1f} s"
            time.sleep(0.2)
    raise SmokeFailure(f"no {APP_TITLE!r} window was mapped on {display} within {timeout} s")


def _mapped_window(display: str) -> str | None:
    tree = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-tree"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    for match in re.finditer(r"^\s*(0x[0-9a-f]+) \"([^\"]*)\"", tree, re.MULTILINE):
        window, title = match.groups()
        if APP_TITLE not in title:
            continue
        info = subprocess.run(
            ["xwininfo", "-display", display, "-id", window],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        if "Map State: IsViewable" in info:
            return title
    return None


# -- command line ------------------------------------------------------------------------------

CHECK_FUNCTIONS: dict[str, Callable[[Path, Path], str]] = {
    "version": check_version,
    "render": check_render,
    "sandbox": check_sandbox,
    "relay": check_relay,
    "keyring": check_keyring,
    "gui": check_gui,
}


def _source_version() -> str:
    from segment_desktop import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exe", type=Path, help="the segment-desktop executable to check")
    parser.add_argument("--checks", default=",".join(CHECKS), help="comma-separated subset")
    args = parser.parse_args(argv)
    exe = args.exe.resolve()
    chosen = [c.strip() for c in args.checks.split(",") if c.strip()]
    unknown = sorted(set(chosen) - set(CHECKS))
    if unknown:
        parser.error(f"unknown checks {unknown}; known: {', '.join(CHECKS)}")
    failed = 0
    for name in chosen:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"segment-desktop-smoke-{name}-") as folder:
            try:
                outcome = CHECK_FUNCTIONS[name](exe, Path(folder))
            except (SmokeFailure, subprocess.TimeoutExpired, OSError) as err:
                failed += 1
                print(f"FAIL {name} ({time.monotonic() - started:.1f} s): {err}", flush=True)
                continue
        print(f"ok   {name} ({time.monotonic() - started:.1f} s): {outcome}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
