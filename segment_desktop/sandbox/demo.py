"""The sandbox's fixed demo credentials. They open nothing but the local emulators."""

from __future__ import annotations

from typing import Final

DEMO_CLIENT_ID: Final = "sandbox-client-id-0000000000000000000000"
DEMO_CLIENT_SECRET: Final = "sandbox-client-secret-0000000000000000000"
#: 32 characters, the usual length of a real write key, so the app's shape check stays quiet.
DEMO_WRITE_KEY: Final = "sandboxWriteKey0123456789abcdefg"
DEMO_STORE_ID: Final = "00000000-5a4d-4b0c-8000-000000000001"
DEMO_ORG_ID: Final = "00000000-5a4d-4b0c-8000-00000000000a"
