"""Our secrets, kept in the OS keyring: the only module that imports ``keyring``.

There is deliberately no file fallback. When no usable keyring exists (no Secret Service, a
locked collection, a broken D-Bus session, or keyring configured with its "fail" backend or a
``keyrings.alt`` file backend) every operation raises :class:`SecretStoreError` saying what to
do. A server without a desktop passes secrets through environment variables instead (see
:data:`ENVIRONMENT_VARIABLES`), which :meth:`SecretStore.get` reads first.

Every value read or stored is registered with :mod:`segment_desktop.core.logs`, so it is
blanked out of any log line. No message raised here ever contains a value.

``keyring`` is imported on first use, not with this module: it costs ~150 ms (it pulls in
``urllib.request`` and ``importlib_metadata``), which the desktop app must not pay before its
first window. Choosing keyring's backend is cheap too (see :func:`_choose_backend`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

from segment_desktop.core.errors import SecretStoreError
from segment_desktop.core.logs import redact_text, register_secret

COMMERCE_CLIENT_SECRET = "commerce_client_secret"
SEGMENT_WRITE_KEY = "segment_write_key"
WEBHOOK_SECRET = "webhook_secret"
#: The secret half of the AWS access key Commerce (and the relay workers) use for an SQS queue.
SQS_SECRET_ACCESS_KEY = "sqs_secret_access_key"

#: Every name the store accepts, in the order a user meets them.
SECRET_NAMES: tuple[str, ...] = (
    COMMERCE_CLIENT_SECRET,
    SEGMENT_WRITE_KEY,
    WEBHOOK_SECRET,
    SQS_SECRET_ACCESS_KEY,
)

#: Human names, for messages.
LABELS: dict[str, str] = {
    COMMERCE_CLIENT_SECRET: "Commerce client secret",
    SEGMENT_WRITE_KEY: "Segment write key",
    WEBHOOK_SECRET: "webhook secret",
    SQS_SECRET_ACCESS_KEY: "AWS secret access key",
}

#: Environment variables that supply a secret on a machine without a keyring (they win over it).
ENVIRONMENT_VARIABLES: dict[str, str] = {
    COMMERCE_CLIENT_SECRET: "COMMERCE_CLIENT_SECRET",
    SEGMENT_WRITE_KEY: "SEGMENT_WRITE_KEY",
    WEBHOOK_SECRET: "COMMERCE_WEBHOOK_SECRET",
    SQS_SECRET_ACCESS_KEY: "AWS_SECRET_ACCESS_KEY",
}

DEFAULT_SERVICE = "segment-desktop"
WEBHOOK_SECRET_BYTES = 32
FINGERPRINT_CHARS = 16

Source = Literal["environment", "keyring"]
_T = TypeVar("_T")


@functools.cache
def _library_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a keyring backend may let through, wrapped at our boundary."""
    import keyring.errors

    errors: list[type[BaseException]] = [keyring.errors.KeyringError, OSError]
    if sys.platform.startswith("linux"):
        try:
            import jeepney.wrappers
            import secretstorage.exceptions

            errors += [
                secretstorage.exceptions.SecretStorageException,
                jeepney.wrappers.DBusErrorResponse,
            ]
        except ImportError:  # pragma: no cover - keyring installs both on Linux
            pass
    return tuple(errors)


def _advice(*, locked: bool = False) -> str:
    env = " and ".join(ENVIRONMENT_VARIABLES[n] for n in (SEGMENT_WRITE_KEY, WEBHOOK_SECRET))
    server = (
        f"On a server without a desktop, set the environment variables {env} "
        f"(and {ENVIRONMENT_VARIABLES[COMMERCE_CLIENT_SECRET]} to register webhooks) instead."
    )
    if locked:
        desktop = (
            "Unlock it (GNOME: the 'Login' keyring in Passwords and Keys; KDE: KWallet; "
            "macOS: Keychain Access) and try again."
        )
    elif sys.platform == "darwin":
        desktop = "Make sure the macOS Keychain is unlocked and try again."
    elif sys.platform == "win32":
        desktop = "Make sure Windows Credential Manager is available to your account."
    else:
        desktop = (
            "On a desktop, install and unlock GNOME Keyring (package gnome-keyring) or KWallet, "
            "then log out and in again."
        )
    return f"{desktop} {server}"


def _is_refused(backend: KeyringBackend) -> bool:
    """The fail and null backends store nothing; ``keyrings.alt`` backends store to a file."""
    import keyring.backends.fail
    import keyring.backends.null

    module = type(backend).__module__
    return (
        isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring)
        or module == "keyrings.alt"
        or module.startswith("keyrings.alt.")
    )


