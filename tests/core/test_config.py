"""Settings: defaults, validation, atomic saves, damaged and future files, export and import."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_desktop.core import config as config_module
from segment_desktop.core.config import (
    CONFIG_FILE_NAME,
    EXPORT_KIND,
    MAX_TEMPLATE_CHARS,
    MAX_TEXT_CHARS,
    SCHEMA_VERSION,
    Config,
    ConfigStore,
    TrackingChoice,
)
from segment_desktop.core.errors import ConfigError
from segment_desktop.core.events import TEMPLATES


def customised() -> Config:
    config = Config.default()
    config.commerce.client_id = "client-123"
    config.commerce.base_url = "https://useast.api.elasticpath.com"
    config.segment.host = "https://events.eu1.segmentapis.com"
    config.tracking["order_completed"] = TrackingChoice(True, "order.fulfilled")
    config.tracking["order_updated"] = TrackingChoice(False, "order.updated")
    config.template_overrides["order_refunded"] = '{"type": "track", "event": "Refund ✓"}'
    config.integration_ids["Segment Desktop: orders"] = "abc-123"
    config.relay_url = "https://relay.example.com/webhook"
    config.sandbox = True
    config.webhook_secret_fingerprint = "0123456789abcdef"
    return config


def write(path: Path, data: object) -> bytes:
    raw = (data if isinstance(data, str) else json.dumps(data)).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return raw


# -- defaults and location -------------------------------------------------------------------


def test_defaults_come_from_the_events_table() -> None:
    config = Config.default()
    assert config.schema_version == SCHEMA_VERSION
    assert list(config.tracking) == [t.key for t in TEMPLATES]
    for spec in TEMPLATES:
        assert config.tracking[spec.key] == TrackingChoice(
            spec.enabled_by_default, spec.default_event
        )
    assert config.chosen_events() == {
        t.key: t.default_event for t in TEMPLATES if t.enabled_by_default
    }
    assert config.segment.host == "https://api.segment.io"
    assert config.segment.path == "/v1/batch"


def test_chosen_events_leaves_out_disabled_templates() -> None:
    config = customised()
    chosen = config.chosen_events()
    assert "order_updated" not in chosen
    assert chosen["order_completed"] == "order.fulfilled"


def test_directory_argument_then_environment(tmp_path: Path) -> None:
    assert ConfigStore().directory == Path(os.environ["SEGMENT_DESKTOP_CONFIG_DIR"])
    assert ConfigStore(tmp_path / "elsewhere").path == tmp_path / "elsewhere" / CONFIG_FILE_NAME


def test_missing_file_loads_defaults_and_writes_nothing() -> None:
    store = ConfigStore()
    assert store.load() == Config.default()
    assert not store.directory.exists()


def test_no_field_can_hold_a_secret() -> None:
    """By design: a secret has no place in Config, so no file or export can hold one."""
    suspicious = ("secret", "key", "password", "token", "credential")
    allowed = {"webhook_secret_fingerprint"}  # a hash prefix, not a secret

    def names(cls: Any) -> list[str]:
        found = []
        for f in fields(cls):
            found.append(f.name)
            if isinstance(f.type, str) and f.type in {"CommerceSettings", "SegmentSettings"}:
                found += names(getattr(config_module, f.type))
        return found

    assert is_dataclass(Config)
    for name in names(Config):
        assert name in allowed or not any(word in name for word in suspicious), name


# -- save and load ---------------------------------------------------------------------------


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "cfg")
    store.save(customised())
    assert store.load() == customised()
    on_disk = json.loads(store.path.read_text(encoding="utf-8"))
    assert on_disk["schema_version"] == SCHEMA_VERSION
    assert on_disk["tracking"]["order_completed"] == {"enabled": True, "event": "order.fulfilled"}
    assert "kind" not in on_disk
    assert list(store.directory.iterdir()) == [store.path]  # no temp file left behind
    if os.name == "posix":
        assert store.path.stat().st_mode & 0o077 == 0


def test_invalid_event_choice_is_rejected_clearly() -> None:
    store = ConfigStore()
    config = Config.default()
    config.tracking["order_completed"] = TrackingChoice(True, "order.created")
    with pytest.raises(ConfigError) as err:
        store.save(config)
    message = str(err.value)
    assert "Order Completed cannot track 'order.created'" in message
    assert "order.paid, order.fulfilled" in message
    assert not store.path.exists()


def test_invalid_event_in_the_file_names_file_and_setting() -> None:
    store = ConfigStore()
    data = Config.default().to_dict()
    data["tracking"]["customer_updated"]["event"] = "order.paid"
    before = write(store.path, data)
    with pytest.raises(ConfigError) as err:
        store.load()
    message = str(err.value)
    assert str(store.path) in message
    assert "tracking.customer_updated.event" in message
    assert "customer.updated, customer.deleted" in message
    assert store.path.read_bytes() == before


def test_unknown_template_and_wrong_types_are_all_listed() -> None:
    store = ConfigStore()
    data: dict[str, Any] = Config.default().to_dict()
    data["sandbox"] = "yes"
    data["commerce"]["client_id"] = 42
    data["tracking"]["order_shipped"] = {"enabled": True, "event": "order.shipped"}
    data["surprise"] = 1
    write(store.path, data)
    with pytest.raises(ConfigError) as err:
        store.load()
    message = str(err.value)
    assert "sandbox must be true or false, not a string" in message
    assert "commerce.client_id must be a string, not a number" in message
    assert "tracking.order_shipped: unknown setting" in message
    assert "surprise: unknown setting" in message


def test_templates_missing_from_an_older_file_get_their_defaults() -> None:
    store = ConfigStore()
    data = Config.default().to_dict()
    del data["tracking"]["customer_created"]
    data["tracking"]["order_updated"] = {"enabled": False, "event": "order.updated"}
    write(store.path, data)
    loaded = store.load()
    assert loaded.tracking["customer_created"] == TrackingChoice(True, "customer.created")
    assert loaded.tracking["order_updated"].enabled is False


# -- damaged and future files ----------------------------------------------------------------


def test_corrupt_file_is_reported_and_never_overwritten() -> None:
    store = ConfigStore()
    store.save(customised())
    torn = store.path.read_bytes()[:57]
    store.path.write_bytes(torn)

    with pytest.raises(ConfigError) as err:
        store.load()
    message = str(err.value)
    assert str(store.path) in message
    assert "not valid JSON" in message and "line" in message and "column" in message
    assert "reset" in message

    with pytest.raises(ConfigError, match="Not saving"):
        store.save(Config.default())
    assert store.path.read_bytes() == torn
    assert sorted(p.name for p in store.directory.iterdir()) == [CONFIG_FILE_NAME]


def test_reset_moves_a_corrupt_file_aside_then_saving_works() -> None:
    store = ConfigStore()
    torn = write(store.path, '{"schema_version": 1, "commerce": ')
    moved = store.reset()
    assert moved is not None
    assert moved.name.startswith(f"{CONFIG_FILE_NAME}.corrupt-")
    assert moved.read_bytes() == torn
    assert store.load() == Config.default()
    store.save(customised())
    assert store.load() == customised()
    assert moved.read_bytes() == torn


def test_reset_keeps_a_good_file_as_a_backup_and_never_clobbers_one() -> None:
    store = ConfigStore()
    store.save(customised())
    first = store.reset()
    store.save(customised())
    second = store.reset()
    assert first is not None and second is not None and first != second
    assert first.name.startswith(f"{CONFIG_FILE_NAME}.bak-")
    assert ConfigStore(store.directory).import_from(second) == customised()
    assert store.reset() is None


def test_non_utf8_and_non_object_files_are_reported() -> None:
    store = ConfigStore()
    store.directory.mkdir(parents=True)
    store.path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ConfigError, match="not UTF-8"):
        store.load()
    store.path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="holds an array instead of an object"):
        store.load()


def test_file_from_a_newer_version_says_to_update() -> None:
    store = ConfigStore()
    data = Config.default().to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    data["new_feature"] = {"x": 1}
    before = write(store.path, data)
    with pytest.raises(ConfigError) as err:
        store.load()
    message = str(err.value)
    assert "newer version of Segment Desktop" in message
    assert "Update Segment Desktop" in message
    assert str(store.path) in message
    with pytest.raises(ConfigError, match="Not saving"):
        store.save(Config.default())
    assert store.path.read_bytes() == before


def test_missing_schema_version_is_reported() -> None:
    store = ConfigStore()
    write(store.path, {"sandbox": True})
    with pytest.raises(ConfigError, match="no valid schema_version"):
        store.load()


def test_a_folder_in_place_of_the_file_is_reported() -> None:
    store = ConfigStore()
    store.path.mkdir(parents=True)
    with pytest.raises(ConfigError, match="is a folder"):
        store.load()


# -- migrations ------------------------------------------------------------------------------


def test_migration_hook_upgrades_an_older_file(monkeypatch: pytest.MonkeyPatch) -> None:
    store = ConfigStore()
    old = Config.default().to_dict()
    old["relay_host"] = "relay.example.com"  # a field of this version that the next renames
    write(store.path, old)
    later = SCHEMA_VERSION + 1

    def one_to_two(data: dict[str, Any]) -> dict[str, Any]:
        data["relay_url"] = f"https://{data.pop('relay_host')}/webhook"
        return data

    monkeypatch.setattr(config_module, "SCHEMA_VERSION", later)
    monkeypatch.setitem(config_module.MIGRATIONS, SCHEMA_VERSION, one_to_two)
    loaded = store.load()
    assert loaded.schema_version == later
    assert loaded.relay_url == "https://relay.example.com/webhook"
    store.save(loaded)
    assert json.loads(store.path.read_text())["schema_version"] == later


def test_older_file_without_a_migration_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    store = ConfigStore()
    write(store.path, Config.default().to_dict())
    monkeypatch.setattr(config_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(ConfigError, match="cannot upgrade"):
        store.load()


# -- atomic saves ----------------------------------------------------------------------------


def test_failed_rename_leaves_the_old_file_and_no_temp_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = ConfigStore()
    store.save(Config.default())
    before = store.path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(config_module.os, "replace", crash)
    with pytest.raises(ConfigError) as err:
        store.save(customised())
    assert "No space left on device" in str(err.value)
    assert "previous settings are unchanged" in str(err.value)
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert [p.name for p in store.directory.iterdir()] == [CONFIG_FILE_NAME]


def test_failed_fsync_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    store = ConfigStore()
    store.save(Config.default())
    before = store.path.read_bytes()

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(config_module.os, "fsync", failing_fsync)
    with pytest.raises(ConfigError, match="Input/output error"):
        store.save(customised())
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert [p.name for p in store.directory.iterdir()] == [CONFIG_FILE_NAME]


_SAVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from segment_desktop.core.config import MAX_TEMPLATE_CHARS, Config, ConfigStore
    from segment_desktop.core.events import TEMPLATES

    store = ConfigStore(Path(sys.argv[1]))
    big, small = Config.default(), Config.default()
    # Every template at its size limit: slow enough to be caught mid-write.
    big.template_overrides = {t.key: "x" * MAX_TEMPLATE_CHARS for t in TEMPLATES}
    small.relay_url = "https://small.example.com"
    print("ready", flush=True)
    while True:
        store.save(big)
        store.save(small)
    """
)


