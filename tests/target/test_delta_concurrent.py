"""Six target processes write one Delta destination at once, locally and on S3 (moto).

Each writer has a station of its own (disjoint partitions) and also writes a shared station
whose time range overlaps its neighbours' (the same keys, the same partitions), plus the
unpartitioned `stations` stream every writer rewrites. Afterwards every row of every writer's
own station is there, every instant of the shared station is there once, with a value one of
the writers covering it sent, and every station once: nothing lost, nothing doubled.
The outcome does not depend on how the processes happen to interleave.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from tap_sems.schemas import PLANT_POWER, PLANT_POWER_KEY

WRITERS = 6
POINTS = 400  # per writer and station
OVERLAP_STEP = POINTS // 2  # the shared station: writer i covers [i * step, i * step + POINTS)
SHARED = "shared-station"
START = datetime.datetime(2026, 3, 29, tzinfo=datetime.UTC)  # crosses into April
STATIONS_SCHEMA = {
    "type": "object",
    "properties": {"station_id": {"type": "string"}, "name": {"type": "string"}},
}


def own_station(writer: int) -> str:
    return f"station-{writer}"


def message(kind: str, **fields: Any) -> bytes:
    return json.dumps({"type": kind, **fields}).encode() + b"\n"


def power(station: str, index: int, value: float) -> bytes:
    moment = START + datetime.timedelta(minutes=5 * index)
    record = {
        "station_id": station,
        "timestamp": moment.isoformat(),
        "day": moment.date().isoformat(),
        "pv_power_w": value,
    }
    return message("RECORD", stream="plant_power", record=record)


def writer_input(writer: int) -> bytes:
    """Own and shared points interleaved; the value says which writer sent which index."""
    lines = [
        message("SCHEMA", stream="stations", schema=STATIONS_SCHEMA, key_properties=["station_id"]),
        message(
            "SCHEMA", stream="plant_power", schema=PLANT_POWER, key_properties=list(PLANT_POWER_KEY)
        ),
    ]
    for station in (own_station(writer), SHARED):
        record = {"station_id": station, "name": f"named by writer {writer}"}
        lines.append(message("RECORD", stream="stations", record=record))
    for k in range(POINTS):
        value = float(writer * 10_000 + k)
        lines.append(power(own_station(writer), k, value))
        lines.append(power(SHARED, writer * OVERLAP_STEP + k, value))
        if (k + 1) % 100 == 0:
            lines.append(message("STATE", value={"writer": writer, "points": k + 1}))
    return b"".join(lines)


def run_writers(config: dict[str, Any], folder: Path) -> list[bytes]:
    """Start every writer, then feed them all at once; return their stderr."""
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(config))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "target_parquet_sems", "--config", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(WRITERS)
    ]
    results: list[tuple[bytes, bytes]] = [(b"", b"")] * WRITERS

    def talk(writer: int) -> None:
        results[writer] = processes[writer].communicate(writer_input(writer), timeout=300)

    threads = [threading.Thread(target=talk, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for writer, process in enumerate(processes):
        out, err = results[writer]
        assert process.returncode == 0, err.decode(errors="replace")[-3000:]
        states = [json.loads(line) for line in out.splitlines()]
        assert states[-1] == {"writer": writer, "points": POINTS}
    return [err for _, err in results]


def check_nothing_lost_nothing_doubled(plant_power: pa.Table, stations: pa.Table) -> None:
    rows = plant_power.select(["station_id", "timestamp", "pv_power_w"]).to_pylist()
    keys = [(r["station_id"], r["timestamp"]) for r in rows]
    assert len(keys) == len(set(keys))
    by_station: dict[str, dict[int, float]] = {}
    for row in rows:
        index = round((row["timestamp"] - START).total_seconds() / 300)
        by_station.setdefault(row["station_id"], {})[index] = row["pv_power_w"]
    for writer in range(WRITERS):
        own = by_station[own_station(writer)]
        assert own == {k: float(writer * 10_000 + k) for k in range(POINTS)}
    shared = by_station[SHARED]
    assert sorted(shared) == list(range((WRITERS - 1) * OVERLAP_STEP + POINTS))
    for index, value in shared.items():
        writer, k = divmod(int(value), 10_000)
        assert writer * OVERLAP_STEP + k == index  # a value some writer sent for this instant
    names = stations.to_pylist()
    assert sorted(r["station_id"] for r in names) == sorted(
        [SHARED, *(own_station(w) for w in range(WRITERS))]
    )


def config_for(destination: str, **settings: Any) -> dict[str, Any]:
    return {
        "destination_path": destination,
        "table_format": "delta",
        "batch_size_rows": 200,
        "partition_by": {"plant_power": ["station_id", {"field": "day", "granularity": "month"}]},
        **settings,
    }


@pytest.mark.slow
def test_six_writers_on_one_local_destination(tmp_path: Path) -> None:
    errors = run_writers(config_for(str(tmp_path / "out")), tmp_path)
    plant_power = DeltaTable(str(tmp_path / "out" / "plant_power"))
    stations = DeltaTable(str(tmp_path / "out" / "stations"))
    check_nothing_lost_nothing_doubled(plant_power.to_pyarrow_table(), stations.to_pyarrow_table())
    # One file per partition: writers replaced partitions instead of piling up files.
    assert len(plant_power.file_uris()) == WRITERS + 2
    redone = sum(err.count(b"trying again") for err in errors)
    print(f"{redone} commit(s) redone after a conflict")


# --- S3 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 on loopback, one request at a time.

    moto checks If-None-Match and then stores the object in two steps, and its threads can
    interleave between them; real stores make that one atomic step, and Delta's commits
    depend on it. Serving one request at a time gives moto the same guarantee.
    """
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    application = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ: dict, start_response: Any) -> list[bytes]:
        with lock:
            return list(application(environ, start_response))

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any) -> None:
            """Hundreds of requests a test: not worth a line each."""

    server = make_server("127.0.0.1", 0, one_at_a_time, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.mark.slow
def test_six_writers_on_one_s3_destination(
    tmp_path: Path, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.fs as pa_fs

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = pa_fs.S3FileSystem(
        endpoint_override=s3_endpoint.removeprefix("http://"),
        scheme="http",
        region="us-east-1",
        allow_bucket_creation=True,
    )
    # moto keeps one store per process: a bucket of this test's own, whatever else ran before
    bucket = f"writers-{uuid.uuid4().hex[:12]}"
    s3.create_dir(bucket)
    root = f"s3://{bucket}/sems"
    config = config_for(root, s3_endpoint_url=s3_endpoint, s3_region="us-east-1")
    run_writers(config, tmp_path)
    options = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
    }
    plant_power = DeltaTable(f"{root}/plant_power", storage_options=options)
    stations = DeltaTable(f"{root}/stations", storage_options=options)
    check_nothing_lost_nothing_doubled(plant_power.to_pyarrow_table(), stations.to_pyarrow_table())

    # What makes it safe: the store refuses a second log entry for a version (a conditional
    # PUT). Two handles on the same version: the second commit lands on the next version
    # instead of replacing the first one.
    first, second = (DeltaTable(f"{root}/stations", storage_options=options) for _ in "ab")
    version = first.version()
    for handle, station in ((first, "late-1"), (second, "late-2")):
        row = pa.table({"station_id": [station], "name": ["appended"]})
        write_deltalake(handle, row, mode="append")
    after = DeltaTable(f"{root}/stations", storage_options=options)
    assert after.version() == version + 2
    assert {"late-1", "late-2"} <= set(after.to_pyarrow_table().column("station_id").to_pylist())

    # Maintenance on S3 with the same config: every table checkpointed, nothing lost.
    from target_parquet_sems.maintain import main as maintain

    maintain(["--config", str(tmp_path / "config.json")])
    for name in ("plant_power", "stations"):
        assert s3.get_file_info(f"{bucket}/sems/{name}/_delta_log/_last_checkpoint").is_file
    maintained = DeltaTable(f"{root}/plant_power", storage_options=options).to_pyarrow_table()
    check_nothing_lost_nothing_doubled(maintained, stations.to_pyarrow_table())
