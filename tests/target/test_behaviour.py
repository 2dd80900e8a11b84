"""Merging, re-runs, schema changes, partitions, STATE timing, bad input, BATCH files."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from singer_sdk.exceptions import MissingKeyPropertiesError
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_parquet_sems.convert import RecordError
from target_parquet_sems.dataset import LayoutConflictError
from target_parquet_sems.schema import SchemaMergeError

Reader = Callable[[Path], pa.Table]
STATION = "6e9c6c7a-1b9f-4e24-9a8e-0d1d6c1f2a3b"
OTHER_STATION = "0b7f1d9e-52c3-4a11-8e5f-33b0a7c9d2e1"
PARTITIONED = {"plant_power": ["station_id", {"field": "day", "granularity": "month"}]}

SIMPLE = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "value": {"type": ["number", "null"]}},
    "required": ["id"],
}


def content(folder: Path) -> dict[str, list[dict]]:
    """Every data file's rows, by path: what "identical content" compares."""
    return {
        str(path.relative_to(folder)): pq.ParquetFile(path).read().to_pylist()
        for path in sorted(folder.rglob("*.parquet"))
    }


def test_plant_power_types_and_partitions(
    tmp_path: Path, sync: Any, msg: Any, read_hive: Reader
) -> None:
    points = [
        msg.power_point(STATION, "2026-09-30T23:55:00+00:00", 0.0),
        msg.power_point(STATION, "2026-10-01T10:00:00Z", 2500.5, vpv1=301.5),
        msg.power_point(OTHER_STATION, "2026-10-01T10:00:00.000000+00:00", 1200),
    ]
    config = {"destination_path": str(tmp_path), "partition_by": PARTITIONED}
    sync(config, msg.plant_power(points))

    folders = sorted(str(p.parent.relative_to(tmp_path)) for p in tmp_path.rglob("data.parquet"))
    assert folders == [
        f"plant_power/station_id={OTHER_STATION}/month=2026-10",
        f"plant_power/station_id={STATION}/month=2026-09",
        f"plant_power/station_id={STATION}/month=2026-10",
    ]
    table = read_hive(tmp_path / "plant_power").sort_by([("station_id", "ascending")])
    types = {f.name: f.type for f in table.schema}
    assert types["timestamp"] == pa.timestamp("us", tz="UTC")
    assert types["day"] == pa.date32()
    assert types["pv_power_w"] == pa.float64()
    assert types["extra"] == pa.string()
    assert types["station_id"] == pa.string()
    assert types["month"] == pa.string()
    rows = table.to_pylist()
    assert len(rows) == 3
    assert rows[0]["station_id"] == OTHER_STATION
    assert rows[0]["pv_power_w"] == 1200.0
    mine = sorted((r for r in rows if r["station_id"] == STATION), key=lambda r: r["timestamp"])
    assert [r["month"] for r in mine] == ["2026-09", "2026-10"]
    assert mine[1]["extra"] == '{"vpv1":301.5}'
    assert mine[0]["extra"] is None
    assert mine[1]["timestamp"].isoformat() == "2026-10-01T10:00:00+00:00"

    duck = duckdb.sql(
        "select station_id, timestamp, day, pv_power_w, month from read_parquet("
        f"'{tmp_path}/plant_power/**/*.parquet', hive_partitioning=true) order by station_id"
    )
    assert dict(zip(duck.columns, duck.types, strict=True)) == {
        "station_id": "VARCHAR",
        "timestamp": "TIMESTAMP WITH TIME ZONE",
        "day": "DATE",
        "pv_power_w": "DOUBLE",
        "month": "VARCHAR",
    }
    assert len(duck.fetchall()) == 3


