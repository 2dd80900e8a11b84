"""A target killed with SIGKILL mid-write leaves a readable dataset with everything
acknowledged, and running again converges to the same content as an unbroken run.

The kill lands at a known moment, not wherever a sleep happens to end: the target runs with
TARGET_PARQUET_SEMS_TEST_PAUSE_AT (target_parquet_sems/pausepoints.py), freezes at the named
point, says so on stderr, and is killed there.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from tap_sems.schemas import PLANT_POWER, PLANT_POWER_KEY
from target_parquet_sems.pausepoints import ENVIRONMENT_VARIABLE

STATIONS = ["2f1c1a9e-8d0b-4c7e-9a51-7f3b2e1d0c9a", "c4d5e6f7-0a1b-4c2d-8e3f-9a0b1c2d3e4f"]
RECORDS = 12_000
STATE_EVERY = 500
BATCH_ROWS = 2000
PAUSE_SECONDS = 120  # only a bound on a hang: the pause itself is an event, not a delay


def singer_input() -> list[bytes]:
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
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


def run_to_end(target_process: Any, config: dict, lines: list[bytes]) -> None:
    process = target_process(config)
    _, errors = process.communicate(b"".join(lines), timeout=120)
    assert process.returncode == 0, errors.decode(errors="replace")[-2000:]


def feed(stdin: IO[bytes], lines: list[bytes]) -> None:
    """Write the whole input; the target stops reading once it is frozen, then dies."""
    try:
        for line in lines:
            stdin.write(line)
    except BrokenPipeError:
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdin.close()


def wait_for_pause(stderr: IO[bytes], point: str) -> threading.Thread:
    """Block until the target says it froze at `point`; fail with its log if it never does.

    Returns the thread reading the rest of stderr, which ends with the process.
    """
    said: queue.Queue[bytes] = queue.Queue()

    def read() -> None:
        for line in stderr:
            said.put(line)
        said.put(b"")  # the process ended

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    log: list[bytes] = []
    while True:
        try:
            line = said.get(timeout=PAUSE_SECONDS)
        except queue.Empty:
            pytest.fail(f"the target never paused at {point}: {b''.join(log[-20:])!r}")
        if not line:
            pytest.fail(f"the target ended without pausing at {point}: {b''.join(log[-20:])!r}")
        log.append(line)
        if line.startswith(f"paused at {point}".encode()):
            return reader


class PausedTarget:
    """A target process fed the whole input, frozen at `point`; `kill()` ends it there."""

    def __init__(self, process: subprocess.Popen[bytes], point: str, lines: list[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        assert process.stderr is not None
        self.process = process
        self.feeder = threading.Thread(target=feed, args=(process.stdin, lines), daemon=True)
        self.feeder.start()
        self.stderr_reader = wait_for_pause(process.stderr, point)

    def kill(self) -> list[dict]:
        """SIGKILL; returns the states it acknowledged, at least one."""
        process = self.process
        assert process.stdout is not None and process.stderr is not None
        process.kill()
        process.wait(timeout=30)
        acknowledged = [json.loads(line) for line in process.stdout.read().splitlines()]
        self.stderr_reader.join(timeout=30)
        self.feeder.join(timeout=30)
        process.stdout.close()
        process.stderr.close()
        assert acknowledged, "the target acknowledged no state before the kill"
        return acknowledged


def kill_configs(tmp_path: Path, **settings: object) -> dict[str, dict[str, Any]]:
    """Configs of the run to be killed and of an unbroken one, each its own destination."""
    partition_by = {"plant_power": ["station_id", {"field": "day", "granularity": "month"}]}
    return {
        name: {
            "destination_path": str(tmp_path / name),
            "partition_by": partition_by,
            "batch_size_rows": BATCH_ROWS,
            **settings,
        }
        for name in ("killed", "clean")
    }


def indices(rows: list[dict]) -> list[int]:
    return sorted(int(row["pv_power_w"]) for row in rows)


def dataset_rows(folder: Path) -> list[dict]:
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    return table.sort_by([("station_id", "ascending"), ("timestamp", "ascending")]).to_pylist()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "nth"),
    [
        # The 10th file write: the run's manifest, the schema record, then two partition
        # files per batch; so batch 4's second partition file is complete under its
        # temporary name.
        ("before-rename", 10),
        # The 4th STATE: batch 2 is on disk, the STATE covering its last rows is not out.
        ("before-state", 4),
    ],
)
def test_sigkill_mid_write_keeps_acknowledged_rows_and_reruns_converge(
    tmp_path: Path, target_process: Any, point: str, nth: int
) -> None:
    lines = singer_input()
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    configs = kill_configs(tmp_path)
    process = target_process(configs["killed"], env={ENVIRONMENT_VARIABLE: f"{point}:{nth}"})
    target = PausedTarget(process, point, lines)

    # Frozen mid-write: prove it before the kill.
    data_files = sorted((killed_dir / "plant_power").rglob("data.parquet"))
    temp_files = sorted(killed_dir.glob(".*.tmp"))  # in the root, never in a stream's folder
    if point == "before-rename":
        assert len(temp_files) == 1, temp_files
        unrenamed = indices(pq.ParquetFile(temp_files[0]).read().to_pylist())
        visible = indices(dataset_rows(killed_dir / "plant_power"))
        assert set(unrenamed) - set(visible)  # complete, holding rows not yet in place
    else:
        assert temp_files == []
    acknowledged = target.kill()

    # The dataset reads, every visible file is complete, and it holds every record the
    # last acknowledged state covers, once.
    last_index = acknowledged[-1]["last_index"]
    rows = dataset_rows(killed_dir / "plant_power")
    on_disk = indices(rows)
    assert len(on_disk) == len(set(on_disk))  # never two versions of a row
    assert set(range(last_index + 1)) <= set(on_disk)
    for path in data_files:
        pq.ParquetFile(path).read()
    # The stream's folder holds data files only, so even globbing readers see just them.
    globbed = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{killed_dir}/plant_power/**', hive_partitioning=1)"
    ).fetchall()
    assert globbed == [(len(on_disk),)]
    if point == "before-state":
        # Killed between a write and its STATE: whole batches are on disk, more than the
        # last STATE acknowledged.
        assert on_disk == list(range(len(on_disk)))
        assert len(on_disk) % BATCH_ROWS == 0
        assert len(on_disk) > last_index + 1
    else:
        assert list(killed_dir.glob(".*.tmp")) == temp_files

    # The tap resends from the state; here it resends everything. Same content as a
    # run that was never interrupted, and the killed run's temporary file is gone.
    run_to_end(target_process, configs["killed"], lines)
    run_to_end(target_process, configs["clean"], lines)
    # The killed run's manifest still says it was running; the rerun's, that it finished.
    runs = [json.loads(p.read_text()) for p in sorted((killed_dir / "_runs").iterdir())]
    assert [run["status"] for run in runs] == ["running", "complete"]
    assert runs[1]["streams"]["plant_power"]["records_written"] == RECORDS
    assert runs[1]["state"] == {"last_index": RECORDS - 1}
    assert not (killed_dir / "_lease.json").exists()  # given back
    assert dataset_rows(killed_dir / "plant_power") == dataset_rows(clean_dir / "plant_power")
    assert indices(dataset_rows(clean_dir / "plant_power")) == list(range(RECORDS))
    leftovers = [p.name for p in killed_dir.rglob(".*") if p.is_file()]
    assert leftovers == []


def delta_rows(folder: Path) -> list[dict]:
    table = DeltaTable(str(folder)).to_pyarrow_table()
    return table.sort_by([("station_id", "ascending"), ("timestamp", "ascending")]).to_pylist()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "nth"),
    [
        # The 4th commit: delta-rs holds batch 4's rows; the commit (one conditional write of
        # the next log entry, after the data files) is not made.
        ("delta-before-commit", 4),
        # The 3rd STATE: batch 2 is committed, the STATE covering its last rows is not out.
        ("before-state", 3),
    ],
)
def test_sigkill_mid_delta_commit_keeps_acknowledged_rows_and_reruns_converge(
    tmp_path: Path, target_process: Any, point: str, nth: int
) -> None:
    lines = singer_input()
    configs = kill_configs(tmp_path, table_format="delta")
    table_dir = tmp_path / "killed" / "plant_power"
    process = target_process(configs["killed"], env={ENVIRONMENT_VARIABLE: f"{point}:{nth}"})
    target = PausedTarget(process, point, lines)
    committed = DeltaTable(str(table_dir)).version()
    if point == "delta-before-commit":
        assert committed == nth - 2  # versions 0 .. nth-2: the nth commit is not made
    acknowledged = target.kill()

    # The table reads at its last commit, which holds every acknowledged record, once.
    assert DeltaTable(str(table_dir)).version() == committed
    on_disk = indices(delta_rows(table_dir))
    assert len(on_disk) == len(set(on_disk))
    assert set(range(acknowledged[-1]["last_index"] + 1)) <= set(on_disk)
    assert on_disk == list(range(len(on_disk)))  # whole batches: committed or not at all
    assert len(on_disk) % BATCH_ROWS == 0

    # Resent from the start, the table converges to what an unbroken run writes.
    run_to_end(target_process, configs["killed"], lines)
    run_to_end(target_process, configs["clean"], lines)
    assert delta_rows(table_dir) == delta_rows(tmp_path / "clean" / "plant_power")
    assert indices(delta_rows(table_dir)) == list(range(RECORDS))
    # Many writers may load a Delta destination: no lease, and the manifest says delta.
    runs = [json.loads(p.read_text()) for p in sorted((tmp_path / "killed" / "_runs").iterdir())]
    assert [run["status"] for run in runs] == ["running", "complete"]
    assert {run["table_format"] for run in runs} == {"delta"}
