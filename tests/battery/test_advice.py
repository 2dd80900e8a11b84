"""The answer in words: the recommendation, what it compares, price checks, plain errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sems_battery import Battery, Economics, ParameterError, Tariff, build_history, sweep
from sems_battery.advice import headline, payback_text
from sems_battery.cli import main
from sems_battery.history import History
from sems_battery.losses import load_system
from sems_battery.synthetic import with_battery
from sems_battery.tariff import load_tariff

SIZES = [0, 2.5, 5, 7.5, 10]
SG1 = Battery(0.0, losses=load_system("SG1"))
CHEAP = Economics(price_per_kwh=150.0, installation_cost=300.0)


def test_recommendation_for_a_plant_without_a_battery(year_history: History) -> None:
    cheap = sweep(year_history, SIZES, battery=SG1, economics=CHEAP)
    lines = headline(cheap)
    best = max(cheap.sizes[1:], key=lambda size: size.net_present_value)
    assert lines[0].startswith(
        f"Recommendation: a {best.capacity_kwh:g} kWh battery, because it has the best net "
        "present value of the sizes tried"
    )
    assert "placeholder" not in " ".join(lines)
    assert not any(line.startswith("This plant already has") for line in lines)
    assert any(line.startswith("For context: more capacity buys clearly less") for line in lines)

    dear = sweep(year_history, SIZES, battery=SG1)  # the placeholder prices: 500/kWh + 1000
    lines = headline(dear)
    assert lines[0].startswith(
        "Recommendation: no battery pays off here, because even the best size"
    )
    assert "at placeholder battery prices" in lines[0]
    assert any(line.startswith("Battery costs are placeholders, not a quote") for line in lines)
    # The sentence never contradicts the payback column: a payback inside the battery's life
    # is named, with why the money still does not work out.
    best = max(dear.sizes[1:], key=lambda size: size.net_present_value)
    lifetime = dear.economics.lifetime_years
    if best.payback_years is not None and best.payback_years <= lifetime:
        assert f"in {best.payback_years:.1f} years before interest" in lines[0]
        assert f"over its {lifetime}-year life" in lines[0]
    else:
        assert f"does not repay its {best.investment:,.0f}" in lines[0]


def test_recommendation_for_a_plant_with_a_battery(year_table: pa.Table) -> None:
    measured = with_battery(year_table, Battery(6.0, 3.0, 3.0, losses=load_system("SG1")))
    columns = {
        name: measured.column(name).to_numpy()
        for name in ("pv_power_w", "load_power_w", "grid_power_w", "battery_power_w")
    }
    columns["battery_soc_pct"] = measured.column("battery_soc_pct").to_numpy()
    history = build_history(
        measured.column("timestamp").cast(pa.int64()).to_numpy(),
        pv_w=columns["pv_power_w"],
        load_w=columns["load_power_w"],
        grid_power_w=columns["grid_power_w"],
        battery_power_w=columns["battery_power_w"],
        battery_soc_pct=columns["battery_soc_pct"],
    )
    history = dataclasses.replace(history, battery_capacity_kwh=6.0)
    lines = headline(sweep(history, SIZES, battery=SG1, economics=CHEAP))
    assert lines[0].startswith("Recommendation: a ")
    delivered = np.maximum(columns["battery_power_w"], 0).sum() / 12 / 1000
    assert lines[1] == (
        "This plant already has a 6 kWh battery. The figures compare the house as if it had "
        "no battery with the same house and a battery of each size instead, so they say what "
        "a battery is worth here, not what adding a second one would bring. The installed one "
        f"already delivers about {delivered:,.0f} kWh a year to the house, "
        f"{100 * delivered / history.load_kwh:.1f}% of its consumption."
    )


def test_a_partial_year_is_said_in_the_headline(year_history: History) -> None:
    spring = year_history.time_us < year_history.time_us[0] + 90 * 24 * 3_600_000_000
    part = build_history(
        year_history.time_us[spring],
        pv_w=year_history.pv_kw[spring] * 1000,
        load_w=year_history.load_kw[spring] * 1000,
        local_us=year_history.local_us[spring],
    )
    lines = headline(sweep(part, SIZES, battery=SG1))
    assert lines[1] == (
        "Partial year: these figures come from 90 days of data (Jan, Feb, Mar, Apr) scaled to "
        "a year, so the seasons missing from the data are missing from the answer."
    )


def write(tmp_path: Path, text: str, name: str = "tariff.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import = 32\nexport = 0.08\n", "import price 32 EUR/kWh looks like cents"),
        ("import = 0.32\nexport = 8.2\n", "feed-in price 8.2 EUR/kWh looks like cents"),
        ("import = 0\nexport = 0.08\n", "an import price of 0 EUR/kWh cannot be meant"),
        ("import = -0.1\nexport = 0.08\n", "an import price of -0.1 EUR/kWh cannot be meant"),
        (
            '[import]\nprice = 0.3\n[[import.periods]]\nhours = "0-6"\nprice = 21\n'
            "[export]\nprice = 0.08\n",
            "import price 21 EUR/kWh looks like cents",
        ),
        (
            '[import]\ncsv = "mwh.csv"\n[export]\nprice = 0.08\n',
            "looks like cents.*set scale, e.g. 0.001 for prices per MWh",
        ),
    ],
)
def test_prices_that_cannot_be_meant_are_refused(tmp_path: Path, text: str, message: str) -> None:
    write(
        tmp_path,
        "start,price\n2025-01-01T00:00:00+01:00,84\n2025-01-01T01:00:00+01:00,79\n",
        "mwh.csv",
    )
    with pytest.raises(ParameterError, match=message):
        load_tariff(write(tmp_path, text))


def test_prices_that_can_be_meant_are_warned_about_in_the_headline(
    year_history: History, tmp_path: Path
) -> None:
    def warnings(tariff: Tariff) -> list[str]:
        return [
            line
            for line in headline(sweep(year_history, [0, 5], battery=SG1, tariff=tariff))
            if line.startswith("Warning: ")
        ]

    assert warnings(Tariff.flat(0.32, 0.08)) == []
    (negative_feed_in,) = warnings(Tariff.flat(0.32, -0.02))
    assert "The feed-in price is negative (-0.02 EUR/kWh at times): you pay for exporting" in (
        negative_feed_in
    )
    inverted = Tariff.flat(0.10, 0.20)
    (above,) = warnings(inverted)
    assert "Feed-in pays more than import on average (0.2 against 0.1 EUR/kWh)" in above
    size = sweep(year_history, [0, 5], battery=SG1, tariff=inverted).sizes[1]
    assert size.annual_savings < 0 and payback_text(size) == "does not pay back"

    # A typical week of market prices that go below zero on Sunday middays.
    monday = dt.datetime(2023, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    rows = [
        f"{(monday + dt.timedelta(hours=h)).isoformat()},"
        f"{-0.05 if h // 24 == 6 and 11 <= h % 24 < 15 else 0.3}"
        for h in range(7 * 24)
    ]
    write(tmp_path, "start,price\n" + "\n".join(rows) + "\n", "week.csv")
    dynamic = load_tariff(
        write(tmp_path, '[import]\ncsv = "week.csv"\nrepeat = "week"\n[export]\nprice = 0.08\n')
    )
    (negative,) = warnings(dynamic)
    assert negative.startswith("Warning: The import price goes below zero in 2.4% of the intervals")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err


def test_a_fatal_error_is_one_plain_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = str(tmp_path / "absent")
    code, _, stderr = run(["sweep", "--data", missing], capsys)
    assert code == 2
    assert stderr.splitlines() == [
        f"sems-battery: error: no dataset at {missing}: the path does not exist; point --data "
        "at the folder the target writes (holding plant_power)"
    ]
    code, _, stderr = run(["sweep", "--data", missing, "--log-level", "debug"], capsys)
    assert "Traceback (most recent call last)" in stderr
    assert stderr.splitlines()[-1].startswith("sems-battery: error: no dataset at")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("sems_battery.dataset.load_history", broken)
    code, _, stderr = run(["backtest", "--data", missing], capsys)
    assert code == 1
    assert stderr.splitlines() == [
        "sems-battery: error: unexpected RuntimeError: disk on fire; run again with "
        "--log-level debug to see where, and report it"
    ]