def test_rerun_leaves_identical_content_and_updates_replace(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    config = {"destination_path": str(tmp_path), "partition_by": PARTITIONED}
    points = [
        msg.power_point(STATION, f"2026-09-0{day}T12:00:00+00:00", 100.0 * day)
        for day in range(1, 6)
    ]
    sync(config, msg.plant_power(points))
    first = content(tmp_path)
    first_bytes = {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")}

    sync(config, msg.plant_power(points))
    assert content(tmp_path) == first
    # Nothing changed, so no file was even rewritten.
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")} == first_bytes

    corrected = msg.power_point(STATION, "2026-09-03T12:00:00+00:00", 333.3)
    sync(config, msg.plant_power([corrected]))
    rows = next(iter(content(tmp_path).values()))
    assert len(rows) == 5
    assert [r["pv_power_w"] for r in rows] == [100.0, 200.0, 333.3, 400.0, 500.0]


def test_incremental_run_rewrites_only_its_partitions(tmp_path: Path, sync: Any, msg: Any) -> None:
    config = {"destination_path": str(tmp_path), "partition_by": PARTITIONED}
    points = [msg.power_point(STATION, f"2026-0{m}-15T12:00:00+00:00", 1.0) for m in range(1, 8)]
    sync(config, msg.plant_power(points))
    # A rewrite renames a new file over the old one: a new inode, whatever the clock says.
    before = {p: p.stat().st_ino for p in tmp_path.rglob("data.parquet")}
    sync(config, msg.plant_power([msg.power_point(STATION, "2026-07-16T12:00:00Z", 2.0)]))
    changed = [p for p in tmp_path.rglob("data.parquet") if p.stat().st_ino != before[p]]
    assert [p.parent.name for p in changed] == ["month=2026-07"]


def test_state_passed_on_after_each_flushed_batch(tmp_path: Path, sync: Any, msg: Any) -> None:
    config = {"destination_path": str(tmp_path), "batch_size_rows": 3}
    messages = [msg.schema("items", SIMPLE, ["id"])]
    for i in range(1, 8):
        messages.append(msg.record("items", {"id": i, "value": i}))
        messages.append(msg.state({"bookmark": i}))
    states = sync(config, messages)
    # Batches fill at records 3 and 6; each drain passes on the state received so far.
    # The state right after a drain covers nothing unwritten, so it goes out at once;
    # the end of input passes on the last one.
    assert states == [{"bookmark": b} for b in (2, 3, 5, 6, 7)]
    assert pq.read_table(tmp_path / "items.parquet").num_rows == 7


@pytest.mark.parametrize(("flush_seconds", "passed_on"), [(0, [1, 2, 3]), (3600, [3])])
def test_a_state_after_records_that_waited_long_enough_is_passed_on(
    tmp_path: Path, sync: Any, msg: Any, flush_seconds: int, passed_on: list[int]
) -> None:
    """A polite backfill sends a window of records and its STATE every few seconds."""
    config = {"destination_path": str(tmp_path), "state_flush_seconds": flush_seconds}
    messages = [msg.schema("items", SIMPLE, ["id"])]
    for window in (1, 2, 3):
        messages += [msg.record("items", {"id": 10 * window + i}) for i in range(3)]
        messages.append(msg.state({"window": window}))
    assert sync(config, messages) == [{"window": w} for w in passed_on]
    assert pq.read_table(tmp_path / "items.parquet").num_rows == 9


def test_state_with_nothing_buffered_is_passed_on_at_once(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    messages = [msg.state({"a": 1}), msg.schema("items", SIMPLE, ["id"]), msg.state({"a": 2})]
    assert sync({"destination_path": str(tmp_path)}, messages) == [{"a": 1}, {"a": 2}]


def test_schema_change_mid_stream_loses_no_rows(
    tmp_path: Path, sync: Any, msg: Any, read_hive: Reader
) -> None:
    config = {"destination_path": str(tmp_path), "partition_by": {"items": ["group"]}}
    v1 = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "group": {"type": "string"},
            "n": {"type": "integer"},
        },
    }
    v2 = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "group": {"type": "string"},
            "n": {"type": "number"},
            "note": {"type": "string"},
        },
    }
    sync(
        config,
        [msg.schema("items", v1, ["id"]), msg.record("items", {"id": 1, "group": "a", "n": 7})],
    )
    sync(
        config,
        [
            msg.schema("items", v1, ["id"]),
            msg.record("items", {"id": 2, "group": "a", "n": 8}),
            msg.schema("items", v2, ["id"]),
            msg.record("items", {"id": 3, "group": "b", "n": 9.5, "note": "new"}),
        ],
    )
    table = read_hive(tmp_path / "items").sort_by("id")
    assert table.schema.field("n").type == pa.float64()  # int widened to float
    assert table.to_pylist() == [
        {"id": 1, "n": 7.0, "note": None, "group": "a"},
        {"id": 2, "n": 8.0, "note": None, "group": "a"},
        {"id": 3, "n": 9.5, "note": "new", "group": "b"},
    ]
    # Every partition file carries the widened schema, so any file can speak for all.
    schemas = {str(pq.read_schema(p)) for p in (tmp_path / "items").rglob("data.parquet")}
    assert len(schemas) == 1


