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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import is_not, itemgetter, sub
from typing import Any

from tap_sems.result_codes import is_success
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


class PayloadError(ValueError):
    """A payload that is not the shape SEMS is known to send."""


POINT_KEYS = frozenset({"tp", "power", "isCE"})
Key = tuple[str, int]  # (wall-time text, occurrence)


class Curve:
    """The series of one curve as columns keyed by (wall-time text, occurrence).

    The n-th appearance of a wall time within one series is the n-th instant with that
    wall time, which keeps both passes of the repeated autumn hour apart. Columns are
    built with comprehensions and joined per instant only once, when records are made:
    a station-year is three quarters of a million points.
    """

    def __init__(self) -> None:
        self.keys: dict[Key, None] = {}  # every instant, in first-seen order
        self.fields: dict[str, dict[Key, Any]] = {}  # record field -> values
        self.extras: dict[str, dict[Key, Any]] = {}  # `extra` label -> values

    def add(self, name: str, target: str | None, stamps: list[str], values: list[Any]) -> list[Key]:
        """Add series `name` (record field `target`, or `extra`); returns its keys."""
        if len(set(stamps)) == len(stamps):
            keys = list(zip(stamps, [0] * len(stamps), strict=True))
        else:
            seen: dict[str, int] = {}
            keys = []
            for stamp in stamps:
                seen[stamp] = seen[stamp] + 1 if stamp in seen else 0
                keys.append((stamp, seen[stamp]))
        self.keys.update(dict.fromkeys(keys))
        column = dict(zip(keys, values, strict=True))
        if target is None:
            self.extras[name] = column
        else:
            self.fields[target] = column
        return keys

    def add_extra(self, label: str, keys: list[Key], values: list[Any]) -> None:
        self.extras[label] = dict(zip(keys, values, strict=True))


def scaled(values: list[Any], scale: float) -> list[Any]:
    """Power in W; SEMS+ kW values have three decimals, so W are whole after rounding."""
    if scale == 1.0:
        return values
    return [None if v is None else round(v * scale, 3) for v in values]


NUMBER_TYPES = frozenset({float, int, type(None)})


def numbers(values: list[Any], what: str) -> list[Any]:
    """Check (and where needed convert) a column of portal numbers."""
    if set(map(type, values)) <= NUMBER_TYPES and math.isfinite(
        sum(filter(partial(is_not, None), values))
    ):
        return values
    return [to_number(v, f"{what} point {i}") for i, v in enumerate(values)]


@dataclass
class ParsedCurve:
    """Records per plant-local day, and what was skipped and why."""

    days: dict[dt.date, list[Record]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)


def to_number(value: Any, what: str) -> float | None:
    """SEMS numbers arrive as numbers, numeric strings, "" or null."""
    if value is None:
        return None
    if type(value) is float:  # the common case first: this runs for every point
        if not math.isfinite(value):
            raise PayloadError(f"{what}: expected a finite number, got {value!r}")
        return value
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
    if not is_success(code):
        message = payload.get("msg") or payload.get("description") or ""
        raise PayloadError(f"{what}: answered code {code or '(none)'} {message}".strip())
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise PayloadError(f"{what}: 'data' is {type(data).__name__}, expected an object")
    return data


# ---- SEMS+ ---------------------------------------------------------------------------


def semsplus_curve(data: Mapping[str, Any]) -> Curve:
    """The series of a statisticsAndPreV2 `data` object; markers removed."""
    entries = data.get("dataList")
    if not isinstance(entries, list):
        raise PayloadError(f"'dataList' is {type(entries).__name__}, expected a list")
    curve = Curve()
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("item"), str):
            raise PayloadError(f"dataList[{index}] has no 'item' name")
        name = entry["item"]
        points = entry.get("powerData", entry.get("statisticsList"))
        if points is None:
            points = []
        if not isinstance(points, list):
            raise PayloadError(f"series '{name}': points are {type(points).__name__}, not a list")
        for position, point in enumerate(points):
            if type(point) is not dict:
                raise PayloadError(f"series '{name}' point {position} is not an object")
        real = [point for point in points if not point.get("isCE")]
        stamps = [point.get("tp") for point in real]
        for position, stamp in enumerate(stamps):
            if type(stamp) is not str:
                raise PayloadError(f"series '{name}' point {position}: 'tp' is {stamp!r}")
        values = numbers([point.get("power") for point in real], f"series '{name}'")
        target = SEMSPLUS_CURVE_FIELDS.get(name)
        if target is not None and target != "battery_soc_pct":
            values = scaled(values, power_scale(entry.get("unit"), name, default_unit="kW"))
        keys = curve.add(name, target, stamps, values)
        details = set().union(*(point.keys() for point in real if len(point) > 2)) - POINT_KEYS
        for detail, column in point_attributes(real, details).items():
            curve.add_extra(f"{name}.{detail}", keys, column)
    return curve


