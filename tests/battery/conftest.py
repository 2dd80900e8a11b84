"""Shared fixtures: synthetic years and Parquet datasets in both layouts the target writes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sems_battery.history import History
from sems_battery.synthetic import plant_power_table, synthetic_history, synthetic_year

STATION = "7c9f0a6e-2b1d-4d7e-9a51-3f0e1c2b8d44"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def year_arrays() -> dict[str, np.ndarray]:
    """A 5-minute household year (2023, 4 MWh load, 5 kWp) as raw arrays."""
    return synthetic_year(year=2023, seed=7)


@pytest.fixture(scope="session")
def year_history() -> History:
    return synthetic_history(year=2023, seed=7)


@pytest.fixture(scope="session")
def year_table(year_arrays: dict[str, np.ndarray]) -> pa.Table:
    return plant_power_table(year_arrays, STATION)


def write_single_file(table: pa.Table, dest: Path, row_group_size: int = 1 << 20) -> Path:
    """The target's layout without partition_by: `<dest>/plant_power.parquet`."""
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "plant_power.parquet"
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def write_hive(
    table: pa.Table,
    dest: Path,
    *,
    keep_station_column: bool = False,
    station_as_dictionary: bool = False,
    files_per_partition: int = 1,
) -> Path:
    """`<dest>/plant_power/station_id=<id>/month=YYYY-MM/part-N.parquet`."""
    root = dest / "plant_power"
    months = pc.strftime(table.column("day").cast(pa.timestamp("s")), format="%Y-%m")
    stations = table.column("station_id")
    for station in pc.unique(stations).to_pylist():
        for month in pc.unique(months).to_pylist():
            mask = pc.and_(pc.equal(stations, station), pc.equal(months, month))
            part = table.filter(mask)
            if part.num_rows == 0:
                continue
            if not keep_station_column:
                part = part.drop_columns(["station_id"])
            elif station_as_dictionary:
                index = part.schema.get_field_index("station_id")
                part = part.set_column(
                    index, "station_id", pc.dictionary_encode(part.column("station_id"))
                )
            folder = root / f"station_id={station}" / f"month={month}"
            folder.mkdir(parents=True, exist_ok=True)
            bounds = np.linspace(0, part.num_rows, files_per_partition + 1).astype(int)
            for number, (start, stop) in enumerate(itertools.pairwise(bounds)):
                pq.write_table(part.slice(start, stop - start), folder / f"part-{number}.parquet")
    return root


@pytest.fixture
def dataset_writer() -> dict[str, Callable[..., Path]]:
    return {"single": write_single_file, "hive": write_hive}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on loopback (moto), shared by the tests that read from S3."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
