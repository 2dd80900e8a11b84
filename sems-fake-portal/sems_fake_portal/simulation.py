"""Deterministic, plausible plant data: one minute at a time, one plant-local day at a time.

Everything a portal endpoint serves is derived from `DayCurve`, so both API generations,
the statistics and the legacy day files agree by construction. A day is a function of
(station, day) only: the weather and the household are seeded from them, and the battery's
state at midnight is found by simulating back until every possible history has merged
(see `Simulator._soc_at_start`), so asking for days in any order gives the same numbers.
"""

from __future__ import annotations

import functools
import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from sems_fake_portal.model import Station

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MINUTE = 60
SUPPORTED_SCALES = (1, 5, 10, 15, 30, 60)

# Battery behaviour: usable window, one-way efficiency, power limit per kWh of capacity.
SOC_MIN = 0.10
SOC_MAX = 1.00
ONE_WAY_EFFICIENCY = 0.95
BATTERY_C_RATE = 0.5
BATTERY_POWER_LIMITS_W = (2500.0, 5000.0)

PANEL_TILT_DEG = 30.0
PERFORMANCE_RATIO = 0.86
INVERTER_LIMIT = 0.95  # AC output is clipped at this share of the DC peak


def seed_for(*parts: object) -> int:
    """A stable 64-bit seed from any parts (Python's hash() changes between runs)."""
    text = "|".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little")


def rng_for(*parts: object) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed_for(*parts)))


# --------------------------------------------------------------------------- day grid


@dataclass(frozen=True)
class DayGrid:
    """The UTC minutes that make up one plant-local day, and their wall-clock minute.

    A normal day has 1440 minutes; the spring DST day lacks the skipped hour and the
    autumn day has the repeated hour twice, in order, so `wall` is not always monotonic.
    """

    day: date
    utc: IntArray  # epoch seconds at the start of each minute
    wall: IntArray  # minute of the plant-local day, 0..1439


def day_grid(day: date, zone: ZoneInfo) -> DayGrid:
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    noon = datetime.combine(day, time(12), tzinfo=zone)
    offsets = {start.utcoffset(), noon.utcoffset(), end.utcoffset()}
    start_ts = int(start.timestamp())
    if len(offsets) == 1 and (int(end.timestamp()) - start_ts) == 86400:
        minutes = np.arange(1440, dtype=np.int64)
        return DayGrid(day, start_ts + minutes * MINUTE, minutes)
    # A transition day: look at every candidate minute around the day and keep those whose
    # local date is this day. Two days a year, so per-minute conversion is affordable.
    first = start_ts - 3 * 3600
    last = int(end.timestamp()) + 3 * 3600
    utc_list: list[int] = []
    wall_list: list[int] = []
    for ts in range(first, last, MINUTE):
        local = datetime.fromtimestamp(ts, zone)
        if local.date() == day:
            utc_list.append(ts)
            wall_list.append(local.hour * 60 + local.minute)
    return DayGrid(day, np.array(utc_list, dtype=np.int64), np.array(wall_list, dtype=np.int64))


# --------------------------------------------------------------------------- sun and sky


def solar_position(utc: IntArray, latitude: float, longitude: float) -> tuple[FloatArray, ...]:
    """Sun elevation and azimuth (radians, azimuth clockwise from north).

    The usual low-precision almanac formulas: within a fraction of a degree, plenty for
    a plausible curve.
    """
    days = utc / 86400.0 - 10957.5  # days since J2000.0
    mean_longitude = np.radians((280.460 + 0.9856474 * days) % 360)
    anomaly = np.radians((357.528 + 0.9856003 * days) % 360)
    ecliptic = (
        mean_longitude
        + np.radians(1.915) * np.sin(anomaly)
        + np.radians(0.020) * np.sin(2 * anomaly)
    )
    obliquity = np.radians(23.439 - 0.0000004 * days)
    right_ascension = np.arctan2(np.cos(obliquity) * np.sin(ecliptic), np.cos(ecliptic))
    declination = np.arcsin(np.sin(obliquity) * np.sin(ecliptic))
    sidereal_hours = (18.697374558 + 24.06570982441908 * days) % 24
    hour_angle = np.radians(sidereal_hours * 15 + longitude) - right_ascension
    lat = math.radians(latitude)
    sin_elevation = math.sin(lat) * np.sin(declination) + math.cos(lat) * np.cos(
        declination
    ) * np.cos(hour_angle)
    elevation = np.arcsin(np.clip(sin_elevation, -1, 1))
    azimuth = np.arctan2(
        -np.sin(hour_angle),
        np.tan(declination) * math.cos(lat) - math.sin(lat) * np.cos(hour_angle),
    )
    return elevation, azimuth % (2 * math.pi)


