"""Payload parsing on real SEMS samples and on SEMS+ answers shaped like real captures."""

from __future__ import annotations

import ast
import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tap_sems import parsing, stations
from tap_sems.client import (
    Answer,
    SemsLoginError,
    SemsParameterError,
    SemsPlusClient,
    SemsTermsError,
)
from tap_sems.timeutil import DayClock, iter_days

BERLIN = ZoneInfo("Europe/Berlin")
STATION = "12345678-1234-5678-9abc-123456789abc"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "sems-samples"


def clocks(first: dt.date, last: dt.date) -> dict[dt.date, DayClock]:
    return {day: DayClock(day, BERLIN) for day in iter_days(first, last)}


def wall_times(day: dt.date, step_minutes: int) -> list[str]:
    """Every wall-clock time of `day` in Berlin, in order, as SEMS+ writes them."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=BERLIN).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=BERLIN)
    times = []
    instant = start
    while instant < end.astimezone(dt.UTC):
        times.append(instant.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M:%S"))
        instant += dt.timedelta(minutes=step_minutes)
    return times


def semsplus_answer(series: dict[str, list[dict[str, Any]]], *, array: str = "powerData") -> dict:
    units = {"soc": "%", "sell": "kWh", "buy": "kWh"}
    return {
        "code": "00000",
        "description": "成功",
        "data": {
            "dataList": [
                {"item": item, "unit": units.get(item, "kW"), array: points}
                for item, points in series.items()
            ]
        },
    }


def with_markers(day: dt.date, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The isCE marker points a real capture shows around the data."""
    marker = {"power": None, "isCE": True}
    return [
        {"tp": f"{day} 00:00:00", **marker},
        *points,
        {"tp": f"{day} 23:59:00", **marker},
    ]


def parse(answer: dict, first: dt.date, last: dt.date) -> parsing.ParsedCurve:
    days = clocks(first, last)
    return parsing.parse_semsplus_curve(
        answer, station_id=STATION, clocks=days, source="semsplus:test"
    )


# ---- SEMS+ curves ---------------------------------------------------------------------------


def test_semsplus_curve_converts_kw_to_w_and_splits_grid() -> None:
    day = dt.date(2026, 7, 1)
    answer = semsplus_answer(
        {
            "pSystem": with_markers(day, [{"tp": f"{day} 12:00:00", "power": 4.2}]),
            "pConsum": [{"tp": f"{day} 12:00:00", "power": 0.8}],
            "pGrid": [{"tp": f"{day} 12:00:00", "power": -1.351}],
            "pBat": [{"tp": f"{day} 12:00:00", "power": "0.5"}],
            "soc": [{"tp": f"{day} 12:00:00", "power": 87}],
        }
    )
    (record,) = parse(answer, day, day).days[day]
    assert record["timestamp"] == "2026-07-01T10:00:00+00:00"
    assert record["time_local"] == "2026-07-01 12:00:00"
    assert record["day"] == "2026-07-01"
    assert record["pv_power_w"] == 4200.0
    assert record["load_power_w"] == 800.0
    assert record["grid_power_w"] == -1351.0
    assert (record["grid_import_w"], record["grid_export_w"]) == (1351.0, 0.0)
    assert record["battery_power_w"] == 500.0
    assert record["battery_soc_pct"] == 87.0
    assert record["extra"] is None


def test_semsplus_missing_series_are_null_not_zero() -> None:
    day = dt.date(2026, 7, 1)
    answer = semsplus_answer(
        {
            "pSystem": [{"tp": f"{day} 12:00:00", "power": 3.0}],
            "pBat": [{"tp": f"{day} 12:00:00", "power": None}],
        }
    )
    (record,) = parse(answer, day, day).days[day]
    assert record["pv_power_w"] == 3000.0
    for name in ("load_power_w", "grid_power_w", "grid_import_w", "battery_power_w"):
        assert record[name] is None, name


