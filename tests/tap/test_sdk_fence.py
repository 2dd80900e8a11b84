"""The fence around singer-sdk's private API: tap_sems/_sdk.py and nothing else.

Each test names the private symbol it guards, so an SDK upgrade that renames, removes or
reshapes one fails here with that name instead of somewhere deep in a sync. The last
tests prove no other tap module imports or touches an SDK private name.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import logging
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import singer_sdk
from singer_sdk import Stream, Tap
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams.core import Stream as CoreStream

import tap_sems
from tap_sems.tap import TapSems

CONFIG = {
    "account": "a@example.com",
    "password": "secret",
    "start_date": "2026-06-01",
    "station_ids": ["12345678-1234-5678-9abc-123456789abc"],
}
TAP_MODULES = sorted(Path(tap_sems.__file__).parent.glob("*.py"))
FENCE = Path(tap_sems.__file__).parent / "_sdk.py"


def changed(symbol: str, what: str) -> str:
    return (
        f"singer-sdk {version('singer-sdk')} changed `{symbol}`, which tap_sems/_sdk.py "
        f"relies on: {what}. Re-check the use in _sdk.py against the new SDK."
    )


def parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def source(function: Any) -> str:
    return inspect.getsource(function)


@pytest.fixture
def tap() -> TapSems:
    return TapSems(config=CONFIG, validate_config=True)


# ---- each fenced use ----------------------------------------------------------------------


def test_load_streams_is_still_how_the_tap_lists_its_streams(tap: TapSems) -> None:
    symbol = "Tap.load_streams"
    assert parameters(Tap.load_streams) == [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty)
    ], changed(symbol, "its signature")
    assert "self.load_streams()" in source(Tap.streams.fget), changed(
        symbol, "Tap.streams no longer calls it"
    )
    assert list(tap.streams) == ["stations", "plant_power", "daily_energy"], changed(
        symbol, "the streams are not synced in discovery order"
    )


def test_sync_all_is_still_the_whole_sync_and_ends_with_the_final_state(tap: TapSems) -> None:
    """The run's verdict comes after Tap.sync_all, which must still be what invoke runs and
    must still send every stream's final STATE itself."""
    symbol = "Tap.sync_all"
    assert parameters(Tap.sync_all) == [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty)
    ], changed(symbol, "its signature")
    assert "tap.sync_all()" in source(Tap.invoke), changed(symbol, "Tap.invoke no longer calls it")
    body = source(Tap.sync_all)
    assert "stream.sync()" in body, changed(symbol, "it no longer syncs the streams")
    assert "finalize_state_progress_markers()" in body, changed(
        symbol, "it no longer sends each stream's final STATE, so the verdict could precede it"
    )
    calls: list[str] = []
    tap.before_sync = lambda: calls.append("before")  # type: ignore[method-assign]
    tap.after_sync = lambda: calls.append("after")  # type: ignore[method-assign]
    for stream in tap.streams.values():
        stream.sync = lambda *args, **kwargs: calls.append("stream")  # type: ignore[method-assign]
        stream.finalize_state_progress_markers = lambda *args: None  # type: ignore[method-assign]
    tap.sync_all()
    assert calls == ["before", "stream", "stream", "stream", "after"], changed(
        symbol, f"the hooks ran as {calls}"
    )


def test_increment_stream_state_is_still_called_per_record() -> None:
    symbol = "Stream._increment_stream_state"
    assert parameters(CoreStream._increment_stream_state) == [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("latest_record", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("context", inspect.Parameter.KEYWORD_ONLY, None),
    ], changed(symbol, "its signature")
    assert "self._increment_stream_state(record" in source(CoreStream._sync_records), changed(
        symbol, "Stream._sync_records no longer calls it, so the override does nothing"
    )


def test_write_state_message_writes_state_once_unflushed(
    tap: TapSems, capfd: pytest.CaptureFixture[str]
) -> None:
    assert parameters(CoreStream._write_state_message) == [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty)
    ], changed("Stream._write_state_message", "its signature")
    stream = tap.streams["plant_power"]
    assert hasattr(stream.state_manager, "is_flushed"), changed(
        "StreamStateManager.is_flushed", "the attribute is gone"
    )
    capfd.readouterr()
    state = stream.get_context_state({"station_id": CONFIG["station_ids"][0]})
    state["replication_key"], state["replication_key_value"] = "day", "2026-06-03"
    stream.write_state_now()
    state["replication_key_value"] = "2026-06-04"
    stream.write_state_now()
    written = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    bookmarks = [
        m["value"]["bookmarks"]["plant_power"]["partitions"][0]["replication_key_value"]
        for m in written
        if m["type"] == "STATE"
    ]
    assert bookmarks == ["2026-06-03", "2026-06-04"], changed(
        "Stream._write_state_message / StreamStateManager.is_flushed",
        f"two bookmarks written as {bookmarks}",
    )


