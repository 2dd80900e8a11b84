"""Pure pieces: JSON schema to Arrow, safe names, schema merging, row merging, splits."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib.exceptions import InvalidInputLine

from tap_sems.schemas import DAILY_ENERGY, PLANT_POWER, STATIONS
from target_parquet_sems.convert import RecordError, parse_timestamp
from target_parquet_sems.merge import conform_table, merge_rows
from target_parquet_sems.partitioning import parse_partition_by, split_by_partition
from target_parquet_sems.schema import (
    SchemaMergeError,
    plan_field,
    plan_stream,
    safe_column_name,
    safe_stream_name,
    unify_schemas,
)
from target_parquet_sems.target import TargetParquetSems


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"type": "integer"}, pa.int64()),
        ({"type": ["null", "integer"]}, pa.int64()),
        ({"type": ["number", "null"]}, pa.float64()),
        ({"type": ["integer", "number"]}, pa.float64()),
        ({"type": "boolean"}, pa.bool_()),
        ({"type": "string"}, pa.string()),
        ({"type": "string", "format": "date-time"}, pa.timestamp("us", tz="UTC")),
        ({"type": ["string", "null"], "format": "date"}, pa.date32()),
        ({"type": "object"}, pa.string()),
        ({"type": "object", "additionalProperties": True}, pa.string()),
        ({}, pa.string()),
        ({"type": ["string", "integer"]}, pa.string()),
        (
            {"anyOf": [{"type": "string", "format": "date-time"}, {"type": ["string", "null"]}]},
            pa.string(),
        ),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, pa.int64()),
        ({"type": "array", "items": {"type": "integer"}}, pa.list_(pa.int64())),
        ({"type": "array"}, pa.string()),
        (
            {"type": "object", "properties": {"a:b": {"type": "number"}}},
            pa.struct([("a_b", pa.float64())]),
        ),
        ({"type": "null"}, pa.null()),
    ],
)
def test_json_schema_to_arrow_type(node: dict, expected: pa.DataType) -> None:
    assert plan_field("f", node).arrow_type == expected


def test_json_text_kinds() -> None:
    assert plan_field("f", {"type": "object"}).kind == "json"
    assert plan_field("f", {"type": ["string", "integer"]}).kind == "json"


def test_tap_sems_schemas_map_as_the_contract_says() -> None:
    power = plan_stream(PLANT_POWER, "plant_power").arrow_schema
    assert power.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert power.field("day").type == pa.date32()
    assert power.field("extra").type == pa.string()
    assert {power.field(n).type for n in power.names if n.endswith(("_w", "_pct"))} == {
        pa.float64()
    }
    assert plan_stream(DAILY_ENERGY, "daily_energy").arrow_schema.field("day").type == pa.date32()
    assert plan_stream(STATIONS, "stations").arrow_schema.field("latitude").type == pa.float64()


def test_safe_names_are_stable() -> None:
    assert safe_column_name("agent:os:version") == "agent_os_version"
    assert safe_column_name("CamelCase_1") == "CamelCase_1"
    assert safe_stream_name("test:SpecialChars!in?attributes") == "test_SpecialChars_in_attributes"
    assert safe_stream_name("public.users") == "public.users"
    assert safe_stream_name("_hidden") == "hidden"
    assert safe_stream_name("../../etc") == "etc"


def test_columns_colliding_after_cleaning_are_refused() -> None:
    schema = {"properties": {"a:b": {"type": "string"}, "a_b": {"type": "string"}}}
    with pytest.raises(SchemaMergeError, match="'a:b' and 'a_b'"):
        plan_stream(schema, "s")


def test_unify_adds_columns_and_widens_int() -> None:
    old = pa.schema([("id", pa.int64()), ("v", pa.int64()), ("s", pa.struct([("a", pa.int64())]))])
    new = pa.schema(
        [
            ("v", pa.float64()),
            ("id", pa.int64()),
            ("n", pa.string()),
            ("s", pa.struct([("b", pa.string())])),
        ]
    )
    merged = unify_schemas(old, new)
    assert merged == pa.schema(
        [
            ("id", pa.int64()),
            ("v", pa.float64()),
            ("s", pa.struct([("a", pa.int64()), ("b", pa.string())])),
            ("n", pa.string()),
        ]
    )
    table = pa.table({"id": [1], "v": [2], "s": [{"a": 3}]}, schema=old)
    assert conform_table(table, merged).to_pylist() == [
        {"id": 1, "v": 2.0, "s": {"a": 3, "b": None}, "n": None}
    ]


def test_unify_refuses_a_type_change() -> None:
    with pytest.raises(SchemaMergeError, match=r"Column 'v' is int64 .* but string"):
        unify_schemas(pa.schema([("v", pa.int64())]), pa.schema([("v", pa.string())]))


def test_merge_rows_last_wins_and_sorts_by_key() -> None:
    old = pa.table({"k": [1, 3], "v": ["old1", "old3"]})
    new = pa.table({"k": [3, 2, 3], "v": ["new3a", "new2", "new3b"]})
    assert merge_rows(old, new, ["k"]).to_pylist() == [
        {"k": 1, "v": "old1"},
        {"k": 2, "v": "new2"},
        {"k": 3, "v": "new3b"},
    ]
    assert merge_rows(old, new, []).num_rows == 5  # no key: appended
    assert merge_rows(old, new, [], keyed=True).to_pylist() == [{"k": 3, "v": "new3b"}]


def test_merge_rows_composite_key() -> None:
    new = pa.table({"a": ["x", "x", "y"], "b": [1, 1, 1], "v": [1, 2, 3]})
    assert merge_rows(None, new, ["a", "b"]).column("v").to_pylist() == [2, 3]


def test_split_by_partition_keeps_arrival_order() -> None:
    specs = parse_partition_by({"s": ["site", {"field": "day", "granularity": "month"}]})["s"]
    table = pa.table(
        {
            "site": ["b", "a", "b", "a", None],
            "n": [1, 2, 3, 4, 5],
            "month": ["2026-09", "2026-09", "2026-09", "2026-10", "2026-10"],
        }
    )
    parts = [(folder, t.column("n").to_pylist()) for folder, t in split_by_partition(table, specs)]
    assert parts == [
        ("site=__HIVE_DEFAULT_PARTITION__/month=2026-10", [5]),
        ("site=a/month=2026-09", [2]),
        ("site=a/month=2026-10", [4]),
        ("site=b/month=2026-09", [1, 3]),
    ]


def test_partition_values_are_percent_encoded() -> None:
    specs = parse_partition_by({"s": ["site"]})["s"]
    table = pa.table({"site": ["a/b c"]})
    assert [f for f, _ in split_by_partition(table, specs)] == ["site=a%2Fb%20c"]


def test_parse_timestamp_forms() -> None:
    utc = datetime.UTC
    assert parse_timestamp("2026-09-01T12:00:00+02:00") == datetime.datetime(
        2026, 9, 1, 10, tzinfo=utc
    )
    assert parse_timestamp("2026-09-01T10:00:00.5Z").microsecond == 500000
    assert parse_timestamp("2026-09-01").tzinfo == utc


ISO_FORMS = {
    "2026-09-01T12:00:00+0200": "2026-09-01T10:00:00+00:00",
    "2026-09-01T12:00:00+02": "2026-09-01T10:00:00+00:00",
    "20260901T100000Z": "2026-09-01T10:00:00+00:00",
    "2026-09-01T10:00Z": "2026-09-01T10:00:00+00:00",
    "2026-09-01 10:00:00.25": "2026-09-01T10:00:00.250000+00:00",
}


def test_iso_forms_parse_alike_without_singer_sdk() -> None:
    """In a fresh interpreter: the ISO 8601 forms taps write parse by themselves, not
    through anything importing singer-sdk changes."""
    script = (
        "import json, sys\n"
        "from target_parquet_sems.convert import parse_timestamp, _to_date\n"
        "forms = json.loads(sys.argv[1])\n"
        "print(json.dumps({f: parse_timestamp(f).isoformat() for f in forms}))\n"
        "print(_to_date('20260901').isoformat())\n"
        "assert 'singer_sdk' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(list(ISO_FORMS))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    parsed, date = result.stdout.splitlines()
    assert json.loads(parsed) == ISO_FORMS
    assert date == "2026-09-01"


def test_failed_batch_passes_on_no_later_state(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    lines = [
        {"type": "SCHEMA", "stream": "s", "schema": schema, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "s", "record": {"id": 1}},
        {"type": "RECORD", "stream": "s", "record": {"id": 2}},
        {"type": "STATE", "value": {"at": 2}},
        {"type": "RECORD", "stream": "s", "record": {"id": "three"}},
        {"type": "RECORD", "stream": "s", "record": {"id": 4}},
        {"type": "STATE", "value": {"at": 4}},
        {"type": "RECORD", "stream": "s", "record": {"id": 5}},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    target = TargetParquetSems(config={"destination_path": str(tmp_path), "batch_size_rows": 2})
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), pytest.raises(RecordError, match="input line 5"):
        target.listen(io.StringIO(text))
    assert [json.loads(s) for s in stdout.getvalue().splitlines()] == [{"at": 2}]


def test_unsupported_settings_are_refused(tmp_path: Path) -> None:
    from singer_sdk.exceptions import ConfigValidationError

    with pytest.raises(ConfigValidationError) as error:
        TargetParquetSems(config={"destination_path": str(tmp_path), "add_record_metadata": True})
    assert "add_record_metadata" in str(error.value.errors)


def _waiting_in(thread: threading.Thread, function: str) -> bool:
    """Whether `thread` is blocked on a lock or condition somewhere inside `function`."""
    frame = sys._current_frames().get(thread.ident or 0)
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return bool(names) and names[0] == "wait" and function in names


def test_a_slow_destination_holds_the_reader_back_instead_of_piling_up_batches() -> None:
    from target_parquet_sems.writer import BackgroundWriter

    writer = BackgroundWriter()
    destination_free = threading.Event()
    parsed: list[int] = []
    submitted: list[int] = []

    def parse(number: int) -> Callable[[], int]:
        def run() -> int:
            parsed.append(number)
            return number

        return run

    def write(_: int) -> None:
        assert destination_free.wait(60)

    def read() -> None:
        for number in range(6):
            writer.submit_batch(parse(number), write)
            submitted.append(number)

    def held_back() -> bool:
        """The reader waits to hand over batch 2 while parsed batch 1 waits for the writer."""
        # Any parse thread: idle ones of other tests' writers may still be around.
        parsers = [t for t in threading.enumerate() if t.name.startswith("parquet-parse")]
        return (
            submitted == [0, 1]
            and _waiting_in(reader, "submit_batch")
            and any(_waiting_in(parser, "parse_then_queue_write") for parser in parsers)
        )

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # Wait, however long a busy host takes, until both threads are blocked. From then on
    # nothing can move until the destination is free: no sleep decides the outcome.
    deadline = time.monotonic() + 60
    while not held_back() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert held_back(), f"the reader was not held back: submitted {submitted}, parsed {parsed}"
    # Batch 0 is being written, batch 1 is parsed and waits; nothing else is in memory.
    assert parsed == [0, 1]
    destination_free.set()
    reader.join(60)
    writer.wait()
    writer.close()
    assert parsed == list(range(6))


def test_the_lease_admits_one_run_and_names_it_to_the_next(tmp_path: Path) -> None:
    from target_parquet_sems.lease import DestinationBusyError, Holder, RefreshedLease, take_lease
    from target_parquet_sems.storage import Destination

    destination = Destination(str(tmp_path))
    first, second = (Holder.this_process(run, "t 1.0", "2026-11-30T02:00:00") for run in "ab")
    lease = take_lease(destination, first)  # an flock: local, POSIX
    with pytest.raises(DestinationBusyError, match=r"held by run a of t 1\.0 \(pid \d+ on"):
        take_lease(destination, second)
    lease.release()
    take_lease(destination, second).release()
    assert not (tmp_path / "_lease.json").exists()

    # Where there are no locks (object stores): the lease file and its refresh time.
    path = destination.path("_lease.json")
    lease = RefreshedLease.acquire(destination, path, first)
    assert json.loads((tmp_path / "_lease.json").read_text())["run_id"] == "a"
    with pytest.raises(DestinationBusyError, match="last refreshed at 20"):
        RefreshedLease.acquire(destination, path, second)
    lease.release()
    RefreshedLease.acquire(destination, path, second).release()


def test_a_lease_without_locks_goes_stale_and_its_holder_notices_a_takeover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from target_parquet_sems import lease as leases
    from target_parquet_sems.storage import Destination

    destination = Destination(str(tmp_path))
    path = destination.path("_lease.json")
    gone = leases.Holder(
        "dead", "elsewhere", 1, "2026-11-30T01:00:00", "t 1.0", "2026-11-30T01:00:00+00:00"
    )
    (tmp_path / "_lease.json").write_bytes(gone.encode())  # refreshed long ago: stale
    monkeypatch.setattr(leases, "REFRESH_SECONDS", 0.01)
    mine = leases.Holder.this_process("mine", "t 1.0", "2026-11-30T02:00:00")
    lease = leases.RefreshedLease.acquire(destination, path, mine)
    refreshed = json.loads((tmp_path / "_lease.json").read_text())
    assert refreshed["run_id"] == "mine" and refreshed["refreshed_at"] > gone.refreshed_at

    (tmp_path / "_lease.json").write_bytes(dataclasses.replace(gone, run_id="other").encode())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            lease.raise_if_lost()
        except leases.DestinationBusyError as exc:
            assert "run other" in str(exc) and "took the lease over" in str(exc)
            break
        time.sleep(0.01)
    else:
        pytest.fail("the holder never noticed that another run took its lease")
    lease.release()
    assert json.loads((tmp_path / "_lease.json").read_text())["run_id"] == "other"  # not ours


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            InvalidInputLine("Input line 7: not a Singer message: x"),
            "Input line 7: not a Singer message: x. The input must be Singer messages",
        ),
        (RecordError("input line 3: field 'id': expected an integer"), "fix the record in the tap"),
        (
            ConfigValidationError("bad", errors=["partition_by.x: no field 'y'"]),
            "Invalid settings: partition_by.x: no field 'y'. Fix them",
        ),
        (KeyError("surprise"), "KeyError: 'surprise'. Run again with --log-level debug"),
    ],
)
def test_a_fatal_error_becomes_one_line_saying_what_to_do(error: Exception, line: str) -> None:
    from target_parquet_sems.errors import fatal_message

    message = fatal_message(error)
    assert line in message and "\n" not in message