def test_semsplus_unasked_items_are_kept_in_extra_in_their_unit() -> None:
    day = dt.date(2026, 7, 1)
    tp = f"{day} 12:05:00"
    answer = semsplus_answer(
        {
            "pSystem": [{"tp": tp, "power": 1.0}],
            "sell": [{"tp": tp, "power": 0.083, "currency": "EUR", "price": ""}],
            "buy": [{"tp": tp, "power": 0.0, "currency": "EUR", "price": ""}],
        },
        array="statisticsList",
    )
    (record,) = parse(answer, day, day).days[day]
    # Empty prices carry nothing, and a currency without a price qualifies nothing.
    assert record["extra"] == {"sell": 0.083, "buy": 0.0}


def test_semsplus_point_prices_are_kept_with_their_currency() -> None:
    day = dt.date(2026, 7, 1)
    tp = f"{day} 12:05:00"
    answer = semsplus_answer(
        {
            "pSystem": [{"tp": tp, "power": 1.0}],
            "sell": [{"tp": tp, "power": 0.083, "currency": "EUR", "price": 0.0066}],
        }
    )
    (record,) = parse(answer, day, day).days[day]
    assert record["extra"] == {"sell": 0.083, "sell.currency": "EUR", "sell.price": 0.0066}


def test_semsplus_markers_and_empty_instants_are_not_records() -> None:
    day = dt.date(2026, 7, 1)
    points = [{"tp": f"{day} 06:00:00", "power": 0.1}, {"tp": f"{day} 06:05:00", "power": None}]
    parsed = parse(semsplus_answer({"pSystem": with_markers(day, points)}), day, day)
    assert [r["time_local"] for r in parsed.days[day]] == ["2026-07-01 06:00:00"]
    assert parsed.skipped["no value in any series"] == 1


@pytest.mark.parametrize(
    ("day", "expected"), [(dt.date(2026, 3, 29), 92), (dt.date(2026, 10, 25), 100)]
)
def test_dst_days_at_15_minutes_give_each_instant_once(day: dt.date, expected: int) -> None:
    times = wall_times(day, 15)
    series = {
        "pSystem": with_markers(
            day, [{"tp": tp, "power": 0.001 * i} for i, tp in enumerate(times)]
        ),
        "pConsum": [{"tp": tp, "power": 0.3} for tp in times],
    }
    records = parse(semsplus_answer(series), day, day).days[day]
    stamps = [dt.datetime.fromisoformat(r["timestamp"]) for r in records]
    assert len(records) == expected
    assert len(set(stamps)) == expected
    assert stamps == sorted(stamps)
    assert all(b - a == dt.timedelta(minutes=15) for a, b in itertools.pairwise(stamps))
    # Values stay with their instant: the i-th point carries power i.
    assert [r["pv_power_w"] for r in records] == [round(i * 1.0, 3) for i in range(expected)]


def test_spring_gap_points_are_skipped_not_invented() -> None:
    day = dt.date(2026, 3, 29)
    answer = semsplus_answer({"pSystem": [{"tp": f"{day} 02:30:00", "power": 1.0}]})
    parsed = parse(answer, day, day)
    assert parsed.days[day] == []
    assert parsed.skipped["inside the daylight-saving gap"] == 1


def test_multi_day_window_groups_records_by_plant_day() -> None:
    first, last = dt.date(2026, 7, 1), dt.date(2026, 7, 3)
    points = [{"tp": f"{day} 12:00:00", "power": 1.0} for day in iter_days(first, last)]
    parsed = parse(semsplus_answer({"pSystem": points}), first, last)
    assert {day: len(records) for day, records in parsed.days.items()} == {
        dt.date(2026, 7, 1): 1,
        dt.date(2026, 7, 2): 1,
        dt.date(2026, 7, 3): 1,
    }