def test_generate_record_messages_is_still_where_records_become_messages(
    tap: TapSems,
) -> None:
    symbol = "Stream._generate_record_messages"
    assert parameters(CoreStream._generate_record_messages) == [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("record", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
    ], changed(symbol, "its signature")
    assert "self._generate_record_messages(record)" in source(CoreStream._write_record_message), (
        changed(symbol, "Stream._write_record_message no longer calls it")
    )
    sdk_body = source(CoreStream._generate_record_messages)
    for step in ("pop_deselected_record_properties", "conform_record_data_types"):
        assert step in sdk_body, changed(symbol, f"it no longer calls {step}")
    assert "version=self._stream_version" in sdk_body, changed(
        "Stream._stream_version", "records no longer carry it as their version"
    )
    # Behaviour: the copy gives what the SDK's own method gives for the same record.
    stream = tap.streams["stations"]
    assert stream.TYPE_CONFORMANCE_LEVEL is TypeConformanceLevel.NONE
    assert stream.selects_every_property
    record = {"station_id": "s", "name": "Roof", "extra": {"unmapped key": 1}}
    ours = list(stream._generate_record_messages(dict(record)))
    sdk = list(CoreStream._generate_record_messages(stream, dict(record)))
    assert [(m.stream, m.record, m.version) for m in ours] == [
        (m.stream, m.record, m.version) for m in sdk
    ], changed(symbol, "the SDK's messages differ from the copy's")


def test_conformance_none_leaves_records_alone() -> None:
    """Why the copy may skip conform_record_data_types: at level NONE it returns its input."""
    from singer_sdk.helpers._typing import conform_record_data_types

    record = {"a": 1, "not in the schema": {"b": 2}}
    schema = {"properties": {"a": {"type": "integer"}}}
    returned = conform_record_data_types(
        "s", record, schema, TypeConformanceLevel.NONE, logger=logging.getLogger("fence")
    )
    assert returned is record, changed(
        "singer_sdk.helpers._typing.conform_record_data_types",
        "level NONE now changes records, so the copy must call it again",
    )


def test_stream_version_exists_before_a_sync(tap: TapSems) -> None:
    stream = tap.streams["plant_power"]
    assert hasattr(stream, "_stream_version"), changed("Stream._stream_version", "it is gone")


# ---- nothing else crosses the fence ----------------------------------------------------------


@functools.cache
def sdk_private_names() -> frozenset[str]:
    """Every single-underscore function and attribute name the SDK's source defines or uses,
    and the flag of its private StreamStateManager."""
    names: set[str] = {"is_flushed"}
    for path in Path(singer_sdk.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = node.name
            elif isinstance(node, ast.Attribute):
                name = node.attr
            if name and name.startswith("_") and not name.startswith("__"):
                names.add(name)
    return frozenset(names)


def test_the_scan_sees_what_the_fence_holds(sdk_crossings: Any, sdk_final_methods: Any) -> None:
    """The scan finds each fenced use in _sdk.py, so it can find them elsewhere too."""
    found = "\n".join(sdk_crossings(FENCE, sdk_private_names(), sdk_final_methods(Tap, Stream)))
    for symbol in (
        "load_streams",
        "sync_all",
        "_increment_stream_state",
        "_write_state_message",
        "_generate_record_messages",
        "_stream_version",
        "is_flushed",
    ):
        assert f"`{symbol}`" in found, symbol


@pytest.mark.parametrize("path", [p for p in TAP_MODULES if p != FENCE], ids=lambda p: p.name)
def test_no_other_module_crosses_the_fence(
    path: Path, sdk_crossings: Any, sdk_final_methods: Any
) -> None:
    found = sdk_crossings(path, sdk_private_names(), sdk_final_methods(Tap, Stream))
    assert not found, "only tap_sems/_sdk.py may use the SDK's private API:\n" + "\n".join(found)
