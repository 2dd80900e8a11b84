"""Helpers for the target tests: run the target in-process or as a process, read what it
wrote."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tap_sems.schemas import PLANT_POWER, PLANT_POWER_KEY
from target_parquet_sems.target import TargetParquetSems

SyncFunction = Callable[..., list[dict]]


def singer_lines(messages: Iterable[dict]) -> str:
    return "".join(json.dumps(message) + "\n" for message in messages)


class Messages:
    """Builders for Singer messages, shared with the tests through the `msg` fixture."""

    @staticmethod
    def schema(stream: str, schema: dict, key_properties: list[str] | None = None) -> dict:
        return {
            "type": "SCHEMA",
            "stream": stream,
            "schema": schema,
            "key_properties": key_properties or [],
        }

    @staticmethod
    def record(stream: str, record: dict) -> dict:
        return {"type": "RECORD", "stream": stream, "record": record}

    @staticmethod
    def state(value: dict) -> dict:
        return {"type": "STATE", "value": value}

    lines = staticmethod(singer_lines)

    @staticmethod
    def power_point(station: str, timestamp: str, pv: float, **extra: Any) -> dict:
        """A plant_power record as tap-sems emits it; keywords become its `extra`."""
        return {
            "station_id": station,
            "timestamp": timestamp,
            "time_local": timestamp[:19].replace("T", " "),
            "day": timestamp[:10],
            "pv_power_w": pv,
            "load_power_w": 300,
            "grid_power_w": pv - 300,
            "grid_import_w": max(0.0, 300 - pv),
            "grid_export_w": max(0.0, pv - 300),
            "battery_power_w": None,
            "battery_soc_pct": None,
            "source": "semsplus:statisticsAndPreV2",
            "extra": extra or None,
        }

    @classmethod
    def plant_power(cls, points: list[dict], state: dict | None = None) -> list[dict]:
        """The plant_power SCHEMA, the records, then a STATE if given."""
        messages = [cls.schema("plant_power", PLANT_POWER, list(PLANT_POWER_KEY))]
        messages += [cls.record("plant_power", point) for point in points]
        return [*messages, cls.state(state)] if state is not None else messages


@pytest.fixture
def msg() -> type[Messages]:
    return Messages


@pytest.fixture
def sync() -> SyncFunction:
    """Run the target on messages (dicts or raw lines); return the STATE values emitted."""

    def run(config: dict[str, Any], messages: Iterable[dict] | str) -> list[dict]:
        text = messages if isinstance(messages, str) else singer_lines(messages)
        target = TargetParquetSems(config=config)
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            target.listen(io.StringIO(text))
        return [json.loads(line) for line in stdout.getvalue().splitlines() if line.strip()]

    return run


@pytest.fixture
def read_file() -> Callable[[Path], pa.Table]:
    """One stream file, read exactly (no partition discovery)."""
    return lambda path: pq.ParquetFile(path).read()


@pytest.fixture
def read_hive() -> Callable[[Path], pa.Table]:
    """A partitioned stream, read the way sems-battery reads it."""
    return lambda folder: ds.dataset(folder, format="parquet", partitioning="hive").to_table()


@dataclasses.dataclass(frozen=True)
class Finished:
    """A target process that ran to its end."""

    returncode: int
    stdout: bytes
    stderr: bytes


@pytest.fixture
def target_process(tmp_path: Path) -> Callable[..., subprocess.Popen[bytes]]:
    """`target_process(config, env={...}, **popen)`: the target as a process with pipes for
    its standard input, output and error, and no settings (nor test pause point) taken from
    this environment; `env` adds variables."""
    numbers = itertools.count()

    def start(
        config: dict[str, Any], env: dict[str, str] | None = None, **popen: Any
    ) -> subprocess.Popen[bytes]:
        config_path = tmp_path / f"target-config-{next(numbers)}.json"
        config_path.write_text(json.dumps(config))
        environment = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_PARQUET")}
        return subprocess.Popen(
            [sys.executable, "-m", "target_parquet_sems", "--config", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment | (env or {}),
            **popen,
        )

    return start


@pytest.fixture
def target_run(target_process: Callable[..., subprocess.Popen[bytes]]) -> Callable[..., Finished]:
    """`target_run(config, data, **popen)`: the target as a process fed `data` to its end."""

    def run(config: dict[str, Any], data: bytes, **popen: Any) -> Finished:
        process = target_process(config, **popen)
        out, errors = process.communicate(data, timeout=120)
        return Finished(process.returncode, out, errors)

    return run
