"""Tariff files: flat prices, time-of-use schedules, hourly price CSVs, and their errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from sems_battery import Battery, ParameterError, build_history, load_tariff, simulate
from sems_battery.history import History

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def at(*moments: dt.datetime) -> History:
    """A history sampled at these UTC moments (the wall clock is Europe/Berlin)."""
    time_us = np.array([(m - EPOCH) // dt.timedelta(microseconds=1) for m in moments])
    history = build_history(
        time_us, pv_w=[0.0] * len(moments), load_w=[500.0] * len(moments), gap_limit_minutes=1e9
    )
    return history.in_timezone("Europe/Berlin")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_flat_tariff(tmp_path: Path) -> None:
    tariff = load_tariff(
        write(tmp_path, "flat.toml", 'currency = "CHF"\nimport = 0.27\n[export]\nprice = 0.06\n')
    )
    history = at(utc(2024, 3, 1, 12), utc(2024, 3, 1, 13))
    import_price, export_price = tariff.prices(history)
    assert import_price.tolist() == [0.27, 0.27]
    assert export_price.tolist() == [0.06, 0.06]
    assert tariff.currency == "CHF"
    assert tariff.name == "flat"


TOU = """
name = "Night, weekend and winter peak"
timezone = "Europe/Berlin"
monthly_fee = 9.5
export_limit_kw = 4.2

[import]
price = 0.35

[[import.periods]]
name = "winter evening peak"
months = "nov-feb"
days = "mon-fri"
hours = "17:00-20:00"
price = 0.52

[[import.periods]]
name = "night"
hours = ["22:00-24:00", "00:00-06:30"]
price = 0.21

[[import.periods]]
name = "weekend"
days = "weekend"
price = 0.28

