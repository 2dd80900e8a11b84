"""Pure functions turning SEMS payloads into the tap's records.

Nothing here does I/O, so every shape SEMS is known to send is tested on real samples.
Series are looked up by name, never by position; a payload that is not the documented
shape raises PayloadError saying what was wrong, because a silently empty day would be
bookmarked and never fetched again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_sems.timeutil import DayClock, NonexistentLocalTimeError

Record = dict[str, Any]

SEMSPLUS_CURVE_FIELDS = {
    "pSystem": "pv_power_w",
    "pConsum": "load_power_w",
    "pGrid": "grid_power_w",
    "pBat": "battery_power_w",
    "soc": "battery_soc_pct",
}
SEMSPLUS_CURVE_ITEMS = list(SEMSPLUS_CURVE_FIELDS)
LEGACY_CURVE_FIELDS = {
    "PCurve_Power_PV": "pv_power_w",
    "PCurve_Power_Load": "load_power_w",
    "PCurve_Power_Meter": "grid_power_w",
    "PCurve_Power_Battery": "battery_power_w",
    "PCurve_Power_SOC": "battery_soc_pct",
}
SEMSPLUS_STATISTICS_FIELDS = {
    "proSystemTotalStats": "production_kwh",
    "proConsumStats": "consumption_kwh",
    "proPurchaseStats": "grid_import_kwh",
    "proGridStats": "grid_export_kwh",
    "proCharStats": "battery_charge_kwh",
    "proDischarStats": "battery_discharge_kwh",
}
SEMSPLUS_STATISTICS_ITEMS = [*SEMSPLUS_STATISTICS_FIELDS, "proSelfConsumStats"]
SERIES_FIELDS = tuple(SEMSPLUS_CURVE_FIELDS.values())
ENERGY_FIELDS = tuple(SEMSPLUS_STATISTICS_FIELDS.values())
WATTS_PER_UNIT = {"w": 1.0, "kw": 1000.0, "mw": 1_000_000.0}
KWH_PER_UNIT = {"kwh": 1.0, "wh": 0.001, "mwh": 1000.0}
SUCCESS_CODES = {"0", "00000"}


class PayloadError(ValueError):
    """A payload that is not the shape SEMS is known to send."""


@dataclass
class Series:
    """One named series of a day curve, as (wall time, value) in portal order."""

    key: str
    target: str | None  # record field, or None to keep it under `extra`
    scale: float
    points: list[tuple[dt.datetime, float | None, dict[str, Any] | None]]


@dataclass
class ParsedCurve:
    """Records per plant-local day, and what was skipped and why."""

    days: dict[dt.date, list[Record]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


def to_number(value: Any, what: str) -> float | None:
    """SEMS numbers arrive as numbers, numeric strings, "" or null."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise PayloadError(f"{what}: expected a number, got {value!r}") from None
    else:
        raise PayloadError(f"{what}: expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise PayloadError(f"{what}: expected a finite number, got {value!r}")
    return number


def parse_wall_time(text: Any, what: str) -> dt.datetime:
    if not isinstance(text, str):
        raise PayloadError(f"{what}: expected a time text, got {text!r}")
    try:
        wall = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise PayloadError(f"{what}: '{text}' is not a date and time") from None
    if wall.tzinfo is not None:
        raise PayloadError(f"{what}: '{text}' carries an offset; SEMS sends wall-clock time")
    return wall


def power_scale(unit: Any, key: str, default_unit: str) -> float:
    name = (unit if isinstance(unit, str) and unit.strip() else default_unit).strip().lower()
    if name not in WATTS_PER_UNIT:
        raise PayloadError(f"series '{key}': unknown power unit {unit!r}")
    return WATTS_PER_UNIT[name]


def check_success(payload: Any, what: str) -> Mapping[str, Any]:
    """The `data` object of a successful SEMS answer (code as int or string)."""
    if not isinstance(payload, Mapping):
        raise PayloadError(f"{what}: expected a JSON object, got {type(payload).__name__}")
    code = str(payload.get("code", "")).strip()
    if code not in SUCCESS_CODES:
        message = payload.get("msg") or payload.get("description") or ""
        raise PayloadError(f"{what}: answered code {code or '(none)'} {message}".strip())
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise PayloadError(f"{what}: 'data' is {type(data).__name__}, expected an object")
    return data


# ---- SEMS+ ---------------------------------------------------------------------------


def semsplus_series(data: Mapping[str, Any]) -> list[Series]:
    """The series of a statisticsAndPreV2 `data` object, markers removed."""
    entries = data.get("dataList")
    if not isinstance(entries, list):
        raise PayloadError(f"'dataList' is {type(entries).__name__}, expected a list")
    result = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("item"), str):
            raise PayloadError(f"dataList[{index}] has no 'item' name")
        key = entry["item"]
        points = entry.get("powerData", entry.get("statisticsList"))
        if points is None:
            points = []
        if not isinstance(points, list):
            raise PayloadError(f"series '{key}': points are {type(points).__name__}, not a list")
        target = SEMSPLUS_CURVE_FIELDS.get(key)
        if target == "battery_soc_pct" or target is None:
            scale = 1.0
        else:
            scale = power_scale(entry.get("unit"), key, default_unit="kW")
        parsed: list[tuple[dt.datetime, float | None, dict[str, Any] | None]] = []
        for position, point in enumerate(points):
            what = f"series '{key}' point {position}"
            if not isinstance(point, Mapping):
                raise PayloadError(f"{what} is not an object")
            if point.get("isCE"):
                continue
            wall = parse_wall_time(point.get("tp"), what)
            value = to_number(point.get("power"), what)
            details = {
                name: extra
                for name, extra in point.items()
                if name not in ("tp", "power", "isCE") and extra not in (None, "")
            }
            parsed.append((wall, value, details or None))
        result.append(Series(key, target, scale, parsed))
    return result


