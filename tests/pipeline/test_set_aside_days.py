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
    assert "Extractor failed" in failed.stderr
    assert f"plant_power station {DEMO_STATION_ID} {bad}" in failed.stderr
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
