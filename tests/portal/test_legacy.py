"""The legacy API over real HTTP: login, day chart, station detail and list, shutdown."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import requests

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    Account,
    FakePortal,
    Station,
    demo_station,
)
from sems_fake_portal.client import LEGACY_BOOTSTRAP_TOKEN, LegacySession, SemsPlusSession

DAY = date(2026, 6, 10)
TODAY = date(2026, 6, 15)


def lines(answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {line["key"]: line["xy"] for line in answer["data"]["lines"]}


def test_login_answers_code_0_and_a_regional_api(portal: FakePortal) -> None:
    reply = requests.post(
        portal.legacy_login_url,
        json={"account": DEMO_ACCOUNT, "pwd": DEMO_PASSWORD},
        headers={"Token": json.dumps(LEGACY_BOOTSTRAP_TOKEN)},
    )
    answer = reply.json()
    assert answer["code"] == 0 and answer["hasError"] is False
    assert answer["api"] == f"{portal.url}/legacy-eu/api/"
    assert set(answer["data"]) == {"uid", "timestamp", "token", "client", "version", "language"}
    assert isinstance(answer["data"]["timestamp"], int)


def test_wrong_password_answers_like_the_capture(
    portal: FakePortal, sems_sample: Callable[[str], Any]
) -> None:
    session = LegacySession(portal.url, DEMO_ACCOUNT, "wrong")
    reply = session.login()
    answer = reply.json()
    captured = sems_sample("legacy_login_fail_100005.json")
    assert answer["code"] == 100005 and answer["hasError"] is False and answer["data"] is None
    assert set(answer) == set(captured)
    assert set(answer["components"]) == set(captured["components"])
    assert "wrong" not in reply.body.decode()


def test_login_without_version_header_is_refused(portal: FakePortal) -> None:
    reply = requests.post(
        portal.legacy_login_url, json={"account": DEMO_ACCOUNT, "pwd": DEMO_PASSWORD}
    )
    assert reply.json()["code"] == 100000


def test_chart_has_the_captured_shape(
    legacy: LegacySession, sems_sample: Callable[[str], Any]
) -> None:
    answer = legacy.power_chart(DEMO_STATION_ID, DAY).json()
    captured = sems_sample("legacy_plant_power_chart.json")["plant"]
    assert answer["code"] == "0" and answer["hasError"] is False
    assert set(answer["data"]) == set(captured)
    assert [g["key"] for g in answer["data"]["generateData"]] == ["Generation", "Income"]
    assert {tuple(sorted(g)) for g in answer["data"]["generateData"]} == {
        tuple(sorted(g)) for g in captured["generateData"]
    }
    captured_line = captured["lines"][0]
    for line in answer["data"]["lines"]:
        assert set(line) == set(captured_line)
        assert set(line["xy"][0]) == {"x", "y", "z"}
    assert list(lines(answer)) == [
        "PCurve_Power_PV",
        "PCurve_Power_Battery",
        "PCurve_Power_Meter",
        "PCurve_Power_Load",
        "PCurve_Power_SOC",
    ]
    pv = lines(answer)["PCurve_Power_PV"]
    assert len(pv) == 288 and pv[0]["x"] == "00:00" and pv[-1]["x"] == "23:55"
    assert all(isinstance(point["y"], float) for point in pv)


def test_chart_and_semsplus_curve_agree_on_the_same_day(
    legacy: LegacySession, semsplus: SemsPlusSession
) -> None:
    chart = lines(legacy.power_chart(DEMO_STATION_ID, DAY).json())
    curve = semsplus.power_curve(DEMO_STATION_ID, DAY, DAY).json()
    by_item = {
        entry["item"]: [p for p in entry["powerData"] if not p.get("isCE")]
        for entry in curve["data"]["dataList"]
    }
    pairs = {
        "PCurve_Power_PV": "pSystem",
        "PCurve_Power_Meter": "pGrid",
        "PCurve_Power_Load": "pConsum",
        "PCurve_Power_Battery": "pBat",
    }
    for key, item in pairs.items():
        assert [p["x"] for p in chart[key]] == [p["tp"][11:16] for p in by_item[item]]
        assert [p["y"] for p in chart[key]] == [round(p["power"] * 1000) for p in by_item[item]]
    assert [p["y"] for p in chart["PCurve_Power_SOC"]] == [p["power"] for p in by_item["soc"]]
    meter = [p["y"] for p in chart["PCurve_Power_Meter"]]
    assert min(meter) < 0 < max(meter)  # < 0 is import, as in the capture's night


def test_generation_matches_the_semsplus_statistics(
    legacy: LegacySession, semsplus: SemsPlusSession
) -> None:
    chart = legacy.power_chart(DEMO_STATION_ID, DAY).json()["data"]
    generation = next(g["value"] for g in chart["generateData"] if g["key"] == "Generation")
    statistics = semsplus.statistics(DEMO_STATION_ID, DAY, DAY).json()["data"]
    assert generation == pytest.approx(statistics["production"], abs=0.06)


def test_plants_without_battery_or_meter_lack_those_lines(
    legacy: LegacySession, pv_only_station: Station, meter_only_station: Station
) -> None:
    pv_only = lines(legacy.power_chart(pv_only_station.id, DAY).json())
    assert list(pv_only) == ["PCurve_Power_PV"]
    night = [p["y"] for p in pv_only["PCurve_Power_PV"] if p["x"] < "02:00"]
    assert night and set(night) == {0.0}  # missing PV is 0, never null
    meter_only = lines(legacy.power_chart(meter_only_station.id, DAY).json())
    assert list(meter_only) == ["PCurve_Power_PV", "PCurve_Power_Meter", "PCurve_Power_Load"]


@pytest.mark.parametrize(("day", "count"), [(date(2026, 3, 29), 276), (date(2025, 10, 26), 300)])
def test_chart_on_dst_days(legacy: LegacySession, day: date, count: int) -> None:
    pv = lines(legacy.power_chart(DEMO_STATION_ID, day).json())["PCurve_Power_PV"]
    labels = [p["x"] for p in pv]
    assert len(labels) == count
    in_changed_hour = [label for label in labels if label.startswith("02:")]
    assert len(in_changed_hour) == (0 if count == 276 else 24)


def test_today_is_partial(legacy: LegacySession) -> None:
    pv = lines(legacy.power_chart(DEMO_STATION_ID, TODAY).json())["PCurve_Power_PV"]
    assert pv[-1]["x"] == "16:00"


def test_chart_of_an_unknown_station_or_bad_date(legacy: LegacySession) -> None:
    unknown = legacy.power_chart("00000000-0000-4000-8000-000000000000", DAY).json()
    assert unknown["code"] == 100004 and unknown["data"] is None
    bad = legacy.post("v2/Charts/GetPlantPowerChart", {"id": DEMO_STATION_ID, "date": "10.06."})
    assert bad.json()["code"] == 100004


def test_monitor_detail_carries_the_metadata(
    legacy: LegacySession, sems_sample: Callable[[str], Any]
) -> None:
    reply = legacy.post(
        "v3/PowerStation/GetMonitorDetailByPowerstationId", {"powerStationId": DEMO_STATION_ID}
    )
    answer = reply.json()
    captured = sems_sample("legacy_monitor_detail_single_inverter.json")
    assert answer["code"] == "0"
    assert set(answer) == set(captured)
    assert set(answer["data"]["info"]) == set(captured["data"]["info"])
    assert set(answer["data"]["kpi"]) == set(captured["data"]["kpi"])
    info, station = answer["data"]["info"], demo_station()
    assert info["stationname"] == station.name and info["capacity"] == station.capacity_kwp
    assert info["battery_capacity"] == station.battery_kwh
    assert info["time_span"] == -1.0  # minus Berlin's standard offset
    assert (info["latitude"], info["longitude"]) == (station.latitude, station.longitude)
    assert answer["data"]["kpi"]["currency"] == "EUR"
    assert answer["data"]["kpi"]["power"] > 0  # today's generation so far
    assert info["turnon_time"] == "04/01/2019 00:00:00"  # month first, as captured
    assert info["create_time"] == "04/01/2019 09:00:00"


def test_monitor_detail_without_a_creation_date(
    legacy: LegacySession, pv_only_station: Station
) -> None:
    reply = legacy.post(
        "v3/PowerStation/GetMonitorDetailByPowerstationId", {"powerStationId": pv_only_station.id}
    )
    info = reply.json()["data"]["info"]
    assert "turnon_time" not in info and "create_time" not in info


def test_station_list(legacy: LegacySession, account_under_test: Account) -> None:
    answer = legacy.post("v2/HistoryData/QueryPowerStationByHistory", {}).json()
    rows = answer["data"]["list"]
    assert [row["id"] for row in rows] == [s.id for s in account_under_test.stations]
    assert rows[0]["pw_name"] == demo_station().name


def test_unknown_token_and_missing_token(legacy: LegacySession, portal: FakePortal) -> None:
    url = legacy.api + "v2/Charts/GetPlantPowerChart"
    body = {"id": DEMO_STATION_ID, "date": DAY.isoformat()}
    stale = {**(legacy.login_data or {}), "token": "f" * 32}
    assert (
        requests.post(url, json=body, headers={"Token": json.dumps(stale)}).json()["code"] == 100002
    )
    assert requests.post(url, json=body).json()["code"] == 100001
    non_regional = portal.url + "/api/v2/Charts/GetPlantPowerChart"
    headers = {"Token": json.dumps(legacy.login_data)}
    assert requests.post(non_regional, json=body, headers=headers).json()["code"] == 100001


def test_switched_off_legacy_portal(portal: FakePortal, sems_sample: Callable[[str], Any]) -> None:
    portal.faults.legacy_switched_off = True
    session = LegacySession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    login = session.login().json()
    assert login["code"] == 0 and login["data"] is None  # answers, without a token
    assert session.power_chart(DEMO_STATION_ID, DAY).json()["code"] == 100002
    detail = session.post(
        "v3/PowerStation/GetMonitorDetailByPowerstationId", {"powerStationId": DEMO_STATION_ID}
    ).json()
    empty = sems_sample("legacy_monitor_detail_empty.json")
    assert detail["code"] == "0" and detail["data"] == {}
    assert set(detail) == set(empty)
    assert portal.faults.counts["legacy_switched_off"] == 3
    # SEMS+ is not affected.
    semsplus = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    assert semsplus.login().json()["code"] == "00000"
