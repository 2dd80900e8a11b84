"""table_format: delta, in one process: merge, append, schema changes, a conflict redone,
layout mistakes refused, and the tables read back by deltalake/pyarrow, polars and DuckDB."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from target_parquet_sems import delta
from target_parquet_sems.dataset import LayoutConflictError
from target_parquet_sems.schema import SchemaMergeError
from target_parquet_sems.target import TargetParquetSems

STATION = "6e9c6c7a-1b9f-4e24-9a8e-0d1d6c1f2a3b"
OTHER_STATION = "0b7f1d9e-52c3-4a11-8e5f-33b0a7c9d2e1"
PARTITIONED = {"plant_power": ["station_id", {"field": "day", "granularity": "month"}]}
ITEMS_V1 = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "group": {"type": "string"},
        "n": {"type": "integer"},
    },
}


def delta_config(destination: Path | str, **settings: Any) -> dict[str, Any]:
    return {"destination_path": str(destination), "table_format": "delta", **settings}


def rows_of(table_path: Path, *order: str) -> list[dict]:
    table = DeltaTable(str(table_path)).to_pyarrow_table()
    return table.sort_by([(c, "ascending") for c in order]).to_pylist()


def test_keyed_stream_is_merged_per_partition_and_reruns_commit_nothing(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    config = delta_config(tmp_path, partition_by=PARTITIONED)
    first = [
        msg.power_point(STATION, "2026-09-30T23:55:00Z", 0.0, vpv1=300.5),
        msg.power_point(STATION, "2026-10-01T10:00:00Z", 2500.5, vpv1=300.5),
        msg.power_point(OTHER_STATION, "2026-10-01T10:00:00Z", 1200.0, vpv1=300.5),
        # the same key later in the batch: it wins
        msg.power_point(STATION, "2026-10-01T10:00:00Z", 2600.0, vpv1=300.5),
    ]
    assert sync(config, msg.plant_power(first, {"run": 1})) == [{"run": 1}]
    table = DeltaTable(str(tmp_path / "plant_power"))
    assert table.metadata().partition_columns == ["station_id", "month"]
    assert table.version() == 0
    # The same input again changes nothing, so nothing is committed.
    assert sync(config, msg.plant_power(first, {"run": 2})) == [{"run": 2}]
    assert DeltaTable(str(tmp_path / "plant_power")).version() == 0
    # A correction and a new point: one commit replacing only the October partition.
    update = [
        msg.power_point(STATION, "2026-10-01T10:00:00Z", 2700.0),
        msg.power_point(STATION, "2026-10-02T09:00:00Z", 5.0),
    ]
    sync(config, msg.plant_power(update))
    table = DeltaTable(str(tmp_path / "plant_power"))
    assert table.version() == 1
    last = table.history(1)[0]
    assert last["operationParameters"]["predicate"] == (
        f"station_id = '{STATION}' AND month = '2026-10'"
    )
    assert last["operationMetrics"]["num_removed_files"] == 1
    rows = rows_of(tmp_path / "plant_power", "station_id", "timestamp")
    assert [(r["station_id"] == STATION, r["month"], r["pv_power_w"]) for r in rows] == [
        (False, "2026-10", 1200.0),
        (True, "2026-09", 0.0),
        (True, "2026-10", 2700.0),
        (True, "2026-10", 5.0),
    ]
    assert rows[0]["extra"] == '{"vpv1":300.5}'  # an object without properties: JSON text
    # One data file per partition, however many commits: reads stay fast without compaction.
    assert len(table.file_uris()) == 3


def test_stream_without_key_is_appended(tmp_path: Path, sync: Any, msg: Any) -> None:
    schema = {"type": "object", "properties": {"event": {"type": "string"}}}
    messages = [msg.schema("events", schema), msg.record("events", {"event": "a"})]
    sync(delta_config(tmp_path), messages)
    sync(delta_config(tmp_path), messages)
    assert [r["event"] for r in rows_of(tmp_path / "events", "event")] == ["a", "a"]
    assert [
        h["operationParameters"]["mode"] for h in DeltaTable(str(tmp_path / "events")).history()
    ] == [
        "Append",
        "ErrorIfExists",
    ]


def test_unpartitioned_keyed_stream_keeps_every_writers_rows(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    """The stations stream of two station groups: each group's rows stay."""
    schema = {
        "type": "object",
        "properties": {"station_id": {"type": "string"}, "name": {"type": "string"}},
    }
    for station, name in ((STATION, "home"), (OTHER_STATION, "barn"), (STATION, "house")):
        sync(
            delta_config(tmp_path),
            [
                msg.schema("stations", schema, ["station_id"]),
                msg.record("stations", {"station_id": station, "name": name}),
            ],
        )
    assert [r["name"] for r in rows_of(tmp_path / "stations", "name")] == ["barn", "house"]
    assert (
        DeltaTable(str(tmp_path / "stations")).history(1)[0]["operationParameters"]["predicate"]
        == "true"
    )


