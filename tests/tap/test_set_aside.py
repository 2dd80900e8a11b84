"""One bad day never stops the rest: days that cannot be read are set aside, kept in the
state as pending, read again on later runs, and given up after a bounded number of attempts.

Three stations share one portal for the module; each test sets its own faults.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    Account,
    FakePortal,
    MalformedDay,
    Station,
    StationFault,
    station_uuid,
)
from sems_fake_portal.archive import write_legacy_day_files

STATIONS = [Station(id=station_uuid(f"isolated-{i}"), name=f"Roof {i}") for i in range(3)]
BAD, GOOD, OTHER = (station.id for station in STATIONS)
JUNE = {"start_date": "2026-06-01", "end_date": "2026-06-10"}
BAD_DAY = dt.date(2026, 6, 5)


@pytest.fixture(scope="module")
def shared_portal() -> Iterator[FakePortal]:
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, STATIONS)]) as running:
        yield running


@pytest.fixture
def portal(shared_portal: FakePortal) -> Iterator[FakePortal]:
    shared_portal.reset(sessions=True)
    yield shared_portal
    shared_portal.reset(sessions=True)


def days_by_station(records: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    found: dict[str, Counter[str]] = {}
    for record in records:
        found.setdefault(record["station_id"], Counter())[record["day"]] += 1
    return found


def partition(state: dict[str, Any], stream: str, station_id: str) -> dict[str, Any]:
    partitions = state["bookmarks"][stream]["partitions"]
    return next(p for p in partitions if p["context"]["station_id"] == station_id)


def pending(state: dict[str, Any], stream: str, station_id: str) -> dict[str, int]:
    """Pending day (or range) -> attempts."""
    entries = partition(state, stream, station_id).get("pending_days", {})
    return {key: entry["attempts"] for key, entry in entries.items()}


def asked_days(portal: FakePortal, endpoint: str, station_id: str) -> list[list[str]]:
    return [r.days for r in portal.requests_for(endpoint) if r.station_id == station_id]


def asked_ranges(
    portal: FakePortal, station_id: str, endpoint: str = "semsplus.statistics"
) -> list[tuple[str, str]]:
    """The days SEMS+ requests asked for, answered or not."""
    return [
        (r.body["startTime"][:10], r.body["endTime"][:10])
        for r in portal.requests_for(endpoint)
        if r.station_id == station_id
    ]


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def test_a_malformed_day_is_set_aside_and_read_on_the_next_run(portal, run_tap, tap_config):
    portal.faults.malformed_payloads = [MalformedDay(BAD, BAD_DAY, "missing_time")]
    run = run_tap(tap_config(portal, **JUNE))

    # Everything else is complete: the other stations and the bad station's other days.
    assert run.returncode == 3
    power = days_by_station(run.records("plant_power"))
    june = [f"2026-06-{d:02d}" for d in range(1, 11)]
    assert power[GOOD] == power[OTHER] == dict.fromkeys(june, 288)
    assert sorted(power[BAD]) == [day for day in june if day != "2026-06-05"]
    assert all(count == 288 for count in power[BAD].values())
    energy = days_by_station(run.records("daily_energy"))
    assert sorted(energy[BAD]) == sorted(power[BAD])
    assert sorted(energy[GOOD]) == june
    assert len(run.records("stations")) == 3
    # Named with station, day and problem; the last line says what happened and what to do.
    assert (
        f"plant_power station {BAD}: 2026-06-05 set aside (attempt 1 of 3): malformed answer: "
        "series 'pSystem' point" in run.stderr
    )
    assert last_line(run.stderr).endswith(
        "set fail_on_set_aside_days to false to end such runs with 0."
    )
    assert f"plant_power station {BAD} 2026-06-05" in last_line(run.stderr)
    assert "Traceback" not in run.stderr
    # The bookmark moved past the pending day, which the state keeps next to it.
    state = run.final_state
    for stream in ("plant_power", "daily_energy"):
        assert run.bookmarks(stream) == dict.fromkeys((BAD, GOOD, OTHER), "2026-06-10")
        assert pending(state, stream, BAD) == {"2026-06-05": 1}
        assert (
            "malformed answer"
            in partition(state, stream, BAD)["pending_days"]["2026-06-05"]["problem"]
        )
        assert "pending_days" not in partition(state, stream, GOOD)

    # The fault is gone: the next run reads the pending day and the lookback, nothing else.
    portal.reset(sessions=True)
    again = run_tap(tap_config(portal, **JUNE), state=state)
    assert again.returncode == 0, again.stderr
    assert asked_days(portal, "semsplus.power_curve", BAD) == [
        ["2026-06-05"],
        ["2026-06-09", "2026-06-10"],
    ]
    assert asked_days(portal, "semsplus.power_curve", GOOD) == [["2026-06-09", "2026-06-10"]]
    assert asked_ranges(portal, BAD) == [
        ("2026-06-05", "2026-06-05"),
        ("2026-06-09", "2026-06-10"),
    ]
    delivered = days_by_station(again.records("plant_power"))[BAD]
    assert delivered == {"2026-06-05": 288, "2026-06-09": 288, "2026-06-10": 288}
    assert "2026-06-05" in days_by_station(again.records("daily_energy"))[BAD]
    for stream in ("plant_power", "daily_energy"):
        assert "pending_days" not in partition(again.final_state, stream, BAD)
        assert again.bookmarks(stream)[BAD] == "2026-06-10"


def test_a_day_failing_on_every_run_is_set_aside_for_good(portal, run_tap, tap_config):
    portal.faults.malformed_payloads = [MalformedDay(BAD, BAD_DAY, "non_numeric")]
    config = tap_config(portal, station_ids=[BAD], max_day_attempts=2, lookback_days=0, **JUNE)
    first = run_tap(config)
    assert first.returncode == 3
    assert pending(first.final_state, "plant_power", BAD) == {"2026-06-05": 1}

    second = run_tap(config, state=first.final_state)
    assert second.returncode == 3  # this run set the day aside (for good)
    assert "2026-06-05 set aside (attempt 2 of 2)" in second.stderr
    assert "It is no longer read unless retry_days names it." in second.stderr
    assert pending(second.final_state, "plant_power", BAD) == {"2026-06-05": 2}

    portal.clear_requests()
    third = run_tap(config, state=second.final_state)
    assert third.returncode == 0, third.stderr
    assert asked_days(portal, "semsplus.power_curve", BAD) == []  # not asked again
    assert asked_ranges(portal, BAD) == []
    assert third.stderr.count("Days set aside for good") == 1  # one warning per run
    assert f"plant_power station {BAD}: 2026-06-05" in third.stderr
    assert """TAP_SEMS_RETRY_DAYS='["2026-06-05"]'""" in third.stderr
    assert pending(third.final_state, "plant_power", BAD) == {"2026-06-05": 2}

    # retry_days asks for it again; with the portal fixed it is delivered and forgotten.
    portal.reset(sessions=True)
    retried = run_tap({**config, "retry_days": ["2026-06-05"]}, state=third.final_state)
    assert retried.returncode == 0, retried.stderr
    assert asked_days(portal, "semsplus.power_curve", BAD) == [["2026-06-05"]]
    assert days_by_station(retried.records("plant_power"))[BAD] == {"2026-06-05": 288}
    assert "pending_days" not in partition(retried.final_state, "plant_power", BAD)


def test_zero_exit_with_warnings_when_asked(portal, run_tap, tap_config):
    portal.faults.malformed_payloads = [MalformedDay(BAD, BAD_DAY)]
    config = tap_config(portal, station_ids=[BAD], fail_on_set_aside_days=False, **JUNE)
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    assert "WARNING" in last_line(run.stderr)
    assert f"plant_power station {BAD} 2026-06-05" in last_line(run.stderr)
    assert pending(run.final_state, "plant_power", BAD) == {"2026-06-05": 1}


def test_a_station_answering_http_500_forever_leaves_the_others_complete(
    portal, run_tap, tap_config
):
    portal.faults.station_faults = [
        StationFault(BAD, "server_error", ("semsplus.power_curve", "semsplus.statistics"))
    ]
    config = tap_config(portal, start_date="2026-06-01", end_date="2026-06-21", max_retries=1)
    run = run_tap(config)
    assert run.returncode == 3
    power = days_by_station(run.records("plant_power"))
    assert len(power[GOOD]) == len(power[OTHER]) == 21
    assert BAD not in power
    assert len(days_by_station(run.records("daily_energy"))[GOOD]) == 21
    assert {r["station_id"] for r in run.records("stations")} == {BAD, GOOD, OTHER}
    # Two windows failed (each asked twice), then the station was left for the next run.
    assert asked_ranges(portal, BAD, "semsplus.power_curve") == [
        ("2026-06-01", "2026-06-07"),
        ("2026-06-01", "2026-06-07"),
        ("2026-06-08", "2026-06-14"),
        ("2026-06-08", "2026-06-14"),
    ]
    assert f"plant_power station {BAD}: 2 windows in a row failed" in run.stderr
    assert "last problem: HTTP 500" in run.stderr
    state = run.final_state
    assert pending(state, "plant_power", BAD) == {
        "2026-06-01..2026-06-07": 1,
        "2026-06-08..2026-06-14": 1,
    }
    assert run.bookmarks("plant_power")[BAD] == "2026-06-14"
    assert pending(state, "daily_energy", BAD) == {"2026-06-01..2026-06-21": 1}


def test_a_station_refused_with_100025_is_set_aside(portal, run_tap, tap_config):
    portal.faults.station_faults = [StationFault(BAD, "permission_denied")]
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-03"))
    assert run.returncode == 3
    # Its metadata is refused, so its zone is unknown: it is named, the others are complete.
    assert {r["station_id"] for r in run.records("stations")} == {GOOD, OTHER}
    assert set(days_by_station(run.records("plant_power"))) == {GOOD, OTHER}
    assert f"Station {BAD} cannot be read this run" in run.stderr
    assert "code 100025" in run.stderr
    assert f"station {BAD} (SEMS+ station detail {BAD}" in last_line(run.stderr)
    assert portal.requests_for("semsplus.power_curve")  # the others were read
    assert asked_days(portal, "semsplus.power_curve", BAD) == []
    # Refusals are not retried.
    assert len([r for r in portal.requests if r.station_id == BAD]) == 1

    # With its zone set, its days are asked for, refused and kept as pending.
    portal.clear_requests()
    config = tap_config(
        portal,
        station_ids=[BAD],
        timezone="Europe/Berlin",
        start_date="2026-06-01",
        end_date="2026-06-03",
    )
    zoned = run_tap(config)
    assert zoned.returncode == 3
    assert pending(zoned.final_state, "plant_power", BAD) == {"2026-06-01..2026-06-03": 1}
    problem = partition(zoned.final_state, "plant_power", BAD)["pending_days"]
    assert "the portal refuses this account access (code 100025" in str(problem)


def test_legacy_and_archive_set_bad_days_aside_too(portal, run_tap, tap_config, tmp_path: Path):
    portal.faults.malformed_payloads = [MalformedDay(BAD, dt.date(2026, 6, 2))]
    legacy = run_tap(
        tap_config(
            portal,
            "legacy",
            station_ids=[BAD],
            timezone="Europe/Berlin",
            start_date="2026-06-01",
            end_date="2026-06-03",
        )
    )
    assert legacy.returncode == 3
    assert sorted(days_by_station(legacy.records("plant_power"))[BAD]) == [
        "2026-06-01",
        "2026-06-03",
    ]
    # daily_energy is integrated from the curve: the day is set aside there too, unasked.
    assert pending(legacy.final_state, "plant_power", BAD) == {"2026-06-02": 1}
    assert pending(legacy.final_state, "daily_energy", BAD) == {"2026-06-02": 1}
    assert len(portal.requests_for("legacy.power_chart")) == 3

    folder = tmp_path / "json_export"
    write_legacy_day_files(
        folder, portal.station(GOOD), dt.date(2026, 6, 1), dt.date(2026, 6, 3), portal=portal
    )
    (folder / "raw_v2_2026-06-02.json").write_text('{"data": {"lines": [')  # cut short
    config = {
        "backend": "archive",
        "archive_dir": str(folder),
        "station_ids": [GOOD],
        "timezone": "Europe/Berlin",
        **JUNE,
        "end_date": "2026-06-03",
    }
    archive = run_tap(config)
    assert archive.returncode == 3
    assert sorted(days_by_station(archive.records("plant_power"))[GOOD]) == [
        "2026-06-01",
        "2026-06-03",
    ]
    assert "raw_v2_2026-06-02.json" in str(
        partition(archive.final_state, "plant_power", GOOD)["pending_days"]
    )
    assert f"plant_power station {GOOD}: 2026-06-02 set aside (attempt 1 of 3)" in archive.stderr


def test_the_portal_going_down_stops_the_run(portal, run_tap, tap_config):
    portal.faults.station_faults = [
        StationFault(station.id, "server_error", ("semsplus.power_curve",)) for station in STATIONS
    ]
    config = tap_config(
        portal,
        start_date="2026-06-01",
        end_date="2026-06-20",
        max_retries=0,
        timezone="Europe/Berlin",
    )
    run = run_tap(config)
    assert run.returncode == 1
    assert "The portal stopped answering: 3 stations in a row failed" in last_line(run.stderr)
    assert len(portal.requests_for("semsplus.power_curve")) == 6  # two windows a station
    assert portal.requests_for("semsplus.statistics") == []  # nothing more was tried
    # What was learnt is in the state.
    assert pending(run.final_state, "plant_power", OTHER) == {
        "2026-06-01..2026-06-07": 1,
        "2026-06-08..2026-06-14": 1,
    }


def test_pending_days_survive_a_run_of_other_streams(portal, run_tap, tap_config, tmp_path):
    """State the tap does not touch this run (a deselected stream) is passed on whole."""
    state = {
        "bookmarks": {
            "plant_power": {
                "partitions": [
                    {
                        "context": {"station_id": GOOD},
                        "replication_key": "day",
                        "replication_key_value": "2026-06-10",
                        "pending_days": {
                            "2026-06-03": {"attempts": 1, "problem": "p", "last_attempt": "t"}
                        },
                    }
                ]
            }
        }
    }
    run = run_tap(
        tap_config(portal, station_ids=[OTHER], start_date="2026-06-09", end_date="2026-06-10"),
        state=state,
    )
    assert run.returncode == 0, run.stderr
    assert pending(run.final_state, "plant_power", GOOD) == {"2026-06-03": 1}
    assert json.dumps(partition(run.final_state, "plant_power", GOOD), sort_keys=True) == (
        json.dumps(state["bookmarks"]["plant_power"]["partitions"][0], sort_keys=True)
    )


def test_the_portal_going_down_while_stations_are_described_stops_the_run(
    portal, run_tap, tap_config
):
    portal.faults.station_faults = [StationFault(station.id) for station in STATIONS]
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-02", max_retries=0))
    assert run.returncode == 1
    assert "The portal stopped answering: 3 stations in a row failed" in last_line(run.stderr)
    assert len(portal.requests_for("semsplus.station_detail")) == 3
    assert portal.requests_for("semsplus.power_curve") == []