def clear_sky_plane(
    elevation: FloatArray, azimuth: FloatArray, latitude: float
) -> tuple[FloatArray, FloatArray]:
    """Beam and diffuse irradiance (W/m²) on a tilted panel facing the equator."""
    up = elevation > 0
    sin_e = np.where(up, np.sin(elevation), 0.0)
    elevation_deg = np.degrees(np.where(up, elevation, 0.01))
    air_mass = 1 / (sin_e + 0.50572 * (elevation_deg + 6.07995) ** -1.6364)
    normal = np.where(up, 1353 * 0.7 ** (air_mass**0.678), 0.0)
    tilt = math.radians(PANEL_TILT_DEG)
    facing = 0.0 if latitude < 0 else math.pi
    incidence = sin_e * math.cos(tilt) + np.cos(elevation) * math.sin(tilt) * np.cos(
        azimuth - facing
    )
    beam = normal * np.clip(incidence, 0, None)
    diffuse = 0.11 * normal * sin_e * (1 + math.cos(tilt)) / 2 + 0.04 * normal * sin_e
    return beam, diffuse


def daily_cloudiness(station: Station, day: date) -> float:
    """Share of the day the sky is covered, 0..1; neighbouring plants share the weather."""
    cell = (round(station.latitude), round(station.longitude))
    season = math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)
    if station.latitude < 0:
        season = -season
    base = 0.52 + 0.2 * season
    ordinal = day.toordinal()
    # Weather persists: today's anomaly leans on yesterday's and tomorrow's draws.
    draws = [_weather_draw(cell, ordinal + shift) for shift in (-1, 0, 1)]
    anomaly = 0.25 * draws[0] + 0.5 * draws[1] + 0.25 * draws[2]
    return float(np.clip(base + 0.4 * anomaly, 0.02, 0.98))


@functools.lru_cache(maxsize=65536)
def _weather_draw(cell: tuple[int, int], ordinal: int) -> float:
    return float(rng_for("weather", cell, ordinal).standard_normal())


def cloud_cover(station: Station, day: date, length: int, cloudiness: float) -> FloatArray:
    """Minute-by-minute cover 0..1 with clouds that come and go, about `cloudiness` of the time."""
    rng = rng_for("clouds", station.id, day.toordinal())
    noise = rng.standard_normal(length + 90)
    slow = np.convolve(noise, np.ones(60) / 60, mode="valid")[:length]
    fast = np.convolve(noise[::-1], np.ones(8) / 8, mode="valid")[:length]
    field = slow / (slow.std() or 1.0) + 0.35 * fast / (fast.std() or 1.0)
    rank = min(int((1 - cloudiness) * length), length - 1)
    threshold = np.partition(field, rank)[rank]
    return np.clip((field - threshold) * 2.5 + 0.5, 0, 1)


def pv_power(station: Station, grid: DayGrid) -> FloatArray:
    # The sky is smooth: compute it every 5 minutes and interpolate, a third of the cost.
    coarse = np.append(grid.utc[::5], grid.utc[-1])
    elevation, azimuth = solar_position(coarse, station.latitude, station.longitude)
    coarse_beam, coarse_diffuse = clear_sky_plane(elevation, azimuth, station.latitude)
    beam = np.interp(grid.utc, coarse, coarse_beam)
    diffuse = np.interp(grid.utc, coarse, coarse_diffuse)
    cloudiness = daily_cloudiness(station, grid.day)
    cover = cloud_cover(station, grid.day, len(grid.utc), cloudiness)
    # Clouds block the beam; thin ones brighten the diffuse light, an overcast sky dims it.
    irradiance = beam * (1 - cover) + diffuse * (1 + 1.2 * cover) * (1 - 0.55 * cloudiness)
    season = math.cos(2 * math.pi * (grid.day.timetuple().tm_yday - 196) / 365.25)
    heat_loss = 1 - 0.04 * max(season if station.latitude >= 0 else -season, 0)
    dc_peak = station.capacity_kwp * 1000
    power = dc_peak * irradiance / 1000 * PERFORMANCE_RATIO * heat_loss
    return np.clip(power, 0, dc_peak * INVERTER_LIMIT)


