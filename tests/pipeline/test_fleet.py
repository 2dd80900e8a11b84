"""Installers' fleets: 200 stations x 30 days, in two station groups with their own state."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import duckdb
import pytest

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, Account, FakePortal, make_fleet

pytestmark = pytest.mark.slow

FIRST, LAST = "2026-06-01", "2026-06-30"


def test_two_hundred_stations_in_two_groups(meltano, tmp_path: Path) -> None:
    # Every station names its zone here; docs/fleets.md covers the ones that do not.
    fleet = [dataclasses.replace(s, exposes_timezone=True) for s in make_fleet(200)]
    groups = {"group-a": fleet[:100], "group-b": fleet[100:]}
    started = time.monotonic()
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, fleet)]) as portal:
        for suffix, stations in groups.items():
            run = meltano(
                "run", "--state-id-suffix", suffix, "tap-sems", "target-parquet-sems",
                TAP_SEMS_API_URL=portal.url,
                TAP_SEMS_STATION_IDS=json.dumps([s.id for s in stations]),
                TAP_SEMS_INTERVAL_MINUTES="60",
                SEMS_START=FIRST, SEMS_END=LAST,
            )  # fmt: skip
            assert run.returncode == 0, run.stderr[-3000:]
        served = len(portal.requests)
    duration = time.monotonic() - started
    print(f"200 stations x 30 days at 60 minutes: {duration:.1f} s, {served} requests served")

    listed = meltano("state", "list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    state_ids = set(listed.stdout.split())
    for suffix, stations in groups.items():
        state_id = f"dev:tap-sems-to-target-parquet-sems:{suffix}"
        assert state_id in state_ids
        stored = meltano("state", "get", state_id)
        assert stored.returncode == 0, stored.stderr[-2000:]
        state = json.loads(stored.stdout)["singer_state"]
        partitions = state["bookmarks"]["plant_power"]["partitions"]
        assert {p["context"]["station_id"]: p["replication_key_value"] for p in partitions} == {
            s.id: LAST for s in stations
        }

    rows = duckdb.sql(
        f"""
        SELECT station_id, count(*) AS n, count(DISTINCT timestamp) AS instants,
               min(day) AS first, max(day) AS last
        FROM read_parquet('{tmp_path}/output/plant_power/**/*.parquet', hive_partitioning = true)
        GROUP BY station_id
        """
    ).fetchall()
    assert len(rows) == 200
    by_id = {s.id: s for s in fleet}
    assert {station for station, *_ in rows} == set(by_id)
    for station, count, instants, first, last in rows:
        assert count == instants, station  # one row per instant
        if by_id[station].has_meter or by_id[station].has_battery:
            assert count == 30 * 24
        else:  # nothing measured at night: those hours are not records
            assert 30 * 8 < count < 30 * 24
        assert (str(first), str(last)) == (FIRST, LAST)
