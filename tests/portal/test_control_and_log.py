"""The request log (Python and HTTP) and the /_fake/ control endpoints."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import requests

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID, FakePortal
from sems_fake_portal.client import Control, LegacySession, SemsPlusSession, request


def test_log_records_what_the_client_asked(portal: FakePortal) -> None:
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    before = datetime.now(UTC)
    session.login()
    session.power_curve(DEMO_STATION_ID, date(2026, 6, 1), date(2026, 6, 3), scale=15)
    login, curve = portal.requests
    assert login.endpoint == "semsplus.login" and login.code == "00000"
    assert login.body["pwd"] == "***" and login.body["account"] == DEMO_ACCOUNT
    assert login.headers["token"]["client"] == "semsPlusWeb"
    assert curve.method == "POST" and curve.http_status == 200
    assert curve.path == "/eu-gateway/web/sems/sems-plant/api/v1/hems/power/statisticsAndPreV2"
    assert curve.endpoint == "semsplus.power_curve" and curve.code == "00000"
    assert curve.station_id == DEMO_STATION_ID
    assert curve.days == ["2026-06-01", "2026-06-02", "2026-06-03"]
    assert curve.body["timeScale"] == 15 and curve.body["startTime"] == "2026-06-01 00:00:00"
    assert curve.headers["token"]["token"] == session.login_data["token"]
    assert "x-signature" in curve.headers
    assert before <= curve.time <= datetime.now(UTC)
    assert login.seq < curve.seq
    assert portal.requests_for("semsplus.power_curve") == [curve]


def test_log_never_holds_a_password(portal: FakePortal) -> None:
    LegacySession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD).login()
    SemsPlusSession(portal.url, DEMO_ACCOUNT, "not-the-password").login()
    log = requests.get(portal.url + "/_fake/requests").text
    assert DEMO_PASSWORD not in log and "not-the-password" not in log
    assert [r.code for r in portal.requests] == [0, "A0210"]


def test_failures_and_unknown_paths_are_logged_too(portal: FakePortal) -> None:
    request("POST", portal.url + "/api/v9/Nothing", {})
    request("GET", portal.semsplus_login_url)
    unknown, wrong_method = portal.requests
    assert (unknown.endpoint, unknown.http_status) == ("unknown", 404)
    assert (wrong_method.endpoint, wrong_method.http_status) == ("semsplus.login", 405)


def test_requests_over_http_with_filters(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    day = date(2026, 6, 2)
    semsplus.power_curve(DEMO_STATION_ID, day, day)
    semsplus.statistics(DEMO_STATION_ID, day, day)
    control = Control(portal.url)
    everything = control.requests()
    assert [r["endpoint"] for r in everything] == [
        "semsplus.login",
        "semsplus.power_curve",
        "semsplus.statistics",
    ]
    assert everything[1]["days"] == ["2026-06-02"]
    assert everything[1]["body"]["stationId"] == DEMO_STATION_ID
    assert [r["endpoint"] for r in control.requests(since=everything[1]["seq"])] == [
        "semsplus.statistics"
    ]
    curves = control.requests(endpoint="semsplus.power_curve")
    assert [r["seq"] for r in curves] == [everything[1]["seq"]]
    control.health()
    assert len(control.requests()) == 3  # control calls are not logged


def test_reset_clears_log_faults_and_optionally_sessions(
    portal: FakePortal, semsplus: SemsPlusSession
) -> None:
    control = Control(portal.url)
    control.set_faults(rate_limit_calls=5)
    control.reset()
    assert portal.requests == [] and portal.faults.rate_limit_calls == 0
    day = date(2026, 6, 2)
    assert semsplus.power_curve(DEMO_STATION_ID, day, day).json()["code"] == "00000"
    control.reset(sessions=True)
    assert semsplus.power_curve(DEMO_STATION_ID, day, day).json()["code"] == "C0602"


def test_clock_can_be_pinned_and_released(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    control = Control(portal.url)
    later = datetime(2026, 6, 15, 19, 0, tzinfo=UTC)  # 21:00 in Berlin
    control.set_clock(later)
    assert control.health()["now"] == later.isoformat()
    today = date(2026, 6, 15)
    pv = semsplus.power_curve(DEMO_STATION_ID, today, today).json()["data"]["dataList"][0]
    assert [p for p in pv["powerData"] if not p.get("isCE")][-1]["tp"] == f"{today} 20:55:00"
    control.set_clock(None)
    before = datetime.now(UTC)
    health = control.health()
    after = datetime.now(UTC)
    assert health["clock"] == "real"
    assert before <= datetime.fromisoformat(health["now"]) <= after
    bad = requests.post(portal.url + "/_fake/clock", json={"now": "yesterday"})
    assert bad.status_code == 400


def test_health_and_stations(portal: FakePortal) -> None:
    health = requests.get(portal.url + "/_fake/health").json()
    assert health["status"] == "ok" and health["url"] == portal.url
    assert health["clock"] == "fixed" and health["stations"] == 3
    stations = requests.get(portal.url + "/_fake/stations").json()
    account = stations["accounts"][0]
    assert account["account"] == DEMO_ACCOUNT and "password" not in account
    assert account["stations"][0]["id"] == DEMO_STATION_ID
    assert requests.get(portal.url + "/_fake/nothing").status_code == 404


def test_portal_url_needs_a_running_portal() -> None:
    portal = FakePortal()
    with pytest.raises(RuntimeError, match=r"start\(\)"):
        _ = portal.url
    with portal:
        assert portal.url.startswith("http://127.0.0.1:")
    with portal:  # a stopped portal can start again
        assert requests.get(portal.url + "/_fake/health").status_code == 200