def parse_semsplus_curve(
    payload: Any,
    *,
    station_id: str,
    days: Sequence[dt.date],
    clocks: Mapping[dt.date, DayClock],
    source: str,
) -> ParsedCurve:
    """A statisticsAndPreV2 answer covering `days`, as records per day."""
    data = check_success(payload, "power curve")
    return assemble_records(semsplus_series(data), station_id, days, clocks, source)


# ---- legacy -----------------------------------------------------------------------------


def legacy_chart_data(document: Any) -> Mapping[str, Any]:
    """The chart object of a GetPlantPowerChart answer or of a saved legacy day file.

    Files hold the whole response, its bare `data` object, or (some apps) `data` under
    the key `plant`; all three are accepted.
    """
    if not isinstance(document, Mapping):
        raise PayloadError(f"expected a JSON object, got {type(document).__name__}")
    if "lines" in document:
        return document
    for key in ("data", "plant"):
        inner = document.get(key)
        if isinstance(inner, Mapping) and "lines" in inner:
            if key == "data":
                check_success(document, "power chart")
            return inner
    if "code" in document:
        check_success(document, "power chart")
    raise PayloadError("no 'lines' in the power chart")


def legacy_series(chart: Mapping[str, Any], day: dt.date) -> list[Series]:
    lines = chart.get("lines")
    if not isinstance(lines, list):
        raise PayloadError(f"'lines' is {type(lines).__name__}, expected a list")
    result = []
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping) or not isinstance(line.get("key"), str):
            raise PayloadError(f"lines[{index}] has no 'key'")
        key = line["key"]
        target = LEGACY_CURVE_FIELDS.get(key)
        if target == "battery_soc_pct" or target is None:
            scale = 1.0
        else:
            scale = power_scale(line.get("unit"), key, default_unit="W")
        points = line.get("xy")
        if not isinstance(points, list):
            raise PayloadError(f"line '{key}': 'xy' is {type(points).__name__}, not a list")
        parsed: list[tuple[dt.datetime, float | None, dict[str, Any] | None]] = []
        for position, point in enumerate(points):
            what = f"line '{key}' point {position}"
            if not isinstance(point, Mapping):
                raise PayloadError(f"{what} is not an object")
            clock = point.get("x")
            if not isinstance(clock, str):
                raise PayloadError(f"{what}: 'x' is {clock!r}, expected HH:mm")
            wall = parse_wall_time(f"{day.isoformat()} {clock.strip()}", what)
            parsed.append((wall, to_number(point.get("y"), what), None))
        result.append(Series(key, target, scale, parsed))
    return result