# --------------------------------------------------------------------------- household


def _bump(hours: FloatArray, centre: float, width: float) -> FloatArray:
    return np.exp(-0.5 * ((hours - centre) / width) ** 2)


@functools.lru_cache(maxsize=4096)
def _household(station_id: str) -> tuple[float, float, float, float]:
    """Base load, morning and evening peak (W) and fridge phase: one household per plant."""
    household = rng_for("household", station_id)
    return (
        household.uniform(120, 240),
        household.uniform(300, 650),
        household.uniform(450, 900),
        household.uniform(0, 2 * math.pi),
    )


def load_power(station: Station, grid: DayGrid) -> FloatArray:
    """Household consumption: base load, fridge, daily peaks and appliance runs."""
    base, morning_amp, evening_amp, fridge_phase = _household(station.id)

    rng = rng_for("load", station.id, grid.day.toordinal())
    weekend = grid.day.weekday() >= 5
    season = math.cos(2 * math.pi * (grid.day.timetuple().tm_yday - 15) / 365.25)
    if station.latitude < 0:
        season = -season
    seasonal = 1 + 0.22 * season
    hours = grid.wall / 60.0
    minutes_run = np.arange(len(grid.wall))

    load = np.full(len(hours), base * seasonal)
    load += 70 * (np.sin(2 * math.pi * minutes_run / 47 + fridge_phase) > 0.2)
    load += morning_amp * seasonal * _bump(hours, 8.6 if weekend else 6.9, 0.8)
    load += (420 if weekend else 200) * _bump(hours, 12.8, 1.1)
    load += evening_amp * seasonal * _bump(hours, 19.2, 1.6)

    def run(start_hour: float, pattern: list[tuple[int, float]]) -> None:
        first = int(np.argmax(grid.wall >= int(start_hour * 60)))
        position = first
        for duration, watts in pattern:
            load[position : position + duration] += watts
            position += duration

    for _ in range(rng.poisson(4)):  # kettle, around meal times
        centre = rng.choice([7.2, 12.9, 16.5, 20.5])
        run(float(np.clip(rng.normal(centre, 1.0), 0, 23.9)), [(int(rng.integers(2, 5)), 2000)])
    if rng.random() < 0.5:  # washing machine: heat, then wash and spin
        run(rng.uniform(9, 18), [(15, 2000), (60, 350)])
    if rng.random() < 0.7:  # cooking
        run(rng.uniform(17.3, 19.3), [(12, 2100), (8, 600), (12, 2000), (10, 500)])
    if rng.random() < 0.55:  # dishwasher
        run(rng.uniform(19.8, 22.0), [(20, 1900), (50, 90), (15, 1900)])

    load *= 1 + 0.04 * rng.standard_normal(len(load))
    return np.clip(load, 60, None)


# --------------------------------------------------------------------------- battery


def battery_limits(station: Station) -> tuple[float, float, float]:
    """(lowest Wh, highest Wh, power limit W) for the plant's battery."""
    capacity_wh = station.battery_kwh * 1000
    low, high = BATTERY_POWER_LIMITS_W
    limit = min(max(station.battery_kwh * 1000 * BATTERY_C_RATE, low), high)
    return capacity_wh * SOC_MIN, capacity_wh * SOC_MAX, limit


def dispatch_battery(
    surplus_w: FloatArray, start_wh: float, low_wh: float, high_wh: float, limit_w: float
) -> tuple[FloatArray, FloatArray]:
    """Self-consumption: charge from surplus, discharge into deficit, within the limits.

    Returns the battery power per minute (+ discharge, - charge) and the stored energy at
    the start of each minute; the last element of the second array is the end of the day.
    """
    requested = np.clip(surplus_w, -limit_w, limit_w)
    # Stored-energy change per minute before the bounds, efficiency on the way in and out.
    delta = np.where(
        requested > 0,
        requested * ONE_WAY_EFFICIENCY / 60,
        requested / ONE_WAY_EFFICIENCY / 60,
    ).tolist()
    stored = [0.0] * (len(delta) + 1)
    level = start_wh
    for index, change in enumerate(delta):
        stored[index] = level
        level += change
        if level > high_wh:
            level = high_wh
        elif level < low_wh:
            level = low_wh
    stored[-1] = level
    energy = np.array(stored)
    moved = np.diff(energy) * 60  # W stored (+) or drawn (-) over each minute
    power = np.where(moved > 0, -moved / ONE_WAY_EFFICIENCY, -moved * ONE_WAY_EFFICIENCY)
    return power, energy


