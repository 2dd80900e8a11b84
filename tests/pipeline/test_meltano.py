"""The main job as users run it: `meltano run tap-sems target-parquet-sems`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
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


def skip_if_the_day_changed(today: dt.date) -> None:
    """The runs follow the real clock: after midnight in Berlin 'today' means another day."""
    if dt.datetime.now(BERLIN).date() != today:
        pytest.skip("midnight passed in Berlin during the test")


def test_incremental_runs_and_full_refresh(meltano, portal, tmp_path: Path) -> None:
    today = dt.datetime.now(BERLIN).date()
    start = today - dt.timedelta(days=20)
    all_days = [start + dt.timedelta(days=n) for n in range(21)]
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    env = {"TAP_SEMS_API_URL": portal.url, "SEMS_START": start.isoformat()}

    first = meltano("run", "tap-sems", "target-parquet-sems", **env)
    skip_if_the_day_changed(today)
    assert first.returncode == 0, first.stderr[-3000:]
    assert curve_days(portal)[0] == start.isoformat()
    table = read_power(tmp_path)
    days = table["day"].to_pylist()
    assert sorted(set(days)) == all_days
    assert all(days.count(day) == 288 for day in all_days[:-1])  # today is still filling
    assert distinct_instants(table) == table.num_rows
    assert set(table["station_id"].to_pylist()) == {DEMO_STATION_ID}

    state = meltano("state", "get", STATE_ID)
    assert state.returncode == 0, state.stderr[-2000:]
    expected_bookmarks = {
        "plant_power": {DEMO_STATION_ID: yesterday},
        "daily_energy": {DEMO_STATION_ID: yesterday},
    }
    assert bookmarks(state.stdout) == expected_bookmarks

    portal.clear_requests()
    second = meltano("run", "tap-sems", "target-parquet-sems", **env)
    skip_if_the_day_changed(today)
    assert second.returncode == 0, second.stderr[-3000:]
    # Only the lookback window (2 finished days) and today.
    assert curve_days(portal) == [(today - dt.timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    again = read_power(tmp_path)
    assert distinct_instants(again) == again.num_rows
    assert again.num_rows >= table.num_rows  # today's curve grows with the clock

    # A full refresh ignores the stored state: every day from start_date is asked again,
    # and rewriting them leaves one row per instant and the same finished days.
    portal.clear_requests()
    full = meltano("run", "--full-refresh", "tap-sems", "target-parquet-sems", **env)
    skip_if_the_day_changed(today)
    assert full.returncode == 0, full.stderr[-3000:]
    assert curve_days(portal) == [day.isoformat() for day in all_days]
    refreshed = read_power(tmp_path)
    assert distinct_instants(refreshed) == refreshed.num_rows
    finished = refreshed.filter(pc.less(refreshed["day"], pa.scalar(today)))
    assert finished.num_rows == 20 * 288
    state = meltano("state", "get", STATE_ID)
    assert state.returncode == 0, state.stderr[-2000:]
    assert bookmarks(state.stdout) == expected_bookmarks


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


def test_a_european_date_reaches_the_tap_as_written(meltano, portal, tmp_path: Path) -> None:
    """Meltano passes SEMS_START on untouched (its date_iso8601 kind would make 01.03.2026
    into 3 January); the tap then refuses it by name and nothing is written."""
    env = {"TAP_SEMS_API_URL": portal.url, "SEMS_START": "01.03.2026"}
    dumped = meltano("invoke", "--dump=config", "tap-sems", **env)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert json.loads(dumped.stdout)["start_date"] == "01.03.2026"

    run = meltano("run", "tap-sems", "target-parquet-sems", **env)
    assert run.returncode != 0
    assert "01.03.2026" in run.stderr
    assert not (tmp_path / "output" / "plant_power").exists()
    assert portal.requests_for("semsplus.power_curve") == []


def test_config_test_logs_in_to_the_portal(meltano, portal) -> None:
    env = {"TAP_SEMS_API_URL": portal.url, "SEMS_START": "2026-06-01", "SEMS_END": "2026-06-01"}
    valid = meltano("config", "test", "tap-sems", **env)
    assert valid.returncode == 0, valid.stderr[-3000:]
    assert "Plugin configuration is valid" in valid.stdout + valid.stderr
    assert portal.requests_for("semsplus.login")

    wrong = meltano("config", "test", "tap-sems", **env, SEMS_PASSWORD="not-the-password")
    assert wrong.returncode != 0
    assert "Plugin configuration is invalid" in wrong.stdout + wrong.stderr
    assert "not-the-password" not in wrong.stdout + wrong.stderr


def test_the_daily_job_and_the_battery_sweep_use_the_environment_destination(
    meltano, portal, tmp_path: Path
) -> None:
    """In prod both the loader and sems-battery's commands take SEMS_DESTINATION."""
    dataset = tmp_path / "prod-dataset"
    env: dict[str, str | None] = {
        "TAP_SEMS_API_URL": portal.url,
        "SEMS_START": "2026-06-01",
        "SEMS_END": "2026-06-07",
        "SEMS_DESTINATION": str(dataset),
        "TARGET_PARQUET_SEMS_DESTINATION_PATH": None,
        "SEMS_BATTERY_DATA": None,
    }
    schedules = meltano("schedule", "list", "--format=json", **env)
    assert schedules.returncode == 0, schedules.stderr[-2000:]
    (daily,) = json.loads(schedules.stdout)["schedules"]["job"]
    assert (daily["job"]["name"], daily["cron_interval"]) == ("sems-daily", "30 2 * * *")
    assert daily["job"]["tasks"] == ["tap-sems target-parquet-sems"]

    job = meltano("--environment", "prod", "run", "sems-daily", **env)
    assert job.returncode == 0, job.stderr[-3000:]
    power = ds.dataset(dataset / "plant_power", format="parquet", partitioning="hive").to_table()
    assert power.num_rows == 7 * 288
    assert not (tmp_path / "output").exists()
    # The job keeps the state `meltano run tap-sems target-parquet-sems` keeps.
    state = meltano("state", "get", "prod:tap-sems-to-target-parquet-sems", **env)
    assert state.returncode == 0, state.stderr[-2000:]
    assert bookmarks(state.stdout)["plant_power"] == {DEMO_STATION_ID: "2026-06-07"}

    sweep = meltano("--environment", "prod", "invoke", "sems-battery:sweep", "--json", "-", **env)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    sizes = [row["capacity_kwh"] for row in json.loads(sweep.stdout)]
    assert sizes == [0, 2.5, 5, 7.5, 10, 15, 20]
    assert "7.0 days at 5 min" in sweep.stderr  # the week just written to SEMS_DESTINATION
