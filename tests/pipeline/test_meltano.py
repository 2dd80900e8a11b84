"""The main job as users run it: `meltano run tap-sems target-parquet-sems`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from sems_fake_portal import DEMO_STATION_ID, FakePortal
from sems_fake_portal.archive import write_legacy_day_files

STATE_ID = "dev:tap-sems-to-target-parquet-sems"
BERLIN = ZoneInfo("Europe/Berlin")

pytestmark = pytest.mark.slow


def read_power(tmp_path: Path) -> pa.Table:
    dataset = ds.dataset(tmp_path / "output" / "plant_power", format="parquet", partitioning="hive")
    return dataset.to_table()


def distinct_instants(table: pa.Table) -> int:
    return len(
        set(zip(table["station_id"].to_pylist(), table["timestamp"].to_pylist(), strict=True))
    )


def curve_days(portal: FakePortal) -> list[str]:
    return [day for r in portal.requests_for("semsplus.power_curve") for day in r.days]


def bookmarks(state_json: str) -> dict[str, Any]:
    state = json.loads(state_json)["singer_state"]["bookmarks"]
    return {
        stream: {
            p["context"]["station_id"]: p["replication_key_value"] for p in value["partitions"]
        }
        for stream, value in state.items()
        if "partitions" in value
    }


def test_incremental_runs_and_full_refresh(meltano, portal, tmp_path: Path) -> None:
    today = dt.datetime.now(BERLIN).date()
    start = today - dt.timedelta(days=20)
    env = {"TAP_SEMS_API_URL": portal.url, "SEMS_START": start.isoformat()}

    first = meltano("run", "tap-sems", "target-parquet-sems", **env)
    assert first.returncode == 0, first.stderr[-3000:]
    if dt.datetime.now(BERLIN).date() != today:
        pytest.skip("midnight passed in Berlin during the test")
    table = read_power(tmp_path)
    days = table["day"].to_pylist()
    assert sorted(set(days)) == [start + dt.timedelta(days=n) for n in range(21)]
    assert all(days.count(start + dt.timedelta(days=n)) == 288 for n in range(20))
    assert distinct_instants(table) == table.num_rows
    assert table["station_id"].to_pylist()[0] == DEMO_STATION_ID

    state = meltano("state", "get", STATE_ID)
    assert state.returncode == 0, state.stderr[-2000:]
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert bookmarks(state.stdout) == {
        "plant_power": {DEMO_STATION_ID: yesterday},
        "daily_energy": {DEMO_STATION_ID: yesterday},
    }

    portal.clear_requests()
    second = meltano("run", "tap-sems", "target-parquet-sems", **env)
    assert second.returncode == 0, second.stderr[-3000:]
    # Only the lookback window (2 finished days) and today.
    assert curve_days(portal) == [(today - dt.timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    again = read_power(tmp_path)
    assert distinct_instants(again) == again.num_rows
    assert again.num_rows >= table.num_rows

    portal.clear_requests()
    full = meltano("run", "--full-refresh", "tap-sems", "target-parquet-sems", **env)
    assert full.returncode == 0, full.stderr[-3000:]
    asked = curve_days(portal)
    assert asked[0] == start.isoformat()
    assert len(asked) == 21
    refreshed = read_power(tmp_path)
    assert distinct_instants(refreshed) == refreshed.num_rows


def test_archive_migration_then_the_api_keeps_one_row_per_instant(
    meltano, portal, tmp_path: Path
) -> None:
    folder = tmp_path / "json_export"
    station = portal.station(DEMO_STATION_ID)
    first, last = dt.date(2026, 3, 20), dt.date(2026, 3, 31)  # across the spring change
    write_legacy_day_files(folder, station, first, last, variant="response", portal=portal)
    archive = meltano(
        "run",
        "--state-id-suffix",
        "archive",
        "tap-sems",
        "target-parquet-sems",
        SEMS_OUT=str(folder),
        SEMS_STATION_ID=DEMO_STATION_ID,
        SEMS_START=first.isoformat(),
        SEMS_END=last.isoformat(),
        TAP_SEMS_BACKEND="archive",
        TAP_SEMS_TIMEZONE="Europe/Berlin",
    )
    assert archive.returncode == 0, archive.stderr[-3000:]
    migrated = read_power(tmp_path)
    assert migrated.num_rows == 12 * 288 - 12  # one hour fewer on 2026-03-29
    assert {s.split(":")[0] for s in migrated["source"].to_pylist()} == {"archive"}

    # The API then continues, overlapping the last archived days.
    api = meltano(
        "run",
        "tap-sems",
        "target-parquet-sems",
        TAP_SEMS_API_URL=portal.url,
        SEMS_START="2026-03-28",
        SEMS_END="2026-04-03",
    )
    assert api.returncode == 0, api.stderr[-3000:]
    merged = read_power(tmp_path)
    assert merged.num_rows == 15 * 288 - 12  # 2026-03-20 .. 2026-04-03
    assert distinct_instants(merged) == merged.num_rows
    latest = {r["timestamp"]: r for r in merged.to_pylist()}
    archived = {r["timestamp"]: r for r in migrated.to_pylist()}
    overlap = [t for t in archived if t.astimezone(BERLIN).date() >= dt.date(2026, 3, 28)]
    assert len(overlap) == 4 * 288 - 12
    for timestamp in overlap:
        # The API's row replaced the archived one: same instant, same watts.
        assert latest[timestamp]["source"] == "semsplus:statisticsAndPreV2"
        assert latest[timestamp]["pv_power_w"] == pytest.approx(
            archived[timestamp]["pv_power_w"], abs=1.0
        )
