"""Through `meltano run`: a first backfill interrupted with Ctrl-C resumes where it was; a
destination the target cannot write stops the run before the portal is asked for data."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import typing as t
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.dataset as ds
import pytest

from sems_fake_portal import DEMO_STATION_ID, FakePortal

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).parent / "meltano")
STATE_ID = "dev:tap-sems-to-target-parquet-sems"
BERLIN = ZoneInfo("Europe/Berlin")
LOOKBACK_DAYS = 2  # the tap's default
BACKFILL_DAYS = 150  # 22 weeks: at a request a second, ^C lands well before the end
METRIC = re.compile(r"\] (\S+)\s+METRIC\s+metric_name=record_count metric_value=(\d+)")


def curve_days(portal: FakePortal) -> list[dt.date]:
    requests = portal.requests_for("semsplus.power_curve")
    return [dt.date.fromisoformat(day) for r in requests for day in r.days]


def points(day: dt.date) -> int:
    """5-minute points in a Berlin day: 288, or 276 and 300 when the clocks change."""
    midnights = [dt.datetime.combine(d, dt.time(), BERLIN) for d in (day, day + dt.timedelta(1))]
    start, end = (moment.astimezone(dt.UTC) for moment in midnights)
    return int((end - start).total_seconds()) // 300


def record_counts(log: str) -> dict[str, list[int]]:
    """The record_count metrics Meltano shows, per plugin (one per stream; Meltano's
    structured log lines do not name the stream)."""
    counts: dict[str, list[int]] = {}
    for plugin, value in METRIC.findall(log):
        counts.setdefault(plugin, []).append(int(value))
    return {plugin: sorted(values) for plugin, values in counts.items()}


def test_an_interrupted_first_backfill_resumes_without_fetching_again(
    meltano_env: dict[str, str], meltano, portal: FakePortal, tmp_path: Path
) -> None:
    today = dt.datetime.now(BERLIN).date()
    start = today - dt.timedelta(days=BACKFILL_DAYS)
    env = meltano_env | {"TAP_SEMS_API_URL": portal.url, "SEMS_START": start.isoformat()}
    polite = env | {"TAP_SEMS_MAX_REQUESTS_PER_SECOND": "1"}  # the default: a week a second
    first = subprocess.Popen(
        [MELTANO, "run", "tap-sems", "target-parquet-sems"],
        cwd=ROOT,
        env=polite,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert first.stderr is not None
    said: queue.Queue[str] = queue.Queue()

    def read_log(stream: t.IO[str]) -> None:
        for line in stream:
            said.put(line)
        said.put("")  # the run ended

    threading.Thread(target=read_log, args=(first.stderr,), daemon=True).start()
    # The target passes STATE on every state_flush_seconds (10 s) of a slow backfill, and
    # Meltano keeps it; Ctrl-C right after the first one it kept.
    log = [said.get(timeout=300)]
    while "Incremental state has been updated" not in log[-1]:
        log.append(said.get(timeout=300))
        assert log[-1], "the run ended before Meltano kept a state: " + "".join(log[-30:])
    os.killpg(first.pid, signal.SIGINT)  # what Ctrl-C does: the whole group gets it
    assert first.wait(timeout=120) != 0
    fetched_before = curve_days(portal)
    assert fetched_before[-1] < today - dt.timedelta(days=10), "the backfill ended before ^C"

    state = meltano("state", "get", STATE_ID)
    assert state.returncode == 0, state.stderr[-2000:]
    partitions = json.loads(state.stdout)["singer_state"]["bookmarks"]["plant_power"]["partitions"]
    bookmark = dt.date.fromisoformat(partitions[0]["replication_key_value"])
    assert start + dt.timedelta(days=6) <= bookmark < today - dt.timedelta(days=10)

    portal.clear_requests()
    second = meltano("run", "tap-sems", "target-parquet-sems", **env)
    assert second.returncode == 0, second.stderr[-3000:]
    fetched_again = curve_days(portal)
    # Only the last LOOKBACK_DAYS days up to the bookmark again, as any later run does:
    # the weeks acknowledged before Ctrl-C are not asked for again.
    assert min(fetched_again) == bookmark - dt.timedelta(days=LOOKBACK_DAYS - 1)
    assert max(fetched_again) == today

    power = ds.dataset(tmp_path / "output" / "plant_power", partitioning="hive").to_table()
    if dt.datetime.now(BERLIN).date() != today:
        pytest.skip("midnight passed in Berlin during the test")
    instants = set(
        zip(power["station_id"].to_pylist(), power["timestamp"].to_pylist(), strict=True)
    )
    assert len(instants) == power.num_rows  # no duplicates
    per_day = Counter(power["day"].to_pylist())
    days = [start + dt.timedelta(days=n) for n in range(BACKFILL_DAYS)]
    assert {day: per_day[day] for day in days} == {day: points(day) for day in days}  # no gaps
    assert set(power["station_id"].to_pylist()) == {DEMO_STATION_ID}

    # What Meltano shows: the target counted every record the tap sent, stream by stream.
    counts = record_counts(second.stderr)
    assert counts["target-parquet-sems"] == counts["tap-sems"]
    assert sum(counts["target-parquet-sems"]) > 2000
    runs = [json.loads(p.read_text()) for p in sorted((tmp_path / "output" / "_runs").iterdir())]
    assert [run["status"] for run in runs] == ["interrupted", "complete"]


def test_an_unwritable_destination_stops_the_run_before_the_portal_is_asked_for_data(
    meltano, portal: FakePortal, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the destination's folder would go")
    run = meltano(
        "run",
        "tap-sems",
        "target-parquet-sems",
        TAP_SEMS_API_URL=portal.url,
        SEMS_START=(dt.datetime.now(BERLIN).date() - dt.timedelta(days=30)).isoformat(),
        TAP_SEMS_MAX_REQUESTS_PER_SECOND="0.2",  # its first data request: >= 10 s in
        TARGET_PARQUET_SEMS_DESTINATION_PATH=str(blocker / "output"),
    )
    assert run.returncode == 1
    target_lines = [line for line in run.stderr.splitlines() if "target-parquet-sems" in line]
    assert "[error" in target_lines[-1]
    assert (
        f"Cannot write to the destination {blocker / 'output'}: Not a directory"
        in (target_lines[-1])
    )
    assert "Traceback" not in run.stderr
    assert "Loader failed" in run.stderr.split("Cannot write to the destination")[1]
    # At most the login and the station list: Meltano stopped the tap before any day's data.
    asked = {r.endpoint for r in portal.requests}
    assert asked <= {"semsplus.login", "semsplus.station_list", "semsplus.station_detail"}
