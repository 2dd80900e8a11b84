"""Throughput of target-parquet-sems against a plain singer-sdk BatchSink target.

Generates one Singer file of 1,000,000 plant_power records (three stations, 5-minute
points, realistic values; cached in the temp folder), then feeds it to each target as
a subprocess and prints records/s, peak memory (the child's max RSS) and the ratio:
the Parquet layout, Delta tables (table_format: delta), six Delta writers at once into
one destination (each its own stations, a sixth of the records), and the plain sink.
Each figure is the whole process, start to exit; CPU seconds tell a busy host from slow
code. Goals on a 2-core machine: Parquet >= 150,000 records/s, >= 5x the plain sink,
< 400 MB; Delta >= 100,000 records/s.

    python3 dev.py bench target_throughput
    .venv/bin/python benchmarks/target_throughput.py --records 200000 --skip-plain
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
from singer_sdk import Target
from singer_sdk.sinks import BatchSink

from tap_sems.schemas import PLANT_POWER, PLANT_POWER_KEY

STATIONS = 3
GOAL_RECORDS_PER_SECOND = 150_000
GOAL_DELTA_RECORDS_PER_SECOND = 100_000
WRITERS = 6
GOAL_RATIO = 5.0
GOAL_PEAK_MB = 400
COMPACT = (",", ":")


def generate(path: Path, records: int, seed: int = 42) -> None:
    """A tap-like Singer file: SCHEMA, RECORDs in time order, a STATE every day.

    Written compact, as singer-sdk taps write their messages; another seed, other stations.
    """
    rng = random.Random(seed)
    stations = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(STATIONS)]
    start = datetime.datetime(2022, 1, 1, tzinfo=datetime.UTC)
    schema = {
        "type": "SCHEMA",
        "stream": "plant_power",
        "schema": PLANT_POWER,
        "key_properties": list(PLANT_POWER_KEY),
    }
    extracted = datetime.datetime.now(datetime.UTC).isoformat()
    with path.open("w") as out:
        out.write(json.dumps(schema, separators=COMPACT) + "\n")
        for i in range(records):
            station = i % STATIONS
            moment = start + datetime.timedelta(minutes=5 * (i // STATIONS))
            local = moment + datetime.timedelta(hours=1)
            daylight = max(0.0, math.sin((local.hour + local.minute / 60 - 6) / 12 * math.pi))
            pv = round(daylight * 3800 * (0.6 + 0.4 * rng.random()), 1)
            load = round(250 + rng.random() * 900, 1)
            has_battery = station != 0
            battery = round(rng.uniform(-1500, 1500), 1) if has_battery else None
            grid = round(pv + (battery or 0.0) - load, 1)
            record = {
                "station_id": stations[station],
                "timestamp": moment.isoformat(),
                "time_local": local.strftime("%Y-%m-%d %H:%M:%S"),
                "day": local.date().isoformat(),
                "pv_power_w": pv,
                "load_power_w": load,
                "grid_power_w": grid,
                "grid_import_w": max(0.0, -grid),
                "grid_export_w": max(0.0, grid),
                "battery_power_w": battery,
                "battery_soc_pct": round(rng.uniform(10, 100), 1) if has_battery else None,
                "source": "semsplus:v2/PowerCharts/GetPlantPowerChart",
                "extra": {
                    "meter_pf": round(rng.random(), 3),
                    "vpv1": round(300 + rng.random() * 40, 1),
                },
            }
            message = {
                "type": "RECORD",
                "stream": "plant_power",
                "record": record,
                "time_extracted": extracted,
            }
            out.write(json.dumps(message, separators=COMPACT) + "\n")
            if moment.hour == 0 and moment.minute == 0 and station == STATIONS - 1:
                state = {
                    "bookmarks": {"plant_power": {"replication_key_value": moment.isoformat()}}
                }
                out.write(json.dumps({"type": "STATE", "value": state}, separators=COMPACT) + "\n")


class PlainParquetSink(BatchSink):
    """What a straightforward SDK target does: each batch -> pyarrow -> one file."""

    def process_batch(self, context: dict) -> None:
        table = pa.Table.from_pylist(context["records"])
        folder = Path(self.config["destination_path"])
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / f"{self.stream_name}-{context['batch_id']}.parquet")


class PlainParquetTarget(Target):
    name = "target-plain-parquet"
    default_sink_class = PlainParquetSink
    config_jsonschema: ClassVar[dict] = {
        "type": "object",
        "properties": {"destination_path": {"type": "string"}},
    }


def run(command: list[str], singer_file: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one target run fed from `singer_file`.

    CPU seconds tell a slow machine (other load on the host) from slow code: they move
    far less between runs than wall seconds do.
    """
    return run_together([command], [singer_file])[0]