def test_unmergeable_schema_change_stops_and_leaves_dataset(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    config = {"destination_path": str(tmp_path)}
    sync(
        config, [msg.schema("items", SIMPLE, ["id"]), msg.record("items", {"id": 1, "value": 1.5})]
    )
    before = (tmp_path / "items.parquet").read_bytes()
    text_value = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "value": {"type": "string"}},
    }
    with pytest.raises(SchemaMergeError, match=r"Stream 'items': Column 'value' is double .* but"):
        sync(
            config,
            [msg.schema("items", text_value, ["id"]), msg.record("items", {"id": 2, "value": "x"})],
        )
    assert (tmp_path / "items.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_runs", "items.parquet"]
    runs = [json.loads(p.read_text()) for p in sorted((tmp_path / "_runs").iterdir())]
    assert [run["status"] for run in runs] == ["complete", "failed"]
    assert "Column 'value' is double" in runs[1]["error"]


@pytest.mark.parametrize(
    "case",
    [
        # Looks like a RECORD of the stream: caught when its batch is parsed.
        (
            '{"type": "RECORD", "stream": "items", "record": {"id": 3}',
            RecordError,
            "not valid JSON",
        ),
        ('{"type": "RECORD", "stream": "items", "record": {"id": 3}} x', RecordError, "not valid"),
        # Anything else: caught as it is read.
        ("not json at all", InvalidInputLine, "not a Singer message"),
        (
            '{"type": "RECORD", "record": {"id": 3}}',
            InvalidInputLine,
            "a RECORD message needs 'stream'",
        ),
        ('{"type": "GREETING"}', InvalidInputLine, "unknown message type"),
    ],
)
def test_malformed_line_names_its_number_and_keeps_written_data(
    tmp_path: Path, sync: Any, msg: Any, case: tuple[str, type[Exception], str]
) -> None:
    bad_line, error, problem = case
    config = {"destination_path": str(tmp_path), "batch_size_rows": 2}
    good = msg.lines(
        [msg.schema("items", SIMPLE, ["id"])] + [msg.record("items", {"id": i}) for i in (1, 2)]
    )
    with pytest.raises(error, match=f"(?i)input line 4: {problem}"):
        sync(config, good + bad_line + "\n")
    assert pq.read_table(tmp_path / "items.parquet").column("id").to_pylist() == [1, 2]


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ('{"id": "seven"}', "field 'id': expected an integer"),
        ('{"id": 1, "value": true}', "field 'value': expected a number"),
        ('{"value": 2}', "required field 'id' is missing or null"),
        ("[1, 2]", "a record must be a JSON object"),
        ('{"id": 99999999999999999999}', "field 'id': .*"),
    ],
)
def test_bad_record_names_its_line(
    tmp_path: Path, sync: Any, msg: Any, record: str, problem: str
) -> None:
    head = msg.lines([msg.schema("items", SIMPLE, []), msg.record("items", {"id": 1})])
    text = head + '{"type": "RECORD", "stream": "items", "record": ' + record + "}\n"
    with pytest.raises(RecordError, match=f"input line 3: .*{problem}"):
        sync({"destination_path": str(tmp_path)}, text)
    assert not list(tmp_path.rglob("*.parquet"))


def test_null_key_is_rejected(tmp_path: Path, sync: Any, msg: Any) -> None:
    messages = [msg.schema("items", SIMPLE, ["id"]), msg.record("items", {"id": None})]
    with pytest.raises(MissingKeyPropertiesError, match="input line 2: key property 'id'"):
        sync({"destination_path": str(tmp_path)}, messages)


def test_validation_off_skips_required_checks(tmp_path: Path, sync: Any, msg: Any) -> None:
    config = {"destination_path": str(tmp_path), "validate_records": False}
    sync(config, [msg.schema("items", SIMPLE, []), msg.record("items", {"value": 2})])
    assert pq.read_table(tmp_path / "items.parquet").to_pylist() == [{"id": None, "value": 2.0}]


