"""Client for the Elastic Path Commerce API.

Modules:

``client``
    :class:`CommerceClient`: the calls Segment Desktop makes (token, integrations, logs, jobs,
    recent orders and customers), with retries.
``token``
    :class:`CommerceTokenAuth`: the client-credentials token as an ``httpx.Auth``.
``urls``
    :func:`normalise_base_url` (what a user typed → the API base URL) and safe paths.
``error_mapping``
    :func:`error_for_response`: Commerce's error answers → our errors, in words a user can act on.
``pages``
    :class:`Page` and reading list answers (items, totals, the next offset).
``bodies``
    recent orders and customers rebuilt as the webhook bodies Commerce would send.
``json_values``
    small readers for loosely typed JSON.
"""

from segment_desktop.commerce.client import CommerceClient
from segment_desktop.commerce.error_mapping import error_for_response
from segment_desktop.commerce.pages import MAX_PAGE_LIMIT, Page
from segment_desktop.commerce.token import CommerceTokenAuth, TokenInfo
from segment_desktop.commerce.urls import EU_WEST, SERVICE, TOKEN_PATH, normalise_base_url

__all__ = [
    "EU_WEST",
    "MAX_PAGE_LIMIT",
    "SERVICE",
    "TOKEN_PATH",
    "CommerceClient",
    "CommerceTokenAuth",
    "Page",
    "TokenInfo",
    "error_for_response",
    "normalise_base_url",
]