def test_points_outside_the_requested_days_are_counted_not_emitted() -> None:
    day = dt.date(2026, 7, 1)
    answer = semsplus_answer({"pSystem": [{"tp": "2026-07-02 01:00:00", "power": 1.0}]})
    parsed = parse(answer, day, day)
    assert parsed.days == {day: []}
    assert parsed.skipped["outside the requested days"] == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"dataList": "nope"}, "'dataList' is str"),
        ({"dataList": [{"unit": "kW"}]}, "dataList\\[0\\] has no 'item'"),
        ({"dataList": [{"item": "pSystem", "powerData": [{"power": 1}]}]}, "point 0"),
        (
            {"dataList": [{"item": "pSystem", "powerData": [{"tp": "x", "power": 1}]}]},
            "'x' is not a date",
        ),
        (
            {
                "dataList": [
                    {"item": "pGrid", "powerData": [{"tp": "2026-07-01 12:00", "power": "a"}]}
                ]
            },
            "expected a number",
        ),
        ({"dataList": [{"item": "pGrid", "unit": "hp", "powerData": []}]}, "unknown power unit"),
    ],
)
def test_malformed_semsplus_payloads_name_the_problem(data: dict, message: str) -> None:
    day = dt.date(2026, 7, 1)
    with pytest.raises(parsing.PayloadError, match=message):
        parse({"code": "00000", "data": data}, day, day)


def test_error_envelope_is_not_data(sems_sample: Callable[[str], Any]) -> None:
    day = dt.date(2026, 7, 1)
    with pytest.raises(parsing.PayloadError, match="code S0327 Statistical dimension"):
        parse(sems_sample("semsplus_error_S0327.json"), day, day)


def test_power_curve_schema_sample_names_the_series_we_map(sems_sample: Callable) -> None:
    schema = sems_sample("semsplus_power_curve_schema.json")
    assert set(schema["request"]["items"]) == set(parsing.SEMSPLUS_CURVE_ITEMS)
    items = {entry["item"] for entry in schema["response"]["data"]["dataList"]}
    assert set(parsing.SEMSPLUS_CURVE_FIELDS) <= items | {"pSystem"}


# ---- legacy -----------------------------------------------------------------------------------


def test_legacy_chart_sample(sems_sample: Callable[[str], Any]) -> None:
    day = dt.date(2026, 6, 1)
    parsed = parsing.parse_legacy_chart(
        sems_sample("legacy_plant_power_chart.json"),
        station_id=STATION,
        day=day,
        clock=DayClock(day, BERLIN),
        source="archive:raw_v2_2026-06-01.json",
    )
    records = parsed.days[day]
    assert len(records) == 203  # 00:00 .. 16:50 every 5 minutes
    first, last = records[0], records[-1]
    assert first["time_local"] == "2026-06-01 00:00:00"
    assert first["timestamp"] == "2026-05-31T22:00:00+00:00"
    assert last["time_local"] == "2026-06-01 16:50:00"
    # Negative meter at night means importing.
    assert first["grid_power_w"] == -3599.0
    assert (first["grid_import_w"], first["grid_export_w"]) == (3599.0, 0.0)
    assert first["load_power_w"] == 3599.0
    assert max(r["pv_power_w"] for r in records) == 51301.0
    # No battery lines: null, never 0.
    assert all(r["battery_power_w"] is None and r["battery_soc_pct"] is None for r in records)
    assert all(r["source"] == "archive:raw_v2_2026-06-01.json" for r in records)


@pytest.mark.parametrize("shape", ["bare", "whole", "plant"])
def test_legacy_file_variants_give_the_same_records(sems_sample: Callable, shape: str) -> None:
    chart = sems_sample("legacy_plant_power_chart.json")["plant"]
    document = {
        "bare": chart,
        "whole": {"hasError": False, "code": 0, "msg": "success", "data": chart},
        "plant": {"plant": chart},
    }[shape]
    day = dt.date(2026, 6, 1)
    parsed = parsing.parse_legacy_chart(
        document, station_id=STATION, day=day, clock=DayClock(day, BERLIN), source="x"
    )
    assert len(parsed.days[day]) == 203


def test_legacy_error_answer_is_not_a_chart() -> None:
    day = dt.date(2026, 6, 1)
    with pytest.raises(parsing.PayloadError, match="code 100002"):
        parsing.parse_legacy_chart(
            {
                "hasError": False,
                "code": 100002,
                "msg": "The authorization has expired",
                "data": None,
            },
            station_id=STATION,
            day=day,
            clock=DayClock(day, BERLIN),
            source="x",
        )


