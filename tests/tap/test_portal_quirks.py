"""What public captures show the real portal does since SEMS+, and days not yet over."""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import json
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sems_fake_portal import DEMO_STATION_ID, FakePortal, ZeroStatisticsDay
from sems_fake_portal.archive import write_legacy_day_files

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def statistics_ranges(portal: FakePortal) -> list[tuple[str, str]]:
    return [
        (r.body["startTime"][:10], r.body["endTime"][:10])
        for r in portal.requests_for("semsplus.statistics")
    ]


def test_statistics_windows_stay_inside_one_calendar_year(portal, run_tap, tap_config) -> None:
    run = run_tap(tap_config(portal, start_date="2025-12-29", end_date="2026-01-02"))
    assert run.returncode == 0, run.stderr
    assert statistics_ranges(portal) == [("2025-12-29", "2025-12-31"), ("2026-01-01", "2026-01-02")]
    energy = run.records("daily_energy")
    assert [r["day"] for r in energy] == [
        "2025-12-29",
        "2025-12-30",
        "2025-12-31",
        "2026-01-01",
        "2026-01-02",
    ]
    assert {r["method"] for r in energy} == {"portal_statistics"}
    assert all(r["consumption_kwh"] > 1 for r in energy)


def test_statistics_falling_short_of_the_curve_take_the_curves_figures(
    portal, run_tap, tap_config
) -> None:
    portal.faults.zero_statistics = [ZeroStatisticsDay(DEMO_STATION_ID, dt.date(2026, 6, 3))]
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-04"))
    assert run.returncode == 0, run.stderr
    energy = {r["day"]: r for r in run.records("daily_energy")}
    corrected = energy["2026-06-03"]
    assert corrected["method"] == "integrated_power_curve_statistics_rejected"
    assert corrected["source"] == "semsplus:statisticsAndPreV2"
    points = [r for r in run.records("plant_power") if r["day"] == "2026-06-03"]
    pv_kwh = sum(r["pv_power_w"] for r in points) * 5 / 60 / 1000
    assert corrected["production_kwh"] == pytest.approx(pv_kwh, rel=0.01)
    assert corrected["consumption_kwh"] > 1
    assert {energy[day]["method"] for day in energy if day != "2026-06-03"} == {"portal_statistics"}
    assert (
        f"Station {DEMO_STATION_ID}: the portal's daily statistics fall short of the power "
        "curve on 1 day(s) (2026-06-03: production_kwh 0 kWh, curve" in run.stderr
    )


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    "case",
    [
        ("0.2", 30, "Retry-After 0.2 s); retry 1 of 5 in 0.2 s"),
        (http_date(-5), 30, "Retry-After 0 s); retry 1 of 5 in 0.0 s"),
        ("3600", 0.05, "the portal asks for 3600 s, rate_limit_wait_seconds allows 0.05)"),
    ],
    ids=["seconds", "http-date", "capped"],
)
def test_retry_after_is_honoured_up_to_the_limit(
    portal, run_tap, tap_config, case: tuple[str, float, str]
) -> None:
    retry_after, wait_limit, said = case
    portal.faults.update({"rate_limit_calls": 1, "rate_limit_retry_after": retry_after})
    config = tap_config(
        portal, start_date="2026-06-01", end_date="2026-06-01", rate_limit_wait_seconds=wait_limit
    )
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    assert said in run.stderr
    assert len(run.records("plant_power")) == 288


def test_portal_side_errors_are_retried(portal, run_tap, tap_config) -> None:
    portal.faults.portal_error_calls = 2
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-01"))
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("portal-side error (code B0001: system execution error)") == 2
    assert len(run.records("plant_power")) == 288


def test_c0607_gets_one_fresh_login(portal, run_tap, tap_config) -> None:
    portal.faults.update({"token_expiry_after_calls": 2, "expiry_code": "C0607"})
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-10"))
    assert run.returncode == 0, run.stderr
    assert "session expired (C0607), logging in again" in run.stderr
    assert len(portal.requests_for("semsplus.login")) == 2


def test_today_is_marked_as_not_over(portal, run_tap, tap_config) -> None:
    started = dt.datetime.now(UTC)
    today = started.astimezone(BERLIN).date()
    yesterday = today - dt.timedelta(days=1)
    run = run_tap(tap_config(portal, start_date=yesterday.isoformat()))
    finished = dt.datetime.now(UTC)
    assert run.returncode == 0, run.stderr
    if finished.astimezone(BERLIN).date() != today:
        pytest.skip("midnight passed in Berlin during the test")
    power = run.records("plant_power")
    complete = {
        day: {r["complete"] for r in group}
        for day, group in itertools.groupby(power, key=lambda r: r["day"])
    }
    assert complete == {yesterday.isoformat(): {True}, today.isoformat(): {False}}
    energy = {r["day"]: r for r in run.records("daily_energy")}
    assert energy[yesterday.isoformat()]["complete"] is True
    end_of_yesterday = dt.datetime.combine(today, dt.time(0), tzinfo=BERLIN).astimezone(UTC)
    assert dt.datetime.fromisoformat(energy[yesterday.isoformat()]["read_through"]) == (
        end_of_yesterday
    )
    assert energy[today.isoformat()]["complete"] is False
    read_through = dt.datetime.fromisoformat(energy[today.isoformat()]["read_through"])
    assert started <= read_through <= finished


def test_archive_days_saved_before_they_were_over_are_incomplete(
    portal, run_tap, tmp_path: Path
) -> None:
    folder = tmp_path / "json_export"
    first, last = dt.date(2026, 6, 1), dt.date(2026, 6, 2)
    write_legacy_day_files(folder, portal.station(DEMO_STATION_ID), first, last, portal=portal)
    # The old exporter saved 2 June at noon, and 1 June the next morning.
    saved = {
        "raw_v2_2026-06-01.json": dt.datetime(2026, 6, 2, 7, tzinfo=BERLIN),
        "raw_v2_2026-06-02.json": dt.datetime(2026, 6, 2, 12, tzinfo=BERLIN),
    }
    for name, moment in saved.items():
        os.utime(folder / name, (moment.timestamp(), moment.timestamp()))
    config = {
        "backend": "archive",
        "archive_dir": str(folder),
        "station_ids": [DEMO_STATION_ID],
        "timezone": "Europe/Berlin",
        "start_date": first.isoformat(),
        "end_date": last.isoformat(),
    }
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    energy = {r["day"]: r for r in run.records("daily_energy")}
    assert energy["2026-06-01"]["complete"] is True
    assert energy["2026-06-02"]["complete"] is False
    assert energy["2026-06-02"]["read_through"] == "2026-06-02T10:00:00+00:00"
    assert {r["complete"] for r in run.records("plant_power") if r["day"] == "2026-06-02"} == {
        False
    }
    # Both days are over now, so both are bookmarked: a partial saved day is named, not re-read.
    assert run.bookmarks("plant_power") == {DEMO_STATION_ID: "2026-06-02"}
    assert json.dumps(run.final_state).count("pending_days") == 0
