"""SEMS+ over real HTTP: login, session checks, power curve, statistics, stations."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    Account,
    FakePortal,
    PortalOptions,
    Station,
    demo_station,
    make_fleet,
    semsplus_password_hash,
    semsplus_signature,
)
from sems_fake_portal.client import (
    CURVE_PATH,
    SEMSPLUS_BOOTSTRAP_TOKEN,
    STATION_DETAIL_PATH,
    STATION_LIST_PATH,
    SemsPlusSession,
)

SPRING_DST = date(2026, 3, 29)
AUTUMN_DST = date(2025, 10, 26)
TODAY = date(2026, 6, 15)  # in Berlin, at the fixed clock of 16:07


def login_body(password: str = DEMO_PASSWORD) -> dict[str, Any]:
    return {
        "account": DEMO_ACCOUNT,
        "pwd": semsplus_password_hash(password),
        "agreement": 1,
        "isChinese": False,
        "isLocal": False,
    }


def bootstrap() -> dict[str, str]:
    return {"token": json.dumps(SEMSPLUS_BOOTSTRAP_TOKEN)}


def points(reply_json: dict[str, Any], item: str, key: str = "powerData") -> list[dict[str, Any]]:
    entry = next(e for e in reply_json["data"]["dataList"] if e["item"] == item)
    return list(entry[key])


def real(points_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in points_list if not p.get("isCE")]


# ---------------------------------------------------------------------------- login


def test_login_answers_the_captured_shape_and_a_regional_base(
    portal: FakePortal, sems_sample: Callable[[str], Any]
) -> None:
    reply = requests.post(portal.semsplus_login_url, json=login_body(), headers=bootstrap())
    answer = reply.json()
    captured = sems_sample("semsplus_cross_login.json")["response"]
    assert reply.status_code == 200
    assert answer["code"] == "00000"
    assert set(answer) == set(captured) - {"httpStatus"}
    assert set(answer["data"]) == set(captured["data"])
    assert isinstance(answer["data"]["timestamp"], str) and answer["data"]["timestamp"].isdigit()
    assert answer["data"]["api"] == f"{portal.url}/eu-gateway/web/sems"
    assert answer["data"]["region"] == "eu"


def test_login_accepts_any_case_of_the_account_name(portal: FakePortal) -> None:
    body = {**login_body(), "account": DEMO_ACCOUNT.upper()}
    answer = requests.post(portal.semsplus_login_url, json=body, headers=bootstrap()).json()
    assert answer["code"] == "00000"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (login_body("wrong-password"), "A0210"),
        ({**login_body(), "pwd": DEMO_PASSWORD}, "A0210"),  # plain password, not hashed
        ({**login_body(), "account": "nobody@example.com"}, "A0210"),
        ({"account": DEMO_ACCOUNT}, "100004"),
    ],
)
def test_login_refusals(portal: FakePortal, body: dict[str, Any], code: str) -> None:
    reply = requests.post(portal.semsplus_login_url, json=body, headers=bootstrap())
    assert reply.status_code == 200  # failures come with HTTP 200
    answer = reply.json()
    assert answer["code"] == code
    assert "data" not in answer
    assert DEMO_PASSWORD not in reply.text


def test_login_without_the_token_header_is_a_system_error(portal: FakePortal) -> None:
    answer = requests.post(portal.semsplus_login_url, json=login_body()).json()
    assert answer["code"] == "100000"


def test_login_on_the_regional_gateway_also_works(portal: FakePortal) -> None:
    url = portal.semsplus_api() + "/sems-user/api/v1/auth/cross-login"
    assert requests.post(url, json=login_body(), headers=bootstrap()).json()["code"] == "00000"


# ---------------------------------------------------------------------------- session checks


def curve_body(day: date = TODAY - timedelta(days=1)) -> dict[str, Any]:
    return {
        "stationId": DEMO_STATION_ID,
        "items": ["pSystem"],
        "timeScale": 60,
        "timeZone": 2,
        "startTime": f"{day} 00:00:00",
        "endTime": f"{day} 23:59:59",
    }


def test_signed_call_is_served(semsplus: SemsPlusSession) -> None:
    reply = requests.post(semsplus.api + CURVE_PATH, json=curve_body(), headers=semsplus.headers())
    assert reply.json()["code"] == "00000"


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda h, s: {"token": h["token"]}, "A0301"),  # no signature
        (lambda h, s: {**h, "X-Signature": "bm90LWEtc2lnbmF0dXJl"}, "A0301"),  # garbage
        (
            lambda h, s: {
                **h,
                "X-Signature": semsplus_signature(
                    int(time.time() * 1000) - 3_600_000, s.login_data["uid"], s.login_data["token"]
                ),
            },
            "A0301",
        ),  # an hour old
        (
            lambda h, s: {
                **h,
                "X-Signature": semsplus_signature(
                    int(time.time() * 1000), "someone-else", s.login_data["token"]
                ),
            },
            "A0301",
        ),  # signed for another uid
        (lambda h, s: {"X-Signature": h["X-Signature"]}, "100000"),  # no token header
        (
            lambda h, s: {
                **h,
                "token": json.dumps({**s.login_data, "token": "0" * 32}),
            },
            "C0602",
        ),  # not a live session
    ],
)
def test_data_calls_check_token_and_signature(
    semsplus: SemsPlusSession,
    portal: FakePortal,
    tamper: Callable[[dict[str, str], SemsPlusSession], dict[str, str]],
    code: str,
) -> None:
    headers = tamper(semsplus.headers(), semsplus)
    reply = requests.post(semsplus.api + CURVE_PATH, json=curve_body(), headers=headers)
    assert reply.status_code == 200
    assert reply.json()["code"] == code
    assert "data" not in reply.json()
    assert portal.requests[-1].code == code


def test_data_call_on_the_login_host_fails_like_a_wrong_region(
    semsplus: SemsPlusSession, portal: FakePortal
) -> None:
    non_regional = portal.url + "/web/sems"
    assert semsplus.post(CURVE_PATH, curve_body(), base=non_regional).json()["code"] == "C0602"
    other_region = portal.semsplus_api("au")
    assert semsplus.post(CURVE_PATH, curve_body(), base=other_region).json()["code"] == "C0602"
    assert portal.faults.counts["wrong_region"] == 2


def test_signature_check_can_be_switched_off(
    fake_portal_factory: Callable[..., FakePortal], fixed_now: datetime
) -> None:
    portal = fake_portal_factory(now=fixed_now, options=PortalOptions(require_signature=False))
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    session.login()
    headers = {"token": json.dumps(session.login_data)}
    reply = requests.post(session.api + CURVE_PATH, json=curve_body(), headers=headers)
    assert reply.json()["code"] == "00000"


def test_other_accounts_stations_are_refused(
    fake_portal_factory: Callable[..., FakePortal], fixed_now: datetime
) -> None:
    other = Account("other@example.com", "other-password", make_fleet(1, prefix="other"))
    portal = fake_portal_factory(
        accounts=[Account(DEMO_ACCOUNT, DEMO_PASSWORD, [demo_station()]), other], now=fixed_now
    )
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    session.login()
    body = {**curve_body(), "stationId": other.stations[0].id}
    assert session.post(CURVE_PATH, body).json()["code"] == "A0312"


# ---------------------------------------------------------------------------- power curve


def test_curve_items_units_signs_and_balance(semsplus: SemsPlusSession) -> None:
    answer = semsplus.power_curve(DEMO_STATION_ID, date(2026, 6, 10), date(2026, 6, 10)).json()
    items = [entry["item"] for entry in answer["data"]["dataList"]]
    assert set(items) == {"pSystem", "pConsum", "pGrid", "pBat", "soc", "sell", "buy"}
    units = {entry["item"]: entry["unit"] for entry in answer["data"]["dataList"]}
    assert units == {
        "pSystem": "kW",
        "pConsum": "kW",
        "pGrid": "kW",
        "pBat": "kW",
        "soc": "%",
        "sell": "kWh",
        "buy": "kWh",
    }
    series = {item: real(points(answer, item)) for item in items}
    assert {len(values) for values in series.values()} == {288}
    watts = {
        item: [round(p["power"] * 1000) for p in values]
        for item, values in series.items()
        if item != "soc"
    }
    for pv, battery, load, grid in zip(
        watts["pSystem"], watts["pBat"], watts["pConsum"], watts["pGrid"], strict=True
    ):
        assert pv + battery - load == grid  # pv + import + discharge = load + export + charge
    assert min(watts["pGrid"]) < 0 < max(watts["pGrid"])  # imports (-) and exports (+)
    assert min(watts["pBat"]) < 0 < max(watts["pBat"])  # charges (-) and discharges (+)
    night = [p["power"] for p in series["pSystem"] if p["tp"] < "2026-06-10 03:00"]
    assert set(night) == {0.0}
    for point in series["pSystem"]:
        assert point["power"] == round(point["power"], 3)
    assert all(10 <= p["power"] <= 100 for p in series["soc"])
    for point in series["sell"]:
        assert point["currency"] == "EUR" and point["price"] == ""


def test_markers_frame_each_day(semsplus: SemsPlusSession) -> None:
    answer = semsplus.power_curve(DEMO_STATION_ID, date(2026, 6, 9), date(2026, 6, 10)).json()
    for item in ("pSystem", "pBat", "sell"):
        markers = [p for p in points(answer, item) if p.get("isCE")]
        assert [m["tp"] for m in markers] == [
            "2026-06-09 00:00:00",
            "2026-06-09 23:59:00",
            "2026-06-10 00:00:00",
            "2026-06-10 23:59:00",
        ]
        assert all(m["power"] is None for m in markers)


def test_days_before_the_plant_existed_have_no_points_and_no_energy(
    fake_portal_factory: Callable[..., FakePortal], fixed_now: datetime
) -> None:
    plant = replace(demo_station(), created=date(2026, 6, 10))
    portal = fake_portal_factory(
        accounts=[Account(DEMO_ACCOUNT, DEMO_PASSWORD, [plant])], now=fixed_now
    )
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    session.login()
    answer = session.power_curve(plant.id, date(2026, 6, 9), date(2026, 6, 10)).json()
    pv = real(points(answer, "pSystem"))
    assert {p["tp"][:10] for p in pv} == {"2026-06-10"}
    assert len(pv) == 288
    stats = session.statistics(plant.id, date(2026, 6, 9), date(2026, 6, 10)).json()
    production = next(e for e in stats["data"]["dataList"] if e["item"] == "proSystemTotalStats")
    by_day = {entry["date"][:10]: float(entry["val"]) for entry in production["statisticsList"]}
    assert by_day["2026-06-09"] == 0
    assert by_day["2026-06-10"] > 1


def test_sleeping_inverter_sends_nulls_and_a_marker_before_its_first_point(
    semsplus: SemsPlusSession, pv_only_station: Station
) -> None:
    day = date(2026, 6, 10)
    answer = semsplus.power_curve(pv_only_station.id, day, day).json()
    pv = points(answer, "pSystem")
    first_real = next(i for i, p in enumerate(pv) if p["power"] is not None and not p.get("isCE"))
    assert pv[first_real - 1]["isCE"] is True
    assert pv[first_real - 1]["tp"] == pv[first_real]["tp"]
    assert "03:00" < pv[first_real]["tp"][11:16] < "07:00"
    nights = [p for p in real(pv) if p["tp"][11:16] < "02:00"]
    assert nights and all(p["power"] is None for p in nights)


def test_plants_without_battery_or_meter_omit_those_items(
    semsplus: SemsPlusSession, pv_only_station: Station, meter_only_station: Station
) -> None:
    day = date(2026, 6, 10)
    pv_only = semsplus.power_curve(pv_only_station.id, day, day).json()
    assert [e["item"] for e in pv_only["data"]["dataList"]] == ["pSystem"]
    meter_only = semsplus.power_curve(meter_only_station.id, day, day).json()
    items = {e["item"] for e in meter_only["data"]["dataList"]}
    assert items == {"pSystem", "pConsum", "pGrid", "sell", "buy"}


def test_missing_series_can_come_as_all_null(
    fake_portal_factory: Callable[..., FakePortal],
    account_under_test: Account,
    fixed_now: datetime,
    meter_only_station: Station,
) -> None:
    portal = fake_portal_factory(
        accounts=[account_under_test], now=fixed_now, options=PortalOptions(missing_series="null")
    )
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    session.login()
    day = date(2026, 6, 10)
    answer = session.power_curve(meter_only_station.id, day, day).json()
    for item in ("pBat", "soc"):
        values = real(points(answer, item))
        assert len(values) == 288 and all(p["power"] is None for p in values)


def test_curve_request_and_answer_follow_the_reported_schema(
    semsplus: SemsPlusSession, portal: FakePortal, sems_sample: Callable[[str], Any]
) -> None:
    schema = sems_sample("semsplus_power_curve_schema.json")
    semsplus.power_curve(DEMO_STATION_ID, date(2026, 6, 1), date(2026, 6, 1))
    assert set(portal.requests[-1].body) == set(schema["request"])
    schema_entry = schema["response"]["data"]["dataList"][0]
    schema_point = schema_entry["statisticsList"][0]
    answer = semsplus.power_curve(DEMO_STATION_ID, date(2026, 6, 1), date(2026, 6, 1)).json()
    for entry in answer["data"]["dataList"]:
        assert set(schema_entry) - {"statisticsList"} <= set(entry)
        assert all(set(schema_point) <= set(point) for point in entry["powerData"])


def test_points_array_name_is_an_option(
    fake_portal_factory: Callable[..., FakePortal], fixed_now: datetime
) -> None:
    portal = fake_portal_factory(now=fixed_now, options=PortalOptions(points_key="statisticsList"))
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    session.login()
    answer = session.power_curve(DEMO_STATION_ID, date(2026, 6, 1), date(2026, 6, 1)).json()
    for entry in answer["data"]["dataList"]:
        assert "powerData" not in entry and len(real(entry["statisticsList"])) == 288


@pytest.mark.parametrize("scale", [1, 5, 10, 15, 30, 60])
def test_every_time_scale_is_honoured(semsplus: SemsPlusSession, scale: int) -> None:
    answer = semsplus.power_curve(
        DEMO_STATION_ID, date(2026, 5, 5), date(2026, 5, 5), scale=scale, items=["pSystem"]
    ).json()
    pv = real(points(answer, "pSystem"))
    assert len(pv) == 1440 // scale
    minutes = [int(p["tp"][11:13]) * 60 + int(p["tp"][14:16]) for p in pv]
    assert minutes == list(range(0, 1440, scale))


@pytest.mark.parametrize("scale", [0, 2, 7, 120, "five", True])
def test_other_time_scales_are_a_parameter_error(semsplus: SemsPlusSession, scale: Any) -> None:
    body = {**curve_body(), "timeScale": scale}
    assert semsplus.post(CURVE_PATH, body).json()["code"] == "100004"


def quarter_hours(semsplus: SemsPlusSession, day: date) -> list[str]:
    answer = semsplus.power_curve(DEMO_STATION_ID, day, day, scale=15).json()
    stamps = [p["tp"] for p in real(points(answer, "pSystem"))]
    assert all(stamp.startswith(str(day)) for stamp in stamps)
    return [stamp[11:16] for stamp in stamps]


def test_spring_dst_day_at_quarter_hours_skips_the_missing_hour(
    semsplus: SemsPlusSession,
) -> None:
    wall = quarter_hours(semsplus, SPRING_DST)
    assert len(wall) == 92
    assert not [w for w in wall if "02:00" <= w < "03:00"]
    assert wall[wall.index("01:45") + 1] == "03:00"
    assert wall == sorted(wall) and len(set(wall)) == 92


def test_autumn_dst_day_at_quarter_hours_repeats_the_hour_in_order(
    semsplus: SemsPlusSession,
) -> None:
    wall = quarter_hours(semsplus, AUTUMN_DST)
    assert len(wall) == 100
    first = wall.index("02:00")
    assert wall[first : first + 8] == ["02:00", "02:15", "02:30", "02:45"] * 2
    assert wall[first + 8] == "03:00"
    without_repeat = wall[: first + 4] + wall[first + 8 :]
    assert without_repeat == sorted(without_repeat) and len(set(wall)) == 96


def test_a_multi_day_window_equals_the_single_days(semsplus: SemsPlusSession) -> None:
    first = date(2026, 5, 1)
    window = semsplus.power_curve(DEMO_STATION_ID, first, first + timedelta(days=6)).json()
    combined = points(window, "pConsum")
    singles: list[dict[str, Any]] = []
    for offset in range(7):
        day = first + timedelta(days=offset)
        singles += points(semsplus.power_curve(DEMO_STATION_ID, day, day).json(), "pConsum")
    assert combined == singles
    assert len(real(combined)) == 7 * 288


def test_window_limit(semsplus: SemsPlusSession, portal: FakePortal) -> None:
    first = date(2026, 5, 1)
    ok = semsplus.power_curve(DEMO_STATION_ID, first, first + timedelta(days=6))
    too_long = semsplus.power_curve(DEMO_STATION_ID, first, first + timedelta(days=7))
    assert ok.json()["code"] == "00000"
    assert too_long.json()["code"] == "100004"
    assert portal.requests[-1].code == "100004"


def test_window_limit_is_configurable(
    fake_portal_factory: Callable[..., FakePortal], fixed_now: datetime
) -> None:
    portal = fake_portal_factory(now=fixed_now, options=PortalOptions(max_window_days=1))
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    session.login()
    day = date(2026, 5, 1)
    assert session.power_curve(DEMO_STATION_ID, day, day).json()["code"] == "00000"
    two_days = session.power_curve(DEMO_STATION_ID, day, day + timedelta(days=1))
    assert two_days.json()["code"] == "100004"


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-06-01", "2026-06-01 23:59:59"), ("2026-06-02 00:00:00", "2026-06-01 00:00:00")],
)
def test_bad_time_range_is_a_parameter_error(
    semsplus: SemsPlusSession, start: str, end: str
) -> None:
    body = {**curve_body(), "startTime": start, "endTime": end}
    assert semsplus.post(CURVE_PATH, body).json()["code"] == "100004"


def test_part_of_a_day_is_served_by_wall_clock(semsplus: SemsPlusSession) -> None:
    body = {**curve_body(date(2026, 6, 1)), "timeScale": 5}
    body.update(startTime="2026-06-01 10:00:00", endTime="2026-06-01 11:59:59")
    stamps = [p["tp"] for p in real(points(semsplus.post(CURVE_PATH, body).json(), "pSystem"))]
    assert stamps[0] == "2026-06-01 10:00:00" and stamps[-1] == "2026-06-01 11:55:00"
    assert len(stamps) == 24


def test_today_stops_at_the_last_upload_and_future_days_are_empty(
    semsplus: SemsPlusSession,
) -> None:
    answer = semsplus.power_curve(DEMO_STATION_ID, TODAY, TODAY + timedelta(days=1)).json()
    pv = points(answer, "pSystem")
    today = [p for p in real(pv) if p["tp"].startswith(str(TODAY))]
    tomorrow = [p for p in real(pv) if p["tp"].startswith(str(TODAY + timedelta(days=1)))]
    # 16:07 Berlin: the 16:00-16:05 interval is the last one finished.
    assert today[-1]["tp"] == f"{TODAY} 16:00:00"
    assert len(today) == 16 * 12 + 1
    assert tomorrow == []
    assert [p["tp"] for p in pv if p.get("isCE")][-2:] == [
        f"{TODAY + timedelta(days=1)} 00:00:00",
        f"{TODAY + timedelta(days=1)} 23:59:00",
    ]


# ---------------------------------------------------------------------------- statistics


def test_statistics_per_day_match_the_curve_integral(
    semsplus: SemsPlusSession, sems_sample: Callable[[str], Any]
) -> None:
    first, last = date(2026, 6, 8), date(2026, 6, 14)
    answer = semsplus.statistics(DEMO_STATION_ID, first, last).json()
    captured = sems_sample("semsplus_statistics_day_hybrid.json")
    assert set(answer) == set(captured)
    assert set(answer["data"]) == set(captured["data"])
    by_item = {e["item"]: e["statisticsList"] for e in answer["data"]["dataList"]}
    assert set(by_item) == {e["item"] for e in captured["data"]["dataList"]}
    assert [e["date"] for e in by_item["proSystemTotalStats"]] == [
        str(first + timedelta(days=i)) for i in range(7)
    ]
    curve = semsplus.power_curve(DEMO_STATION_ID, first, last).json()

    def integral(item: str, day: str, sign: int = 1) -> float:
        """kWh of one day of a curve item (kW averages over 5 minutes)."""
        values = [p["power"] for p in real(points(curve, item)) if p["tp"].startswith(day)]
        return sum(max(sign * v, 0) for v in values) * 5 / 60

    for index in range(7):
        day = str(first + timedelta(days=index))

        def reported(item: str, index: int = index) -> float:
            return float(by_item[item][index]["val"])

        assert reported("proSystemTotalStats") == pytest.approx(integral("pSystem", day), abs=0.02)
        assert reported("proConsumStats") == pytest.approx(integral("pConsum", day), abs=0.02)
        # Within a 5-minute interval import and export can net out: allow a little more.
        assert reported("proGridStats") == pytest.approx(integral("pGrid", day), abs=0.3)
        assert reported("proPurchaseStats") == pytest.approx(integral("pGrid", day, -1), abs=0.3)
        assert reported("proCharStats") == pytest.approx(integral("pBat", day, -1), abs=0.3)
        assert reported("proDischarStats") == pytest.approx(integral("pBat", day), abs=0.3)
    data = answer["data"]
    production = sum(e["val"] for e in by_item["proSystemTotalStats"])
    assert data["production"] == pytest.approx(production, abs=0.05)
    assert data["proSelfConsum"] == pytest.approx(data["production"] - data["proGrid"], abs=0.01)
    assert data["proGridRate"] == pytest.approx(
        data["proGrid"] / data["production"] * 100, abs=0.01
    )


def test_statistics_months_and_years_sum_the_days(semsplus: SemsPlusSession) -> None:
    days = semsplus.statistics(DEMO_STATION_ID, date(2026, 1, 1), date(2026, 3, 31)).json()
    months = semsplus.statistics(
        DEMO_STATION_ID, date(2026, 1, 1), date(2026, 3, 31), "month"
    ).json()
    years = semsplus.statistics(
        DEMO_STATION_ID, date(2025, 1, 1), date(2026, 12, 31), "year"
    ).json()
    daily = {e["item"]: e["statisticsList"] for e in days["data"]["dataList"]}
    monthly = {e["item"]: e["statisticsList"] for e in months["data"]["dataList"]}
    assert [e["date"] for e in monthly["proConsumStats"]] == ["2026-01", "2026-02", "2026-03"]
    for entry in monthly["proConsumStats"]:
        in_month = [
            d["val"] for d in daily["proConsumStats"] if d["date"].startswith(entry["date"])
        ]
        assert entry["val"] == pytest.approx(sum(in_month), abs=0.01 * len(in_month))
    yearly = {e["item"]: e["statisticsList"] for e in years["data"]["dataList"]}
    assert [e["date"] for e in yearly["proSystemTotalStats"]] == ["2025", "2026"]


def test_statistics_stop_at_today(semsplus: SemsPlusSession) -> None:
    answer = semsplus.statistics(
        DEMO_STATION_ID, TODAY - timedelta(days=1), TODAY + timedelta(days=5)
    ).json()
    dates = [e["date"] for e in answer["data"]["dataList"][0]["statisticsList"]]
    assert dates == [str(TODAY - timedelta(days=1)), str(TODAY)]


def test_statistics_bad_dimension_answers_s0327(
    semsplus: SemsPlusSession, sems_sample: Callable[[str], Any]
) -> None:
    answer = semsplus.statistics(
        DEMO_STATION_ID, date(2026, 1, 1), date(2026, 1, 2), "total"
    ).json()
    assert answer["code"] == "S0327"
    assert set(answer) == set(sems_sample("semsplus_error_S0327.json"))


def test_statistics_range_limit(semsplus: SemsPlusSession) -> None:
    first = date(2025, 1, 1)
    ok = semsplus.statistics(DEMO_STATION_ID, first, first + timedelta(days=365))
    too_long = semsplus.statistics(DEMO_STATION_ID, first, first + timedelta(days=366))
    assert ok.json()["code"] == "00000"
    assert len(ok.json()["data"]["dataList"][0]["statisticsList"]) == 366
    assert too_long.json()["code"] == "100004"


def test_statistics_without_meter_or_battery_omit_those_items(
    semsplus: SemsPlusSession, pv_only_station: Station
) -> None:
    answer = semsplus.statistics(pv_only_station.id, date(2026, 6, 1), date(2026, 6, 2)).json()
    assert [e["item"] for e in answer["data"]["dataList"]] == ["proSystemTotalStats"]
    assert "proConsum" not in answer["data"]


# ---------------------------------------------------------------------------- stations


def test_station_list_pages_through_a_fleet(
    fake_portal_factory: Callable[..., FakePortal], fixed_now: datetime
) -> None:
    fleet = make_fleet(23)
    portal = fake_portal_factory(
        accounts=[Account(DEMO_ACCOUNT, DEMO_PASSWORD, fleet)], now=fixed_now
    )
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    session.login()
    seen: list[str] = []
    for current in (1, 2, 3):
        data = session.post(STATION_LIST_PATH, {"current": current, "size": 10}).json()["data"]
        assert data["total"] == 23 and data["current"] == current and data["size"] == 10
        seen += [row["id"] for row in data["dataList"]]
    assert seen == [station.id for station in fleet]
    rows = session.post(STATION_LIST_PATH, {"current": 1, "size": 100}).json()["data"]["dataList"]
    hidden = {s.id for s in fleet if not s.exposes_timezone}
    for row, station in zip(rows, fleet, strict=True):
        assert row["name"] == station.name and row["installedPower"] == station.capacity_kwp
        assert ("timeZone" in row) == (row["id"] not in hidden)
        if "timeZone" in row:
            assert row["timeZone"] == station.timezone
    assert session.post(STATION_LIST_PATH, {"current": 0, "size": 10}).json()["code"] == "100004"


def test_station_detail_carries_the_metadata(
    semsplus: SemsPlusSession, pv_only_station: Station
) -> None:
    reply = semsplus.post(f"{STATION_DETAIL_PATH}?stationId={DEMO_STATION_ID}", {})
    detail = reply.json()["data"]
    station = demo_station()
    assert detail["stationId"] == station.id and detail["name"] == station.name
    assert detail["pvCapacity"] == station.capacity_kwp
    assert detail["batteryCapacity"] == station.battery_kwh
    assert detail["timeZone"] == "Europe/Berlin"
    assert (detail["latitude"], detail["longitude"]) == (station.latitude, station.longitude)
    assert detail["currency"] == "EUR" and detail["address"] == station.address
    assert detail["gridStatus"] == "1"
    hidden = semsplus.post(f"{STATION_DETAIL_PATH}?stationId={pv_only_station.id}", {}).json()
    assert "timeZone" not in hidden["data"] and "gridStatus" not in hidden["data"]
    assert hidden["data"]["stationTimeSpan"] == -1.0  # Vienna: UTC+1 in winter
    assert detail["stationTimeSpan"] == -1.0
    assert hidden["data"]["batteryCapacity"] == 0.0
    assert detail["createTime"] == "2019-04-01T09:00:00"
    assert "createTime" not in hidden["data"]
    app_path = "/sems-plant/api/app/v2/stations/basic/info"
    assert semsplus.post(app_path, {"stationId": DEMO_STATION_ID}).json()["data"] == detail


def test_station_flow_shows_the_last_upload(
    semsplus: SemsPlusSession, sems_sample: Callable[[str], Any]
) -> None:
    answer = semsplus.get("/sems-plant/api/stations/flow", {"stationId": DEMO_STATION_ID}).json()
    flow = answer["data"]
    assert set(sems_sample("semsplus_station_flow_import.json")["data"]) - {
        "flows",
        "consumFlag",
    } <= set(flow)
    assert flow["refreshTime"] == "2026-06-15T16:05:00"
    pv, battery, load, grid = (
        round(flow[k] * 1000) for k in ("pSystem", "pBat", "pConsum", "pGrid")
    )
    assert pv + battery - load == grid


def test_station_detail_of_an_unknown_station(semsplus: SemsPlusSession) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    reply = semsplus.post(f"{STATION_DETAIL_PATH}?stationId={unknown}", {})
    assert reply.json()["code"] == "A0312"