def parse_legacy_chart(
    document: Any,
    *,
    station_id: str,
    day: dt.date,
    clock: DayClock,
    source: str,
) -> ParsedCurve:
    """One legacy day (API answer or saved file) as records."""
    series = legacy_series(legacy_chart_data(document), day)
    return assemble_records(series, station_id, [day], {day: clock}, source)


# ---- shared assembly ---------------------------------------------------------------------


def assemble_records(
    series: Iterable[Series],
    station_id: str,
    days: Sequence[dt.date],
    clocks: Mapping[dt.date, DayClock],
    source: str,
) -> ParsedCurve:
    """Join series on (wall time, occurrence) and place each instant on the UTC time line.

    The n-th appearance of a wall time within a series is the n-th instant with that wall
    time, which keeps both passes of the repeated autumn hour apart.
    """
    result = ParsedCurve(days={day: [] for day in days})
    rows: dict[tuple[dt.datetime, int], Record] = {}
    for one in series:
        seen: Counter[dt.datetime] = Counter()
        for wall, value, details in one.points:
            occurrence = seen[wall]
            seen[wall] += 1
            row = rows.get((wall, occurrence))
            if row is None:
                row = rows[(wall, occurrence)] = {"extra": None}
            if one.target is not None:
                row[one.target] = None if value is None else round(value * one.scale, 3)
                continue
            if value is not None:
                extra = row["extra"] or {}
                extra[one.key] = value
                row["extra"] = extra
            if details:
                extra = row["extra"] or {}
                for name, detail in details.items():
                    extra[f"{one.key}.{name}"] = detail
                row["extra"] = extra

    placed: list[tuple[dt.datetime, dt.datetime, Record]] = []
    for (wall, occurrence), row in rows.items():
        day = wall.date()
        clock = clocks.get(day)
        if clock is None:
            result.skipped["outside the requested days"] += 1
            continue
        if row["extra"] is None and all(row.get(name) is None for name in SERIES_FIELDS):
            result.skipped["no value in any series"] += 1
            continue
        try:
            instant = clock.to_utc(wall, occurrence)
        except NonexistentLocalTimeError:
            result.skipped["inside the daylight-saving gap"] += 1
            continue
        except ValueError:
            result.skipped["repeated wall-clock time"] += 1
            continue
        placed.append((instant, wall, row))

    placed.sort(key=lambda item: item[0])
    for instant, wall, row in placed:
        grid = row.get("grid_power_w")
        record = {
            "station_id": station_id,
            "timestamp": instant.isoformat(),
            "time_local": wall.isoformat(sep=" "),
            "day": wall.date().isoformat(),
            "pv_power_w": row.get("pv_power_w"),
            "load_power_w": row.get("load_power_w"),
            "grid_power_w": grid,
            "grid_import_w": None if grid is None else max(-grid, 0.0),
            "grid_export_w": None if grid is None else max(grid, 0.0),
            "battery_power_w": row.get("battery_power_w"),
            "battery_soc_pct": row.get("battery_soc_pct"),
            "source": source,
            "extra": row["extra"],
        }
        result.days[wall.date()].append(record)
    return result


