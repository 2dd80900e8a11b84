"""A target killed with SIGKILL mid-write leaves a readable dataset with everything
acknowledged, and running again converges to the same content as an unbroken run."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tap_sems.schemas import PLANT_POWER, PLANT_POWER_KEY

STATIONS = ["2f1c1a9e-8d0b-4c7e-9a51-7f3b2e1d0c9a", "c4d5e6f7-0a1b-4c2d-8e3f-9a0b1c2d3e4f"]
RECORDS = 40_000
STATE_EVERY = 500


def singer_input() -> list[bytes]:
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    schema = {
        "type": "SCHEMA",
        "stream": "plant_power",
        "schema": PLANT_POWER,
        "key_properties": list(PLANT_POWER_KEY),
    }
    lines = [json.dumps(schema).encode() + b"\n"]
    for i in range(RECORDS):
        moment = start + datetime.timedelta(minutes=5 * (i // len(STATIONS)))
        record = {
            "station_id": STATIONS[i % len(STATIONS)],
            "timestamp": moment.isoformat(),
            "day": moment.date().isoformat(),
            "pv_power_w": float(i),
            "extra": {"n": i},
        }
        lines.append(
            json.dumps({"type": "RECORD", "stream": "plant_power", "record": record}).encode()
            + b"\n"
        )
        if (i + 1) % STATE_EVERY == 0:
            lines.append(json.dumps({"type": "STATE", "value": {"last_index": i}}).encode() + b"\n")
    return lines


def start_target(config_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "target_parquet_sems", "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def run_to_end(config_path: Path, lines: list[bytes]) -> None:
    process = start_target(config_path)
    process.communicate(b"".join(lines), timeout=120)
    assert process.returncode == 0


def dataset_rows(folder: Path) -> list[dict]:
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    return table.sort_by([("station_id", "ascending"), ("timestamp", "ascending")]).to_pylist()


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_states", [3, 9])
def test_sigkill_mid_write_keeps_acknowledged_rows_and_reruns_converge(
    tmp_path: Path, kill_after_states: int
) -> None:
    lines = singer_input()
    partition_by = {"plant_power": ["station_id", {"field": "day", "granularity": "month"}]}
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    configs = {}
    for name, folder in (("killed", killed_dir), ("clean", clean_dir)):
        configs[name] = tmp_path / f"{name}.json"
        configs[name].write_text(
            json.dumps(
                {
                    "destination_path": str(folder),
                    "partition_by": partition_by,
                    "batch_size_rows": 2000,
                }
            )
        )

    process = start_target(configs["killed"])
    assert process.stdin is not None and process.stdout is not None
    acknowledged: list[dict] = []
    sent = 0
    os.set_blocking(process.stdout.fileno(), False)
    pending = b""
    while len(acknowledged) < kill_after_states and sent < len(lines):
        process.stdin.write(b"".join(lines[sent : sent + 200]))
        process.stdin.flush()
        sent += 200
        chunk = process.stdout.read() or b""
        pending += chunk
        *complete, pending = pending.split(b"\n")
        acknowledged += [json.loads(line) for line in complete if line.strip()]
    deadline = time.monotonic() + 30
    while not acknowledged and time.monotonic() < deadline:  # a slow start: wait for one
        time.sleep(0.05)
        pending += process.stdout.read() or b""
        *complete, pending = pending.split(b"\n")
        acknowledged += [json.loads(line) for line in complete if line.strip()]
    # Keep feeding so the target is busy writing a batch, then kill it outright.
    process.stdin.write(b"".join(lines[sent : sent + 2100]))
    process.stdin.flush()
    time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert acknowledged, "the target acknowledged no state before the kill"

    # Whatever the moment of the kill: the dataset reads, and holds every record the
    # last acknowledged state covers.
    last_index = acknowledged[-1]["last_index"]
    rows = dataset_rows(killed_dir / "plant_power")
    present = {int(row["pv_power_w"]) for row in rows}
    assert set(range(last_index + 1)) <= present
    assert len(present) == len(rows)  # never two versions of a row
    for path in (killed_dir / "plant_power").rglob("data.parquet"):
        pq.ParquetFile(path).read()  # every visible file is complete

    # The tap resends from the state; here it resends everything. Same content as a
    # run that was never interrupted.
    run_to_end(configs["killed"], lines)
    run_to_end(configs["clean"], lines)
    assert dataset_rows(killed_dir / "plant_power") == dataset_rows(clean_dir / "plant_power")
    assert len(dataset_rows(clean_dir / "plant_power")) == RECORDS
    leftovers = [p.name for p in killed_dir.rglob(".*") if p.is_file()]
    assert leftovers == []
