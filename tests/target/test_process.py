"""The target as users run it, a process reading stdin: its metrics, its run records at the
destination, its lease, its errors and how it ends when interrupted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from target_parquet_sems.pausepoints import ENVIRONMENT_VARIABLE

SIMPLE = {"type": "object", "properties": {"id": {"type": "integer"}, "n": {"type": "number"}}}


def lines(*messages: dict) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def schema(stream: str, properties: dict | None = None) -> dict:
    body = {"type": "object", "properties": properties} if properties else SIMPLE
    return {"type": "SCHEMA", "stream": stream, "schema": body, "key_properties": ["id"]}


def record(stream: str, record_id: int) -> dict:
    return {"type": "RECORD", "stream": stream, "record": {"id": record_id, "n": record_id}}


def run_target(
    tmp_path: Path, config: dict, data: bytes, **env: str
) -> subprocess.CompletedProcess[bytes]:
    config_path = tmp_path / "target-config.json"
    config_path.write_text(json.dumps(config))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_PARQUET")}
    environment.pop(ENVIRONMENT_VARIABLE, None)
    return subprocess.run(
        [sys.executable, "-m", "target_parquet_sems", "--config", str(config_path)],
        input=data,
        capture_output=True,
        env=environment | env,
        timeout=120,
        check=False,
    )


def metric_totals(stderr: bytes, metric: str) -> Counter[str]:
    """Sum of a counter metric per stream, from the METRIC lines the SDK logs."""
    totals: Counter[str] = Counter()
    for line in stderr.decode().splitlines():
        if "METRIC: " in line:
            point = json.loads(line.split("METRIC: ", 1)[1])
            if point["metric"] == metric:
                totals[point["tags"]["stream"]] += point["value"]
    return totals


def test_record_count_metrics_equal_the_records_received(tmp_path: Path) -> None:
    wider = {"id": {"type": "integer"}, "n": {"type": "number"}, "note": {"type": "string"}}
    data = lines(
        schema("a"),
        schema("b"),
        *[record("a", i) for i in range(5)],
        *[record("b", i) for i in range(3)],
        {"type": "STATE", "value": {"at": 1}},
        schema("a", wider),  # a new sink for stream a, the old one still holding records
        *[record("a", i) for i in range(5, 12)],
        record("b", 1),  # a duplicate key: received, counted, merged away
    )
    done = run_target(tmp_path, {"destination_path": str(tmp_path), "batch_size_rows": 4}, data)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert metric_totals(done.stderr, "record_count") == {"a": 12, "b": 4}