def test_killed_mid_save_leaves_old_or_new_never_torn(tmp_path: Path) -> None:
    directory = tmp_path / "cfg"
    store = ConfigStore(directory)
    store.save(Config.default())
    seen: set[str] = set()
    for attempt in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(directory)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        with proc.stdout:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(0.05 + 0.04 * attempt)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        loaded = store.load()  # raises if the file is torn
        if len(loaded.template_overrides.get("order_updated", "")) == MAX_TEMPLATE_CHARS:
            seen.add("big")
        elif loaded.relay_url == "https://small.example.com":
            seen.add("small")
        else:
            assert loaded == Config.default()
            seen.add("initial")
    assert seen & {"big", "small"}, "the saver never completed a save; the test proves nothing"


def test_stale_temp_files_from_a_crash_are_cleaned_but_fresh_ones_kept() -> None:
    store = ConfigStore()
    store.save(Config.default())
    stale = store.directory / f".{CONFIG_FILE_NAME}.old.tmp"
    fresh = store.directory / f".{CONFIG_FILE_NAME}.busy.tmp"
    stale.write_text("half")
    fresh.write_text("half")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    store.save(Config.default())
    assert not stale.exists()
    assert fresh.exists()


# -- export and import -----------------------------------------------------------------------


def test_export_import_round_trip(tmp_path: Path) -> None:
    store = ConfigStore()
    target = tmp_path / "my settings.json"
    store.export_to(target, customised())
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["kind"] == EXPORT_KIND
    assert exported["schema_version"] == SCHEMA_VERSION
    imported = ConfigStore(tmp_path / "other").import_from(target)
    assert imported == customised()
    assert not store.path.exists()  # exporting does not save, importing does not save


