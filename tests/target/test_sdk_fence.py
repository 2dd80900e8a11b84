"""The singer-sdk private API the target uses: all of it in `_sdk.py`, and still as expected.

An SDK upgrade that renames, re-signs or changes one of these names fails here with a
message naming it, instead of somewhere deep in a sync. A second check keeps every other
module of the package off the SDK's private names.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import signal
import typing as t
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from singer_sdk.helpers import _batch as sdk_batch
from singer_sdk.io_base import GenericSingerReader, SingerReader
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target

import target_parquet_sems
from target_parquet_sems import _sdk
from target_parquet_sems.target import TargetParquetSems

PACKAGE = Path(target_parquet_sems.__file__).parent
FENCE = PACKAGE / "_sdk.py"

# Every private SDK name `_sdk.py` uses, with the parameters it relies on (None: an attribute).
PRIVATE_METHODS: dict[str, tuple[t.Any, list[str] | None]] = {
    "_process_record_message": (Target, ["self", "message_dict"]),
    "_process_state_message": (Target, ["self", "message_dict"]),
    "_process_batch_message": (Target, ["self", "message_dict"]),
    "_write_state_message": (Target, ["self", "state"]),
    "_handle_termination": (Target, ["self", "signum", "frame"]),
    "_handle_max_record_age": (Target, ["self"]),
    "_sinks_active": (Target, None),
    "_sinks_to_clear": (Target, None),
}
PRIVATE_MODULE_NAMES = {
    "singer_sdk.helpers._batch": {"BaseBatchFileEncoding", "StorageTarget"},
}
STORAGE_TARGET_METHODS = {
    "split_url": ["url"],  # a staticmethod
    "from_url": ["url"],  # a classmethod, bound
    "open": ["self", "filename", "mode"],
}

SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}}}


def _fail(symbol: str, problem: str) -> t.NoReturn:
    pytest.fail(
        f"singer-sdk changed {symbol}: {problem}. target-parquet-sems relies on it in "
        "target_parquet_sems/_sdk.py; adapt that module to the new SDK."
    )


def _lines(*messages: dict) -> io.StringIO:
    return io.StringIO("".join(json.dumps(m) + "\n" for m in messages))


def _schema(stream: str = "s", schema: dict = SCHEMA) -> dict:
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]}


def _record(record_id: int) -> dict:
    return {"type": "RECORD", "stream": "s", "record": {"id": record_id}}


# --- existence and signatures -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRIVATE_METHODS))
def test_private_target_methods_keep_their_signature(name: str, tmp_path: Path) -> None:
    owner, parameters = PRIVATE_METHODS[name]
    symbol = f"{owner.__name__}.{name}"
    if parameters is None:  # an instance attribute set in Target.__init__
        target = TargetParquetSems(config={"destination_path": str(tmp_path)})
        if not hasattr(target, name):
            _fail(symbol, "the attribute is gone")
        return
    method = inspect.getattr_static(owner, name, None)
    if method is None or not callable(method):
        _fail(symbol, "the method is gone")
    found = list(inspect.signature(method).parameters)
    if found != parameters:
        _fail(symbol, f"parameters are now {found}, expected {parameters}")


def test_private_batch_module_keeps_its_names() -> None:
    for module, names in PRIVATE_MODULE_NAMES.items():
        for name in sorted(names):
            if not hasattr(sdk_batch, name):
                _fail(f"{module}.{name}", "the name is gone")
    fields = [f.name for f in dataclasses.fields(sdk_batch.BaseBatchFileEncoding)]
    if fields[:2] != ["format", "compression"]:
        _fail("BaseBatchFileEncoding", f"its fields are now {fields}")
    for name, parameters in STORAGE_TARGET_METHODS.items():
        method = getattr(sdk_batch.StorageTarget, name, None)
        if method is None:
            _fail(f"StorageTarget.{name}", "the method is gone")
        found = list(inspect.signature(method).parameters)
        if found != parameters:
            _fail(f"StorageTarget.{name}", f"parameters are now {found}, expected {parameters}")


# --- behaviour ------------------------------------------------------------------------------


def test_records_and_state_reach_the_hooks_and_drain_all_passes_state_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """process_lines -> _process_record_message / _process_state_message; drain_all ->
    _write_state_message with the latest state (kept by the SDK as _latest_state)."""
    target = TargetParquetSems(config={"destination_path": str(tmp_path)})
    target.process_lines(_lines(_schema(), _record(1), {"type": "STATE", "value": {"at": 1}}))
    if target.get_sink("s").current_size != 1:
        _fail("Target._process_record_message", "RECORD messages no longer reach it")
    assert capsys.readouterr().out == ""  # the record is not written yet: no state
    target.drain_all()
    target.writer.wait()
    if capsys.readouterr().out != '{"at": 1}\n':
        _fail(
            "Target._process_state_message/_write_state_message",
            "drain_all no longer passes the latest STATE through _write_state_message",
        )
    assert (tmp_path / "s.parquet").exists()


def test_old_records_drain_through_handle_max_record_age(tmp_path: Path) -> None:
    target = TargetParquetSems(config={"destination_path": str(tmp_path)})
    target.process_lines(_lines(_schema(), _record(1)))
    target.drain_if_records_too_old()
    assert target.get_sink("s").current_size == 1  # young records wait for a full batch
    target._MAX_RECORD_AGE_IN_MINUTES = -1.0  # every record is now too old
    target.drain_if_records_too_old()
    if target.get_sink("s").current_size != 0:
        _fail("Target._handle_max_record_age", "it no longer drains the sinks")
    target.writer.wait()
    assert (tmp_path / "s.parquet").exists()


def test_a_sink_replaced_by_a_new_schema_is_still_pending(tmp_path: Path) -> None:
    target = TargetParquetSems(config={"destination_path": str(tmp_path)})
    wider = {"type": "object", "properties": {"id": {"type": "integer"}, "n": {"type": "number"}}}
    target.process_lines(_lines(_schema(), _record(1), _schema(schema=wider)))
    sizes = [sink.current_size for sink in target.pending_sinks()]
    if sorted(sizes) != [0, 1]:
        _fail("Target._sinks_to_clear", f"a replaced sink is not listed (sizes {sizes})")


def test_termination_handler_is_installed_and_ends_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        target = TargetParquetSems(config={"destination_path": str(tmp_path)})
        for number in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(number) != target._handle_termination:
                _fail("PluginBase._setup_signal_handlers", f"{number.name} no longer calls it")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    target.process_lines(_lines(_schema(), _record(7), {"type": "STATE", "value": {"at": 7}}))
    target._handle_termination(signal.SIGTERM, None)  # the reader is not waiting: it notes
    more = io.BytesIO(json.dumps(_record(8)).encode())
    assert target.process_lines(more) == {"RECORD": 0}  # and reads no more
    with pytest.raises(SystemExit) as leaving:
        target.process_endofpipe()
    assert leaving.value.code == 128 + signal.SIGTERM
    assert capsys.readouterr().out == '{"at": 7}\n'
    assert pq.read_table(tmp_path / "s.parquet").column("id").to_pylist() == [7]


def test_batch_files_open_through_storage_target(tmp_path: Path) -> None:
    batch_file = tmp_path / "in" / "part.jsonl"
    batch_file.parent.mkdir()
    batch_file.write_bytes(b'{"id": 1}\n')
    target = TargetParquetSems(config={"destination_path": str(tmp_path / "out")})
    target.process_lines(_lines(_schema()))
    with _sdk.open_batch_file(target.get_sink("s"), batch_file.as_uri()) as handle:
        assert handle.read() == b'{"id": 1}\n'


# --- the fence itself -----------------------------------------------------------------------


def _sdk_private_names() -> set[str]:
    """Underscore names the SDK's Target, BatchSink and reader classes define or set."""

    class Sink(BatchSink):
        def process_batch(self, context: dict) -> None:
            pass

    class PlainTarget(Target):
        name = "plain"
        default_sink_class = Sink
        config_jsonschema: t.ClassVar[dict] = {"type": "object", "properties": {}}

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        target = PlainTarget(config={})
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    sink = Sink(target, "s", SCHEMA, None)
    names: set[str] = set()
    for thing in (Target, BatchSink, SingerReader, target, sink, SingerReader()):
        names |= set(dir(thing))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _final_methods(sdk_final_methods: t.Any) -> frozenset[str]:
    """The final methods the target and its sinks inherit. `process_lines` is final on the
    plugin but the reader's own interface, which RawRecordReader implements."""
    return sdk_final_methods(Target, BatchSink) - set(vars(GenericSingerReader))


def test_no_other_module_touches_sdk_private_names(
    sdk_crossings: t.Any, sdk_final_methods: t.Any
) -> None:
    private, final = _sdk_private_names(), _final_methods(sdk_final_methods)
    outside = [
        crossing
        for path in sorted(PACKAGE.glob("*.py"))
        if path != FENCE
        for crossing in sdk_crossings(path, private, final)
    ]
    assert outside == [], (
        "singer-sdk private names used outside target_parquet_sems/_sdk.py; move each use "
        "into _sdk.py with a line of why:\n" + "\n".join(outside)
    )


def test_every_private_name_in_the_fence_is_checked_here(
    sdk_crossings: t.Any, sdk_final_methods: t.Any
) -> None:
    found = sdk_crossings(FENCE, _sdk_private_names(), _final_methods(sdk_final_methods))
    names = {crossing.split("`")[1] for crossing in found if "`" in crossing}
    assert names == set(PRIVATE_METHODS), f"private SDK names in _sdk.py not checked here: {found}"
    imports = {crossing.rsplit(" ", 1)[1] for crossing in found if " imports " in crossing}
    assert imports == set(PRIVATE_MODULE_NAMES), f"private imports in _sdk.py: {found}"
