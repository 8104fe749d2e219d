"""Where Commerce lives: the API base URL a user typed, made right, and safe paths under it."""

from __future__ import annotations

from segment_desktop.core.errors import InvalidURLError
from segment_desktop.http_util import parse_http_url

SERVICE = "Commerce"
TOKEN_PATH = "/oauth/access_token"
EU_WEST = "https://euwest.api.elasticpath.com"
DEPRECATED_HOSTS = {"api.moltin.com": EU_WEST}


def normalise_base_url(url: str) -> tuple[str, str | None]:
    """The API base URL to use for what a user typed, plus a note when we changed its meaning.

    Accepts a trailing slash, a pasted ``/v2`` or ``/oauth/access_token``, a bare host name, a
    Commerce Manager address (``https://euwest.cm.elasticpath.com`` → the region's API host)
    and the deprecated ``api.moltin.com`` (kept, with a note suggesting EU West's own host).
    Plain ``http://`` is refused except for this computer. Raises ``InvalidURLError``.
    """
    parsed = parse_http_url(url, service=SERVICE, what="Commerce API URL")
    host = parsed.host.lower()
    note: str | None = None
    path = parsed.path.rstrip("/")
    for marker in ("/v2", "/oauth"):  # an API address pasted whole: keep what precedes it
        cut = (path + "/").find(marker + "/")
        if cut >= 0:
            if path[cut:] not in ("/v2", TOKEN_PATH, "/oauth"):
                note = f"Ignored {path[cut:]}: the API URL is the part before {marker}."
            path = path[:cut]
    if ".cm.elasticpath.com" in host or host.endswith(".cm.moltin.com"):
        region = host.split(".", 1)[0]
        api_host = f"{region}.api.elasticpath.com"
        note = (
            f"{host} is the Commerce Manager (the web console); using its API host "
            f"{api_host} instead."
        )
        host, path = api_host, ""
    elif host in DEPRECATED_HOSTS:
        note = (
            f"{host} is the deprecated address of the EU West region; it still works, but "
            f"{DEPRECATED_HOSTS[host]} is the current one."
        )
    if parsed.query or parsed.fragment:
        note = (note + " " if note else "") + "Ignored the part after '?' or '#'."
    port = f":{parsed.port}" if parsed.port else ""
    shown = f"[{host}]" if ":" in host else host  # an IPv6 literal
    return f"{parsed.scheme}://{shown}{port}{path}", note


def path_segment(value: str) -> str:
    """One path segment; refuses ids that would change the path."""
    if not value or "/" in value or value in (".", "..") or "?" in value or "#" in value:
        raise InvalidURLError(f"{value!r} is not a valid Commerce id.", service=SERVICE)
    return value


def integration_path(integration_id: str) -> str:
    return f"/v2/integrations/{path_segment(integration_id)}"