def _describe(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def new_webhook_secret() -> str:
    """A fresh webhook secret: 32 random bytes, URL-safe (43 characters)."""
    import secrets as _random  # the standard library's (imported here: it pulls in hashlib)

    value = _random.token_urlsafe(WEBHOOK_SECRET_BYTES)
    register_secret(value)
    return value


def secret_fingerprint(value: str) -> str:
    """A short SHA-256 prefix of ``value``: tells two secrets apart without revealing either.

    Safe to store and show (``Config.webhook_secret_fingerprint``) because our secrets are
    high-entropy; never use it for a short, guessable value.
    """
    import hashlib

    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARS]


def _check_name(name: str) -> None:
    if name not in SECRET_NAMES:
        raise ValueError(
            f"Unknown secret name {name!r}; expected one of {', '.join(SECRET_NAMES)}."
        )


class SecretStore:
    """Reads and writes our secrets in the OS keyring under ``service``.

    With ``use_environment`` (the default) :meth:`get` returns a secret's environment variable
    when it is set and non-empty, without touching the keyring; :meth:`set` and :meth:`delete`
    always act on the keyring.
    """

    def __init__(self, service: str = DEFAULT_SERVICE, *, use_environment: bool = True) -> None:
        if not service:
            raise ValueError("The keyring service name must not be empty.")
        self.service = service
        self.use_environment = use_environment

    # -- public API --------------------------------------------------------------------------

    def get(self, name: str) -> str | None:
        """The secret called ``name``, or ``None`` when none is stored."""
        _check_name(name)
        from_env = self._from_environment(name)
        if from_env is not None:
            return from_env
        value = self._call("read", name, lambda b: b.get_password(self.service, name))
        register_secret(value)
        return value

    def set(self, name: str, value: str) -> None:
        """Store ``value`` as the secret ``name``, replacing any previous one."""
        _check_name(name)
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"The {LABELS[name]} must be a non-empty string; use delete() to remove it."
            )
        register_secret(value)
        self._call("store", name, lambda b: b.set_password(self.service, name, value))

    def delete(self, name: str) -> None:
        """Remove the secret ``name`` from the keyring; nothing happens when none is stored."""
        _check_name(name)
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):  # nothing was stored
            self._call("delete", name, lambda b: b.delete_password(self.service, name))

    def source(self, name: str) -> Source | None:
        """Where :meth:`get` finds the secret: ``"environment"``, ``"keyring"`` or ``None``.

        Raises :class:`SecretStoreError` like :meth:`get` when it has to ask the keyring.
        """
        _check_name(name)
        if self._from_environment(name) is not None:
            return "environment"
        return "keyring" if self.get(name) is not None else None

    def check(self) -> str:
        """Prove the keyring answers (one read); returns the backend's name for a status view."""
        self._call(
            "read", SEGMENT_WRITE_KEY, lambda b: b.get_password(self.service, SEGMENT_WRITE_KEY)
        )
        return _describe(self._backend())

    # -- internals ---------------------------------------------------------------------------

    def _from_environment(self, name: str) -> str | None:
        if not self.use_environment:
            return None
        value = os.environ.get(ENVIRONMENT_VARIABLES[name]) or None
        register_secret(value)
        return value

    def _backend(self) -> KeyringBackend:
        """keyring's chosen backend, refusing any that does not keep secrets safely."""
        import keyring.backends.chainer
        import keyring.backends.fail
        import keyring.backends.null

        backend = _choose_backend()
        if isinstance(backend, keyring.backends.chainer.ChainerBackend):
            usable = [b for b in backend.backends if not _is_refused(b)]
            if not usable:
                raise SecretStoreError(f"No usable system keyring was found. {_advice()}")
            backend = usable[0]
        if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
            raise SecretStoreError(f"No usable system keyring was found. {_advice()}")
        if _is_refused(backend):
            raise SecretStoreError(
                f"The keyring library is set to use {_describe(backend)}, which keeps secrets "
                "in a plain file; Segment Desktop refuses to. Uninstall keyrings.alt or remove "
                f"that choice from keyringrc.cfg / $PYTHON_KEYRING_BACKEND. {_advice()}"
            )
        return backend

    def _call(self, action: str, name: str, operation: Callable[[KeyringBackend], _T]) -> _T:
        """Run ``operation`` on the backend, turning library failures into our error."""
        backend = self._backend()
        try:
            _preflight(backend)
            return operation(backend)
        except _library_errors() as exc:
            import keyring.errors

            if action == "delete" and isinstance(exc, keyring.errors.PasswordDeleteError):
                raise
            raise self._error(action, name, exc) from None

    def _error(self, action: str, name: str, exc: BaseException) -> SecretStoreError:
        """Our error for a keyring failure; the library's text is redacted and never the value."""
        import keyring.errors

        label = LABELS[name]
        if isinstance(exc, keyring.errors.KeyringLocked) or _is_locked(exc):
            return SecretStoreError(
                f"Could not {action} the {label}: the system keyring is locked. "
                f"{_advice(locked=True)}"
            )
        if isinstance(exc, keyring.errors.NoKeyringError):
            return SecretStoreError(
                f"Could not {action} the {label}: no usable system keyring was found. {_advice()}"
            )
        detail = redact_text(str(exc)).strip().rstrip(".") or type(exc).__name__
        if isinstance(exc, keyring.errors.InitError | OSError) or _is_dbus(exc):
            return SecretStoreError(
                f"Could not {action} the {label}: the system keyring (Secret Service over D-Bus) "
                f"is not reachable ({detail}). {_advice()}"
            )
        return SecretStoreError(
            f"Could not {action} the {label} in the system keyring ({detail}). {_advice()}"
        )