def test_plain_config_file_can_be_imported(tmp_path: Path) -> None:
    source = ConfigStore(tmp_path / "a")
    source.save(customised())
    assert ConfigStore(tmp_path / "b").import_from(source.path) == customised()


def test_import_rejects_other_files_clearly(tmp_path: Path) -> None:
    store = ConfigStore()
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"kind": "npm-package", "schema_version": 1}))
    with pytest.raises(ConfigError, match="not a Segment Desktop settings export"):
        store.import_from(other)
    with pytest.raises(ConfigError, match="does not exist"):
        store.import_from(tmp_path / "missing.json")
    torn = tmp_path / "torn.json"
    torn.write_text('{"kind": "segment-desktop-settings", ')
    with pytest.raises(ConfigError) as err:
        store.import_from(torn)
    assert str(torn) in str(err.value) and "not valid JSON" in str(err.value)


def test_import_replaces_a_damaged_file_after_an_explicit_reset(tmp_path: Path) -> None:
    store = ConfigStore()
    write(store.path, "{ damaged")
    export = tmp_path / "export.json"
    ConfigStore(tmp_path / "elsewhere").export_to(export, customised())
    imported = store.import_from(export)
    with pytest.raises(ConfigError, match="Not saving"):
        store.save(imported)
    store.reset()
    store.save(imported)
    assert store.load() == customised()