def point_attributes(points: list[dict[str, Any]], names: set[str]) -> dict[str, list[Any]]:
    """Columns of the attributes SEMS+ puts on points besides tp and power.

    On sell/buy points these are `price` (usually "") and `currency`. Empty values carry
    nothing; the currency is the unit of a price, so it is kept only where there is one
    (the station's currency is in the `stations` stream).
    """
    columns = {name: [point.get(name) for point in points] for name in sorted(names)}
    currency = columns.pop("currency", None)
    if currency is not None and "price" in columns:
        columns["currency"] = [
            unit if price not in (None, "") else None
            for unit, price in zip(currency, columns["price"], strict=True)
        ]
    return {name: column for name, column in columns.items() if not set(column) <= {None, ""}}


def parse_semsplus_curve(
    payload: Any, *, station_id: str, clocks: Mapping[dt.date, DayClock], source: str
) -> ParsedCurve:
    """A statisticsAndPreV2 answer covering the days of `clocks`, as records per day."""
    data = check_success(payload, "power curve")
    return assemble_records(semsplus_curve(data), station_id, clocks, source)


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


def legacy_curve(chart: Mapping[str, Any], day: dt.date) -> Curve:
    """The series of a legacy chart's `lines`."""
    lines = chart.get("lines")
    if not isinstance(lines, list):
        raise PayloadError(f"'lines' is {type(lines).__name__}, expected a list")
    curve = Curve()
    prefix = day.isoformat() + " "
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping) or not isinstance(line.get("key"), str):
            raise PayloadError(f"lines[{index}] has no 'key'")
        name = line["key"]
        points = line.get("xy")
        if not isinstance(points, list):
            raise PayloadError(f"line '{name}': 'xy' is {type(points).__name__}, not a list")
        stamps, values = [], []
        for position, point in enumerate(points):
            what = f"line '{name}' point {position}"
            if not isinstance(point, Mapping):
                raise PayloadError(f"{what} is not an object")
            stamps.append(legacy_stamp(prefix, point.get("x"), what))
            values.append(to_number(point.get("y"), what))
        target = LEGACY_CURVE_FIELDS.get(name)
        if target is not None and target != "battery_soc_pct":
            values = scaled(values, power_scale(line.get("unit"), name, default_unit="W"))
        curve.add(name, target, stamps, values)
    return curve


def legacy_stamp(prefix: str, clock: Any, what: str) -> str:
    """ "YYYY-MM-DD HH:MM:SS" from a legacy `x`: "HH:mm" on the day, "H:mm", or a full stamp."""
    if not isinstance(clock, str):
        raise PayloadError(f"{what}: 'x' is {clock!r}, expected HH:mm")
    text = clock.strip()
    if len(text) == 5 and text[2] == ":" and text[:2].isdigit() and text[3:].isdigit():
        return f"{prefix}{text}:00"
    if len(text) >= 16:  # a whole date and time; its date is checked against the day later
        return text
    parts = text.split(":")
    if not 2 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        raise PayloadError(f"{what}: 'x' is {clock!r}, expected HH:mm")
    hour, minute, second = (*map(int, parts), 0)[:3]
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}"


def parse_legacy_chart(
    document: Any,
    *,
    station_id: str,
    day: dt.date,
    clock: DayClock,
    source: str,
) -> ParsedCurve:
    """One legacy day (API answer or saved file) as records."""
    curve = legacy_curve(legacy_chart_data(document), day)
    return assemble_records(curve, station_id, {day: clock}, source)


# ---- shared assembly ---------------------------------------------------------------------


