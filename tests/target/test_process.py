"""The target as users run it, a process reading stdin: its metrics, its run records at the
destination, its lease, its errors and how it ends when interrupted."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

SIMPLE = {"type": "object", "properties": {"id": {"type": "integer"}, "n": {"type": "number"}}}


def lines(*messages: dict) -> bytes:
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


def schema(stream: str, properties: dict | None = None) -> dict:
    body = {"type": "object", "properties": properties} if properties else SIMPLE
    return {"type": "SCHEMA", "stream": stream, "schema": body, "key_properties": ["id"]}


def record(stream: str, record_id: int) -> dict:
    return {"type": "RECORD", "stream": stream, "record": {"id": record_id, "n": record_id}}


def last_line(stderr: bytes) -> str:
    return stderr.decode().rstrip().splitlines()[-1]


def wait_for_line(process: subprocess.Popen[bytes], text: str) -> list[bytes]:
    """Read the process's stderr up to the line containing `text` (the log so far)."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if text.encode() in line:
            return seen
    raise AssertionError(f"the target ended without logging {text!r}: {b''.join(seen)!r}")


def metric_totals(stderr: bytes, metric: str) -> Counter[str]:
    """Sum of a counter metric per stream, from the METRIC lines the SDK logs."""
    totals: Counter[str] = Counter()
    for line in stderr.decode().splitlines():
        if "METRIC: " in line:
            point = json.loads(line.split("METRIC: ", 1)[1])
            if point["metric"] == metric:
                totals[point["tags"]["stream"]] += point["value"]
    return totals


def test_record_count_metrics_equal_the_records_received(tmp_path: Path, target_run: Any) -> None:
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
    done = target_run({"destination_path": str(tmp_path), "batch_size_rows": 4}, data)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert metric_totals(done.stderr, "record_count") == {"a": 12, "b": 4}


