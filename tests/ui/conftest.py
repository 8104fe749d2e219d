"""What the GUI tests share: the app's services wired to the sandbox emulators and a real, empty
Secret Service, with short Commerce timeouts so a failing test fails fast."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from segment_desktop.core.config import ConfigStore
from segment_desktop.core.secrets import SecretStore
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import Services
from tests.fixtures.secret_service import SecretService


@pytest.fixture
def services(sandbox: Sandbox, keyring_clean: SecretService) -> Iterator[Services]:
    made = Services(
        config_store=ConfigStore(),
        secrets=SecretStore(use_environment=False),
        sandbox=sandbox,
        commerce_timeout=httpx.Timeout(5.0, connect=1.0),
    )
    yield made
    made.close()