def assemble_records(
    curve: Curve, station_id: str, clocks: Mapping[dt.date, DayClock], source: str
) -> ParsedCurve:
    """Place each instant of the curve on the UTC time line, as records per day of `clocks`."""
    result = ParsedCurve(days={day: [] for day in clocks})
    pv, load, grid, battery, soc = (curve.fields.get(name, {}) for name in SERIES_FIELDS)
    extras: dict[Key, dict[str, Any]] = {}
    for label, column in curve.extras.items():
        for key, value in column.items():
            if value is not None and value != "":
                extras.setdefault(key, {})[label] = value
    walls: dict[str, dt.datetime] = {}
    placed: list[tuple[dt.datetime, str, dt.datetime, Record]] = []
    for key in curve.keys:
        stamp, occurrence = key
        extra = extras.get(key)
        values = (pv.get(key), load.get(key), grid.get(key), battery.get(key), soc.get(key))
        if extra is None and values == (None, None, None, None, None):
            result.skipped["no value in any series"] += 1
            continue
        wall = walls.get(stamp)
        if wall is None:
            wall = walls[stamp] = parse_wall_time(stamp, f"time '{stamp}'")
        clock = clocks.get(wall.date())
        if clock is None:
            result.skipped["outside the requested days"] += 1
            continue
        try:
            instant = clock.to_utc(wall, occurrence)
        except NonexistentLocalTimeError:
            result.skipped["inside the daylight-saving gap"] += 1
            continue
        except ValueError:
            result.skipped["repeated wall-clock time"] += 1
            continue
        grid_w = values[2]
        placed.append(
            (
                instant,
                stamp,
                wall,
                {
                    "station_id": station_id,
                    "timestamp": instant.isoformat(),
                    "time_local": stamp
                    if stamp[10:11] == " " and len(stamp) == 19
                    else wall.isoformat(sep=" "),
                    "day": stamp[:10],
                    "pv_power_w": values[0],
                    "load_power_w": values[1],
                    "grid_power_w": grid_w,
                    "grid_import_w": None if grid_w is None else (-grid_w if grid_w < 0 else 0.0),
                    "grid_export_w": None if grid_w is None else (grid_w if grid_w > 0 else 0.0),
                    "battery_power_w": values[3],
                    "battery_soc_pct": values[4],
                    "source": source,
                    "extra": extra,
                },
            )
        )
    placed.sort(key=lambda item: item[0])
    for _, _, wall, record in placed:
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
    inventing energy across it would make the totals disagree with the curve. Every curve
    read is integrated (SEMS+ statistics are checked against it), so the common day, one
    even grid without gaps or nulls, is summed with built-ins in one pass per flow.
    """
    instants = map(dt.datetime.fromisoformat, map(itemgetter("timestamp"), records))
    stamps = list(map(dt.datetime.timestamp, instants))
    steps = list(map(sub, stamps[1:], stamps[:-1]))
    even = len(set(steps)) == 1 and 0 < steps[0] <= max_gap_s
    battery = list(map(itemgetter("battery_power_w"), records))
    flows: dict[str, list[Any]] = {
        name: list(map(itemgetter(field_name), records))
        for name, field_name in (
            ("production_kwh", "pv_power_w"),
            ("consumption_kwh", "load_power_w"),
            ("grid_import_kwh", "grid_import_w"),
            ("grid_export_kwh", "grid_export_w"),
        )
    }
    record = empty_daily_energy(station_id, day, source)
    if even and None not in battery:
        # Charge and discharge are the negative and positive parts: (|b| -+ b) / 2.
        total, size = sum(battery), sum(map(abs, battery))
        ends = battery[0], battery[-1]
        hours = steps[0] / 3600
        for name, sign in (("battery_charge_kwh", -1), ("battery_discharge_kwh", 1)):
            inner = (size + sign * total) / 2 - sum(max(sign * b, 0.0) for b in ends) / 2
            record[name] = round(inner * hours / 1000, 6)
    else:
        flows["battery_charge_kwh"] = [None if b is None else max(-b, 0.0) for b in battery]
        flows["battery_discharge_kwh"] = [None if b is None else max(b, 0.0) for b in battery]
    spans = [(i, step / 3600) for i, step in enumerate(steps, start=1) if 0 < step <= max_gap_s]
    for name, values in flows.items():
        if even and None not in values:
            watt_hours = spans[0][1] * (sum(values) - (values[0] + values[-1]) / 2)
            record[name] = round(watt_hours / 1000, 6)
            continue
        parts = [
            (values[index - 1] + values[index]) * hours
            for index, hours in spans
            if values[index - 1] is not None and values[index] is not None
        ]
        record[name] = round(sum(parts) / 2000, 6) if parts else None
    record["method"] = "integrated_power_curve"
    return record


# A day's statistics are taken to be wrong when they fall this far short of the energy in
# its curve, in one of the flows: at least GROSS_KWH, and at least GROSS_SHARE of the curve's.
# Normal differences (sampling, an interval or two of upload gap, today read a minute apart)
# stay far below; the captured failure (statistics of zero on a sunny day) is far above.
GROSS_KWH = 1.0
GROSS_SHARE = 0.25
CURVE_OVER_STATISTICS = "integrated_power_curve_statistics_rejected"


def statistics_shortfall(statistics: Record, curve: Record) -> str | None:
    """How a day's portal statistics fall grossly short of its curve's energy, or None.

    Only a shortfall counts: statistics above the curve usually mean the curve has gaps
    (the inverter uploads its counters later), and the statistics are then the better figure.
    """
    for name in ENERGY_FIELDS:
        reported, integrated = statistics.get(name), curve.get(name)
        if reported is None or integrated is None:
            continue
        shortfall = integrated - reported
        if shortfall >= GROSS_KWH and shortfall >= GROSS_SHARE * integrated:
            return f"{name} {reported:g} kWh, curve {integrated:.3f} kWh"
    return None
