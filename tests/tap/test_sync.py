"""tap-sems end to end against the fake portal: what it emits, bookmarks and asks for."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    Account,
    FakePortal,
    PortalOptions,
    Station,
    semsplus_password_hash,
    station_uuid,
)
from sems_fake_portal.archive import write_legacy_day_files

BERLIN = ZoneInfo("Europe/Berlin")
POWER_FIELDS = ("pv_power_w", "load_power_w", "grid_power_w", "battery_power_w")


def days_of(records: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["day"] for r in records)


def curve_days(portal: FakePortal) -> list[list[str]]:
    """The plant-local days each SEMS+ curve request covered, in order."""
    return [r.days for r in portal.requests_for("semsplus.power_curve")]


def assert_no_secret(run: Any, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in run.stdout
        assert secret not in run.stderr


def today_in_berlin() -> dt.date:
    return dt.datetime.now(BERLIN).date()


# ---- records ------------------------------------------------------------------------------


def test_semsplus_backfill_emits_every_instant_once(portal, run_tap, tap_config) -> None:
    config = tap_config(portal, start_date="2026-06-01", end_date="2026-06-10")
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    records = run.records("plant_power")
    assert days_of(records) == {f"2026-06-{d:02d}": 288 for d in range(1, 11)}
    keys = [(r["station_id"], r["timestamp"]) for r in records]
    assert len(set(keys)) == len(keys)
    # 7-day windows: two curve requests for ten days, all on the regional gateway.
    assert [len(days) for days in curve_days(portal)] == [7, 3]
    assert all(
        r.path.startswith("/eu-gateway/") for r in portal.requests_for("semsplus.power_curve")
    )
    # The demo plant has PV, load, meter and battery: every series is there.
    noon = next(r for r in records if r["time_local"] == "2026-06-05 12:00:00")
    assert noon["timestamp"] == "2026-06-05T10:00:00+00:00"
    assert noon["pv_power_w"] > 0
    assert all(noon[name] is not None for name in (*POWER_FIELDS, "battery_soc_pct"))
    assert noon["grid_import_w"] == max(-noon["grid_power_w"], 0)
    assert noon["source"] == "semsplus:statisticsAndPreV2"
    # Energy balance per instant: pv + import + discharge = load + export + charge.
    for r in records:
        supply = r["pv_power_w"] + r["grid_import_w"] + max(r["battery_power_w"], 0)
        demand = r["load_power_w"] + r["grid_export_w"] + max(-r["battery_power_w"], 0)
        assert supply == pytest.approx(demand, abs=5), r
    assert run.bookmarks("plant_power") == {DEMO_STATION_ID: "2026-06-10"}
    assert_no_secret(run, DEMO_PASSWORD, semsplus_password_hash(DEMO_PASSWORD))


def test_daily_energy_from_statistics_matches_the_curve(portal, run_tap, tap_config) -> None:
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-10"))
    assert run.returncode == 0, run.stderr
    energy = {r["day"]: r for r in run.records("daily_energy")}
    assert sorted(energy) == [f"2026-06-{d:02d}" for d in range(1, 11)]
    assert {r["method"] for r in energy.values()} == {"portal_statistics"}
    # One statistics request covers the whole range.
    assert len(portal.requests_for("semsplus.statistics")) == 1
    for day, records in itertools.groupby(run.records("plant_power"), key=lambda r: r["day"]):
        pv_kwh = sum(r["pv_power_w"] for r in records) * 5 / 60 / 1000
        assert energy[day]["production_kwh"] == pytest.approx(pv_kwh, rel=0.03), day


def test_stations_record_carries_metadata(portal, run_tap, tap_config) -> None:
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-01"))
    assert run.returncode == 0, run.stderr
    (station,) = run.records("stations")
    assert station["station_id"] == DEMO_STATION_ID
    assert station["name"] == "Demo Home Berlin"
    assert station["capacity_kwp"] == 6.2
    assert station["battery_capacity_kwh"] == 10.0
    assert station["timezone"] == "Europe/Berlin"
    assert station["currency"] == "EUR"
    assert station["latitude"] == pytest.approx(52.52)


@pytest.mark.parametrize(("day", "expected"), [("2026-03-29", 92), ("2026-10-25", 100)])
def test_dst_days_at_15_minutes(portal, run_tap, tap_config, day: str, expected: int) -> None:
    config = tap_config(portal, start_date=day, end_date=day, interval_minutes=15)
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    records = run.records("plant_power")
    stamps = [dt.datetime.fromisoformat(r["timestamp"]) for r in records]
    assert len(records) == expected
    assert len(set(stamps)) == expected
    assert all(b - a == dt.timedelta(minutes=15) for a, b in itertools.pairwise(stamps))
    assert all(r["day"] == day for r in records)
    if expected == 100:  # the repeated hour, twice, in order
        repeated = [r["timestamp"] for r in records if r["time_local"] == f"{day} 02:30:00"]
        assert repeated == [f"{day}T00:30:00+00:00", f"{day}T01:30:00+00:00"]


@pytest.mark.parametrize("missing_series", ["omit", "null"])
def test_plant_without_battery_or_meter_gives_nulls(run_tap, tap_config, missing_series) -> None:
    bare = Station(id=station_uuid("bare"), name="PV only", battery_kwh=0, has_meter=False)
    account = Account(DEMO_ACCOUNT, DEMO_PASSWORD, [bare])
    options = PortalOptions(missing_series=missing_series)
    with FakePortal([account], options=options) as portal:
        run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-02"))
    assert run.returncode == 0, run.stderr
    records = run.records("plant_power")
    assert len(records) > 100
    assert any((r["pv_power_w"] or 0) > 0 for r in records)
    for name in (
        "load_power_w",
        "grid_power_w",
        "grid_import_w",
        "grid_export_w",
        "battery_power_w",
        "battery_soc_pct",
    ):
        assert {r[name] for r in records} == {None}, name
    energy = run.records("daily_energy")
    assert all(r["battery_charge_kwh"] is None and r["grid_import_kwh"] is None for r in energy)


def test_legacy_api_maps_to_the_same_records_as_semsplus(portal, run_tap, tap_config) -> None:
    dates = {"start_date": "2026-06-01", "end_date": "2026-06-02"}
    plus_run = run_tap(tap_config(portal, **dates))
    assert plus_run.returncode == 0, plus_run.stderr
    plus = plus_run.records("plant_power")
    # The legacy station data only has an offset, so the zone is configured.
    legacy_run = run_tap(tap_config(portal, "legacy", timezone="Europe/Berlin", **dates))
    assert legacy_run.returncode == 0, legacy_run.stderr
    legacy = legacy_run.records("plant_power")
    assert [r["timestamp"] for r in legacy] == [r["timestamp"] for r in plus]
    for old, new in zip(legacy, plus, strict=True):
        for name in (*POWER_FIELDS, "battery_soc_pct"):
            assert old[name] == pytest.approx(new[name], abs=1.0), (name, old, new)
    assert {r["source"] for r in legacy} == {"legacy:GetPlantPowerChart"}
    # One chart request per day, and daily energy integrated from what was read.
    assert [r.days for r in portal.requests_for("legacy.power_chart")] == [
        ["2026-06-01"],
        ["2026-06-02"],
    ]
    energy = legacy_run.records("daily_energy")
    assert {r["method"] for r in energy} == {"integrated_power_curve"}


def test_every_request_names_the_tap_and_its_version(portal, run_tap, tap_config) -> None:
    """The login included, for both API generations; the user_agent setting replaces it."""
    version = metadata.version("tap-sems")
    day = {"start_date": "2026-06-01", "end_date": "2026-06-01", "interval_minutes": 60}
    default = f"tap-sems/{version} (+https://github.com/sems-exporter/sems-exporter)"
    for backend, data, settings, expected in [
        ("semsplus", "power_curve", {}, default),
        ("legacy", "power_chart", {"user_agent": "house-monitor/2.1"}, "house-monitor/2.1"),
    ]:
        portal.clear_requests()
        run = run_tap(tap_config(portal, backend, timezone="Europe/Berlin", **settings, **day))
        assert run.returncode == 0, run.stderr
        endpoints = {r.endpoint for r in portal.requests}
        assert {f"{backend}.{name}" for name in ("login", "station_list", data)} <= endpoints
        assert {r.headers.get("user-agent") for r in portal.requests} == {expected}


def test_archive_of_legacy_day_files(portal, run_tap, tap_config, tmp_path: Path) -> None:
    folder = tmp_path / "json_export"
    station = portal.station(DEMO_STATION_ID)
    write_legacy_day_files(
        folder, station, dt.date(2026, 6, 1), dt.date(2026, 6, 2), variant="response", portal=portal
    )
    (folder / "raw_v2_2026-06-03.json").write_text(json.dumps({"error": "HTTPError 502"}))
    config = {
        "backend": "archive",
        "archive_dir": str(folder),
        "station_ids": [DEMO_STATION_ID],
        "timezone": "Europe/Berlin",
        "start_date": "2026-06-01",
        "end_date": "2026-06-03",
    }
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    records = run.records("plant_power")
    assert days_of(records) == {"2026-06-01": 288, "2026-06-02": 288}
    assert records[0]["source"] == "archive:raw_v2_2026-06-01.json"
    assert "raw_v2_2026-06-03.json holds a failed answer" in run.stderr
    api = run_tap(
        tap_config(
            portal,
            "legacy",
            timezone="Europe/Berlin",
            start_date="2026-06-01",
            end_date="2026-06-02",
        )
    )
    assert api.returncode == 0, api.stderr
    assert [r["timestamp"] for r in records] == [r["timestamp"] for r in api.records("plant_power")]


def test_every_visible_station_when_none_are_configured(run_tap, tap_config) -> None:
    stations = [Station(id=station_uuid(f"s{i}"), name=f"S{i}") for i in range(3)]
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, stations)]) as portal:
        run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-01"))
    assert run.returncode == 0, run.stderr
    assert {r["station_id"] for r in run.records("plant_power")} == {s.id for s in stations}
    assert set(run.bookmarks("plant_power")) == {s.id for s in stations}


# ---- incremental state -----------------------------------------------------------------------


def test_second_run_reads_only_the_lookback_window_and_today(portal, run_tap, tap_config) -> None:
    today = today_in_berlin()
    start = today - dt.timedelta(days=20)
    config = tap_config(portal, start_date=start.isoformat())
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    yesterday = today - dt.timedelta(days=1)
    if today_in_berlin() != today:
        pytest.skip("midnight passed in Berlin during the test")
    # Today is read but not bookmarked.
    assert first.bookmarks("plant_power") == {DEMO_STATION_ID: yesterday.isoformat()}
    assert today.isoformat() in days_of(first.records("plant_power"))

    portal.clear_requests()
    second = run_tap(config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    expected = [(today - dt.timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert curve_days(portal) == [expected]
    assert sorted(days_of(second.records("plant_power"))) == expected
    assert second.bookmarks("plant_power") == {DEMO_STATION_ID: yesterday.isoformat()}


def test_killed_run_resumes_without_refetching(portal, tmp_path: Path, run_tap, tap_config) -> None:
    """No timing: the tap blocks on its full stdout pipe while this test reads, so it
    cannot run ahead by more than a window and the kill always lands mid-run."""
    import signal
    import subprocess
    import sys

    config = tap_config(portal, start_date="2026-01-01", end_date="2026-03-31", lookback_days=0)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "tap_sems.tap", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    last_state = None
    for line in process.stdout:
        message = json.loads(line)
        if message["type"] == "STATE" and message["value"].get("bookmarks", {}).get(
            "plant_power", {}
        ).get("partitions", [{}])[0].get("replication_key_value"):
            last_state = message["value"]
            if (
                last_state["bookmarks"]["plant_power"]["partitions"][0]["replication_key_value"]
                >= "2026-01-21"
            ):
                process.kill()
                break
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL  # killed, not finished
    assert last_state is not None
    bookmark = last_state["bookmarks"]["plant_power"]["partitions"][0]["replication_key_value"]
    assert bookmark == "2026-01-21"  # three 7-day windows were complete
    assert len(curve_days(portal)) < 13  # the run had not asked for all 13 windows

    # A request of the killed run may still be logged after this point; its session
    # tells it apart from the resumed run's.
    killed_session = {
        r.headers["token"]["token"] for r in portal.requests_for("semsplus.power_curve")
    }
    resumed = run_tap(config, state=last_state)
    assert resumed.returncode == 0, resumed.stderr
    asked = [
        day
        for r in portal.requests_for("semsplus.power_curve")
        if r.headers["token"]["token"] not in killed_session
        for day in r.days
    ]
    assert asked[0] == "2026-01-22"
    assert len(asked) == len(set(asked)) == 69  # 2026-01-22 .. 2026-03-31, each once
    assert resumed.bookmarks("plant_power") == {DEMO_STATION_ID: "2026-03-31"}


def test_full_refresh_state_is_ignored_when_start_date_moves_later(portal, run_tap, tap_config):
    first = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-05"))
    assert first.returncode == 0, first.stderr
    portal.clear_requests()
    later = tap_config(portal, start_date="2026-06-04", end_date="2026-06-08", lookback_days=5)
    second = run_tap(later, state=first.final_state)
    assert second.returncode == 0, second.stderr
    # Resuming would start at 2026-06-01 (5 days back), but start_date is later.
    assert curve_days(portal) == [[f"2026-06-0{day}" for day in range(4, 9)]]
    assert sorted(days_of(second.records("plant_power"))) == [
        f"2026-06-0{day}" for day in range(4, 9)
    ]


# ---- faults -----------------------------------------------------------------------------------


def test_token_expiry_mid_run_is_survived_with_one_login(portal, run_tap, tap_config) -> None:
    portal.faults.token_expiry_after_calls = 3
    run = run_tap(tap_config(portal, start_date="2026-05-01", end_date="2026-06-10"))
    assert run.returncode == 0, run.stderr
    assert len(portal.requests_for("semsplus.login")) == 2
    assert portal.faults.counts["token_expired"] >= 1
    assert len(days_of(run.records("plant_power"))) == 41
    assert "session expired" in run.stderr


def test_rate_limit_burst_is_waited_out(portal, run_tap, tap_config) -> None:
    portal.faults.rate_limit_calls = 3
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-03"))
    assert run.returncode == 0, run.stderr
    codes = [
        r.code
        for r in portal.requests
        if r.endpoint.startswith("semsplus.") and r.endpoint != "semsplus.login"
    ]
    assert codes[:4] == ["GY0429", "GY0429", "GY0429", "00000"]
    assert run.stderr.count("rate limited") == 3
    assert len(run.records("plant_power")) == 3 * 288


def test_server_errors_and_truncated_json_are_retried(portal, run_tap, tap_config) -> None:
    portal.faults.server_error_calls = 2
    portal.faults.malformed_json_calls = 1
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-02"))
    assert run.returncode == 0, run.stderr
    assert "HTTP 503" in run.stderr
    assert "malformed JSON" in run.stderr
    assert len(run.records("plant_power")) == 2 * 288


def test_persistent_failure_gives_up_after_the_retries(portal, run_tap, tap_config) -> None:
    portal.faults.server_error_calls = 100
    run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-02", max_retries=2))
    # The station list is needed for anything else, so its failure stops the run at once.
    assert run.returncode == 1
    assert "SEMS+ station list page 1: gave up after 3 attempts at http://" in run.stderr
    assert "/sems-plant/api/portal/stations/page; last problem: HTTP 503" in run.stderr


def test_wrong_password_stops_with_a_clear_message(portal, run_tap, tap_config) -> None:
    secret = "not-the-password-4711"
    run = run_tap(tap_config(portal, start_date="2026-06-01", password=secret))
    assert run.returncode == 1
    assert "wrong account or password for account 'demo@example.com'" in run.stderr
    assert "Traceback" not in run.stderr
    assert_no_secret(run, secret, semsplus_password_hash(secret))
    # No retry of a refused login.
    assert len(portal.requests_for("semsplus.login")) == 1


def test_terms_not_accepted_is_explained(portal, run_tap, tap_config) -> None:
    portal.faults.login_without_token = True
    run = run_tap(tap_config(portal, start_date="2026-06-01"))
    assert run.returncode == 1
    assert "has not yet accepted the SEMS+ terms" in run.stderr


def test_legacy_shutdown_is_explained(portal, run_tap, tap_config) -> None:
    portal.faults.legacy_switched_off = True
    run = run_tap(tap_config(portal, "legacy", start_date="2026-06-01", timezone="Europe/Berlin"))
    assert run.returncode == 1
    assert "use `backend: semsplus`" in run.stderr


def test_refused_week_windows_fall_back_to_days(run_tap, tap_config) -> None:
    with FakePortal(options=PortalOptions(max_window_days=1)) as portal:
        run = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-03"))
    assert run.returncode == 0, run.stderr
    windows = [r.days for r in portal.requests_for("semsplus.power_curve") if r.code == "00000"]
    assert windows == [["2026-06-01"], ["2026-06-02"], ["2026-06-03"]]
    assert len(run.records("plant_power")) == 3 * 288


def test_refused_statistics_ranges_shrink_to_months(run_tap, tap_config) -> None:
    with FakePortal(options=PortalOptions(max_statistics_days=31)) as portal:
        run = run_tap(tap_config(portal, start_date="2026-04-01", end_date="2026-05-10"))
    assert run.returncode == 0, run.stderr
    asked = [
        (r.body["startTime"][:10], r.body["endTime"][:10], r.code)
        for r in portal.requests_for("semsplus.statistics")
    ]
    assert asked == [
        ("2026-04-01", "2026-05-10", "100004"),
        ("2026-04-01", "2026-05-01", "00000"),
        ("2026-05-02", "2026-05-10", "00000"),
    ]
    energy = run.records("daily_energy")
    assert len(energy) == 40
    assert {r["method"] for r in energy} == {"portal_statistics"}


def test_hidden_time_zone_needs_the_setting(run_tap, tap_config) -> None:
    hidden = Station(
        id=station_uuid("hidden"),
        name="Hidden zone",
        exposes_timezone=False,
        timezone="Australia/Sydney",
    )
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, [hidden])]) as portal:
        refused = run_tap(tap_config(portal, start_date="2026-06-01", end_date="2026-06-01"))
        # The station is left for the next run, named, and the run ends non-zero.
        assert refused.returncode == 3
        assert "Set the `timezone` setting" in refused.stderr
        assert f"station {hidden.id} (the portal does not say" in refused.stderr
        assert refused.records("plant_power") == []
        assert portal.requests_for("semsplus.power_curve") == []
        config = tap_config(
            portal, start_date="2026-06-01", end_date="2026-06-01", timezone="Australia/Sydney"
        )
        run = run_tap(config)
    assert run.returncode == 0, run.stderr
    first = run.records("plant_power")[0]
    assert first["time_local"].startswith("2026-06-01")
    assert first["timestamp"].startswith("2026-05-31T")  # Sydney is ten hours ahead


def test_fallback_offset_applies_only_where_no_zone_is_named(run_tap, tap_config) -> None:
    hidden = Station(
        id=station_uuid("shanghai"), name="Hidden", timezone="Asia/Shanghai", exposes_timezone=False
    )
    named = Station(id=station_uuid("berlin"), name="Named", timezone="Europe/Berlin")
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, [hidden, named])]) as portal:
        config = tap_config(
            portal, start_date="2026-06-01", end_date="2026-06-01", fallback_utc_offset="+08:00"
        )
        run = run_tap(config)
    assert run.returncode == 0, run.stderr
    zones = {r["station_id"]: r["timezone"] for r in run.records("stations")}
    assert zones == {hidden.id: "+08:00", named.id: "Europe/Berlin"}
    firsts = {}
    for record in run.records("plant_power"):
        firsts.setdefault(record["station_id"], record)
    assert firsts[hidden.id]["time_local"] == "2026-06-01 00:00:00"
    assert firsts[hidden.id]["timestamp"] == "2026-05-31T16:00:00+00:00"
    assert "using the fixed offset +08:00" in run.stderr
    assert run.stderr.count("using the fixed offset") == 1


def test_slow_replies_time_out_and_are_retried(portal, run_tap, tap_config) -> None:
    # The slow reply waits far longer than the timeout, and the timeout is far longer than
    # any normal reply on a busy host, so only the slowed call times out.
    portal.faults.slow_calls = 1
    portal.faults.slow_seconds = 30
    portal.faults.endpoints = ["semsplus.power_curve"]
    config = tap_config(
        portal, start_date="2026-06-01", end_date="2026-06-01", request_timeout_seconds=2
    )
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    assert "no answer within 2 s; retry 1 of 5" in run.stderr
    assert run.stderr.count("no answer within") == 1
    assert portal.faults.counts["slow"] == 1
    assert len(run.records("plant_power")) == 288


def test_login_parameter_error_stops_without_retrying(portal, run_tap, tap_config) -> None:
    portal.faults.login_parameter_error = True
    run = run_tap(tap_config(portal, start_date="2026-06-01"))
    assert run.returncode == 1
    assert "SEMS+ login refused with a parameter error (code 100004" in run.stderr
    assert len(portal.requests_for("semsplus.login")) == 1


def test_settings_from_the_environment(portal, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_SEMS_")} | {
        "TAP_SEMS_ACCOUNT": DEMO_ACCOUNT,
        "TAP_SEMS_PASSWORD": DEMO_PASSWORD,
        "TAP_SEMS_API_URL": portal.url,
        "TAP_SEMS_START_DATE": "2026-06-01",
        "TAP_SEMS_END_DATE": "2026-06-01",
        "TAP_SEMS_STATION_IDS": json.dumps([DEMO_STATION_ID]),
        "TAP_SEMS_MAX_REQUESTS_PER_SECOND": "20.5",
        "TAP_SEMS_INTERVAL_MINUTES": "15",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tap_sems.tap", "--config", "ENV"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert sum(m["type"] == "RECORD" and m["stream"] == "plant_power" for m in records) == 96


def test_catalog_deselection_removes_properties(portal, tap_config, tmp_path: Path) -> None:
    import subprocess
    import sys

    config_path = tmp_path / "config.json"
    config_path.write_text(
        json.dumps(
            tap_config(
                portal,
                station_ids=[DEMO_STATION_ID],
                start_date="2026-06-01",
                end_date="2026-06-01",
                interval_minutes=60,
            )
        )
    )
    tap = [sys.executable, "-m", "tap_sems.tap", "--config", str(config_path)]
    catalog = json.loads(
        subprocess.run([*tap, "--discover"], capture_output=True, check=True).stdout
    )
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            entry["metadata"]["selected"] = stream["tap_stream_id"] == "plant_power"
            if entry["breadcrumb"] in (["properties", "source"], ["properties", "extra"]):
                entry["metadata"]["selected"] = False
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    done = subprocess.run(
        [*tap, "--catalog", str(catalog_path)], capture_output=True, text=True, check=True
    )
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    assert {m["stream"] for m in messages if "stream" in m} == {"plant_power"}
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(records) == 24
    assert all("source" not in r and "extra" not in r for r in records)
    assert all(r["pv_power_w"] is not None for r in records)
    assert not portal.requests_for("semsplus.statistics")  # daily_energy is not read at all


def test_a_start_before_the_plant_existed_moves_to_its_first_day(run_tap, tap_config) -> None:
    new_plant = Station(id=station_uuid("new"), name="New roof", created=dt.date(2026, 6, 3))
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, [new_plant])]) as portal:
        run = run_tap(tap_config(portal, start_date="2026-05-20", end_date="2026-06-04"))
        asked = [day for days in curve_days(portal) for day in days]
        statistics = [
            (r.body["startTime"][:10], r.body["endTime"][:10])
            for r in portal.requests_for("semsplus.statistics")
        ]
    assert run.returncode == 0, run.stderr
    assert asked == ["2026-06-03", "2026-06-04"]
    assert statistics == [("2026-06-03", "2026-06-04")]
    line = (
        f"Station {new_plant.id}: the portal says the plant was set up on 2026-06-03; "
        "reading from that day, not from start_date 2026-05-20"
    )
    assert run.stderr.count(line) == 1  # one line, though two streams read the station
    assert [r["day"] for r in run.records("daily_energy")] == ["2026-06-03", "2026-06-04"]
    assert run.bookmarks("plant_power") == {new_plant.id: "2026-06-04"}


@pytest.mark.parametrize("backend", ["semsplus", "legacy"])
def test_days_before_the_first_data_store_no_zero_rows(run_tap, tap_config, backend) -> None:
    """Without a first day from the portal (legacy's 06/03/2026 reads as 3 June or 6 March,
    so the earlier counts), the empty days are read but stored as nothing."""
    new_plant = Station(
        id=station_uuid("new"), name="New roof", created=dt.date(2026, 6, 3), exposes_created=False
    )
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, [new_plant])]) as portal:
        config = tap_config(
            portal,
            backend,
            start_date="2026-06-01",
            end_date="2026-06-04",
            timezone="Europe/Berlin",
        )
        run = run_tap(config)
    assert run.returncode == 0, run.stderr
    assert set(days_of(run.records("plant_power"))) == {"2026-06-03", "2026-06-04"}
    energy = run.records("daily_energy")
    assert [r["day"] for r in energy] == ["2026-06-03", "2026-06-04"]
    assert all(r["production_kwh"] > 0 for r in energy)
    assert (
        f"plant_power station {new_plant.id}: the portal had no data for 2 finished day(s): "
        "2026-06-01..2026-06-02." in run.stderr
    )
    assert run.bookmarks("plant_power") == {new_plant.id: "2026-06-04"}
    assert run.bookmarks("daily_energy") == {new_plant.id: "2026-06-04"}


def test_integrated_energy_reads_only_the_days_the_curve_did_not(portal) -> None:
    import logging

    from tap_sems.backends import LegacyBackend
    from tap_sems.settings import Settings

    settings = Settings.from_config(
        {
            "backend": "legacy",
            "account": DEMO_ACCOUNT,
            "password": DEMO_PASSWORD,
            "api_url": portal.url,
            "start_date": "2026-06-01",
            "max_requests_per_second": 0,
        }
    )
    backend = LegacyBackend(settings, logging.getLogger("test"))
    day = dt.date(2026, 6, 1)
    read = list(
        backend.curve_windows(DEMO_STATION_ID, day.replace(day=3), day.replace(day=4), BERLIN)
    )
    assert [w.first.day for w in read] == [3, 4]
    windows = list(backend.energy_windows(DEMO_STATION_ID, day, day.replace(day=5), BERLIN))
    charts = [r.days[0] for r in portal.requests_for("legacy.power_chart")]
    assert charts == ["2026-06-03", "2026-06-04", "2026-06-01", "2026-06-02", "2026-06-05"]
    energy = [
        record for window in windows for records in window.days.values() for record in records
    ]
    assert [r["day"] for r in energy] == [f"2026-06-0{d}" for d in range(1, 6)]
    assert {r["method"] for r in energy} == {"integrated_power_curve"}
    assert all(r["production_kwh"] > 0 for r in energy)
