"""A plant's power history turned into intervals a battery can be simulated on.

Everything here is pure array work so that it can be tested on hand-made and real samples
without any files. Power arrives in watts (the dataset's unit) and leaves in kW; an energy
is always power x the interval's actual length, never x a nominal step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sems_battery.errors import DataError, ParameterError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

US_PER_HOUR = 3_600_000_000
US_PER_MINUTE = 60_000_000
HOURS_PER_YEAR = 8760.0  # a year of 365 days: one full calendar year of data is its own total
MIN_GAP_LIMIT_MINUTES = 15.0
GAP_LIMIT_STEPS = 3
# Above this share of consumption the measured load and the balance of the other series
# disagree enough that the user should know before trusting any figure.
BALANCE_WARNING_SHARE = 0.05


@dataclass(frozen=True)
class Gap:
    """A stretch without data that was left out rather than filled."""

    start: dt.datetime
    hours: float


@dataclass(frozen=True)
class Coverage:
    """How much of the requested span the history actually covers."""

    first: dt.datetime
    end: dt.datetime
    step_minutes: float
    gap_limit_minutes: float
    span_hours: float
    covered_hours: float
    gaps: tuple[Gap, ...]

    @property
    def lost_hours(self) -> float:
        return self.span_hours - self.covered_hours

    @property
    def covered_days(self) -> float:
        return self.covered_hours / 24.0

    @property
    def annualisation_factor(self) -> float:
        """Multiplier that turns totals over the covered time into figures per year."""
        return HOURS_PER_YEAR / self.covered_hours


@dataclass(frozen=True, eq=False)
class Measured:
    """What the plant's own battery and meter did in each interval (NaN: not measured)."""

    grid_kw: FloatArray  # + export, - import
    battery_kw: FloatArray  # + discharge, - charge, on the AC side
    soc: FloatArray  # state of charge at the interval's start, 0..1

    def select(self, keep: np.ndarray) -> Measured:
        return Measured(self.grid_kw[keep], self.battery_kw[keep], self.soc[keep])


