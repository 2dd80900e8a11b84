"""Reading Delta Lake tables (what target-parquet-sems writes with `table_format: delta`).

The tables are written here with deltalake in the target's layout: `<destination>/plant_power`
partitioned by station_id and month, `<destination>/stations` beside it.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from sems_battery import DataError
from sems_battery.dataset import load_history
from sems_battery.history import History

STATION = "7c9f0a6e-2b1d-4d7e-9a51-3f0e1c2b8d44"
OTHER = "0b6c2f7d-93f2-4c38-8f0e-5a1d2c3b4e5f"


@pytest.fixture(scope="module")
def spring(year_table: pa.Table) -> pa.Table:
    """Two stations, March to May, with the target's month partition column."""
    part = year_table.filter(
        pc.and_(
            pc.greater_equal(year_table.column("day"), pa.scalar(dt.date(2023, 3, 1))),
            pc.less(year_table.column("day"), pa.scalar(dt.date(2023, 6, 1))),
        )
    )
    other = part.set_column(0, "station_id", pa.array([OTHER] * part.num_rows))
    both = pa.concat_tables([part, other])
    month = pc.strftime(both.column("day").cast(pa.timestamp("s")), format="%Y-%m")
    return both.append_column("month", month)


def stations_table() -> pa.Table:
    return pa.table(
        {
            "station_id": [STATION, OTHER],
            "name": ["Sonnenhaus", "Nachbar"],
            "battery_capacity_kwh": [None, 7.5],
        },
        schema=pa.schema(
            [
                ("station_id", pa.string()),
                ("name", pa.string()),
                ("battery_capacity_kwh", pa.float64()),
            ]
        ),
    )


def same(left: History, right: History) -> None:
    for name in ("time_us", "local_us", "duration_h", "pv_kw", "load_kw"):
        assert np.array_equal(getattr(left, name), getattr(right, name)), name


def test_delta_tables_read_like_the_parquet_dataset(spring: pa.Table, tmp_path: Path) -> None:
    delta = tmp_path / "delta"
    write_deltalake(delta / "plant_power", spring, partition_by=["station_id", "month"])
    write_deltalake(delta / "stations", stations_table())
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    pq.write_table(
        spring.filter(pc.equal(spring.column("station_id"), STATION)),
        parquet / "plant_power.parquet",
    )

    reference = load_history(parquet)
    from_delta = load_history(delta, station=STATION)
    same(from_delta, reference)
    assert len(from_delta) == 92 * 288 - 12  # 26 March has 23 hours
    assert from_delta.station_name == "Sonnenhaus"
    assert from_delta.battery_capacity_kwh is None
    # The table itself, and a date range pushed down to the month partitions.
    other = load_history(delta / "plant_power", station=OTHER, start=dt.date(2023, 4, 1))
    assert other.station_name == "Nachbar" and other.battery_capacity_kwh == 7.5
    assert str(other.local_day()[0]) == "2023-04-01"
    with pytest.raises(DataError, match=f"holds 2 stations; choose one with --station: {OTHER}"):
        load_history(delta)


def test_a_delta_table_without_deltalake_names_the_extra(
    spring: pa.Table, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_deltalake(tmp_path / "plant_power", spring.slice(0, 100), partition_by=["station_id"])
    monkeypatch.setitem(sys.modules, "deltalake", None)  # as if it were not installed
    with pytest.raises(
        DataError, match=r"is a Delta Lake table; .*pip install 'sems-battery\[delta\]'"
    ):
        load_history(tmp_path, station=STATION)


@pytest.mark.slow
def test_a_delta_table_on_s3(
    spring: pa.Table, s3_endpoint: str, s3_credentials: None, tmp_path: Path
) -> None:
    import boto3

    boto3.client("s3", endpoint_url=f"http://{s3_endpoint}", region_name="us-east-1").create_bucket(
        Bucket="fleet"
    )
    storage = {
        "AWS_ENDPOINT_URL": f"http://{s3_endpoint}",
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }
    write_deltalake(
        "s3://fleet/sems/plant_power",
        spring,
        partition_by=["station_id", "month"],
        storage_options=storage,
    )
    write_deltalake("s3://fleet/sems/stations", stations_table(), storage_options=storage)
    write_deltalake(tmp_path / "plant_power", spring, partition_by=["station_id", "month"])

    query = f"endpoint_override={s3_endpoint}&scheme=http&region=us-east-1"
    remote = load_history(f"s3://fleet/sems?{query}", station=OTHER)
    same(remote, load_history(tmp_path, station=OTHER))
    assert remote.station_name == "Nachbar"
