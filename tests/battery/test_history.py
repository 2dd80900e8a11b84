"""Turning raw samples into intervals: balance, gaps, irregular steps, time zones."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from sems_battery import DataError, ParameterError, build_history
from sems_battery.history import History

MINUTE_US = 60_000_000
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "sems-samples"
SAMPLE = SAMPLES / "legacy_plant_power_chart.json"


def minutes(*values: float) -> np.ndarray:
    return (np.asarray(values) * MINUTE_US).astype(np.int64)


def test_energy_is_power_times_the_actual_interval() -> None:
    history = build_history(
        minutes(0, 5, 10, 20, 25),
        pv_w=[1200.0, 1200.0, 600.0, 0.0, 0.0],
        load_w=[300.0, 300.0, 300.0, 300.0, 300.0],
    )
    # Steps 5, 5, 10, 5 and the last sample gets the usual (median) step of 5 minutes.
    assert history.duration_h.tolist() == pytest.approx([5 / 60, 5 / 60, 10 / 60, 5 / 60, 5 / 60])
    assert history.pv_kwh == pytest.approx(1.2 * 10 / 60 + 0.6 * 10 / 60)
    assert history.load_kwh == pytest.approx(0.3 * 30 / 60)
    assert history.coverage.gaps == ()
    assert history.coverage.covered_hours == pytest.approx(0.5)


def test_gaps_over_the_limit_are_left_out_and_reported() -> None:
    history = build_history(
        minutes(0, 5, 10, 130, 135),
        pv_w=[1000.0] * 5,
        load_w=[500.0] * 5,
        gap_limit_minutes=30,
    )
    # The sample before the two-hour hole stands for one usual step; the rest is lost.
    assert history.duration_h.tolist() == pytest.approx([5 / 60] * 5)
    assert history.elapsed_h[2] == pytest.approx(2.0)
    assert len(history.coverage.gaps) == 1
    gap = history.coverage.gaps[0]
    assert gap.hours == pytest.approx(115 / 60)
    assert gap.start == dt.datetime(1970, 1, 1, 0, 15, tzinfo=dt.UTC)
    assert history.coverage.lost_hours == pytest.approx(115 / 60)
    assert history.coverage.covered_hours == pytest.approx(25 / 60)
    assert history.load_kwh == pytest.approx(0.5 * 25 / 60)  # not filled


def test_default_gap_limit_follows_the_data_step() -> None:
    hourly = build_history(minutes(0, 60, 120, 180), pv_w=[0.0] * 4, load_w=[100.0] * 4)
    assert hourly.coverage.gap_limit_minutes == 180
    assert hourly.coverage.gaps == ()
    five = build_history(minutes(0, 5, 10, 30), pv_w=[0.0] * 4, load_w=[100.0] * 4)
    assert five.coverage.gap_limit_minutes == 15
    assert len(five.coverage.gaps) == 1


def test_a_gap_limit_below_the_step_is_refused() -> None:
    with pytest.raises(ParameterError, match="shorter than the data's usual step"):
        build_history(minutes(0, 60, 120), pv_w=[0.0] * 3, load_w=[1.0] * 3, gap_limit_minutes=10)


def test_missing_load_is_rebuilt_from_the_balance() -> None:
    # PV + import + discharge = load + export + charge; grid + export, battery + discharge.
    history = build_history(
        minutes(0, 5, 10, 15),
        pv_w=[0.0, 3000.0, 2000.0, 500.0],
        load_w=None,
        grid_power_w=[-800.0, 2500.0, 0.0, -100.0],
        battery_power_w=[400.0, -200.0, -1500.0, np.nan],
    )
    assert history.load_kw.tolist() == pytest.approx([1.2, 0.3, 0.5, 0.6])
    assert any("rebuilt from the PV/grid/battery balance for 100%" in n for n in history.notes)
    assert history.has_battery and history.measured is not None
    assert history.measured.battery_kw.tolist()[:3] == pytest.approx([0.4, -0.2, -1.5])
    assert history.measured.grid_kw.tolist() == pytest.approx([-0.8, 2.5, 0.0, -0.1])


def test_split_grid_series_win_over_the_signed_one() -> None:
    history = build_history(
        minutes(0, 5),
        pv_w=[1000.0, 1000.0],
        grid_power_w=[9999.0, 9999.0],
        grid_import_w=[200.0, 0.0],
        grid_export_w=[0.0, 700.0],
    )
    assert history.load_kw.tolist() == pytest.approx([1.2, 0.3])


def test_missing_pv_is_rebuilt_where_load_and_grid_are_known() -> None:
    history = build_history(
        minutes(0, 5, 10),
        pv_w=[np.nan, 1500.0, np.nan],
        load_w=[400.0, 400.0, 700.0],
        grid_power_w=[-400.0, 1100.0, 300.0],
    )
    assert history.pv_kw.tolist() == pytest.approx([0.0, 1.5, 1.0])


def test_without_load_or_grid_a_meter_is_asked_for() -> None:
    with pytest.raises(DataError, match="smart meter"):
        build_history(minutes(0, 5, 10), pv_w=[100.0, 200.0, 300.0])


def test_samples_without_pv_or_load_are_dropped_and_counted() -> None:
    history = build_history(
        minutes(0, 5, 10, 15),
        pv_w=[100.0, np.nan, 100.0, 100.0],
        load_w=[200.0, np.nan, 200.0, 200.0],
        grid_power_w=[-100.0, np.nan, -100.0, -100.0],
    )
    assert len(history) == 3
    assert any("1 samples had neither PV nor load" in n for n in history.notes)
    assert history.duration_h[0] == pytest.approx(10 / 60)  # bridged: within the limit


def test_negative_readings_count_as_zero_and_are_reported() -> None:
    history = build_history(minutes(0, 5), pv_w=[-6.0, 800.0], load_w=[300.0, 300.0])
    assert history.pv_kw.tolist() == [0.0, 0.8]
    assert any("1 negative PV readings" in n for n in history.notes)


def test_order_and_duplicates_do_not_change_the_history() -> None:
    time_us = minutes(*range(0, 60, 5))
    pv = np.linspace(0, 3000, time_us.size)
    load = np.full(time_us.size, 450.0)
    reference = build_history(time_us, pv_w=pv, load_w=load)
    shuffle = np.random.default_rng(3).permutation(time_us.size)
    doubled = np.r_[shuffle, shuffle[:4]]
    messy = build_history(time_us[doubled], pv_w=pv[doubled], load_w=load[doubled])
    for name in ("time_us", "duration_h", "elapsed_h", "pv_kw", "load_kw"):
        assert np.array_equal(getattr(messy, name), getattr(reference, name)), name
    assert any("4 duplicate timestamps" in n for n in messy.notes)


def test_an_empty_or_single_sample_history_is_refused() -> None:
    with pytest.raises(DataError, match="no power samples"):
        build_history(np.array([], dtype=np.int64), pv_w=[], load_w=[])
    with pytest.raises(DataError, match="at least two samples"):
        build_history(minutes(0), pv_w=[1.0], load_w=[1.0])


def _legacy_day() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    plant = json.loads(SAMPLE.read_text())["plant"]
    lines = {line["key"]: line["xy"] for line in plant["lines"]}
    clock = [point["x"] for point in lines["PCurve_Power_PV"]]
    time_us = np.array([(int(c[:2]) * 60 + int(c[3:])) * MINUTE_US for c in clock], dtype=np.int64)
    values = {
        key: np.array([point["y"] for point in points], dtype=float)
        for key, points in lines.items()
    }
    return time_us, values


def test_real_legacy_day_rebuilds_load_from_pv_and_meter() -> None:
    time_us, lines = _legacy_day()
    meter = lines["PCurve_Power_Meter"]  # negative = importing
    history = build_history(time_us, pv_w=lines["PCurve_Power_PV"], grid_power_w=meter)
    assert len(history) == time_us.size == 203
    importing = meter < 0
    # While importing, the portal's own Load line is exactly PV + import.
    assert history.load_kw[importing] * 1000 == pytest.approx(lines["PCurve_Power_Load"][importing])
    assert history.coverage.step_minutes == 5


def test_real_legacy_day_load_line_that_breaks_the_balance_is_flagged() -> None:
    time_us, lines = _legacy_day()
    history = build_history(
        time_us,
        pv_w=lines["PCurve_Power_PV"],
        load_w=lines["PCurve_Power_Load"],
        grid_power_w=lines["PCurve_Power_Meter"],
    )
    # While exporting, this sample's Load line equals PV instead of PV - export.
    assert any("disagrees with PV + grid + battery" in n for n in history.notes)
    assert history.load_kw * 1000 == pytest.approx(lines["PCurve_Power_Load"])


def test_time_zone_gives_the_plant_wall_clock_across_daylight_saving() -> None:
    january = dt.datetime(2024, 1, 15, 12, tzinfo=dt.UTC)
    july = dt.datetime(2024, 7, 15, 12, tzinfo=dt.UTC)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    time_us = np.array(
        [(moment - epoch) // dt.timedelta(microseconds=1) for moment in (january, july)]
    )
    history = build_history(time_us, pv_w=[0.0, 0.0], load_w=[1.0, 1.0], gap_limit_minutes=1e7)
    local = history.in_timezone("Europe/Berlin")
    assert ((local.local_us // 3_600_000_000) % 24).tolist() == [13, 14]
    assert local.local_weekday().tolist() == [january.weekday(), july.weekday()]
    assert local.local_month().tolist() == [1, 7]
    assert local.local_time_source == "time zone Europe/Berlin"
    with pytest.raises(ParameterError, match="unknown time zone"):
        history.in_timezone("Mars/Olympus")


def test_hourly_averages_keep_the_energy(year_history: History) -> None:
    hourly = year_history.averaged(60)
    assert len(hourly) == 8760
    assert hourly.pv_kwh == pytest.approx(year_history.pv_kwh, rel=1e-12)
    assert hourly.load_kwh == pytest.approx(year_history.load_kwh, rel=1e-12)
    assert hourly.coverage.covered_hours == pytest.approx(8760)
    # Averaging smooths the 5-minute peaks away.
    assert hourly.load_kw.max() < year_history.load_kw.max()
