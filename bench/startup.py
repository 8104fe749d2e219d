"""Start-up time and peak memory: ``segment-desktop`` to its first window, beside a bare QWizard.

    python -m bench.startup [--runs N] [--platform offscreen|xcb]

Each run starts a fresh Python process (``python -m bench.startup_child app|main|bare``), in private
config, log and data folders (so the app is unconfigured and shows its setup wizard, the real
first window of a new user) and with no D-Bus session (the keyring is never reached):

* ``app``  runs exactly what the ``segment-desktop`` gui-script runs, ``segment_desktop.cli.main``
  with no arguments; the only addition is the first-window watcher (below), on a QApplication
  created first (``ui.app.application()`` reuses it);  the child imports nothing else
  (``bench/startup_child.py``);
* ``main`` the same for a user who finished setup: its settings file is in place before the
  child starts, so the first window is the main window with the live dashboard (its charts,
  pipeline header and delivery log); Commerce's address is a closed local port, so reading
  the integrations fails at once in the background, as it would offline;
* ``bare`` a ``QApplication`` and a one-page ``QWizard`` with a label, shown the same way.

"Shown" is the first ``Expose`` event of a top-level window plus one pass of the event loop (so
the first paint is done). The watcher that sees it costs every child the same small amount and
nothing per event (``startup_child.watch_first_window``); the report gives its CPU time and how
often it saw an exposure only after the fact. The child then prints its ``time.monotonic()``
(system-wide on Linux, so comparable with the parent's), its CPU time (user + system, all
threads) and peak memory (``ru_maxrss``) so far, and quits: what it does after its window is
shown (the work it deferred, quitting) is not counted. Start-up = that stamp minus the
parent's stamp taken just before ``fork``. On a busy machine the wall times spread, the
CPU times much less. Runs alternate app/main/bare after one discarded warm-up of each; the table
shows medians (and min/max) over N runs and the ratios app/bare and main/bare (target ≤ 1.5×).
Writes ``bench/results/startup.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.startup_child import KINDS, MARK, PROFILE_ENV

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5


def _write_configured_settings(directory: Path) -> None:
    """Settings of a finished setup, written before the child starts (a configured user has
    them already; writing them in the child would time an fsync)."""
    from segment_desktop.core.config import CommerceSettings, Config, ConfigStore

    config = Config.default()
    config.commerce = CommerceSettings(client_id="bench-client", base_url="http://127.0.0.1:9")
    config.relay_url = "https://relay.example.com/webhooks/commerce"
    config.integration_ids = {"Segment Desktop — orders": "00000000-bench"}
    ConfigStore(directory).save(config)


# -- parent side ---------------------------------------------------------------------------------


@contextlib.contextmanager
def private_keyring() -> Iterator[str]:
    """A private ``dbus-daemon`` with an unlocked ``gnome-keyring-daemon``; yields the bus address.

    Started once for the whole benchmark (its cost is not measured) and stopped by PID. Needs the
    Debian packages dbus-x11 gnome-keyring (``scripts/system-deps``).
    """
    with tempfile.TemporaryDirectory(prefix="startup-keyring-") as folder:
        root = Path(folder)
        for name in ("home", "data", "runtime"):
            (root / name).mkdir(mode=0o700)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root / "home"),
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_RUNTIME_DIR": str(root / "runtime"),
        }
        started = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--nopidfile", "--print-address=1",
             "--print-pid=1"],
            env=env, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        address, bus_pid = started.stdout.split()[:2]
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring_pid = None
        try:
            subprocess.run(
                ["gnome-keyring-daemon", "--daemonize", "--unlock", "--components=secrets"],
                input="startup-bench", env=env, capture_output=True, text=True, timeout=10,
                check=True,
            )  # fmt: skip
            deadline = time.monotonic() + 5
            while keyring_pid is None and time.monotonic() < deadline:
                keyring_pid = _bus_owner(env, "org.freedesktop.secrets")
                time.sleep(0.02)
            if keyring_pid is None:
                raise SystemExit("bench/startup: gnome-keyring-daemon did not start")
            yield address
        finally:
            for pid in (keyring_pid, int(bus_pid)):
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)


def _bus_owner(env: dict[str, str], name: str) -> int | None:
    """PID of the process owning ``name`` on the bus in ``env``, or ``None`` (not yet)."""
    reply = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
         "/org/freedesktop/DBus", "org.freedesktop.DBus.GetConnectionUnixProcessID",
         f"string:{name}"],
        env=env, capture_output=True, text=True, timeout=10, check=False,
    ).stdout  # fmt: skip
    numbers = [int(word) for word in reply.split() if word.isdigit()]
    return numbers[-1] if numbers else None


#: Where the children keep their bytecode: an installed app has its ``.pyc`` files (pip writes
#: them), so the warm-up run writes them here once even when the caller's environment says
#: ``PYTHONDONTWRITEBYTECODE``; private, so the source tree stays clean.
PYCACHE = Path(tempfile.gettempdir()) / f"segment-desktop-startup-pycache-{os.getuid()}"


def _child_env(root: Path, platform: str, bus: str | None = None) -> dict[str, str]:
    """A fresh user: private settings, logs and data under ``root``; D-Bus session ``bus``
    (one with a private keyring, see :func:`private_keyring`) or none at all."""
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {
        **inherited,
        "PYTHONPYCACHEPREFIX": str(PYCACHE),
        "QT_QPA_PLATFORM": platform,
        "SEGMENT_DESKTOP_CONFIG_DIR": str(root / "config"),
        "SEGMENT_DESKTOP_LOG_DIR": str(root / "logs"),
        "SEGMENT_DESKTOP_DATA_DIR": str(root / "data"),
        "DBUS_SESSION_BUS_ADDRESS": bus or f"unix:path={root / 'no-bus'}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def _measure(kind: str, platform: str, bus: str | None) -> dict[str, Any]:
    """One run of ``kind`` in a fresh process: times in ms, peak RSS in MiB."""
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as folder:
        root = Path(folder)
        env = _child_env(root, platform, bus)
        if kind == "main":
            _write_configured_settings(root / "config")
        with (root / "out").open("w+") as out, (root / "err").open("w+") as err:
            started = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.startup_child", kind],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
            )
            process.wait()
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    if process.returncode != 0 or MARK not in stdout:
        raise SystemExit(
            f"bench/startup: the {kind} run failed (exit code {process.returncode}):\n"
            f"{stdout[-2000:]}\n{stderr[-2000:]}"
        )
    line = next(x for x in stdout.splitlines() if x.startswith(MARK))
    _, entered, exposed, shown, cpu_s, peak_kib, watch_s, late, *title = line.split(" ")
    return {
        "shown_ms": (float(shown) - started) * 1000,
        "exposed_ms": (float(exposed) - started) * 1000,
        "interpreter_ms": (float(entered) - started) * 1000,
        "peak_mib": int(peak_kib) / 1024,
        # CPU time barely moves when other processes compete for the cores; wall time does
        "cpu_ms": float(cpu_s) * 1000,
        "watch_ms": float(watch_s) * 1000,
        "late": int(late),
        "title": " ".join(title),
    }


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def benchmark(runs: int, platform: str, bus: str | None = None) -> dict[str, Any]:
    """Warm-up of each kind, then ``runs`` alternating runs of each; medians and the ratio."""
    for kind in KINDS:
        _measure(kind, platform, bus)  # file cache, .pyc files: not counted
    samples: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for _ in range(runs):
        for kind in KINDS:
            samples[kind].append(_measure(kind, platform, bus))
    result: dict[str, Any] = {
        "runs": runs,
        "platform": platform,
        "keyring": bus is not None,
        "target_ratio": TARGET_RATIO,
    }
    for kind in KINDS:
        result[kind] = {
            metric: _stats([s[metric] for s in samples[kind]])
            for metric in (
                "shown_ms",
                "exposed_ms",
                "interpreter_ms",
                "cpu_ms",
                "peak_mib",
                "watch_ms",
            )
        }
        result[kind]["first_window"] = samples[kind][0]["title"]
        result[kind]["late"] = sum(s["late"] for s in samples[kind])
    app, bare = result["app"], result["bare"]
    result["ratio_shown"] = app["shown_ms"]["median"] / bare["shown_ms"]["median"]
    result["ratio_main_shown"] = result["main"]["shown_ms"]["median"] / bare["shown_ms"]["median"]
    result["ratio_main_cpu"] = result["main"]["cpu_ms"]["median"] / bare["cpu_ms"]["median"]
    result["ratio_cpu"] = app["cpu_ms"]["median"] / bare["cpu_ms"]["median"]
    result["ratio_peak_mib"] = app["peak_mib"]["median"] / bare["peak_mib"]["median"]
    return result


def explain(platform: str, bus: str | None = None, top: int = 12) -> None:
    """Where the start-up of the setup wizard (``app``) and of the main window (``main``) goes:
    imports by top-level package, then our slowest functions.

    Two extra runs of each: one with ``-X importtime`` (self time of every import, summed per
    top-level package), one under cProfile until the window is shown (cumulative time of
    ``segment_desktop`` functions other than module bodies; profiling inflates every figure,
    compare them only with each other).
    """
    import pstats

    for kind in ("app", "main"):
        with tempfile.TemporaryDirectory(prefix="startup-explain-") as folder:
            root = Path(folder)
            child = ["-m", "bench.startup_child", kind]
            env = _child_env(root, platform, bus)
            if kind == "main":
                _write_configured_settings(root / "config")
            imports = subprocess.run(
                [sys.executable, "-X", "importtime", *child],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
            )  # fmt: skip
            per_package: dict[str, float] = {}
            for line in imports.stderr.splitlines():
                parts = line.removeprefix("import time:").split("|")
                if len(parts) != 3 or not parts[0].strip().isdigit():
                    continue
                package = parts[2].strip().split(".")[0]
                per_package[package] = per_package.get(package, 0.0) + int(parts[0]) / 1000
            print(
                f"\nImports of the {kind} child, self time per top-level package (ms, top {top}):"
            )
            ranked = sorted(per_package.items(), key=lambda kv: kv[1], reverse=True)[:top]
            for package, ms in ranked:
                print(f"  {ms:8.1f}  {package}")
            print(f"  {sum(per_package.values()):8.1f}  all imports")
            profile = root / "profile.out"
            subprocess.run(
                [sys.executable, *child],
                cwd=ROOT, env={**env, PROFILE_ENV: str(profile)}, capture_output=True,
                timeout=120, check=True,
            )  # fmt: skip
            stats = pstats.Stats(str(profile))
            rows = [
                (cumulative, f"{Path(file).relative_to(ROOT)}:{line} {name}")
                for (file, line, name), (_, _, _, cumulative, _) in stats.stats.items()  # type: ignore[attr-defined]
                if "/segment_desktop/" in file and name != "<module>"
            ]
            print(f"\nslowest segment_desktop functions of the {kind} child under cProfile "
                  f"(cumulative ms, top {top}):")  # fmt: skip
            for cumulative, where in sorted(rows, reverse=True)[:top]:
                print(f"  {cumulative * 1000:8.1f}  {where}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs of each (default 7)")
    parser.add_argument(
        "--platform", default="offscreen", help="Qt platform (default offscreen; xcb needs X)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="also show where the app's start-up time goes"
    )
    parser.add_argument(
        "--keyring",
        action="store_true",
        help="run under a private D-Bus session with an unlocked gnome-keyring, as on a desktop "
        "(default: no D-Bus session; the app's keyring reads fail fast)",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with contextlib.ExitStack() as stack:
        bus = stack.enter_context(private_keyring()) if args.keyring else None
        result = benchmark(args.runs, args.platform, bus)
        print_report(args, result)
        if args.explain:
            explain(args.platform, bus)
    return 0


def print_report(args: argparse.Namespace, result: dict[str, Any]) -> None:
    from bench.stats import print_table, write_results

    rows = []
    for kind, label in (
        ("app", "segment-desktop (setup)"),
        ("main", "segment-desktop (dashboard)"),
        ("bare", "bare QWizard"),
    ):
        r = result[kind]
        rows.append(
            [
                label,
                r["shown_ms"]["median"],
                f"{r['shown_ms']['min']:.0f}–{r['shown_ms']['max']:.0f}",
                r["interpreter_ms"]["median"],
                r["exposed_ms"]["median"],
                r["cpu_ms"]["median"],
                r["peak_mib"]["median"],
            ]
        )
    print(
        f"Start-up to first window, {args.runs} runs each, QT_QPA_PLATFORM={args.platform}, "
        f"{'a private gnome-keyring' if args.keyring else 'no D-Bus session'}, "
        f"medians (first window: {result['app']['first_window']!r})"
    )
    headers = ["process", "shown ms", "range ms", "python up", "exposed ms", "CPU ms", "peak MiB"]
    print_table(headers, rows)
    verdict = "ok" if result["ratio_shown"] <= TARGET_RATIO else "OVER TARGET"
    print(
        f"ratio app/bare: start-up {result['ratio_shown']:.2f}× (target ≤ {TARGET_RATIO}×, "
        f"{verdict}), CPU time {result['ratio_cpu']:.2f}×, "
        f"peak memory {result['ratio_peak_mib']:.2f}×"
    )
    verdict = "ok" if result["ratio_main_shown"] <= TARGET_RATIO else "OVER TARGET"
    print(
        f"ratio main window/bare: start-up {result['ratio_main_shown']:.2f}× (target ≤ "
        f"{TARGET_RATIO}×, {verdict}), CPU time {result['ratio_main_cpu']:.2f}× "
        f"(first window: {result['main']['first_window']!r})"
    )
    watch = ", ".join(f"{kind} {result[kind]['watch_ms']['median']:.2f}" for kind in KINDS)
    late = sum(result[kind]["late"] for kind in KINDS)
    print(
        f"first-window watcher, CPU inside it (median ms): {watch}; "
        f"exposures seen after the fact: {late} of {args.runs * len(KINDS)}"
    )
    path = write_results("startup", result)
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