def test_timestamps_any_iso_form_become_utc_microseconds(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    schema = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}}
    values = [
        "2026-09-01T12:00:00+02:00",
        "2026-09-01T10:00:00Z",
        "2026-09-01 10:00:00",
        "2026-09-01T10:00:00.123456789Z",
    ]
    sync(
        {"destination_path": str(tmp_path)},
        [msg.schema("t", schema)] + [msg.record("t", {"at": v}) for v in values],
    )
    column = pq.read_table(tmp_path / "t.parquet").column("at")
    assert column.type == pa.timestamp("us", tz="UTC")
    assert [v.isoformat() for v in column.to_pylist()] == [
        "2026-09-01T10:00:00+00:00",
        "2026-09-01T10:00:00+00:00",
        "2026-09-01T10:00:00+00:00",
        "2026-09-01T10:00:00.123456+00:00",
    ]


def test_dates_written_as_midnight_date_times_are_dates(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    schema = {
        "type": "object",
        "properties": {"on": {"type": ["string", "null"], "format": "date"}},
    }
    values = ["2026-09-01", "2026-09-02T00:00:00Z", "2026-09-03T00:00:00+02:00", None]
    sync(
        {"destination_path": str(tmp_path)},
        [msg.schema("t", schema)] + [msg.record("t", {"on": v}) for v in values],
    )
    column = pq.read_table(tmp_path / "t.parquet").column("on")
    assert column.type == pa.date32()
    assert [None if v is None else v.isoformat() for v in column.to_pylist()] == [
        "2026-09-01",
        "2026-09-02",
        "2026-09-03",
        None,
    ]


def test_a_date_field_with_a_time_of_day_is_refused(tmp_path: Path, sync: Any, msg: Any) -> None:
    schema = {"type": "object", "properties": {"on": {"type": "string", "format": "date"}}}
    with pytest.raises(RecordError, match="field 'on': a date field holds a date-time"):
        sync(
            {"destination_path": str(tmp_path)},
            [msg.schema("t", schema), msg.record("t", {"on": "2026-09-02T10:00:00Z"})],
        )
    assert not (tmp_path / "t.parquet").exists()


def test_batch_messages_jsonl_and_parquet(tmp_path: Path, sync: Any, msg: Any) -> None:
    jsonl = tmp_path / "in" / "part1.json.gz"
    jsonl.parent.mkdir()
    jsonl.write_bytes(gzip.compress(b'{"id": 1, "value": 1.5}\n{"id": 2, "value": 2.5}\n'))
    parquet = tmp_path / "in" / "part2.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"id": 2, "value": 20.0}, {"id": 3, "value": None}]), parquet
    )
    out = tmp_path / "out"
    messages = [
        msg.schema("items", SIMPLE, ["id"]),
        {
            "type": "BATCH",
            "stream": "items",
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "manifest": [jsonl.as_uri()],
        },
        {
            "type": "BATCH",
            "stream": "items",
            "encoding": {"format": "parquet", "compression": "none"},
            "manifest": [parquet.as_uri()],
        },
        msg.record("items", {"id": 4, "value": 4}),
        msg.state({"done": True}),
    ]
    assert sync({"destination_path": str(out)}, messages) == [{"done": True}]
    assert pq.read_table(out / "items.parquet").to_pylist() == [
        {"id": 1, "value": 1.5},
        {"id": 2, "value": 20.0},
        {"id": 3, "value": None},
        {"id": 4, "value": 4.0},
    ]


def test_partition_by_from_json_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from target_parquet_sems.target import TargetParquetSems

    monkeypatch.setenv("TARGET_PARQUET_SEMS_DESTINATION_PATH", str(tmp_path))
    monkeypatch.setenv("TARGET_PARQUET_SEMS_PARTITION_BY", json.dumps(PARTITIONED))
    target = TargetParquetSems(parse_env_config=True)
    specs = target.partition_specs["plant_power"]
    assert [(s.field, s.granularity, s.column) for s in specs] == [
        ("station_id", None, "station_id"),
        ("day", "month", "month"),
    ]


def test_bad_partition_setting_is_a_clear_config_error(tmp_path: Path) -> None:
    from singer_sdk.exceptions import ConfigValidationError

    from target_parquet_sems.target import TargetParquetSems

    config = {
        "destination_path": str(tmp_path),
        "partition_by": {"plant_power": [{"field": "day", "granularity": "week"}]},
    }
    with pytest.raises(ConfigValidationError) as error:
        TargetParquetSems(config=config)
    assert "week" in str(error.value.errors)