# --------------------------------------------------------------------------- curves


@dataclass(frozen=True)
class DayCurve:
    """One plant-local day at one-minute resolution, in whole watts.

    Balance per minute, exactly: pv + battery - load = grid, i.e.
    pv + import + discharge = load + export + charge.
    """

    station: Station
    day: date
    utc: IntArray
    wall: IntArray
    pv_w: IntArray
    load_w: IntArray
    battery_w: IntArray  # + discharge, - charge; zeros without a battery
    grid_w: IntArray  # + export, - import
    soc_pct: FloatArray  # state of charge at the start of each minute; zeros without battery


@dataclass(frozen=True)
class SampledCurve:
    """A DayCurve averaged over `scale`-minute intervals that start on the wall clock."""

    day: date
    scale: int
    utc: IntArray  # interval start
    wall: IntArray
    minutes: IntArray  # interval length (the DST day can make one shorter)
    pv_w: IntArray
    load_w: IntArray
    battery_w: IntArray
    grid_w: IntArray
    soc_pct: IntArray  # at the interval start, whole percent
    export_wh: FloatArray
    import_wh: FloatArray

    def available(self, now_utc: float) -> npt.NDArray[np.bool_]:
        """Intervals the plant has finished uploading by `now_utc`."""
        return self.utc + self.minutes * MINUTE <= now_utc


@dataclass(frozen=True)
class DayEnergy:
    """kWh totals of a day (or of its first hours, for today)."""

    pv_kwh: float
    load_kwh: float
    export_kwh: float
    import_kwh: float
    charge_kwh: float
    discharge_kwh: float


def sample(curve: DayCurve, scale: int) -> SampledCurve:
    if scale not in SUPPORTED_SCALES:
        raise ValueError(f"timeScale {scale} is not one of {SUPPORTED_SCALES}")
    starts = np.flatnonzero(curve.wall % scale == 0)
    ends = np.append(starts[1:], len(curve.wall))
    lengths = ends - starts

    def mean(values: IntArray) -> IntArray:
        return np.rint(np.add.reduceat(values, starts) / lengths).astype(np.int64)

    pv, load, battery = mean(curve.pv_w), mean(curve.load_w), mean(curve.battery_w)
    export = np.add.reduceat(np.clip(curve.grid_w, 0, None), starts) / 60.0
    imported = np.add.reduceat(np.clip(-curve.grid_w, 0, None), starts) / 60.0
    return SampledCurve(
        day=curve.day,
        scale=scale,
        utc=curve.utc[starts],
        wall=curve.wall[starts],
        minutes=lengths,
        pv_w=pv,
        load_w=load,
        battery_w=battery,
        grid_w=pv + battery - load,
        soc_pct=np.rint(curve.soc_pct[starts]).astype(np.int64),
        export_wh=export,
        import_wh=imported,
    )


def day_energy(curve: DayCurve, now_utc: float | None = None) -> DayEnergy:
    """Integral of the one-minute curve, up to `now_utc` when given (today is partial)."""
    mask = slice(None) if now_utc is None else curve.utc + MINUTE <= now_utc
    grid = curve.grid_w[mask]
    battery = curve.battery_w[mask]

    def kwh(values: IntArray) -> float:
        return float(values.sum()) / 60_000

    return DayEnergy(
        pv_kwh=kwh(curve.pv_w[mask]),
        load_kwh=kwh(curve.load_w[mask]),
        export_kwh=kwh(np.clip(grid, 0, None)),
        import_kwh=kwh(np.clip(-grid, 0, None)),
        charge_kwh=kwh(np.clip(-battery, 0, None)),
        discharge_kwh=kwh(np.clip(battery, 0, None)),
    )