def test_export_refuses_invalid_settings(tmp_path: Path) -> None:
    config = Config.default()
    config.tracking["checkout_started"] = TrackingChoice(True, "order.paid")
    with pytest.raises(ConfigError, match=r"Checkout Started cannot track 'order\.paid'"):
        ConfigStore().export_to(tmp_path / "x.json", config)
    assert not (tmp_path / "x.json").exists()


def test_a_version_1_file_gains_the_webhook_delivery() -> None:
    store = ConfigStore()
    old = Config.default().to_dict()
    old["schema_version"] = 1
    del old["delivery"]
    old["relay_url"] = "https://relay.example.com/webhooks/commerce"
    write(store.path, old)
    loaded = store.load()
    assert loaded.schema_version == SCHEMA_VERSION
    assert loaded.delivery == config_module.DeliverySettings(kind="webhook")
    assert loaded.relay_url == "https://relay.example.com/webhooks/commerce"


def test_the_queue_delivery_round_trips_and_a_bad_kind_is_named() -> None:
    store = ConfigStore()
    config = Config.default()
    config.delivery = config_module.DeliverySettings(
        "aws_sqs", "https://sqs.eu-west-1.amazonaws.com/123456789012/commerce", "eu-west-1",
        "AKIAEXAMPLE",
    )  # fmt: skip
    store.save(config)
    assert store.load().delivery == config.delivery
    data = config.to_dict()
    data["delivery"]["kind"] = "carrier_pigeon"
    write(store.path, data)
    with pytest.raises(ConfigError, match=r"delivery\.kind"):
        store.load()


# -- untrusted files: bounded, and every problem a ConfigError -----------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"schema_version": 1, "relay_url": ' + "[" * 100_000 + "]" * 100_000 + "}", "deeply"),
        ('{"schema_version": 1, "relay_url": ' + "9" * 5000 + "}", "digits"),
        ('{"schema_version": 1, "relay_url": NaN}', "NaN is not a JSON number"),
        ('{"schema_version": 1e999}', "schema_version"),
        ('{"schema_version": ' + "1" * 5000 + "}", "digits"),
    ],
)
def test_deep_huge_or_non_json_numbers_are_a_settings_error(text: str, words: str) -> None:
    store = ConfigStore()
    store.directory.mkdir(parents=True)
    store.path.write_text(text)
    with pytest.raises(ConfigError, match=words) as caught:
        store.load()
    assert str(store.path) in str(caught.value)


