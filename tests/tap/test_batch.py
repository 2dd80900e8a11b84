"""Batch mode: no STATE may name a day before the BATCH message holding its records was sent.

In batch mode the SDK writes records to files and announces each file in a BATCH message;
a STATE naming days still in an unsent file would lose them if the run stopped in between.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, Account, FakePortal, Station, station_uuid

STATIONS = [Station(id=station_uuid(f"batch-{i}"), name=f"Batch {i}") for i in range(2)]


def batch_records(message: dict) -> list[dict]:
    records = []
    for url in message["manifest"]:
        with gzip.open(Path(urlparse(url).path), "rt") as lines:
            records += [json.loads(line) for line in lines]
    return records


def test_state_never_runs_ahead_of_the_batches(run_tap, tap_config, tmp_path: Path) -> None:
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, STATIONS)]) as portal:
        config = tap_config(
            portal,
            start_date="2026-06-01",
            end_date="2026-06-20",
            batch_config={
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": f"file://{tmp_path / 'batches'}", "prefix": "sems-"},
                "batch_size": 1000,
            },
        )
        (tmp_path / "batches").mkdir()
        run = run_tap(config)
    assert run.returncode == 0, run.stderr
    assert not run.records("plant_power")  # records travel in files only

    sent: dict[tuple[str, str], set[str]] = defaultdict(set)  # (stream, station) -> days
    checked = 0
    for message in run.messages:
        if message["type"] == "BATCH" and message["stream"] != "stations":
            for record in batch_records(message):
                sent[(message["stream"], record["station_id"])].add(record["day"])
        elif message["type"] == "STATE":
            for stream in ("plant_power", "daily_energy"):
                bookmarks = run.bookmarks(stream, message["value"])
                for station_id, bookmark in bookmarks.items():
                    first = dt.date(2026, 6, 1)
                    named = {
                        (first + dt.timedelta(days=n)).isoformat()
                        for n in range((dt.date.fromisoformat(bookmark) - first).days + 1)
                    }
                    missing = named - sent[(stream, station_id)]
                    assert not missing, (stream, station_id, bookmark, sorted(missing))
                    checked += 1
    # Every day arrived, and the final state names the last one.
    for station in STATIONS:
        assert len(sent[("plant_power", station.id)]) == 20
        assert len(sent[("daily_energy", station.id)]) == 20
        assert run.bookmarks("plant_power")[station.id] == "2026-06-20"
    batches = [m for m in run.messages if m["type"] == "BATCH" and m["stream"] == "plant_power"]
    assert len(batches) >= 10  # 11,520 records in files of 1,000: STATE had many chances
    assert checked >= len(batches)