def run_together(
    commands: list[list[str]], singer_files: list[Path]
) -> list[tuple[float, float, float]]:
    """Start every command at once, each fed its file; (wall, CPU, peak MB) of each."""
    started = time.perf_counter()
    processes = []
    for command, singer_file in zip(commands, singer_files, strict=True):
        with singer_file.open("rb") as stdin:
            processes.append(
                subprocess.Popen(
                    command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
            )
    results = []
    for command, process in zip(commands, processes, strict=True):
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            sys.stderr.write(errors.decode(errors="replace")[-3000:])
            raise SystemExit(f"{command[0]} failed with exit code {process.returncode}")
        results.append((elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024))
    return results


def singer_input(work: Path, records: int, seed: int = 42) -> Path:
    """The cached Singer file of `records` records (made once, shared by later runs)."""
    suffix = "" if seed == 42 else f"_seed{seed}"
    singer_file = work / f"plant_power_{records}{suffix}_v2.singer"
    if not singer_file.exists():
        print(f"Generating {singer_file} ...", flush=True)
        partial = singer_file.with_suffix(f".{os.getpid()}.partial")
        generate(partial, records, seed)
        partial.replace(singer_file)
    return singer_file


def warm(singer_file: Path) -> None:
    """Read a file once so every timed run starts with it in the page cache."""
    with singer_file.open("rb") as handle:
        while handle.read(1 << 24):
            pass


def six_writers(work: Path, output: Path, records: int) -> None:
    """Six Delta writers at once into one destination, each its own stations."""
    from deltalake import DeltaTable

    share = records // WRITERS
    files = [singer_input(work, share, seed=100 + writer) for writer in range(WRITERS)]
    for singer_file in files:
        warm(singer_file)
    config_path = output / "config-delta-writers.json"
    config_path.write_text(json.dumps(sems_config(output / "delta-writers", "delta")))
    command = [sys.executable, "-m", "target_parquet_sems", "--config", str(config_path)]
    results = run_together([command] * WRITERS, files)
    wall = max(seconds for seconds, _, _ in results)
    cpu = sum(cpu for _, cpu, _ in results)
    peak = max(mb for _, _, mb in results)
    table = DeltaTable(str(output / "delta-writers" / "plant_power"))
    rows = table.count()
    print(
        f"{'delta, 6 writers':22} {wall:7.2f} s  {share * WRITERS / wall:10,.0f} records/s  "
        f"CPU {cpu:6.2f} s  peak RSS {peak:6.0f} MB each  ({WRITERS} x {share:,} records, "
        f"{table.version() + 1} commits)",
        flush=True,
    )
    print(f"rows in the six writers' table: {rows:,} (expected {share * WRITERS:,})")


def sems_config(destination: Path, table_format: str) -> dict:
    return {
        "destination_path": str(destination),
        "table_format": table_format,
        "partition_by": {"plant_power": ["station_id", {"field": "day", "granularity": "month"}]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--skip-plain", action="store_true", help="run only target-parquet-sems (no ratio)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of target-parquet-sems (median reported)"
    )
    parser.add_argument(
        "--skip-delta", action="store_true", help="no Delta runs (they need deltalake)"
    )
    parser.add_argument("--plain-target", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_target:
        PlainParquetTarget.cli(["--config", args.config])
        return

    work = Path(tempfile.gettempdir()) / "sems-target-benchmark"
    work.mkdir(exist_ok=True)
    singer_file = singer_input(work, args.records)
    size_mb = singer_file.stat().st_size / 1e6
    print(f"Input: {args.records:,} plant_power records, {size_mb:.0f} MB", flush=True)
    warm(singer_file)
    # Outputs of this run only: others may run the benchmark on the same machine.
    output = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    try:
        results = measure(args, singer_file, output)
        if not args.skip_delta:
            six_writers(work, output, args.records)
        report(args, results, output)
    finally:
        shutil.rmtree(output, ignore_errors=True)


def measure(args: argparse.Namespace, singer_file: Path, output: Path) -> dict[str, tuple]:
    """records/s (median) and peak MB of each single-writer run."""
    results = {}
    target = [sys.executable, "-m", "target_parquet_sems"]
    plain = [sys.executable, __file__, "--plain-target"]
    runs = [
        ("target-parquet-sems", sems_config(output / "parquet", "parquet"), target, args.repeat),
        ("delta", sems_config(output / "delta", "delta"), target, args.repeat),
        # about three minutes a run
        ("plain SDK BatchSink", {"destination_path": str(output / "plain")}, plain, 1),
    ]
    for label, config, command, repeat in runs:
        if (label == "delta" and args.skip_delta) or (command is plain and args.skip_plain):
            continue
        config_path = output / f"config-{label.split()[0]}.json"
        config_path.write_text(json.dumps(config))
        timings = []
        for _ in range(repeat):
            shutil.rmtree(config["destination_path"], ignore_errors=True)
            seconds, cpu, peak_mb = run([*command, "--config", str(config_path)], singer_file)
            timings.append((seconds, peak_mb))
            print(
                f"{label:22} {seconds:7.2f} s  {args.records / seconds:10,.0f} records/s  "
                f"CPU {cpu:6.2f} s  peak RSS {peak_mb:6.0f} MB",
                flush=True,
            )
        seconds = statistics.median(t for t, _ in timings)
        results[label] = (args.records / seconds, max(m for _, m in timings))
        if repeat > 1:
            print(f"{label:22} median of {repeat}: {args.records / seconds:,.0f} records/s")
    return results


def report(args: argparse.Namespace, results: dict[str, tuple], output: Path) -> None:
    written = pq.ParquetDataset(output / "parquet" / "plant_power").read().num_rows
    print(f"rows in the Parquet dataset: {written:,} (expected {args.records:,})")
    ours, peak = results["target-parquet-sems"]
    goals = [
        f"{'met' if ours >= GOAL_RECORDS_PER_SECOND else 'MISSED'} Parquet >= 150,000 records/s",
        f"{'met' if peak < GOAL_PEAK_MB else 'MISSED'} < 400 MB",
    ]
    if "delta" in results:
        from deltalake import DeltaTable

        rows = DeltaTable(str(output / "delta" / "plant_power")).count()
        print(f"rows in the Delta table: {rows:,} (expected {args.records:,})")
        delta, _ = results["delta"]
        goals.append(
            f"{'met' if delta >= GOAL_DELTA_RECORDS_PER_SECOND else 'MISSED'} "
            "Delta >= 100,000 records/s"
        )
    if "plain SDK BatchSink" in results:
        ratio = ours / results["plain SDK BatchSink"][0]
        print(f"ratio: {ratio:.1f}x the plain SDK sink")
        goals.append(f"{'met' if ratio >= GOAL_RATIO else 'MISSED'} >= 5x")
    print("goals: " + ", ".join(goals))


if __name__ == "__main__":
    main()