@dataclass(frozen=True, eq=False)
class History:
    """Intervals of one plant, sorted, without duplicates, ready to simulate.

    `time_us` is the UTC start of each interval and `local_us` the plant's wall clock at
    that instant (both microseconds since the epoch). `duration_h` is the time the sample
    stands for; `elapsed_h` runs to the next interval and includes any gap, so that
    self-discharge keeps acting while data is missing. `measured` holds the plant's own
    battery and grid readings when it has a battery (for back-tests); `station_name` and
    `battery_capacity_kwh` come from the station metadata when the dataset has it.
    """

    station_id: str
    time_us: IntArray
    local_us: IntArray
    duration_h: FloatArray
    elapsed_h: FloatArray
    pv_kw: FloatArray
    load_kw: FloatArray
    coverage: Coverage
    local_time_source: str = "UTC"
    notes: tuple[str, ...] = field(default=())
    measured: Measured | None = None
    station_name: str = ""
    battery_capacity_kwh: float | None = None

    @property
    def title(self) -> str:
        """The plant's name for headings: its name, else its id."""
        return self.station_name or self.station_id or "the plant"

    @property
    def has_battery(self) -> bool:
        return self.measured is not None

    def __len__(self) -> int:
        return int(self.time_us.size)

    @property
    def pv_kwh(self) -> float:
        return float(np.dot(self.pv_kw, self.duration_h))

    @property
    def load_kwh(self) -> float:
        return float(np.dot(self.load_kw, self.duration_h))

    def local_weekday(self) -> IntArray:
        """Monday is 0, as in `datetime.weekday()` (1970-01-01 was a Thursday)."""
        return (self.local_us // (24 * US_PER_HOUR) + 3) % 7

    def local_month(self) -> IntArray:
        """Calendar month 1..12 of the plant's wall clock."""
        months = self.local_us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
        return months % 12 + 1

    def local_month_key(self) -> NDArray[np.str_]:
        """'YYYY-MM' of the plant's wall clock, for monthly tables."""
        return self.local_us.astype("datetime64[us]").astype("datetime64[M]").astype(str)

    def local_day(self) -> NDArray[np.datetime64]:
        return self.local_us.astype("datetime64[us]").astype("datetime64[D]")

    def in_timezone(self, name: str) -> History:
        """The same history with its wall clock taken from an IANA time zone.

        Offsets are looked up once per distinct quarter hour: every time zone changes its
        offset on a quarter-hour boundary.
        """
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ParameterError(f"unknown time zone {name!r} (use an IANA name)") from None
        quarter = self.time_us // (15 * US_PER_MINUTE)
        unique, inverse = np.unique(quarter, return_inverse=True)
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        offsets_us = np.fromiter(
            (utc_offset_us(epoch + dt.timedelta(minutes=15 * int(q)), zone) for q in unique),
            dtype=np.int64,
            count=unique.size,
        )
        return replace(
            self, local_us=self.time_us + offsets_us[inverse], local_time_source=f"time zone {name}"
        )

    def averaged(self, minutes: float = 60.0) -> History:
        """The same history averaged to coarser steps, as a spreadsheet of hourly values would.

        Energy is conserved within each step: a step's mean power is its energy divided by
        the time it actually covers.
        """
        step_us = round(minutes * US_PER_MINUTE)
        if step_us <= 0:
            raise ParameterError(f"averaging step must be positive, got {minutes} minutes")
        bucket = self.time_us // step_us
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        duration = np.add.reduceat(self.duration_h, starts)
        pv = np.add.reduceat(self.pv_kw * self.duration_h, starts) / duration
        load = np.add.reduceat(self.load_kw * self.duration_h, starts) / duration
        time_us = bucket[starts] * step_us
        local_us = time_us + (self.local_us[starts] - self.time_us[starts])
        elapsed = np.empty_like(duration)
        elapsed[:-1] = np.diff(time_us) / US_PER_HOUR
        elapsed[-1] = step_us / US_PER_HOUR
        coverage = Coverage(
            first=self.coverage.first,
            end=self.coverage.end,
            step_minutes=minutes,
            gap_limit_minutes=self.coverage.gap_limit_minutes,
            span_hours=self.coverage.span_hours,
            covered_hours=float(duration.sum()),
            gaps=self.coverage.gaps,
        )
        return replace(
            self,
            time_us=time_us,
            local_us=local_us,
            duration_h=duration,
            elapsed_h=elapsed,
            pv_kw=pv,
            load_kw=load,
            coverage=coverage,
            measured=None,  # a back-test replays the plant's own steps, not averages
        )


def _floats(values: ArrayLike | None, size: int, name: str) -> FloatArray:
    if values is None:
        return np.full(size, np.nan)
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (size,):
        raise DataError(f"{name} has {array.size} values but there are {size} timestamps")
    return array


def utc_offset_us(moment: dt.datetime, zone: dt.tzinfo) -> int:
    offset = moment.astimezone(zone).utcoffset()
    return 0 if offset is None else offset // dt.timedelta(microseconds=1)


def _utc(time_us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=time_us)


@dataclass(frozen=True, eq=False)
class _Intervals:
    duration_h: FloatArray
    elapsed_h: FloatArray
    gaps: tuple[Gap, ...]
    step_us: int
    gap_limit_minutes: float


def _intervals(time_us: IntArray, gap_limit_minutes: float | None) -> _Intervals:
    """Each sample stands for the time until the next one, unless that is a gap.

    A sample followed by a gap stands for one usual step; the rest of the gap is lost
    coverage. The usual step is the median spacing, so irregular data keeps its own rhythm.
    """
    step_us = np.diff(time_us)
    nominal_us = int(np.median(step_us))
    nominal_minutes = nominal_us / US_PER_MINUTE
    if gap_limit_minutes is None:
        gap_limit_minutes = max(MIN_GAP_LIMIT_MINUTES, GAP_LIMIT_STEPS * nominal_minutes)
    elif gap_limit_minutes < nominal_minutes:
        raise ParameterError(
            f"the gap limit ({gap_limit_minutes:g} min) is shorter than the data's usual step "
            f"({nominal_minutes:g} min): every interval would count as a gap"
        )
    is_gap = step_us > gap_limit_minutes * US_PER_MINUTE
    covered_us = np.where(is_gap, nominal_us, step_us)
    gap_starts = time_us[:-1][is_gap] + nominal_us
    gap_hours = (step_us[is_gap] - nominal_us) / US_PER_HOUR
    return _Intervals(
        duration_h=np.append(covered_us, nominal_us) / US_PER_HOUR,
        elapsed_h=np.append(step_us, nominal_us) / US_PER_HOUR,
        gaps=tuple(
            Gap(start=_utc(int(start)), hours=float(hours))
            for start, hours in zip(gap_starts, gap_hours, strict=True)
        ),
        step_us=nominal_us,
        gap_limit_minutes=float(gap_limit_minutes),
    )


def _household(
    pv: FloatArray, load: FloatArray, grid_net_export: FloatArray, battery: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """PV and load with what is missing rebuilt from the balance, and the balance residual.

    PV + import + discharge = load + export + charge, i.e.
    load = PV - grid (+ export) + battery (+ discharge). The residual (W) is where all of
    PV, load and grid were measured, NaN elsewhere.
    """
    if np.isnan(load).all() and np.isnan(grid_net_export).all():
        raise DataError(
            "the history has neither a load nor a grid series: a battery simulation needs a "
            "smart meter (consumption or grid power) next to the PV readings"
        )
    if np.isnan(pv).all() and (np.isnan(load).all() or np.isnan(grid_net_export).all()):
        raise DataError("the history has no PV series and it cannot be rebuilt from load and grid")
    battery_flow = np.nan_to_num(battery, nan=0.0)
    balanced_load = pv - grid_net_export + battery_flow
    residual = balanced_load - load
    load = np.where(np.isnan(load), balanced_load, load)
    pv = np.where(np.isnan(pv), load + grid_net_export - battery_flow, pv)
    return pv, load, residual


def _balance_note(
    residual_w: FloatArray, load_kw: FloatArray, duration_h: FloatArray
) -> str | None:
    measured = ~np.isnan(residual_w)
    if not measured.any():
        return None
    consumption = float(np.dot(load_kw[measured], duration_h[measured]))
    mismatch = float(np.dot(np.abs(residual_w[measured]) / 1000.0, duration_h[measured]))
    if consumption <= 0 or mismatch <= BALANCE_WARNING_SHARE * consumption:
        return None
    return (
        f"The measured load disagrees with PV + grid + battery by {mismatch / consumption:.0%} "
        "of consumption: check the meter's sign convention and the load series. The measured "
        "load is used as it is."
    )


def build_history(
    timestamps_us: ArrayLike,
    *,
    pv_w: ArrayLike | None,
    load_w: ArrayLike | None = None,
    grid_power_w: ArrayLike | None = None,
    grid_import_w: ArrayLike | None = None,
    grid_export_w: ArrayLike | None = None,
    battery_power_w: ArrayLike | None = None,
    battery_soc_pct: ArrayLike | None = None,
    local_us: ArrayLike | None = None,
    station_id: str = "",
    gap_limit_minutes: float | None = None,
    local_time_source: str | None = None,
) -> History:
    """Turn raw samples (NaN = missing, signs as in the dataset) into a `History`.

    The household's demand without any battery is the measured load. Where the load is
    missing it is rebuilt from the balance PV + import + discharge = load + export + charge
    (and PV likewise where only PV is missing). Samples where neither can be known are
    dropped, and a gap longer than the limit is left out and reported, never filled.
    """
    time_us = np.asarray(timestamps_us, dtype=np.int64)
    size = time_us.size
    if size == 0:
        raise DataError("the history holds no power samples for this selection")
    wall_clock = time_us if local_us is None else np.asarray(local_us, dtype=np.int64)
    if wall_clock.shape != time_us.shape:
        raise DataError("local times and timestamps differ in length")
    raw = {
        "pv": _floats(pv_w, size, "pv_power_w"),
        "load": _floats(load_w, size, "load_power_w"),
        "battery": _floats(battery_power_w, size, "battery_power_w"),
        "grid": _floats(grid_power_w, size, "grid_power_w"),
        "import": _floats(grid_import_w, size, "grid_import_w"),
        "export": _floats(grid_export_w, size, "grid_export_w"),
        "soc": _floats(battery_soc_pct, size, "battery_soc_pct"),
    }
    # Sort on time, then on every value, so that duplicates resolve the same way whatever
    # order the files or batches delivered them in.
    order = np.lexsort((*reversed(list(raw.values())), time_us))
    unique = np.r_[True, time_us[order][1:] != time_us[order][:-1]]
    keep = order[unique]
    notes: list[str] = []
    if not unique.all():
        notes.append(f"{int((~unique).sum())} duplicate timestamps were ignored.")
    time_us, wall_clock = time_us[keep], wall_clock[keep]
    series = {name: values[keep] for name, values in raw.items()}

    split = ~np.isnan(series["import"]) & ~np.isnan(series["export"])
    grid_net_export = np.where(split, series["export"] - series["import"], series["grid"])
    has_battery = bool((~np.isnan(series["battery"]) & (series["battery"] != 0)).any())
    if np.isnan(series["load"]).any() and not np.isnan(grid_net_export).all():
        rebuilt = np.isnan(series["load"]) & ~np.isnan(grid_net_export) & ~np.isnan(series["pv"])
        notes.append(
            "Load was rebuilt from the PV/grid/battery balance for "
            f"{rebuilt.mean():.0%} of samples."
        )
    pv, load, residual_w = _household(
        series["pv"], series["load"], grid_net_export, series["battery"]
    )

    usable = ~np.isnan(pv) & ~np.isnan(load)
    rows_unusable = int((~usable).sum())
    if rows_unusable:
        notes.append(f"{rows_unusable} samples had neither PV nor load and were left out.")
    for name, values in (("PV", pv), ("load", load)):
        negative = int((usable & (values < 0)).sum())
        if negative:
            notes.append(
                f"{negative} negative {name} readings (standby draw or meter noise) were "
                "counted as 0."
            )
    if usable.sum() < 2:
        raise DataError(
            "the history needs at least two samples with both PV and load (or a meter to "
            "rebuild them from)"
        )
    time_us, wall_clock = time_us[usable], wall_clock[usable]
    measured = (
        Measured(
            grid_kw=grid_net_export[usable] / 1000.0,
            battery_kw=series["battery"][usable] / 1000.0,
            soc=series["soc"][usable] / 100.0,
        )
        if has_battery
        else None
    )
    pv_kw = np.maximum(pv[usable], 0.0) / 1000.0
    load_kw = np.maximum(load[usable], 0.0) / 1000.0
    intervals = _intervals(time_us, gap_limit_minutes)
    note = _balance_note(residual_w[usable], load_kw, intervals.duration_h)
    if note:
        notes.append(note)

    end_us = int(time_us[-1]) + intervals.step_us
    coverage = Coverage(
        first=_utc(int(time_us[0])),
        end=_utc(end_us),
        step_minutes=intervals.step_us / US_PER_MINUTE,
        gap_limit_minutes=intervals.gap_limit_minutes,
        span_hours=float((end_us - time_us[0]) / US_PER_HOUR),
        covered_hours=float(intervals.duration_h.sum()),
        gaps=intervals.gaps,
    )
    if local_time_source is None:
        local_time_source = "UTC" if local_us is None else "plant clock"
    return History(
        station_id=station_id,
        time_us=time_us,
        local_us=wall_clock,
        duration_h=intervals.duration_h,
        elapsed_h=intervals.elapsed_h,
        pv_kw=pv_kw,
        load_kw=load_kw,
        coverage=coverage,
        local_time_source=local_time_source,
        notes=tuple(notes),
        measured=measured,
    )