class Simulator:
    """Builds and caches day curves; safe to share between server threads."""

    MAX_MERGE_DAYS = 64

    def __init__(self, cached_days: int = 400) -> None:
        # 400 days hold a station-year backfill; a day of curves takes about 100 kB.
        self._cached_days = cached_days
        self._inputs: OrderedDict[tuple[Station, date], tuple[DayGrid, IntArray, IntArray]] = (
            OrderedDict()
        )
        self._curves: OrderedDict[tuple[Station, date], DayCurve] = OrderedDict()
        self._soc_start: dict[tuple[Station, date], float] = {}
        self._lock = threading.RLock()

    def curve(self, station: Station, day: date) -> DayCurve:
        key = (station, day)
        with self._lock:
            cached = self._curves.get(key)
            if cached is not None:
                self._curves.move_to_end(key)
                return cached
        grid, pv, load = self._day_inputs(station, day)
        if station.has_battery:
            low, high, limit = battery_limits(station)
            start = self._soc_at_start(station, day)
            power, stored = dispatch_battery((pv - load).astype(float), start, low, high, limit)
            battery = np.rint(power).astype(np.int64)
            soc = stored[:-1] / (station.battery_kwh * 1000) * 100
            with self._lock:
                self._soc_start.setdefault((station, day + timedelta(days=1)), float(stored[-1]))
        else:
            battery = np.zeros(len(pv), dtype=np.int64)
            soc = np.zeros(len(pv))
        curve = DayCurve(
            station=station,
            day=day,
            utc=grid.utc,
            wall=grid.wall,
            pv_w=pv,
            load_w=load,
            battery_w=battery,
            grid_w=pv + battery - load,
            soc_pct=soc,
        )
        with self._lock:
            self._curves[key] = curve
            if len(self._curves) > self._cached_days:
                self._curves.popitem(last=False)
        return curve

    def _day_inputs(self, station: Station, day: date) -> tuple[DayGrid, IntArray, IntArray]:
        key = (station, day)
        with self._lock:
            cached = self._inputs.get(key)
            if cached is not None:
                self._inputs.move_to_end(key)
                return cached
        grid = day_grid(day, station.zone)
        pv = np.rint(pv_power(station, grid)).astype(np.int64)
        load = np.rint(load_power(station, grid)).astype(np.int64)
        with self._lock:
            self._inputs[key] = (grid, pv, load)
            if len(self._inputs) > self._cached_days:
                self._inputs.popitem(last=False)
        return grid, pv, load

    def _end_of_day(self, station: Station, day: date, start_wh: float) -> float:
        _, pv, load = self._day_inputs(station, day)
        low, high, limit = battery_limits(station)
        _, stored = dispatch_battery((pv - load).astype(float), start_wh, low, high, limit)
        return float(stored[-1])

    def _soc_at_start(self, station: Station, day: date) -> float:
        """Stored energy at the plant's midnight, the same whatever order days are asked in.

        Simulating from the emptiest and the fullest possible state some days back gives two
        histories that bound every real one; once they meet (the battery ran full or empty)
        the past no longer matters and the state is exact. Known states are cached, so a
        chronological backfill simulates each day once.
        """
        with self._lock:
            known = self._soc_start.get((station, day))
            if known is not None:
                return known
            previous = self._soc_start.get((station, day - timedelta(days=1)))
        if previous is not None:
            value = self._end_of_day(station, day - timedelta(days=1), previous)
            with self._lock:
                self._soc_start[(station, day)] = value
            return value
        low, high, _ = battery_limits(station)
        back = 2
        while True:
            lowest, highest = low, high
            merged_from: date | None = None
            found: dict[date, float] = {}
            for offset in range(back, 0, -1):
                current = day - timedelta(days=offset)
                lowest = self._end_of_day(station, current, lowest)
                highest = self._end_of_day(station, current, highest)
                if merged_from is None and abs(highest - lowest) < 1e-6:
                    merged_from = current
                if merged_from is not None:
                    found[current + timedelta(days=1)] = lowest
            if merged_from is not None or back >= self.MAX_MERGE_DAYS:
                break
            back *= 2
        value = lowest if merged_from is not None else (lowest + highest) / 2
        found[day] = value
        with self._lock:
            for known_day, stored in found.items():
                self._soc_start.setdefault((station, known_day), stored)
            return self._soc_start[(station, day)]