# ---- daily energy -----------------------------------------------------------------------


def parse_semsplus_statistics(
    payload: Any, *, station_id: str, days: Sequence[dt.date], source: str
) -> dict[dt.date, Record]:
    """Daily kWh totals from stations/statistics (dimension "day") for `days`."""
    data = check_success(payload, "statistics")
    entries = data.get("dataList")
    if not isinstance(entries, list):
        raise PayloadError(f"statistics: 'dataList' is {type(entries).__name__}, expected a list")
    wanted = set(days)
    records: dict[dt.date, Record] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("item"), str):
            raise PayloadError(f"statistics: dataList[{index}] has no 'item' name")
        target = SEMSPLUS_STATISTICS_FIELDS.get(entry["item"])
        if target is None:
            continue
        unit = str(entry.get("unit") or "kWh").strip().lower()
        if unit not in KWH_PER_UNIT:
            raise PayloadError(f"statistics '{entry['item']}': unknown energy unit {unit!r}")
        values = entry.get("statisticsList")
        if not isinstance(values, list):
            raise PayloadError(f"statistics '{entry['item']}': 'statisticsList' is not a list")
        for position, point in enumerate(values):
            what = f"statistics '{entry['item']}' entry {position}"
            if not isinstance(point, Mapping):
                raise PayloadError(f"{what} is not an object")
            try:
                day = dt.date.fromisoformat(str(point.get("date", ""))[:10])
            except ValueError:
                raise PayloadError(f"{what}: 'date' is {point.get('date')!r}") from None
            if day not in wanted:
                continue
            value = to_number(point.get("val"), what)
            record = records.setdefault(day, empty_daily_energy(station_id, day, source))
            record[target] = None if value is None else round(value * KWH_PER_UNIT[unit], 6)
    for record in records.values():
        record["method"] = "portal_statistics"
    return dict(sorted(records.items()))


def empty_daily_energy(station_id: str, day: dt.date, source: str) -> Record:
    return {
        "station_id": station_id,
        "day": day.isoformat(),
        **dict.fromkeys(ENERGY_FIELDS),
        "method": None,
        "source": source,
    }


def integrate_day(
    records: Sequence[Record], *, station_id: str, day: dt.date, source: str, max_gap_s: float
) -> Record:
    """Daily kWh from one day's power records (trapezoids over real intervals).

    A gap longer than `max_gap_s` is not bridged: the plant reported nothing then, and
    inventing energy across it would make the totals disagree with the curve.
    """
    totals: dict[str, float | None] = dict.fromkeys(ENERGY_FIELDS)
    flows = {
        "production_kwh": lambda r: r["pv_power_w"],
        "consumption_kwh": lambda r: r["load_power_w"],
        "grid_import_kwh": lambda r: r["grid_import_w"],
        "grid_export_kwh": lambda r: r["grid_export_w"],
        "battery_charge_kwh": lambda r: _negative_part(r["battery_power_w"]),
        "battery_discharge_kwh": lambda r: _positive_part(r["battery_power_w"]),
    }
    instants = [dt.datetime.fromisoformat(r["timestamp"]) for r in records]
    for name, flow in flows.items():
        total = None
        for index in range(1, len(records)):
            seconds = (instants[index] - instants[index - 1]).total_seconds()
            if seconds <= 0 or seconds > max_gap_s:
                continue
            before, after = flow(records[index - 1]), flow(records[index])
            if before is None or after is None:
                continue
            total = (total or 0.0) + (before + after) / 2 * seconds / 3_600_000
        totals[name] = None if total is None else round(total, 6)
    record = empty_daily_energy(station_id, day, source)
    record.update(totals)
    record["method"] = "integrated_power_curve"
    return record


def _negative_part(value: float | None) -> float | None:
    return None if value is None else max(-value, 0.0)


def _positive_part(value: float | None) -> float | None:
    return None if value is None else max(value, 0.0)
