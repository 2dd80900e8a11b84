"""The simulated plant data: time grid, physics, determinism (no server involved)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sems_fake_portal import Station, demo_station, make_fleet, station_uuid
from sems_fake_portal.simulation import (
    ONE_WAY_EFFICIENCY,
    SUPPORTED_SCALES,
    Simulator,
    day_energy,
    day_grid,
    sample,
)

BERLIN = ZoneInfo("Europe/Berlin")
SPRING_DST = date(2026, 3, 29)
AUTUMN_DST = date(2026, 10, 25)


def test_spring_dst_day_has_no_minute_in_the_skipped_hour() -> None:
    grid = day_grid(SPRING_DST, BERLIN)
    assert len(grid.utc) == 23 * 60
    assert np.all(np.diff(grid.utc) == 60)
    assert not np.any((grid.wall >= 120) & (grid.wall < 180))
    for instant, wall in zip(grid.utc[::17].tolist(), grid.wall[::17].tolist(), strict=True):
        local = datetime.fromtimestamp(instant, BERLIN)
        assert (local.date(), local.hour * 60 + local.minute) == (SPRING_DST, wall)


def test_autumn_dst_day_repeats_the_hour_in_order() -> None:
    grid = day_grid(AUTUMN_DST, BERLIN)
    assert len(grid.utc) == 25 * 60
    assert np.all(np.diff(grid.utc) == 60)
    repeated = np.flatnonzero(grid.wall == 150)  # 02:30 happens twice
    assert len(repeated) == 2
    first, second = (datetime.fromtimestamp(int(grid.utc[i]), BERLIN) for i in repeated)
    assert first.utcoffset() == timedelta(hours=2)
    assert second.utcoffset() == timedelta(hours=1)
    assert second.timestamp() - first.timestamp() == 3600


@pytest.mark.parametrize(("day", "expected"), [(SPRING_DST, 92), (AUTUMN_DST, 100)])
def test_quarter_hours_on_dst_days(day: date, expected: int) -> None:
    curve = Simulator().curve(demo_station(), day)
    assert len(sample(curve, 15).utc) == expected


def test_every_supported_scale_divides_a_normal_day() -> None:
    curve = Simulator().curve(demo_station(), date(2026, 5, 4))
    for scale in SUPPORTED_SCALES:
        sampled = sample(curve, scale)
        assert len(sampled.utc) == 1440 // scale
        assert np.all(sampled.wall % scale == 0)
    with pytest.raises(ValueError, match="timeScale 7"):
        sample(curve, 7)


def test_energy_balance_holds_every_minute() -> None:
    simulator = Simulator()
    for offset in range(0, 360, 45):
        curve = simulator.curve(demo_station(), date(2025, 1, 3) + timedelta(days=offset))
        assert np.array_equal(curve.pv_w + curve.battery_w - curve.load_w, curve.grid_w)
        imported, exported = np.clip(-curve.grid_w, 0, None), np.clip(curve.grid_w, 0, None)
        charge, discharge = np.clip(-curve.battery_w, 0, None), np.clip(curve.battery_w, 0, None)
        assert np.array_equal(curve.pv_w + imported + discharge, curve.load_w + exported + charge)
        assert curve.pv_w.min() >= 0 and curve.load_w.min() > 0


def test_battery_stays_within_bounds_and_loses_energy_to_efficiency() -> None:
    station = demo_station()
    simulator = Simulator()
    capacity_wh = station.battery_kwh * 1000
    for day in (date(2025, 3, 10), date(2025, 7, 1), date(2025, 11, 20)):
        curve = simulator.curve(station, day)
        following = simulator.curve(station, day + timedelta(days=1))
        assert curve.soc_pct.min() >= 10 - 1e-9 and curve.soc_pct.max() <= 100 + 1e-9
        charged_wh = np.clip(-curve.battery_w, 0, None).sum() / 60
        discharged_wh = np.clip(curve.battery_w, 0, None).sum() / 60
        stored_change = (following.soc_pct[0] - curve.soc_pct[0]) / 100 * capacity_wh
        expected = charged_wh * ONE_WAY_EFFICIENCY - discharged_wh / ONE_WAY_EFFICIENCY
        # Powers are whole watts: at most half a watt of rounding per minute.
        assert stored_change == pytest.approx(expected, abs=len(curve.utc) * 0.5 / 60 + 1)
        assert charged_wh > 0 and discharged_wh > 0


def test_battery_state_is_the_same_whatever_order_days_are_asked_in() -> None:
    station = demo_station()
    days = [date(2025, 4, 1) + timedelta(days=offset) for offset in range(6)]
    forward = Simulator()
    chronological = [forward.curve(station, day).soc_pct for day in days]
    backward = Simulator()
    shuffled = {day: backward.curve(station, day).soc_pct for day in reversed(days)}
    for day, soc in zip(days, chronological, strict=True):
        assert np.array_equal(soc, shuffled[day])


def test_pv_follows_the_sun_and_the_seasons() -> None:
    station = demo_station()
    simulator = Simulator()
    june = [simulator.curve(station, date(2025, 6, d)) for d in range(1, 31)]
    december = [simulator.curve(station, date(2025, 12, d)) for d in range(1, 32)]
    june_kwh = sum(day_energy(curve).pv_kwh for curve in june)
    december_kwh = sum(day_energy(curve).pv_kwh for curve in december)
    assert june_kwh > 3 * december_kwh > 0
    for curve in june:
        night = (curve.wall < 3 * 60) | (curve.wall > 22 * 60 + 30)
        assert curve.pv_w[night].max() == 0
        assert curve.pv_w.max() <= station.capacity_kwp * 1000
    # Solar noon in Berlin in June is about 13:07 summer time; clouds move a single day's
    # centre of production, the month's stays at noon.
    month_profile = np.sum([curve.pv_w for curve in june], axis=0)
    assert 12.8 < float(np.average(np.arange(1440), weights=month_profile)) / 60 < 13.4
    # A 6.2 kWp roof in Berlin makes roughly 25 to 45 kWh on a June day.
    assert 18 < june_kwh / 30 < 45


def test_southern_hemisphere_has_its_summer_in_december() -> None:
    sydney = next(s for s in make_fleet(7) if s.timezone == "Australia/Sydney")
    simulator = Simulator()
    december = sum(
        day_energy(simulator.curve(sydney, date(2025, 12, d))).pv_kwh for d in range(1, 15)
    )
    june = sum(day_energy(simulator.curve(sydney, date(2025, 6, d))).pv_kwh for d in range(1, 15))
    assert december > 1.4 * june


def test_household_load_has_peaks_and_a_base() -> None:
    curve = Simulator().curve(demo_station(), date(2025, 2, 12))
    hourly = [curve.load_w[curve.wall // 60 == hour].mean() for hour in range(24)]
    assert min(hourly[1:5]) < 600  # a quiet night
    assert max(hourly[17:22]) > 1.5 * min(hourly[1:5])  # an evening peak
    assert 5 < day_energy(curve).load_kwh < 30


def test_same_station_and_day_give_the_same_data_and_others_differ() -> None:
    station = demo_station()
    first = Simulator().curve(station, date(2025, 8, 14))
    again = Simulator().curve(station, date(2025, 8, 14))
    next_day = Simulator().curve(station, date(2025, 8, 15))
    neighbour = Simulator().curve(make_fleet(1)[0], date(2025, 8, 14))
    for name in ("pv_w", "load_w", "battery_w", "grid_w", "soc_pct"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.load_w, next_day.load_w)
    assert not np.array_equal(first.load_w, neighbour.load_w)


@pytest.mark.parametrize("scale", SUPPORTED_SCALES)
def test_sampling_keeps_the_day_energy(scale: int) -> None:
    curve = Simulator().curve(demo_station(), date(2025, 9, 9))
    sampled = sample(curve, scale)
    exact = day_energy(curve)
    from_points = float((sampled.pv_w * sampled.minutes).sum()) / 60_000
    assert from_points == pytest.approx(exact.pv_kwh, abs=len(sampled.utc) * 0.5 * scale / 60_000)
    assert np.array_equal(sampled.pv_w + sampled.battery_w - sampled.load_w, sampled.grid_w)
    assert float(sampled.export_wh.sum()) / 1000 == pytest.approx(exact.export_kwh)


def test_today_energy_counts_only_finished_minutes() -> None:
    curve = Simulator().curve(demo_station(), date(2026, 6, 15))
    noon = datetime(2026, 6, 15, 12, 0, tzinfo=BERLIN).timestamp()
    morning = day_energy(curve, noon)
    whole = day_energy(curve)
    assert 0 < morning.pv_kwh < whole.pv_kwh
    assert morning.load_kwh == pytest.approx(float(curve.load_w[:720].sum()) / 60_000)


def test_fleet_is_deterministic_and_varied() -> None:
    fleet = make_fleet(21)
    assert [s.id for s in fleet] == [s.id for s in make_fleet(21)]
    assert len({s.id for s in fleet}) == 21
    assert all(uuid.UUID(s.id).version == 5 for s in fleet)
    assert any(not s.has_battery for s in fleet) and any(s.has_battery for s in fleet)
    assert any(not s.has_meter for s in fleet) and any(not s.exposes_timezone for s in fleet)
    assert len({s.timezone for s in fleet}) >= 5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "not-a-uuid"}, "not a UUID"),
        ({"latitude": 95.0}, "latitude"),
        ({"capacity_kwp": 0.0}, "capacity"),
    ],
)
def test_station_rejects_impossible_specs(changes: dict[str, object], message: str) -> None:
    spec: dict[str, object] = {"id": station_uuid("x"), "name": "x", **changes}
    with pytest.raises(ValueError, match=message):
        Station(**spec)  # type: ignore[arg-type]


def test_station_rejects_an_unknown_time_zone() -> None:
    with pytest.raises(Exception, match="Mars"):
        Station(id=station_uuid("x"), name="x", timezone="Mars/Olympus")