@pytest.mark.parametrize("codec", ["zstd", "snappy", "gzip", "brotli", "lz4", "none"])
def test_compression_setting(tmp_path: Path, sync: Any, msg: Any, codec: str) -> None:
    config = {"destination_path": str(tmp_path), "compression": codec}
    sync(config, [msg.schema("items", SIMPLE, ["id"]), msg.record("items", {"id": 1})])
    metadata = pq.ParquetFile(tmp_path / "items.parquet").metadata
    written = metadata.row_group(0).column(0).compression
    assert written == {"none": "UNCOMPRESSED", "lz4": "LZ4"}.get(codec, codec.upper())


def test_changing_partition_by_stops_instead_of_splitting_the_stream(
    sync, msg, tmp_path: Path
) -> None:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, "g": {"type": "string"}}}
    messages = [msg.schema("things", schema, ["id"]), msg.record("things", {"id": 1, "g": "a"})]
    plain = {"destination_path": str(tmp_path)}
    partitioned = {**plain, "partition_by": {"things": ["g"]}}

    sync(plain, messages)
    before = (tmp_path / "things.parquet").read_bytes()
    with pytest.raises(LayoutConflictError, match="holds it unpartitioned from an earlier run"):
        sync(partitioned, messages)
    assert (tmp_path / "things.parquet").read_bytes() == before
    assert not (tmp_path / "things").exists()

    (tmp_path / "things.parquet").unlink()
    sync(partitioned, messages)
    with pytest.raises(LayoutConflictError, match="holds it partitioned from an earlier run"):
        sync(plain, messages)
    assert not (tmp_path / "things.parquet").exists()


def test_a_dataset_of_an_earlier_version_loses_its_files_beside_the_partitions(
    tmp_path: Path, sync: Any, msg: Any, read_hive: Reader
) -> None:
    """Versions before 0.2 kept `_common_metadata` and temporary files in the stream's
    folder, where polars and DuckDB's `**` read them as data files."""
    config = {"destination_path": str(tmp_path), "partition_by": PARTITIONED}
    sync(config, msg.plant_power([msg.power_point(STATION, "2026-09-01T12:00:00Z", 1.0)]))
    folder, record = tmp_path / "plant_power", tmp_path / "_schemas/plant_power/_common_metadata"
    record.rename(folder / "_common_metadata")
    stale = folder / f"station_id={STATION}" / "month=2026-09" / f".data.parquet.{'0' * 32}.tmp"
    stale.write_bytes(b"PAR1")

    sync(config, msg.plant_power([msg.power_point(STATION, "2026-09-02T12:00:00Z", 2.0)]))
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == ["data.parquet"]
    assert pq.read_schema(record) == pq.read_schema(next(folder.rglob("data.parquet")))
    assert read_hive(folder).num_rows == 2


def test_descriptions_reach_every_file_when_the_schema_gains_them(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    config = {"destination_path": str(tmp_path), "partition_by": {"items": ["g"]}}
    plain = {"type": "object", "properties": {"id": {"type": "integer"}, "g": {"type": "string"}}}
    described = {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "description": "The item's number"},
            "g": {"type": "string", "description": "Its group"},
        },
    }
    sync(config, [msg.schema("items", plain, ["id"]), msg.record("items", {"id": 1, "g": "a"})])
    sync(config, [msg.schema("items", described, ["id"]), msg.record("items", {"id": 2, "g": "b"})])
    for path in (tmp_path / "items").rglob("*.parquet"):  # group a's file was not written to
        schema = pq.read_schema(path)
        assert schema.field("id").metadata == {b"description": b"The item's number"}
        assert json.loads(schema.metadata[b"column_descriptions"]) == {
            "id": "The item's number",
            "g": "Its group",
        }


def test_a_damaged_file_is_named_and_the_rest_left_alone(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    from target_parquet_sems.errors import DestinationReadError

    config = {"destination_path": str(tmp_path)}
    sync(config, [msg.schema("items", SIMPLE, ["id"]), msg.record("items", {"id": 1})])
    (tmp_path / "items.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DestinationReadError, match=f"Could not read {tmp_path}/items.parquet to"):
        sync(config, [msg.schema("items", SIMPLE, ["id"]), msg.record("items", {"id": 2})])
    assert (tmp_path / "items.parquet").read_bytes() == b"not parquet at all"
