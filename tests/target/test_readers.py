"""A partitioned stream folder opens as it is in polars, DuckDB, pandas and pyarrow: the rows,
the partition columns and the column descriptions, with nothing else to configure."""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tap_sems.schemas import PLANT_POWER, PLANT_POWER_KEY

STATIONS = ["1c0ffee0-0000-4000-8000-000000000001", "1c0ffee0-0000-4000-8000-000000000002"]
INSTANTS = ["2026-09-30T21:55:00Z", "2026-09-30T22:00:00Z", "2026-10-01T10:00:00Z"]
COLUMNS = ["station_id", "month", "timestamp", "pv_power_w", "grid_power_w"]
Rows = list[tuple[Any, ...]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """plant_power for two stations over two months, written in two runs (a merge)."""
    from target_parquet_sems.target import TargetParquetSems

    root = tmp_path_factory.mktemp("readers")
    config = {
        "destination_path": str(root),
        "partition_by": {"plant_power": ["station_id", {"field": "day", "granularity": "month"}]},
    }
    schema = {
        "type": "SCHEMA",
        "stream": "plant_power",
        "schema": PLANT_POWER,
        "key_properties": list(PLANT_POWER_KEY),
    }
    for run in (INSTANTS[:2], INSTANTS):
        records = [
            {
                "type": "RECORD",
                "stream": "plant_power",
                "record": {
                    "station_id": station,
                    "timestamp": instant,
                    "time_local": instant[:19].replace("T", " "),  # UTC here, for brevity
                    "day": instant[:10],
                    "pv_power_w": 100.0 * number + len(run),
                    "grid_power_w": -300.0,
                },
            }
            for number, station in enumerate(STATIONS)
            for instant in reversed(run)  # out of order: the files are sorted all the same
        ]
        lines = "".join(json.dumps(m) + "\n" for m in [schema, *records])
        TargetParquetSems(config=config).listen(io.StringIO(lines))
    return root / "plant_power"


def expected() -> Rows:
    return sorted(
        (station, instant[:7], instant.replace("Z", "+00:00"), 100.0 * number + 3, -300.0)
        for number, station in enumerate(STATIONS)
        for instant in INSTANTS
    )


def normalised(rows: Rows) -> Rows:
    """Timestamps as ISO text in UTC, so each reader's datetime type compares alike."""
    return sorted(
        (station, str(month), ts.astimezone(datetime.UTC).isoformat(), pv, grid)
        for station, month, ts, pv, grid in rows
    )


def with_polars(folder: Path) -> tuple[Rows, dict[str, str]]:
    scanned = pl.scan_parquet(folder, hive_partitioning=True).select(COLUMNS).collect()
    read = pl.read_parquet(folder).select(COLUMNS)
    assert scanned.sort(COLUMNS[:3]).equals(read.sort(COLUMNS[:3]))
    any_file = next(folder.rglob("*.parquet"))
    descriptions = json.loads(pl.read_parquet_metadata(any_file)["column_descriptions"])
    return scanned.rows(), descriptions


def with_duckdb(folder: Path) -> tuple[Rows, dict[str, str]]:
    results = []
    for glob in ("**/*.parquet", "**"):
        source = f"read_parquet('{folder}/{glob}', hive_partitioning = true)"
        results.append(duckdb.sql(f"SELECT {', '.join(COLUMNS)} FROM {source}").fetchall())
    assert sorted(results[0]) == sorted(results[1])
    (value,) = duckdb.sql(
        f"SELECT value FROM parquet_kv_metadata('{folder}/**/*.parquet') "
        "WHERE key = 'column_descriptions' LIMIT 1"
    ).fetchall()[0]
    return results[0], json.loads(value)


def with_pandas(folder: Path) -> tuple[Rows, dict[str, str]]:
    frame = pd.read_parquet(folder)
    frame["month"] = frame["month"].astype(str)  # partition columns come as categories
    rows = list(frame[COLUMNS].itertuples(index=False, name=None))
    return rows, frame.attrs["column_descriptions"]


def with_pyarrow(folder: Path) -> tuple[Rows, dict[str, str]]:
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    rows = list(zip(*(table.column(c).to_pylist() for c in COLUMNS), strict=True))
    descriptions = {f.name: f.metadata[b"description"].decode() for f in table.schema if f.metadata}
    return rows, descriptions


@pytest.mark.parametrize("read", [with_polars, with_duckdb, with_pandas, with_pyarrow])
def test_each_reader_opens_the_stream_folder(
    folder: Path, read: Callable[[Path], tuple[Rows, dict[str, str]]]
) -> None:
    rows, descriptions = read(folder)
    assert normalised(rows) == expected()
    described = PLANT_POWER["properties"]
    assert "+ export, - import" in descriptions["grid_power_w"]
    assert descriptions["grid_power_w"] == described["grid_power_w"]["description"]
    assert descriptions["timestamp"] == described["timestamp"]["description"]
    if read is not with_pyarrow:  # partition columns are in the folder names only
        assert descriptions["station_id"] == "SEMS station UUID"
        assert descriptions["month"] == "The month (YYYY-MM) of 'day'"


def test_files_record_their_sort_order_and_compact_encodings(folder: Path) -> None:
    for path in folder.rglob("*.parquet"):
        metadata = pq.ParquetFile(path).metadata
        group = metadata.row_group(0)
        assert [c.column_index for c in group.sorting_columns] == [0]  # timestamp
        timestamps = pq.read_table(path).column("timestamp").to_pylist()
        assert timestamps == sorted(timestamps)
        encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(5)}
        assert "DELTA_BINARY_PACKED" in encodings["timestamp"]
        assert "DELTA_BINARY_PACKED" in encodings["day"]
        assert "DELTA_BYTE_ARRAY" in encodings["time_local"]