def test_legacy_unknown_lines_go_to_extra() -> None:
    day = dt.date(2026, 6, 1)
    chart = {
        "lines": [
            {"key": "PCurve_Power_PV", "unit": "W", "xy": [{"x": "12:00", "y": 100.0}]},
            {"key": "PCurve_Power_Genset", "unit": "W", "xy": [{"x": "12:00", "y": 7.0}]},
        ]
    }
    parsed = parsing.parse_legacy_chart(
        chart, station_id=STATION, day=day, clock=DayClock(day, BERLIN), source="x"
    )
    assert parsed.days[day][0]["extra"] == {"PCurve_Power_Genset": 7.0}


@pytest.mark.parametrize(
    ("clock", "local"),
    [
        ("12:05", "2026-06-01 12:05:00"),
        ("7:05", "2026-06-01 07:05:00"),
        ("07:05:30", "2026-06-01 07:05:30"),
        ("2026-06-01 12:05", "2026-06-01 12:05:00"),
        ("2026-06-01T12:05:00", "2026-06-01 12:05:00"),
    ],
)
def test_legacy_clock_variants_land_on_the_same_instant(clock: str, local: str) -> None:
    day = dt.date(2026, 6, 1)
    chart = {"lines": [{"key": "PCurve_Power_PV", "unit": "W", "xy": [{"x": clock, "y": 5}]}]}
    parsed = parsing.parse_legacy_chart(
        chart, station_id=STATION, day=day, clock=DayClock(day, BERLIN), source="x"
    )
    [record] = parsed.days[day]
    assert record["time_local"] == local
    wall = dt.datetime.fromisoformat(local).replace(tzinfo=BERLIN)
    assert record["timestamp"] == wall.astimezone(dt.UTC).isoformat()


@pytest.mark.parametrize("clock", ["noon", "12", "12:xx", 1205])
def test_legacy_clock_that_is_not_a_time_is_named(clock: Any) -> None:
    day = dt.date(2026, 6, 1)
    chart = {"lines": [{"key": "PCurve_Power_PV", "unit": "W", "xy": [{"x": clock, "y": 5}]}]}
    with pytest.raises(parsing.PayloadError, match="line 'PCurve_Power_PV' point 0: 'x'"):
        parsing.parse_legacy_chart(
            chart, station_id=STATION, day=day, clock=DayClock(day, BERLIN), source="x"
        )


# ---- statistics, stations, logins -------------------------------------------------------


def test_statistics_sample_maps_daily_kwh(sems_sample: Callable[[str], Any]) -> None:
    day = dt.date(2026, 9, 24)
    records = parsing.parse_semsplus_statistics(
        sems_sample("semsplus_statistics_day_hybrid.json"),
        station_id=STATION,
        days=[day],
        source="semsplus:stations/statistics",
    )
    record = records[day]
    assert record["production_kwh"] == 31.4
    assert record["consumption_kwh"] == 29.01
    assert record["grid_import_kwh"] == 17.57
    assert record["grid_export_kwh"] == 9.76
    assert record["battery_charge_kwh"] == 20.3
    assert record["battery_discharge_kwh"] == 12.8
    assert record["method"] == "portal_statistics"
    # The sample closes the energy balance within a few percent (losses).
    supply = record["production_kwh"] + record["grid_import_kwh"] + record["battery_discharge_kwh"]
    demand = record["consumption_kwh"] + record["grid_export_kwh"] + record["battery_charge_kwh"]
    assert abs(supply - demand) / supply < 0.05


def test_integration_of_a_constant_day_is_power_times_time() -> None:
    day = dt.date(2026, 7, 1)
    times = wall_times(day, 5)
    answer = semsplus_answer(
        {
            "pSystem": [{"tp": tp, "power": 1.2} for tp in times],
            "pBat": [{"tp": tp, "power": -0.6} for tp in times],
        }
    )
    records = parse(answer, day, day).days[day]
    energy = parsing.integrate_day(records, station_id=STATION, day=day, source="x", max_gap_s=900)
    # 287 five-minute intervals between 288 samples.
    assert energy["production_kwh"] == pytest.approx(1.2 * 287 * 5 / 60)
    assert energy["battery_charge_kwh"] == pytest.approx(0.6 * 287 * 5 / 60)
    assert energy["battery_discharge_kwh"] == 0
    assert energy["grid_import_kwh"] is None
    assert energy["method"] == "integrated_power_curve"


