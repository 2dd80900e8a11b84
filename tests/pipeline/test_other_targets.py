"""tap-sems into other Singer targets, and through meltano-map-transform, with Meltano."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sems_fake_portal import DEMO_STATION_ID

pytestmark = pytest.mark.slow

DAYS = {"SEMS_START": "2026-06-01", "SEMS_END": "2026-06-02"}


def read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_tap_into_target_csv(meltano, portal, served_pv_watts, tmp_path: Path) -> None:
    run = meltano("run", "tap-sems", "target-csv", TAP_SEMS_API_URL=portal.url, **DAYS)
    assert run.returncode == 0, run.stderr[-3000:]
    folder = tmp_path / "csv"
    assert sorted(p.name for p in folder.iterdir()) == [
        "daily_energy.csv",
        "plant_power.csv",
        "stations.csv",
    ]
    rows = read_csv(folder / "plant_power.csv")
    assert len(rows) == 2 * 288
    assert len({(r["station_id"], r["timestamp"]) for r in rows}) == len(rows)
    noon = next(r for r in rows if r["time_local"] == "2026-06-01 12:00:00")
    assert float(noon["pv_power_w"]) == pytest.approx(
        served_pv_watts(portal, "2026-06-01 12:00:00")
    )
    assert dt.datetime.fromisoformat(noon["timestamp"]) == dt.datetime(
        2026, 6, 1, 10, tzinfo=dt.UTC
    )
    energy = read_csv(folder / "daily_energy.csv")
    assert [r["day"] for r in energy] == ["2026-06-01", "2026-06-02"]
    assert all(float(r["production_kwh"]) > 0 for r in energy)


def test_tap_into_target_postgres(meltano, portal, postgres, served_pv_watts) -> None:
    env = {
        "TAP_SEMS_API_URL": portal.url,
        "TARGET_POSTGRES_SQLALCHEMY_URL": postgres.sqlalchemy_url,
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": "sems_test",
        **DAYS,
    }
    first = meltano("run", "tap-sems", "target-postgres", **env)
    assert first.returncode == 0, first.stderr[-3000:]
    # The same days again (a full refresh): the target upserts on the key, no duplicates.
    again = meltano("run", "--full-refresh", "tap-sems", "target-postgres", **env)
    assert again.returncode == 0, again.stderr[-3000:]
    with psycopg.connect(postgres.conninfo) as connection:
        count, instants, days = connection.execute(
            "SELECT count(*), count(DISTINCT (station_id, timestamp)), count(DISTINCT day) "
            "FROM sems_test.plant_power"
        ).fetchone()
        assert (count, instants, days) == (2 * 288, 2 * 288, 2)
        types = dict(
            connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'sems_test' AND table_name = 'plant_power'"
            ).fetchall()
        )
        # target-postgres 0.8 maps date-time to `timestamp without time zone`; the tap's
        # timestamps are UTC, so the column holds UTC wall time.
        assert types["timestamp"] == "timestamp without time zone"
        assert types["day"] == "date"
        assert types["pv_power_w"] in ("numeric", "double precision")
        noon = connection.execute(
            "SELECT pv_power_w, timestamp FROM sems_test.plant_power "
            "WHERE time_local = '2026-06-01 12:00:00'"
        ).fetchone()
        assert float(noon[0]) == pytest.approx(served_pv_watts(portal, "2026-06-01 12:00:00"))
        assert noon[1] == dt.datetime(2026, 6, 1, 10)
        (stations,) = connection.execute(
            "SELECT count(*) FROM sems_test.stations WHERE station_id = %s", (DEMO_STATION_ID,)
        ).fetchone()
        assert stations == 1


def test_meltano_map_transform_on_the_tap_output(meltano, portal, tmp_path: Path) -> None:
    run = meltano(
        "run", "tap-sems", "plant-power-kw", "without-extra", "target-csv",
        TAP_SEMS_API_URL=portal.url, SEMS_START="2026-06-01", SEMS_END="2026-06-01",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    rows = read_csv(tmp_path / "csv" / "plant_power.csv")
    assert len(rows) == 288
    assert "extra" not in rows[0]
    for row in rows:
        for name in ("pv", "load", "grid", "battery"):
            watts = row[f"{name}_power_w"]
            assert float(row[f"{name}_power_kw"]) == pytest.approx(float(watts) / 1000)
    stations = read_csv(tmp_path / "csv" / "stations.csv")
    assert "extra" not in stations[0]
    assert json.loads(json.dumps(stations[0]))["station_id"] == DEMO_STATION_ID