def test_schema_change_mid_stream_adds_columns_and_widens_without_losing_values(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    config = delta_config(tmp_path, partition_by={"items": ["group"]})
    v2 = json.loads(json.dumps(ITEMS_V1))
    v2["properties"]["note"] = {"type": "string"}
    v3 = json.loads(json.dumps(v2))
    v3["properties"]["n"] = {"type": "number"}
    sync(
        config,
        [
            msg.schema("items", ITEMS_V1, ["id"]),
            msg.record("items", {"id": 1, "group": "a", "n": 7}),
        ],
    )
    states = sync(
        config,
        [
            msg.schema("items", ITEMS_V1, ["id"]),
            msg.record("items", {"id": 2, "group": "a", "n": 8}),
            msg.schema("items", v2, ["id"]),
            msg.record("items", {"id": 3, "group": "b", "n": 9, "note": "new"}),
            msg.state({"before": "widening"}),
            msg.schema("items", v3, ["id"]),
            msg.record("items", {"id": 4, "group": "b", "n": 9.5, "note": "wider"}),
            msg.state({"after": "widening"}),
        ],
    )
    assert states == [{"after": "widening"}]
    table = DeltaTable(str(tmp_path / "items"))
    assert pa.schema(table.schema().to_arrow()).field("n").type == pa.float64()
    assert rows_of(tmp_path / "items", "id") == [
        {"id": 1, "group": "a", "n": 7.0, "note": None},
        {"id": 2, "group": "a", "n": 8.0, "note": None},
        {"id": 3, "group": "b", "n": 9.0, "note": "new"},
        {"id": 4, "group": "b", "n": 9.5, "note": "wider"},  # not cast back to an integer
    ]
    operations = [
        (h["operation"], h["operationParameters"].get("predicate")) for h in table.history()
    ]
    assert ("WRITE", "true") in operations  # the one rewrite of the whole table


def test_unmergeable_schema_change_stops_and_leaves_the_table(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    config = delta_config(tmp_path)
    sync(
        config,
        [
            msg.schema("items", ITEMS_V1, ["id"]),
            msg.record("items", {"id": 1, "group": "a", "n": 7}),
        ],
    )
    text = json.loads(json.dumps(ITEMS_V1))
    text["properties"]["n"] = {"type": "string"}
    with pytest.raises(
        SchemaMergeError, match=r"Stream 'items': Column 'n' is int64 .* but string"
    ):
        sync(
            config,
            [
                msg.schema("items", text, ["id"]),
                msg.record("items", {"id": 2, "group": "a", "n": "x"}),
            ],
        )
    assert DeltaTable(str(tmp_path / "items")).version() == 0


def test_a_commit_that_lost_a_race_is_redone_on_the_newer_version(
    tmp_path: Path, sync: Any, msg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another target commits to the same partition after this one read it: delta-rs refuses
    this one's commit, which is redone with the other's rows included."""
    config = delta_config(tmp_path, partition_by=PARTITIONED)
    sync(config, msg.plant_power([msg.power_point(STATION, "2026-10-01T10:00:00Z", 1.0)]))
    read_stored = delta.DeltaStreamDataset._stored_partitions
    raced = []

    def read_then_lose_the_race(self: Any, *args: Any) -> Any:
        stored = read_stored(self, *args)
        if not raced:
            raced.append(True)
            other = [msg.power_point(STATION, "2026-10-01T11:00:00Z", 2.0)]
            assert sync(config, msg.plant_power(other, {"other": 1})) == [{"other": 1}]
        return stored

    monkeypatch.setattr(delta.DeltaStreamDataset, "_stored_partitions", read_then_lose_the_race)
    monkeypatch.setattr(delta, "backoff_seconds", lambda attempt: 0.0)
    ours = [msg.power_point(STATION, "2026-10-01T12:00:00Z", 3.0)]
    assert sync(config, msg.plant_power(ours, {"ours": 1})) == [{"ours": 1}]
    rows = rows_of(tmp_path / "plant_power", "timestamp")
    assert [r["pv_power_w"] for r in rows] == [1.0, 2.0, 3.0]
    assert DeltaTable(str(tmp_path / "plant_power")).version() == 2


def test_conflicts_past_the_last_attempt_stop_with_a_clear_message(
    tmp_path: Path, sync: Any, msg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = delta_config(tmp_path, partition_by=PARTITIONED)
    sync(config, msg.plant_power([msg.power_point(STATION, "2026-10-01T10:00:00Z", 1.0)]))
    read_stored = delta.DeltaStreamDataset._stored_partitions
    other_writes = iter(range(2, 100))
    racing: list[bool] = []

    def always_lose(self: Any, *args: Any) -> Any:
        stored = read_stored(self, *args)
        if not racing:  # the other writer's own reads do not race
            racing.append(True)
            other = [msg.power_point(STATION, "2026-10-01T11:00:00Z", float(next(other_writes)))]
            sync(config, msg.plant_power(other))
            racing.pop()
        return stored

    monkeypatch.setattr(delta.DeltaStreamDataset, "_stored_partitions", always_lose)
    monkeypatch.setattr(delta, "backoff_seconds", lambda attempt: 0.0)
    monkeypatch.setattr(delta, "COMMIT_ATTEMPTS", 3)
    ours = [msg.power_point(STATION, "2026-10-01T12:00:00Z", 3.0)]
    with pytest.raises(delta.DeltaCommitError, match=r"still conflicted .* after 3 attempts"):
        sync(config, msg.plant_power(ours, {"ours": 1}))
    assert [r["pv_power_w"] for r in rows_of(tmp_path / "plant_power", "timestamp")] == [1.0, 4.0]


def test_changing_partition_by_of_a_delta_table_is_refused(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    sync(
        delta_config(tmp_path, partition_by=PARTITIONED),
        msg.plant_power([msg.power_point(STATION, "2026-10-01T10:00:00Z", 1.0)]),
    )
    with pytest.raises(LayoutConflictError, match=r"partitioned by \['station_id', 'month'\]"):
        sync(
            delta_config(tmp_path),
            msg.plant_power([msg.power_point(STATION, "2026-10-02T10:00:00Z", 1.0)]),
        )


def test_switching_table_format_on_a_stored_stream_is_refused(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    messages = msg.plant_power([msg.power_point(STATION, "2026-10-01T10:00:00Z", 1.0)])
    parquet_dir, delta_dir = tmp_path / "parquet", tmp_path / "delta"
    sync({"destination_path": str(parquet_dir), "partition_by": PARTITIONED}, messages)
    with pytest.raises(LayoutConflictError, match="holds it as plain Parquet"):
        sync(delta_config(parquet_dir, partition_by=PARTITIONED), messages)
    sync(delta_config(delta_dir, partition_by=PARTITIONED), messages)
    with pytest.raises(LayoutConflictError, match="is a Delta Lake table"):
        sync({"destination_path": str(delta_dir), "partition_by": PARTITIONED}, messages)


def test_missing_deltalake_is_a_clear_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from singer_sdk.exceptions import ConfigValidationError

    monkeypatch.setitem(__import__("sys").modules, "target_parquet_sems.delta", None)
    with pytest.raises(ConfigValidationError) as error:
        TargetParquetSems(config=delta_config(tmp_path))
    assert "target-parquet-sems[delta]" in str(error.value.errors)


def test_tables_read_back_through_deltalake_polars_and_duckdb(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    polars = pytest.importorskip("polars")
    points = [
        msg.power_point(STATION, "2026-09-30T23:55:00Z", 10.0),
        msg.power_point(STATION, "2026-10-01T10:00:00Z", 20.0),
        msg.power_point(OTHER_STATION, "2026-10-01T10:00:00Z", 30.0),
    ]
    sync(delta_config(tmp_path, partition_by=PARTITIONED), msg.plant_power(points))
    uri = str(tmp_path / "plant_power")

    dataset = DeltaTable(uri).to_pyarrow_dataset()
    assert dataset.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    october = dataset.to_table(filter=pc.field("month") == "2026-10")
    assert sorted(october.column("pv_power_w").to_pylist()) == [20.0, 30.0]

    frame = polars.read_delta(uri)
    assert frame.height == 3
    assert frame.schema["day"] == polars.Date
    lazy = polars.scan_delta(uri).filter(polars.col("station_id") == STATION).collect()
    assert sorted(lazy["pv_power_w"].to_list()) == [10.0, 20.0]

    # DuckDB's delta extension cannot be installed offline (and no PyPI package carries it
    # for this DuckDB); DuckDB reads the same table through deltalake's Arrow dataset.
    total = duckdb.sql("SELECT month, sum(pv_power_w) FROM dataset GROUP BY ALL ORDER BY 1")
    assert total.fetchall() == [("2026-09", 10.0), ("2026-10", 50.0)]


def test_maintain_compacts_vacuums_orphans_and_checkpoints(
    tmp_path: Path, sync: Any, msg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from target_parquet_sems.maintain import main

    config = delta_config(tmp_path / "out", partition_by=PARTITIONED)
    events = [msg.schema("events", {"type": "object", "properties": {"n": {"type": "integer"}}})]
    for n in range(3):  # three appends: three small files
        sync(config, [*events, msg.record("events", {"n": n})])
    sync(config, msg.plant_power([msg.power_point(STATION, "2026-10-01T10:00:00Z", 1.0)]))
    sync(config, msg.plant_power([msg.power_point(STATION, "2026-10-01T11:00:00Z", 2.0)]))
    power_dir = tmp_path / "out" / "plant_power"
    # A data file no commit refers to, as a killed or overtaken commit leaves behind.
    referenced = [Path(uri) for uri in DeltaTable(str(power_dir)).file_uris()]
    orphan = referenced[0].with_name("part-00000-orphan-of-a-killed-commit.zstd.parquet")
    orphan.write_bytes(referenced[0].read_bytes())
    before = rows_of(power_dir, "timestamp")
    for path in (tmp_path / "out").rglob("*.parquet"):
        os.utime(path, (time.time() - 7200, time.time() - 7200))  # two hours old

    with pytest.raises(SystemExit, match="2"):
        main(["--config", "x.json", "--vacuum-hours", "0"])  # too short to be safe
    for name, value in {"DESTINATION_PATH": str(tmp_path / "out"), "TABLE_FORMAT": "delta"}.items():
        monkeypatch.setenv(f"TARGET_PARQUET_SEMS_{name}", value)
    main(["--config", "ENV", "--vacuum-hours", "1", "--dry-run"])
    assert orphan.exists()
    main(["--config", "ENV", "--vacuum-hours", "1"])

    assert not orphan.exists()  # unreferenced and older than the retention
    # The file the second run replaced is kept: it was removed minutes ago, within retention.
    assert len(list(power_dir.glob("station_id=*/month=*/*.parquet"))) == 2
    assert rows_of(power_dir, "timestamp") == before
    events_table = DeltaTable(str(tmp_path / "out" / "events"))
    assert len(events_table.file_uris()) == 1  # compacted
    assert sorted(events_table.to_pyarrow_table().column("n").to_pylist()) == [0, 1, 2]
    assert list((tmp_path / "out" / "events" / "_delta_log").glob("*.checkpoint.parquet"))


def test_partition_values_that_need_escaping_merge_like_any_other(
    tmp_path: Path, sync: Any, msg: Any
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "site": {"type": "string"},
            "id": {"type": "integer"},
            "v": {"type": "number"},
        },
    }
    config = delta_config(tmp_path, partition_by={"items": ["site"]})
    sites = ["plain", "a b/c%d=e", "ü'\""]
    for key in (1, 2):  # the second run must find the first run's rows to keep them
        records = [msg.record("items", {"site": s, "id": key, "v": 1.0}) for s in sites]
        sync(config, [msg.schema("items", schema, ["site", "id"]), *records])
    rows = rows_of(tmp_path / "items", "site", "id")
    assert sorted((r["site"], r["id"]) for r in rows) == sorted(
        (s, k) for s in sites for k in (1, 2)
    )


def test_a_table_created_by_another_writer_meanwhile_is_merged_into(
    tmp_path: Path, sync: Any, msg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This writer looked before the other created the table: its create fails, and the
    next attempt merges into the other's table instead of appending beside it."""
    config = delta_config(tmp_path, partition_by=PARTITIONED)
    load = delta.DeltaStreamDataset._load
    looked: list[bool] = []

    def look_before_the_other_creates(self: Any) -> Any:
        if not looked:
            looked.append(True)
            other = [msg.power_point(STATION, "2026-10-01T10:00:00Z", 1.0)]
            assert sync(config, msg.plant_power(other, {"other": 1})) == [{"other": 1}]
            return None  # what this writer saw a moment earlier
        return load(self)

    monkeypatch.setattr(delta.DeltaStreamDataset, "_load", look_before_the_other_creates)
    monkeypatch.setattr(delta, "backoff_seconds", lambda attempt: 0.0)
    ours = [
        msg.power_point(STATION, "2026-10-01T10:00:00Z", 2.0),
        msg.power_point(STATION, "2026-10-01T11:00:00Z", 3.0),
    ]
    assert sync(config, msg.plant_power(ours, {"ours": 1})) == [{"ours": 1}]
    rows = rows_of(tmp_path / "plant_power", "timestamp")
    assert [r["pv_power_w"] for r in rows] == [2.0, 3.0]  # merged on the key, not doubled