_choosing = threading.Lock()


def _choose_backend() -> KeyringBackend:
    """keyring's backend, chosen cheaply on Linux; refusals are :meth:`SecretStore._backend`'s.

    keyring's own search (``keyring.get_keyring()`` the first time) loads every installed
    backend through entry points and asks each for its priority; on Linux that runs ``ldconfig``,
    ``gcc`` and ``ld`` (~150 ms). When nothing chose a backend yet (no ``set_keyring``, no
    ``$PYTHON_KEYRING_BACKEND``, no ``keyringrc.cfg``), the desktop is not KDE (where keyring
    ranks KWallet above it) and the Secret Service answers on the session bus, that search
    would end with the Secret Service (the highest priority among the backends we accept), so
    we take it directly and tell keyring (``set_keyring``) so everyone in this process agrees.
    Otherwise keyring searches as usual, and a choice made through the environment or keyringrc
    is honoured (and refused by :meth:`SecretStore._backend` if it is fail, null or a file).
    """
    import keyring
    import keyring.core

    with _choosing:
        if getattr(keyring.core, "_keyring_backend", None) is None and _nothing_configured():
            secret_service = _usable_secret_service()
            if secret_service is not None:
                keyring.set_keyring(secret_service)
        return keyring.get_keyring()


def _nothing_configured() -> bool:
    """Linux but not KDE, and neither ``$PYTHON_KEYRING_BACKEND`` nor a keyringrc.cfg choose a
    backend."""
    if not sys.platform.startswith("linux") or os.environ.get("PYTHON_KEYRING_BACKEND"):
        return False
    if "KDE" in os.environ.get("XDG_CURRENT_DESKTOP", "").upper().split(":"):
        return False
    from keyring.util import platform_

    return not (Path(platform_.config_root()) / "keyringrc.cfg").exists()


def _usable_secret_service() -> KeyringBackend | None:
    """keyring's Secret Service backend when a Secret Service answers, else ``None``."""
    try:
        import keyring.backends.SecretService

        backend_class = keyring.backends.SecretService.Keyring
        backend_class.priority  # noqa: B018 - raises when not usable
    except Exception:  # as keyring's own search: any failure means "not usable" (no bus: OSError)
        return None
    backend: KeyringBackend = backend_class()  # type: ignore[no-untyped-call]
    return backend


def _preflight(backend: KeyringBackend) -> None:
    """For the Secret Service: reach the collection and unlock it on a connection we close.

    keyring's own Secret Service backend leaves its D-Bus connection open when the collection
    is missing or stays locked (a leaked socket per attempt, and a ResourceWarning). Checking
    first, on a connection closed whatever happens, means keyring only runs once it will
    succeed. Unlocking may show the desktop's unlock prompt, as keyring itself would.
    """
    import keyring.backends.SecretService
    import keyring.errors

    if not isinstance(backend, keyring.backends.SecretService.Keyring):
        return
    import secretstorage

    with contextlib.closing(secretstorage.dbus_init()) as bus:
        preferred = getattr(backend, "preferred_collection", None)
        if preferred:
            collection = secretstorage.Collection(bus, preferred)
        else:
            collection = secretstorage.get_default_collection(bus)
        if collection.is_locked():
            collection.unlock()
            if collection.is_locked():
                raise keyring.errors.KeyringLocked("The collection stayed locked.")


def _is_locked(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in {"LockedException", "PromptDismissedException"}


def _is_dbus(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in {"jeepney", "secretstorage"}