@pytest.mark.parametrize("log_level", ["info", "debug"])
def test_an_unwritable_destination_stops_the_target_before_it_reads_input(
    tmp_path: Path, target_process: Any, log_level: str
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the destination's folder would go")
    config = {"destination_path": str(blocker / "output")}
    # Standard input stays open and empty: a target that waited for input would hang.
    process = target_process(config, env={"TARGET_PARQUET_SEMS_LOGLEVEL": log_level})
    assert process.stdin is not None and process.stdout is not None
    assert process.stderr is not None
    try:
        assert process.wait(timeout=60) == 1  # a few lines of log fit in the pipe
        errors = process.stderr.read()
    finally:
        process.kill()
        for pipe in (process.stdin, process.stdout, process.stderr):
            pipe.close()
    line = last_line(errors)
    assert "ERROR" in line
    assert f"Cannot write to the destination {blocker / 'output'}: Not a directory" in line
    assert ("Traceback" in errors.decode()) == (log_level == "debug")


def test_a_second_writer_on_the_destination_is_refused_and_the_first_loses_nothing(
    tmp_path: Path, target_process: Any, target_run: Any
) -> None:
    config = {"destination_path": str(tmp_path / "out"), "batch_size_rows": 5}
    first = target_process(config)
    assert first.stdin is not None and first.stdout is not None
    wait_for_line(first, "writing to")  # the first holds the lease; its input stays open
    first.stdin.write(lines(schema("items"), *[record("items", i) for i in range(12)]))
    first.stdin.flush()

    second = target_run(config, lines(schema("items"), record("items", 99)))
    assert second.returncode == 1
    line = last_line(second.stderr)
    assert "ERROR" in line and "The destination is in use" in line
    assert f"pid {first.pid} on" in line and "table_format: delta" in line
    assert "Traceback" not in second.stderr.decode()

    first.stdin.write(
        lines(*[record("items", i) for i in range(12, 20)], {"type": "STATE", "value": {"n": 20}})
    )
    first.stdin.close()
    assert first.wait(timeout=60) == 0
    assert first.stdout.read() == b'{"n": 20}\n'
    first.stdout.close()
    first.stderr.close()  # type: ignore[union-attr]  # read in part by wait_for_line
    ids = pq.read_table(tmp_path / "out" / "items.parquet").column("id").to_pylist()
    assert ids == list(range(20))
    (manifest,) = [json.loads(p.read_text()) for p in (tmp_path / "out" / "_runs").iterdir()]
    assert manifest["status"] == "complete"  # the refused run began nothing
    assert manifest["streams"]["items"]["records_written"] == 20
    assert manifest["state"] == {"n": 20}
    assert not (tmp_path / "out" / "_lease.json").exists()


def test_a_full_disk_names_the_file_and_keeps_what_was_acknowledged(
    tmp_path: Path, target_run: Any
) -> None:
    """The kernel refuses writes past a file size limit (RLIMIT_FSIZE) as it does on a full
    disk: with EFBIG instead of ENOSPC, through the same paths."""
    limit = 64 * 1024

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    text = {"id": {"type": "integer"}, "text": {"type": "string"}}

    def note(number: int, words: str) -> dict:
        return {"type": "RECORD", "stream": "notes", "record": {"id": number, "text": words}}

    data = lines(  # a first batch that fits, then one that does not
        schema("notes", text),
        *[note(i, "small") for i in range(1000)],
        {"type": "STATE", "value": {"upto": 1000}},
        *[note(i, os.urandom(64).hex()) for i in range(1000, 2000)],
        {"type": "STATE", "value": {"upto": 2000}},
    )
    out = tmp_path / "out"
    config = {"destination_path": str(out), "batch_size_rows": 1000}
    done = target_run(config, data, preexec_fn=limit_file_size)
    assert done.returncode == 1
    line = last_line(done.stderr)
    assert "ERROR" in line
    assert f"Could not write {out / 'notes.parquet'}: File too large. Free space" in line
    assert "Traceback" not in done.stderr.decode()
    assert done.stdout == b'{"upto": 1000}\n'
    assert pq.read_table(out / "notes.parquet").column("id").to_pylist() == list(range(1000))
    (manifest,) = [json.loads(p.read_text()) for p in (out / "_runs").iterdir()]
    assert manifest["status"] == "failed" and "File too large" in manifest["error"]
    assert manifest["state"] == {"upto": 1000}
    assert not list(out.glob(".*.tmp"))  # the half-written temporary file is gone


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_target_writes_what_it_received_and_passes_its_state_on(
    tmp_path: Path, target_process: Any, stop: signal.Signals
) -> None:
    out = tmp_path / "out"
    target = target_process({"destination_path": str(out)})
    assert target.stdin is not None and target.stdout is not None and target.stderr is not None
    wider = {"id": {"type": "integer"}, "n": {"type": "number"}, "note": {"type": "string"}}
    target.stdin.write(
        lines(
            schema("items"),
            *[record("items", i) for i in range(7)],
            {"type": "STATE", "value": {"upto": 7}},
            schema("items", wider),  # logged when read: so everything before it was read
        )
    )
    target.stdin.flush()
    wait_for_line(target, "have changed")  # the input stays open, as a tap's would
    target.send_signal(stop)
    assert target.wait(timeout=60) == 128 + stop
    assert target.stdout.read() == b'{"upto": 7}\n'
    log = target.stderr.read().decode()
    for pipe in (target.stdin, target.stdout, target.stderr):
        pipe.close()
    assert f"Interrupted ({stop.name}): writing the 7 record(s) received so far" in log
    assert "Traceback" not in log
    assert pq.read_table(out / "items.parquet").column("id").to_pylist() == list(range(7))
    (manifest,) = [json.loads(p.read_text()) for p in (out / "_runs").iterdir()]
    assert manifest["status"] == "interrupted" and manifest["state"] == {"upto": 7}
    assert not (out / "_lease.json").exists()