[export]
price = 0.08
"""


def test_time_of_use_by_hour_weekday_and_season(tmp_path: Path) -> None:
    tariff = load_tariff(write(tmp_path, "tou.toml", TOU))
    assert tariff.monthly_fee == 9.5
    assert tariff.export_limit_kw == 4.2
    history = at(
        utc(2024, 1, 16, 5, 15),  # Tue 06:15 CET: night runs to 06:30
        utc(2024, 1, 16, 5, 30),  # Tue 06:30 CET: day price
        utc(2024, 1, 16, 17),  # Tue 18:00 CET, winter weekday evening
        utc(2024, 1, 20, 17),  # Sat 18:00 CET: weekend, the peak is weekdays only
        utc(2024, 1, 20, 22),  # Sat 23:00 CET: night comes before weekend
        utc(2024, 7, 16, 16),  # Tue 18:00 CEST, summer: no peak
    )
    import_price, _ = tariff.prices(history)
    assert import_price.tolist() == [0.21, 0.35, 0.52, 0.28, 0.21, 0.35]


def test_json_tariff_reads_like_toml(tmp_path: Path) -> None:
    document = {
        "import": {"price": 0.3, "periods": [{"hours": "22-6", "price": 0.2}]},
        "export": {"price": 0.1},
    }
    tariff = load_tariff(write(tmp_path, "t.json", json.dumps(document)))
    import_price, _ = tariff.prices(at(utc(2024, 5, 1, 12), utc(2024, 5, 1, 23)))
    assert import_price.tolist() == [0.3, 0.2]  # 14:00 and 01:00 in Berlin


PRICES_CSV = """start,spot_eur_mwh
2024-03-31T00:00:00+01:00,80
2024-03-31T01:00:00+01:00,60
2024-03-31T03:00:00+02:00,-10
2024-03-31T04:00:00+02:00,120
"""


def test_hourly_price_csv_follows_absolute_time_across_the_clock_change(tmp_path: Path) -> None:
    write(tmp_path, "spot.csv", PRICES_CSV)
    tariff = load_tariff(
        write(
            tmp_path,
            "dynamic.toml",
            '[import]\ncsv = "spot.csv"\nscale = 0.001\nadder = 0.2\n[export]\nprice = 0.05\n',
        )
    )
    history = at(
        utc(2024, 3, 30, 23, 30),  # 00:30 CET
        utc(2024, 3, 31, 0, 55),  # 01:55 CET
        utc(2024, 3, 31, 1, 0),  # 03:00 CEST (02:00 does not exist)
        utc(2024, 3, 31, 2, 59),  # 04:59 CEST, last hour of the file
    )
    import_price, _ = tariff.prices(history)
    assert import_price == pytest.approx([0.28, 0.26, 0.19, 0.32])
    with pytest.raises(ParameterError, match="needs prices from 2024-03-31T03:00:00Z"):
        tariff.prices(at(utc(2024, 3, 31, 2), utc(2024, 3, 31, 3)))


def test_price_csv_without_offsets_needs_a_time_zone(tmp_path: Path) -> None:
    write(tmp_path, "naive.csv", "time,price\n2024-01-01 00:00,0.1\n2024-01-01 01:00,0.2\n")
    text = '[import]\ncsv = "naive.csv"\n{zone}\n[export]\nprice = 0\n'
    with pytest.raises(ParameterError, match="has no UTC offset"):
        load_tariff(write(tmp_path, "a.toml", text.format(zone="")))
    tariff = load_tariff(write(tmp_path, "b.toml", text.format(zone='timezone = "UTC"')))
    prices = tariff.prices(at(utc(2024, 1, 1, 0, 30), utc(2024, 1, 1, 1, 30)))[0]
    assert prices.tolist() == [0.1, 0.2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[import]\nprice = 0.3\n", r"no \[export\] price"),
        ("imprt = 0.3\n[export]\nprice = 0\n", "unknown key 'imprt'"),
        ('import = "cheap"\n[export]\nprice = 0\n', "must be a number"),
        (
            '[import]\n[[import.periods]]\nhours = "00:00-06:00"\nprice = 0.1\n'
            "[export]\nprice = 0\n",
            "leave times without a price",
        ),
        (
            '[import]\nprice = 0.3\n[[import.periods]]\nhours = "25:00-06:00"\nprice = 0.1\n'
            "[export]\nprice = 0\n",
            "is not a time of day|must be a time between",
        ),
        (
            '[import]\nprice = 0.3\n[[import.periods]]\ndays = "funday"\nprice = 0.1\n'
            "[export]\nprice = 0\n",
            "'funday' is not one of",
        ),
        ('timezone = "Nowhere/Land"\nimport = 0.3\nexport = 0\n', "unknown time zone"),
        ("export_limit_kw = -3\nimport = 0.3\nexport = 0\n", "export_limit_kw must be 0 or more"),
        ('[import]\ncsv = "missing.csv"\n[export]\nprice = 0\n', "cannot read the price file"),
        ("import = 0.3\nexport = \n", "is not valid"),
    ],
)
def test_bad_tariffs_are_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        load_tariff(write(tmp_path, "bad.toml", text))


def test_missing_tariff_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="cannot read the tariff file"):
        load_tariff(tmp_path / "nope.toml")


def test_tariff_time_zone_is_applied_to_a_history_on_another_clock(tmp_path: Path) -> None:
    tariff = load_tariff(
        write(
            tmp_path,
            "z.toml",
            'timezone = "Asia/Tokyo"\n[import]\nprice = 0.3\n[[import.periods]]\n'
            'hours = "09:00-10:00"\nprice = 0.9\n[export]\nprice = 0\n',
        )
    )
    time_us = np.array([(utc(2024, 6, 1, 0, 30) - EPOCH) // dt.timedelta(microseconds=1)] * 1)
    history = build_history(
        np.r_[time_us, time_us + 3_600_000_000],
        pv_w=[0.0, 0.0],
        load_w=[1000.0, 1000.0],
    )
    run = simulate(history, Battery(0.0), tariff=tariff)
    assert run.inputs.import_price.tolist() == [0.9, 0.3]  # 09:30 and 10:30 in Tokyo


QUARTER_HOURS_CSV = """start,eur_mwh
2025-09-30T22:00:00+02:00,100
2025-09-30T23:00:00+02:00,90
2025-10-01T00:00:00+02:00,80
2025-10-01T00:15:00+02:00,-5
2025-10-01T00:30:00+02:00,70
2025-10-01T00:45:00+02:00,60
"""


def test_quarter_hour_prices_follow_hourly_ones(tmp_path: Path) -> None:
    # The EU day-ahead market went from hourly to 15-minute products on 1 October 2025.
    write(tmp_path, "spot.csv", QUARTER_HOURS_CSV)
    tariff = load_tariff(
        write(
            tmp_path,
            "dynamic.toml",
            '[import]\ncsv = "spot.csv"\nscale = 0.001\nadder = 0.2\n[export]\nprice = 0.05\n',
        )
    )
    assert "15-minute and hourly prices from spot.csv" in tariff.describe()
    history = at(*(utc(2025, 9, 30, 20, 30) + dt.timedelta(minutes=5 * k) for k in range(30)))
    import_price, _ = tariff.prices(history)
    expected = [0.3] * 6 + [0.29] * 12 + [0.28] * 3 + [0.195] * 3 + [0.27] * 3 + [0.26] * 3
    assert import_price == pytest.approx(expected)
    with pytest.raises(ParameterError, match=r"covers .* to 2025-09-30T23:00:00Z"):
        tariff.prices(at(utc(2025, 9, 30, 22, 55), utc(2025, 9, 30, 23, 0)))
    # A 5-minute battery year pays each quarter hour's own price.
    run = simulate(history, Battery(0.0), tariff=tariff)
    assert run.result.cost_with == pytest.approx(
        float(np.dot(import_price, [0.5 / 12] * 30))
        * run.inputs.history.coverage.annualisation_factor
    )


def test_a_typical_week_repeats_over_any_history_on_the_wall_clock(tmp_path: Path) -> None:
    # A winter week (CET), hourly, priced by weekday and hour: (100 x weekday + hour) / 1000.
    monday = dt.datetime(2024, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    rows = [
        f"{(monday + dt.timedelta(hours=h)).isoformat()},{100 * (h // 24) + h % 24}"
        for h in range(7 * 24)
    ]
    write(tmp_path, "week.csv", "start,price\n" + "\n".join(rows) + "\n")
    text = '[import]\ncsv = "week.csv"\nscale = 0.001\n{repeat}\n[export]\nprice = 0\n'
    tariff = load_tariff(write(tmp_path, "w.toml", text.format(repeat='repeat = "week"')))
    # A summer Wednesday (CEST) two years later, 18:30 and 07:10 on the wall clock.
    history = at(utc(2026, 7, 15, 16, 30), utc(2026, 7, 15, 5, 10))
    assert tariff.prices(history)[0] == pytest.approx([0.207, 0.218])  # sorted: 07:10 first
    assert "repeated every week" in tariff.describe()
    unrepeated = load_tariff(write(tmp_path, "n.toml", text.format(repeat="")))
    with pytest.raises(ParameterError, match='set repeat = "year"'):
        unrepeated.prices(history)
    write(tmp_path, "short.csv", "start,price\n" + "\n".join(rows[:30]) + "\n")
    with pytest.raises(ParameterError, match="less than the week it is to repeat"):
        load_tariff(
            write(
                tmp_path,
                "s.toml",
                text.replace("week.csv", "short.csv").format(repeat='repeat = "week"'),
            )
        )
