"""A synthetic household year in the `plant_power` shape, for demos, tests and benchmarks.

Stated profile (every number is a parameter):
- PV: clear-sky output from the sun's elevation at the given latitude and longitude (a
  south-facing array approximated by elevation^1.2), times a daily clearness that follows
  the season (cloudier winters) with day-to-day persistence, times passing clouds on
  partly cloudy days at 5-minute scale; scaled to `specific_yield_kwh_per_kwp`.
- Load: a standby base, a morning peak, a small midday share and an evening peak (later
  and broader at weekends), 20% more in winter than in summer, plus short appliance peaks
  (kettle, cooking, washing) of 1.5 to 3 kW placed at random with time-of-day odds;
  scaled to `annual_load_kwh`.
The same seed always gives the same year.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sems_battery.battery import Battery
from sems_battery.history import US_PER_MINUTE, FloatArray, History, build_history, utc_offset_us

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _local_offsets_us(time_us: np.ndarray, timezone: str) -> np.ndarray:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    hours = time_us // (60 * US_PER_MINUTE)
    unique, inverse = np.unique(hours, return_inverse=True)
    offsets = np.array(
        [utc_offset_us(_EPOCH + dt.timedelta(hours=int(h)), zone) for h in unique], dtype=np.int64
    )
    return offsets[inverse]


def _pv_shape(
    time_us: np.ndarray, latitude: float, longitude: float, rng: np.random.Generator
) -> FloatArray:
    hours_utc = (time_us // US_PER_MINUTE % (24 * 60)) / 60.0
    day_index = time_us // (24 * 60 * US_PER_MINUTE)
    day_of_year = (
        day_index.astype("datetime64[D]")
        - day_index.astype("datetime64[D]").astype("datetime64[Y]")
    ).astype(np.int64) + 1
    declination = np.radians(23.45) * np.sin(2 * np.pi * (284 + day_of_year) / 365.0)
    solar_hour = hours_utc + longitude / 15.0
    hour_angle = np.radians(15.0 * (solar_hour - 12.0))
    lat = np.radians(latitude)
    elevation = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(
        hour_angle
    )
    clear_sky = np.maximum(elevation, 0.0) ** 1.2

    days = np.unique(day_index)
    season = np.cos(2 * np.pi * (day_of_year - 172) / 365.0)  # 1 at midsummer
    mean_clearness = 0.55 + 0.15 * season
    persistent = np.empty(days.size)
    state = 0.0
    for k in range(days.size):
        state = 0.6 * state + rng.normal(0.0, 0.25)
        persistent[k] = state
    day_position = np.searchsorted(days, day_index)
    clearness = np.clip(mean_clearness + persistent[day_position], 0.08, 1.0)

    # Passing clouds: on a partly cloudy day the sun is in and out at 5-10 minute scale.
    shade = rng.random(time_us.size)
    cloudy_now = shade < (1.0 - clearness) * 0.9
    passing = np.where(cloudy_now, 0.25 + 0.25 * rng.random(time_us.size), 1.0)
    return clear_sky * np.where(clearness > 0.85, 1.0, passing) * (0.4 + 0.6 * clearness)


def _load_shape(
    time_us: np.ndarray, local_us: np.ndarray, rng: np.random.Generator, daytime_weight: float
) -> FloatArray:
    hour = (local_us // US_PER_MINUTE % (24 * 60)) / 60.0
    weekday = (local_us // (24 * 60 * US_PER_MINUTE) + 3) % 7
    weekend = weekday >= 5
    day_of_year = (local_us // (24 * 60 * US_PER_MINUTE)).astype("datetime64[D]")
    doy = (day_of_year - day_of_year.astype("datetime64[Y]")).astype(np.int64) + 1
    winter = 1.0 + 0.1 * np.cos(2 * np.pi * (doy - 15) / 365.0)

    def bump(centre: FloatArray | float, width: float) -> FloatArray:
        return np.exp(-0.5 * ((hour - centre) / width) ** 2)

    morning = np.where(weekend, bump(9.0, 1.3), bump(7.0, 0.8))
    midday = bump(13.0, 2.0) * np.where(weekend, 1.4, 1.0)
    evening = np.where(weekend, bump(19.0, 2.2), bump(19.5, 1.8))
    base = 0.35
    shape = base + 0.9 * morning + daytime_weight * midday + 1.3 * evening
    shape = shape * winter * (0.8 + 0.4 * rng.random(time_us.size))

    # Appliance peaks: kettles, cooking, washing; more likely in the morning and evening.
    odds = 0.02 + 0.1 * morning + 0.04 * midday + 0.1 * evening
    peaks = rng.random(time_us.size) < odds * 0.5
    lengths = rng.integers(1, 7, time_us.size)
    power = 1.5 + 1.5 * rng.random(time_us.size)
    spikes = np.zeros(time_us.size)
    for offset in range(6):
        starts = np.flatnonzero(peaks & (lengths > offset))
        spikes[np.minimum(starts + offset, time_us.size - 1)] += power[starts]
    return shape + spikes / 0.6


def synthetic_year(
    *,
    year: int = 2024,
    step_minutes: int = 5,
    annual_load_kwh: float = 4000.0,
    pv_kwp: float = 5.0,
    specific_yield_kwh_per_kwp: float = 1025.0,
    latitude: float = 52.5,
    longitude: float = 13.4,
    timezone: str = "Europe/Berlin",
    daytime_weight: float = 0.35,
    seed: int = 1,
    days: int | None = None,
) -> dict[str, np.ndarray]:
    """Timestamps (UTC µs), wall clock (µs), PV and load (W) of one synthetic year."""
    from zoneinfo import ZoneInfo

    rng = np.random.default_rng(seed)
    # Plant-local days, as the portal serves them: the year starts at local midnight.
    start = dt.datetime(year, 1, 1, tzinfo=ZoneInfo(timezone))
    span_days = days if days is not None else (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
    step_us = step_minutes * US_PER_MINUTE
    count = span_days * 24 * 60 // step_minutes
    first_us = (start - _EPOCH) // dt.timedelta(microseconds=1)
    time_us = first_us + np.arange(count, dtype=np.int64) * step_us
    local_us = time_us + _local_offsets_us(time_us, timezone)
    hours = step_minutes / 60.0
    pv = _pv_shape(time_us, latitude, longitude, rng)
    pv_kwh = pv_kwp * specific_yield_kwh_per_kwp * span_days / 365.0
    pv_w = pv / (pv.sum() * hours) * pv_kwh * 1000.0
    pv_w = np.minimum(pv_w, pv_kwp * 1000.0 * 0.95)
    pv_w *= pv_kwh * 1000.0 / (pv_w.sum() * hours)
    load = _load_shape(time_us, local_us, rng, daytime_weight)
    load_w = load / (load.sum() * hours) * annual_load_kwh * span_days / 365.0 * 1000.0
    return {"time_us": time_us, "local_us": local_us, "pv_w": pv_w, "load_w": load_w}


def synthetic_history(**options: object) -> History:
    """`synthetic_year(...)` as a ready `History` (wall clock from its time zone)."""
    year = synthetic_year(**options)  # type: ignore[arg-type]
    return build_history(
        year["time_us"],
        pv_w=year["pv_w"],
        load_w=year["load_w"],
        local_us=year["local_us"],
        station_id="synthetic",
        local_time_source=f"time zone {options.get('timezone', 'Europe/Berlin')}",
    )


def plant_power_table(
    year: dict[str, np.ndarray], station_id: str = "synthetic", *, with_load: bool = True
) -> pa.Table:
    """The year as rows of the `plant_power` contract (what target-parquet-sems writes)."""
    time_us, local_us = year["time_us"], year["local_us"]
    pv, load = year["pv_w"], year["load_w"]
    grid = pv - load
    count = time_us.size
    local_text = pa.array(local_us.astype("datetime64[us]").astype("datetime64[s]").astype(str))
    return pa.table(
        {
            "station_id": pa.array([station_id] * count, pa.string()),
            "timestamp": pa.array(time_us, pa.timestamp("us", tz="UTC")),
            "time_local": pc.replace_substring(local_text, "T", " "),
            "day": pa.array(local_us.astype("datetime64[us]").astype("datetime64[D]"), pa.date32()),
            "pv_power_w": pa.array(pv, pa.float64()),
            "load_power_w": (
                pa.array(load, pa.float64()) if with_load else pa.nulls(count, pa.float64())
            ),
            "grid_power_w": pa.array(grid, pa.float64()),
            "grid_import_w": pa.array(np.maximum(-grid, 0.0), pa.float64()),
            "grid_export_w": pa.array(np.maximum(grid, 0.0), pa.float64()),
            "battery_power_w": pa.nulls(count, pa.float64()),
            "battery_soc_pct": pa.nulls(count, pa.float64()),
            "source": pa.array(["synthetic"] * count, pa.string()),
            "extra": pa.array([json.dumps({})] * count, pa.string()),
        }
    )


def with_battery(table: pa.Table, battery: Battery, *, soc_decimals: int = 0) -> pa.Table:
    """`table` as measured by a plant whose battery is `battery` (known losses).

    The battery runs on the table's PV and load (self-consumption); the battery series is
    its AC charge and discharge, the grid series carries its standby draw too, and the
    state of charge is rounded as portals round it.
    """
    from sems_battery.simulation import simulate

    history = build_history(
        table.column("timestamp").cast(pa.int64()).to_numpy(),
        pv_w=table.column("pv_power_w").to_numpy(),
        load_w=table.column("load_power_w").to_numpy(),
    )
    flows = simulate(history, battery).flows
    hours = history.duration_h
    battery_w = (flows.discharge - flows.charge) / hours * 1000
    grid_w = (flows.grid_export - flows.grid_import) / hours * 1000
    soc = np.round(
        np.r_[flows.stored_start, flows.stored_end[:-1]] / battery.capacity_kwh * 100, soc_decimals
    )
    columns = {
        "grid_power_w": pa.array(grid_w),
        "grid_import_w": pa.array(np.maximum(-grid_w, 0.0)),
        "grid_export_w": pa.array(np.maximum(grid_w, 0.0)),
        "battery_power_w": pa.array(battery_w),
        "battery_soc_pct": pa.array(soc),
    }
    for name, values in columns.items():
        table = table.set_column(table.schema.get_field_index(name), name, values)
    return table
