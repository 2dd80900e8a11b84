"""Writing to an S3-compatible store: moto's S3 server on loopback, end to end."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pyarrow.dataset as ds
import pyarrow.fs as pa_fs
import pytest

ENDPOINT_HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((ENDPOINT_HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address=ENDPOINT_HOST, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{ENDPOINT_HOST}:{port}"
    finally:
        server.stop()


@pytest.mark.slow
def test_partitioned_merge_on_s3(s3_endpoint: str, sync: Any, msg: Any) -> None:
    host = s3_endpoint.removeprefix("http://")
    s3 = pa_fs.S3FileSystem(
        endpoint_override=host, scheme="http", region="us-east-1", allow_bucket_creation=True
    )
    s3.create_dir("solar")
    schema = {
        "type": "object",
        "properties": {
            "station_id": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
            "pv_power_w": {"type": ["number", "null"]},
        },
    }
    config = {
        "destination_path": "s3://solar/sems",
        "s3_endpoint_url": s3_endpoint,
        "s3_region": "us-east-1",
        "partition_by": {
            "plant_power": ["station_id", {"field": "timestamp", "granularity": "year"}]
        },
    }
    first = [msg.schema("plant_power", schema, ["station_id", "timestamp"])] + [
        msg.record(
            "plant_power",
            {"station_id": "st-a", "timestamp": f"202{y}-06-01T12:00:00Z", "pv_power_w": y},
        )
        for y in (4, 5)
    ]
    assert sync(config, [*first, msg.state({"run": 1})]) == [{"run": 1}]
    update = [
        first[0],
        msg.record(
            "plant_power",
            {"station_id": "st-a", "timestamp": "2025-06-01T12:00:00Z", "pv_power_w": 55},
        ),
    ]
    sync(config, update)

    keys = sorted(
        info.path
        for info in s3.get_file_info(pa_fs.FileSelector("solar/sems", recursive=True))
        if info.type == pa_fs.FileType.File
    )
    runs = [key for key in keys if key.startswith("solar/sems/_runs/")]
    assert [json.loads(s3.open_input_stream(key).read())["status"] for key in runs] == [
        "complete",
        "complete",
    ]
    assert [key for key in keys if key not in runs] == [  # the lease is given back
        "solar/sems/_schemas/plant_power/_common_metadata",
        "solar/sems/plant_power/station_id=st-a/year=2024/data.parquet",
        "solar/sems/plant_power/station_id=st-a/year=2025/data.parquet",
    ]
    table = ds.dataset(
        "solar/sems/plant_power", filesystem=s3, format="parquet", partitioning="hive"
    )
    rows = table.to_table().sort_by("timestamp").to_pylist()
    assert [(r["year"], r["pv_power_w"]) for r in rows] == [(2024, 4.0), (2025, 55.0)]


def test_endpoint_query_on_uri_is_honoured() -> None:
    from target_parquet_sems.storage import Destination

    destination = Destination("s3://bucket/prefix?endpoint_override=127.0.0.1:9&scheme=http")
    assert destination.root == "bucket/prefix"
    assert isinstance(destination.fs, pa_fs.S3FileSystem)
    assert not destination.is_local