def test_integration_does_not_bridge_long_gaps() -> None:
    day = dt.date(2026, 7, 1)
    answer = semsplus_answer(
        {
            "pSystem": [
                {"tp": f"{day} 10:00:00", "power": 1.0},
                {"tp": f"{day} 14:00:00", "power": 1.0},
            ]
        }
    )
    records = parse(answer, day, day).days[day]
    energy = parsing.integrate_day(records, station_id=STATION, day=day, source="x", max_gap_s=900)
    assert energy["production_kwh"] is None


def test_legacy_station_detail_sample(sems_sample: Callable[[str], Any]) -> None:
    record = stations.parse_legacy_station(
        sems_sample("legacy_monitor_detail_single_inverter.json"), station_id=STATION
    )
    assert record["name"] == "Test Solar Farm"
    assert record["capacity_kwp"] == 3.2
    assert record["battery_capacity_kwh"] is None  # 0.0 means none
    assert record["currency"] == "EUR"
    assert record["address"] == "Test City, Test Country"
    assert record["latitude"] is None and record["longitude"] is None  # 0/0 means unknown
    assert record["timezone"] is None  # only an offset is given
    assert stations.legacy_utc_offset_hours(record) == 1.0


def test_legacy_station_detail_after_shutdown_is_explained(sems_sample: Callable) -> None:
    with pytest.raises(stations.StationDataMissingError, match="accounts moved to SEMS\\+"):
        stations.parse_legacy_station(
            sems_sample("legacy_monitor_detail_empty.json"), station_id=STATION
        )


def test_iana_zone_detection() -> None:
    assert stations.iana_zone("Europe/Berlin") == "Europe/Berlin"
    assert stations.iana_zone("GMT+01:00") is None
    assert stations.iana_zone("Mars/Olympus") is None
    assert stations.iana_zone(1) is None


def login_variants() -> list[dict[str, Any]]:
    """The SEMS+ login answers quoted in public issue threads (Python reprs in the sample)."""
    text = (FIXTURES / "semsplus_login_variants.txt").read_text(encoding="utf-8")
    answers = []
    for line in text.splitlines():
        if "login API call response payload: " in line:
            literal = line.split("payload: ", 1)[1]
            answers.append(ast.literal_eval(literal[: literal.rindex("}") + 1]))
    return answers


def test_login_variants_from_the_wild() -> None:
    client = SemsPlusClient("user@example.com", "secret-password")
    answers = login_variants()
    assert len(answers) == 3
    with_token, without_token, parameter_error = answers
    # The commenter redacted the key names of uid and token; restore them to parse.
    data = with_token["data"]
    data["uid"], data["token"] = data.pop("<u**>"), data.pop("<t****>")
    token, api = client.session_from_login(Answer(200, with_token))
    assert api == "https://eu-gateway.semsportal.com/web/sems"
    assert token["token"] == "61d090b11eXXX"
    with pytest.raises(SemsTermsError, match="accepted the SEMS\\+ terms"):
        client.session_from_login(Answer(200, without_token))
    with pytest.raises(SemsParameterError, match=r"code 100004: parameter error\."):
        client.session_from_login(Answer(200, parameter_error))


def test_wrong_password_sample_is_a_login_error(sems_sample: Callable[[str], Any]) -> None:
    client = SemsPlusClient("user@example.com", "secret-password")
    error = client.login_failure(Answer(200, sems_sample("legacy_login_fail_100005.json")))
    assert isinstance(error, SemsLoginError)
    assert "wrong account or password" in str(error)
    assert "code 100005: Email or password error." in str(error)
    assert "secret-password" not in str(error)


def test_cross_login_sample_has_what_the_client_needs(sems_sample: Callable) -> None:
    sample = sems_sample("semsplus_cross_login.json")
    assert sample["request"]["url"].endswith(SemsPlusClient.login_path)
    token, api = SemsPlusClient("a", "b").session_from_login(
        Answer(200, {"code": sample["response"]["code"], "data": sample["response"]["data"]})
    )
    assert api == "https://eu-gateway.semsportal.com/web/sems"
    assert token["uid"] == "<user_id>"
