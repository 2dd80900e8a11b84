"""A day the portal cannot give, through Meltano: the failed run keeps the state of
everything good, and the next run asks only for that day, the lookback and today."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.dataset as ds
import pytest

from sems_fake_portal import DEMO_STATION_ID, MalformedDay

STATE_ID = "dev:tap-sems-to-target-parquet-sems"
BERLIN = ZoneInfo("Europe/Berlin")

pytestmark = pytest.mark.slow


def stored_state(meltano: Any) -> dict[str, Any]:
    state = meltano("state", "get", STATE_ID)
    assert state.returncode == 0, state.stderr[-2000:]
    return json.loads(state.stdout)["singer_state"]["bookmarks"]


def station_partition(bookmarks: dict[str, Any], stream: str) -> dict[str, Any]:
    (partition,) = bookmarks[stream]["partitions"]
    assert partition["context"] == {"station_id": DEMO_STATION_ID}
    return partition


def power_days(tmp_path: Path) -> dict[str, int]:
    table = ds.dataset(tmp_path / "output" / "plant_power", partitioning="hive").to_table()
    days: dict[str, int] = {}
    for day in table["day"].to_pylist():
        days[day.isoformat()] = days.get(day.isoformat(), 0) + 1
    return days


def test_a_set_aside_day_through_two_meltano_runs(meltano, portal, tmp_path: Path) -> None:
    today = dt.datetime.now(BERLIN).date()
    start, bad = today - dt.timedelta(days=8), today - dt.timedelta(days=5)
    portal.faults.malformed_payloads = [MalformedDay(DEMO_STATION_ID, bad, "missing_time")]
    env = {"TAP_SEMS_API_URL": portal.url, "SEMS_START": start.isoformat()}

    failed = meltano("run", "tap-sems", "target-parquet-sems", **env)
    if dt.datetime.now(BERLIN).date() != today:
        pytest.skip("midnight passed in Berlin during the test")
    assert failed.returncode != 0
    # The tap's last line, at error level, is what Meltano shows above "Extractor failed".
    tap_lines = [line for line in failed.stderr.splitlines() if "] tap-sems " in line]
    assert "[error" in tap_lines[-1] and "finished with days set aside" in tap_lines[-1]
    assert f"plant_power station {DEMO_STATION_ID} {bad}" in tap_lines[-1]
    assert "Extractor failed" in failed.stderr
    # Meltano kept the state the target passed on after writing everything else.
    bookmarks = stored_state(meltano)
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    for stream in ("plant_power", "daily_energy"):
        partition = station_partition(bookmarks, stream)
        assert partition["replication_key_value"] == yesterday
        assert list(partition["pending_days"]) == [bad.isoformat()]
        assert partition["pending_days"][bad.isoformat()]["attempts"] == 1
    written = power_days(tmp_path)
    assert bad.isoformat() not in written
    assert len(written) == 8  # the other finished days and today

    portal.reset(sessions=True)
    again = meltano("run", "tap-sems", "target-parquet-sems", **env)
    assert again.returncode == 0, again.stderr[-3000:]
    asked = [r.days for r in portal.requests_for("semsplus.power_curve")]
    recent = [(today - dt.timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert asked == [[bad.isoformat()], recent]
    statistics = [
        (r.body["startTime"][:10], r.body["endTime"][:10])
        for r in portal.requests_for("semsplus.statistics")
    ]
    assert statistics == [(bad.isoformat(), bad.isoformat()), (recent[0], recent[-1])]
    assert power_days(tmp_path)[bad.isoformat()] == 288
    bookmarks = stored_state(meltano)
    for stream in ("plant_power", "daily_energy"):
        partition = station_partition(bookmarks, stream)
        assert "pending_days" not in partition
        assert partition["replication_key_value"] == yesterday


def test_a_day_set_aside_for_good_is_read_again_with_retry_days(
    meltano, portal, tmp_path: Path
) -> None:
    today = dt.datetime.now(BERLIN).date()
    start, bad = today - dt.timedelta(days=4), today - dt.timedelta(days=3)
    portal.faults.malformed_payloads = [MalformedDay(DEMO_STATION_ID, bad)]
    env = {
        "TAP_SEMS_API_URL": portal.url,
        "SEMS_START": start.isoformat(),
        "TAP_SEMS_MAX_DAY_ATTEMPTS": "1",
    }
    failed = meltano("run", "tap-sems", "target-parquet-sems", **env)
    assert failed.returncode != 0
    assert f"{bad} set aside (attempt 1 of 1)" in failed.stderr

    # Set aside for good: not asked again, named in a warning, and the run succeeds.
    portal.clear_requests()
    quiet = meltano("run", "tap-sems", "target-parquet-sems", **env)
    if dt.datetime.now(BERLIN).date() != today:
        pytest.skip("midnight passed in Berlin during the test")
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert bad.isoformat() not in [
        d for r in portal.requests_for("semsplus.power_curve") for d in r.days
    ]
    assert "Days set aside for good" in quiet.stderr

    portal.reset(sessions=True)
    retried = meltano(
        "run",
        "tap-sems",
        "target-parquet-sems",
        **env,
        TAP_SEMS_RETRY_DAYS=json.dumps([bad.isoformat()]),
    )
    assert retried.returncode == 0, retried.stderr[-3000:]
    # The retried day and the lookback are next to each other: one request holds them.
    asked = [day for r in portal.requests_for("semsplus.power_curve") for day in r.days]
    assert asked == [(today - dt.timedelta(days=n)).isoformat() for n in (3, 2, 1, 0)]
    assert power_days(tmp_path)[bad.isoformat()] == 288
    assert "pending_days" not in station_partition(stored_state(meltano), "plant_power")