def test_only_regular_files_of_a_few_megabytes_are_read(tmp_path: Path) -> None:
    store = ConfigStore()
    with pytest.raises(ConfigError, match="not a regular file"):
        store.import_from(Path("/dev/zero"))  # would read until memory ran out
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        store.import_from(fifo)  # would wait for a writer for ever
    huge = tmp_path / "huge.json"
    with huge.open("w") as handle:
        handle.write('{"kind": "segment-desktop-settings", "schema_version": 1, "relay_url": "')
        handle.write("x" * 50_000_000)
        handle.write('"}')
    with pytest.raises(ConfigError, match="larger than 4 MB"):
        store.import_from(huge)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"relay_url": "https://x.example/" + "a" * 3_000_000}, "relay_url is 3,000,018"),
        ({"segment": {"host": "https://" + "h" * MAX_TEXT_CHARS}}, "segment.host is"),
        (
            {"template_overrides": {"order_updated": "x" * (MAX_TEMPLATE_CHARS + 1)}},
            "template_overrides.order_updated is",
        ),
        ({"integration_ids": {f"i{n}": "x" for n in range(101)}}, "holds 101 entries"),
    ],
)
def test_each_field_is_capped_on_import_and_on_save(
    tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    store = ConfigStore()
    data = {"kind": EXPORT_KIND, **Config.default().to_dict(), **change}
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=words):
        store.import_from(exported)
    config = Config.from_dict({**Config.default().to_dict(), **{"sandbox": False}})
    for key, value in change.items():
        if key == "segment":
            config.segment.host = value["host"]
        else:
            setattr(config, key, value)
    with pytest.raises(ConfigError, match=words.split(" is")[0].split(" holds")[0]):
        store.save(config)  # never writes a file that would not load again
    assert not store.path.exists()


# -- any file: settings or a clear ConfigError ---------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=25,
)
_SETTINGS_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "schema_version": st.sampled_from([0, 1, 2, "1", None, 1.0, True]),
        "kind": st.sampled_from([EXPORT_KIND, "other"]) | _JSON,
        "commerce": st.fixed_dictionaries({}, optional={"client_id": _JSON, "base_url": _JSON})
        | _JSON,
        "segment": st.fixed_dictionaries({}, optional={"host": _JSON, "path": _JSON}) | _JSON,
        "tracking": st.dictionaries(
            st.sampled_from([t.key for t in TEMPLATES]) | st.text(max_size=8),
            st.fixed_dictionaries({}, optional={"enabled": _JSON, "event": _JSON}) | _JSON,
            max_size=4,
        )
        | _JSON,
        "template_overrides": st.dictionaries(st.text(max_size=20), _JSON, max_size=3) | _JSON,
        "integration_ids": _JSON,
        "relay_url": _JSON,
        "sandbox": _JSON,
        "webhook_secret_fingerprint": _JSON,
    },
)


def _load_and_import(raw: bytes) -> None:
    """Both ways of reading a file give settings or a ConfigError, nothing else."""
    import tempfile

    with tempfile.TemporaryDirectory() as name:
        store = ConfigStore(Path(name) / "cfg")
        store.directory.mkdir()
        store.path.write_bytes(raw)
        for read in (store.load, lambda: store.import_from(store.path)):
            try:
                config = read()
            except ConfigError as err:
                assert str(err) and "Traceback" not in str(err)
            else:
                config.validate()  # what loads can be saved again
                assert Config.from_dict(config.to_dict()) == config


@settings(max_examples=200, deadline=None)
@given(_SETTINGS_LIKE)
def test_any_settings_shaped_file_loads_or_says_why(data: dict[str, Any]) -> None:
    _load_and_import(json.dumps(data).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_load_or_say_why(raw: bytes) -> None:
    _load_and_import(raw)


def test_what_an_import_would_change_lists_destinations_first() -> None:
    from segment_desktop.core.config_changes import setting_changes

    current = Config.default()
    imported = Config.default()
    imported.template_overrides = {"order_updated": '{"type": "track"}'}
    imported.segment.host = "https://collector.example.net"
    imported.tracking["order_updated"].enabled = not current.tracking["order_updated"].enabled
    changes = setting_changes(current, imported)
    assert [c.path for c in changes] == [
        "segment.host",
        "tracking.order_updated.enabled",
        "template_overrides.order_updated",
    ]
    assert changes[0].destination and changes[0].after == "https://collector.example.net"
    assert changes[2].before is None
    assert setting_changes(current, Config.default()) == []
