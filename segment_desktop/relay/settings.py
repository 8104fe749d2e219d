"""The relay's settings: the saved config, overridden by environment variables, then by flags.

Secrets never come from a flag (they would show in ``ps``): ``SEGMENT_WRITE_KEY`` and
``COMMERCE_WEBHOOK_SECRET`` when set, otherwise the OS keyring.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from segment_desktop import APP_NAME
from segment_desktop.core.envelope import MAX_BODY_BYTES
from segment_desktop.core.errors import ConfigError
from segment_desktop.relay.retention import DEFAULT_RETENTION_DAYS

DEFAULT_LISTEN = "127.0.0.1:8787"
DEFAULT_FLUSH_SECONDS = 5.0
#: At most this many render processes by default: beyond it the relay's main process (HTTP,
#: commits, sending) is the limit.
MAX_DEFAULT_RENDER_PROCESSES = 4

#: Setting → environment variable that overrides the saved config.
ENVIRONMENT: dict[str, str] = {
    "listen": "SEGMENT_DESKTOP_RELAY_LISTEN",
    "data_dir": "SEGMENT_DESKTOP_DATA_DIR",
    "segment_host": "SEGMENT_DESKTOP_SEGMENT_HOST",
    "segment_path": "SEGMENT_DESKTOP_SEGMENT_PATH",
    "max_body_bytes": "SEGMENT_DESKTOP_RELAY_MAX_BODY_BYTES",
    "flush_seconds": "SEGMENT_DESKTOP_RELAY_FLUSH_SECONDS",
    "render_processes": "SEGMENT_DESKTOP_RELAY_RENDER_PROCESSES",
    "retention_days": "SEGMENT_DESKTOP_RELAY_RETENTION_DAYS",
}


def default_render_processes(engine: str) -> int:
    """One render process per CPU, at most :data:`MAX_DEFAULT_RENDER_PROCESSES`, at least one,
    whichever the ``engine``.

    jsonata-python renders in Python, holding the GIL: processes let it use the CPUs. jlens
    releases the GIL for part of its work only, so on threads its renders still compete with
    the relay's HTTP, commits and sending; processes fed in batches cost the relay's own process
    little per webhook and leave it the GIL (see bench/README.md).
    """
    del engine  # the same default for both engines
    return max(1, min(MAX_DEFAULT_RENDER_PROCESSES, os.cpu_count() or 1))


@dataclass(frozen=True)
class RelaySettings:
    """Everything the relay needs besides the templates and the two secrets."""

    host: str
    port: int
    data_dir: Path
    segment_host: str
    segment_path: str
    max_body_bytes: int = MAX_BODY_BYTES
    flush_seconds: float = DEFAULT_FLUSH_SECONDS
    render_processes: int = 1
    """Processes that parse and render webhooks; 0: threads in the relay's own process."""
    retention_days: float = DEFAULT_RETENTION_DAYS
    """Days parked calls and template errors (customer data) are kept."""

    @property
    def listen(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8787`` for IPv6, ``:8787`` for every interface) → (host, port)."""
    value = text.strip()
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(
            f"The listen address {text!r} is not HOST:PORT (for example 127.0.0.1:8787, "
            "or 0.0.0.0:8787 to accept connections from other machines)."
        )
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _number(name: str, text: str, kind: type[int] | type[float], minimum: float) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}.") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, not {text!r}.")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {text!r}.")
    return value


def resolve(
    *,
    config_segment_host: str,
    config_segment_path: str,
    listen: str | None = None,
    data_dir: str | None = None,
    segment_host: str | None = None,
    segment_path: str | None = None,
    render_processes: int | None = None,
    retention_days: float | None = None,
    engine: str = "jsonata-python",
    environ: Mapping[str, str] | None = None,
) -> RelaySettings:
    """Flag, else environment variable, else saved config, else default. Raises ConfigError.

    ``engine``: the template engine's name (the default number of render processes depends on
    it).
    """
    env = os.environ if environ is None else environ

    def pick(flag: str | None, key: str, fallback: str) -> str:
        if flag:
            return flag
        return env.get(ENVIRONMENT[key], "").strip() or fallback

    host, port = parse_listen(pick(listen, "listen", DEFAULT_LISTEN))
    directory = pick(data_dir, "data_dir", "")
    max_body = env.get(ENVIRONMENT["max_body_bytes"], "").strip()
    flush = env.get(ENVIRONMENT["flush_seconds"], "").strip()
    processes = env.get(ENVIRONMENT["render_processes"], "").strip()
    retention = env.get(ENVIRONMENT["retention_days"], "").strip()
    if retention_days is not None:
        if not math.isfinite(retention_days) or retention_days < 0:
            raise ConfigError(f"--retention-days must be at least 0, not {retention_days:g}.")
    elif retention:
        retention_days = _number(ENVIRONMENT["retention_days"], retention, float, 0)
    else:
        retention_days = DEFAULT_RETENTION_DAYS
    if render_processes is not None:
        if render_processes < 0:
            raise ConfigError(f"--render-processes must be at least 0, not {render_processes}.")
    elif processes:
        render_processes = int(_number(ENVIRONMENT["render_processes"], processes, int, 0))
    else:
        render_processes = default_render_processes(engine)
    most = 4 * (os.cpu_count() or 1)
    if render_processes > most:
        raise ConfigError(
            f"{render_processes} render processes is more than this machine can use; "
            f"use at most {most} (four per CPU), or 0 to render on threads."
        )
    return RelaySettings(
        host=host,
        port=port,
        data_dir=Path(directory).expanduser() if directory else default_data_dir(),
        segment_host=pick(segment_host, "segment_host", config_segment_host),
        segment_path=pick(segment_path, "segment_path", config_segment_path),
        max_body_bytes=int(
            _number(ENVIRONMENT["max_body_bytes"], max_body, int, 1024)
            if max_body
            else MAX_BODY_BYTES
        ),
        flush_seconds=(
            _number(ENVIRONMENT["flush_seconds"], flush, float, 0)
            if flush
            else DEFAULT_FLUSH_SECONDS
        ),
        render_processes=render_processes,
        retention_days=retention_days,
    )
