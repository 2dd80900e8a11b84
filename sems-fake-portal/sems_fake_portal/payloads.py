"""Pure builders of the `data` part of every response, from simulated curves.

Kept apart from the HTTP server so the archive writer produces byte-for-byte the data the
legacy endpoint serves, and so the shapes can be unit-tested without a socket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np

from sems_fake_portal.model import Station
from sems_fake_portal.simulation import DayEnergy, SampledCurve

MissingSeries = Literal["omit", "null"]
PointsKey = Literal["powerData", "statisticsList"]

# Feed-in income the legacy chart shows next to the generation.
INCOME_PER_KWH = 0.082

_WALL_TEXT = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440)]

SEMSPLUS_POWER_ITEMS = ("pSystem", "pConsum", "pBat", "pGrid", "soc")
# The order the SEMS+ web UI answers in (not the order asked), extras included.
_SEMSPLUS_RESPONSE_ORDER = ("pSystem", "pConsum", "pBat", "pGrid", "sell", "buy", "soc")
_SEMSPLUS_UNITS = {
    "pSystem": "kW",
    "pConsum": "kW",
    "pBat": "kW",
    "pGrid": "kW",
    "sell": "kWh",
    "buy": "kWh",
    "soc": "%",
}
_METER_ITEMS = {"pConsum", "pGrid", "sell", "buy"}
_BATTERY_ITEMS = {"pBat", "soc"}


def station_has_item(station: Station, item: str) -> bool:
    if item in _METER_ITEMS:
        return station.has_meter
    if item in _BATTERY_ITEMS:
        return station.has_battery
    return True


def inverter_sleeps(station: Station) -> bool:
    """A plant with neither meter nor battery uploads nothing while the sun is down."""
    return not station.has_meter and not station.has_battery


# --------------------------------------------------------------------------- SEMS+ curve


_SERIES: dict[str, tuple[str, float]] = {
    # item: (SampledCurve attribute, divisor to the item's unit)
    "pSystem": ("pv_w", 1000),
    "pConsum": ("load_w", 1000),
    "pGrid": ("grid_w", 1000),
    "pBat": ("battery_w", 1000),
    "sell": ("export_wh", 1000),
    "buy": ("import_wh", 1000),
}


def _semsplus_values(station: Station, item: str, curve: SampledCurve) -> list[Any]:
    if item == "soc":
        return curve.soc_pct.tolist()
    attribute, divisor = _SERIES[item]
    values: list[Any] = np.round(getattr(curve, attribute) / divisor, 3).tolist()
    if item == "pSystem" and inverter_sleeps(station):
        values = [None if watts == 0 else v for watts, v in zip(curve.pv_w, values, strict=True)]
    return values


def _marker(timestamp: str) -> dict[str, Any]:
    return {"tp": timestamp, "power": None, "isCE": True}


def wall_stamps(curve: SampledCurve, available: int) -> list[str]:
    """`tp` texts of the first `available` intervals: plant wall clock, no offset."""
    day = curve.day.isoformat()
    return [f"{day} {_WALL_TEXT[minute]}:00" for minute in curve.wall[:available].tolist()]


def semsplus_day_points(
    station: Station,
    item: str,
    curve: SampledCurve,
    *,
    stamps: list[str],
    present: bool,
    currency: str,
) -> list[dict[str, Any]]:
    """One day of one item: markers at 00:00, before the first real point and at 23:59.

    `stamps` covers the intervals the plant has uploaded (today is partial);
    `present` False gives the all-null series some plants send for what they lack.
    """
    available = len(stamps)
    values = _semsplus_values(station, item, curve)[:available] if present else [None] * available
    if item in ("sell", "buy"):
        points = [
            {"tp": stamp, "power": value, "currency": currency, "price": ""}
            for stamp, value in zip(stamps, values, strict=True)
        ]
    else:
        points = [
            {"tp": stamp, "power": value} for stamp, value in zip(stamps, values, strict=True)
        ]
    first_real = next((index for index, value in enumerate(values) if value is not None), None)
    if first_real:  # not None and not the day's first slot, which the 00:00 marker precedes
        points.insert(first_real, _marker(stamps[first_real]))
    day = curve.day.isoformat()
    return [_marker(f"{day} 00:00:00"), *points, _marker(f"{day} 23:59:00")]


def semsplus_power_curve(
    station: Station,
    days: Sequence[tuple[SampledCurve, int]],
    items: Sequence[str],
    *,
    points_key: PointsKey = "powerData",
    missing_series: MissingSeries = "omit",
    markers: bool = True,
) -> dict[str, Any]:
    """`data` of statisticsAndPreV2 for consecutive days, each with its uploaded count."""
    wanted = set(items) | {"sell", "buy"}
    stamps = [wall_stamps(curve, available) for curve, available in days]
    data_list = []
    for item in _SEMSPLUS_RESPONSE_ORDER:
        if item not in wanted:
            continue
        present = station_has_item(station, item)
        if not present and missing_series == "omit":
            continue
        points: list[dict[str, Any]] = []
        for (curve, _), day_stamps in zip(days, stamps, strict=True):
            day_points = semsplus_day_points(
                station,
                item,
                curve,
                stamps=day_stamps,
                present=present,
                currency=station.currency,
            )
            if not markers:
                day_points = [point for point in day_points if not point.get("isCE")]
            points.extend(day_points)
        data_list.append({"item": item, "unit": _SEMSPLUS_UNITS[item], points_key: points})
    return {"dataList": data_list}


# --------------------------------------------------------------------------- SEMS+ statistics

STATISTICS_ITEMS = (
    "proSystemTotalStats",
    "proConsumStats",
    "proCharStats",
    "proDischarStats",
    "proGridStats",
    "proPurchaseStats",
    "proSelfConsumStats",
)
_STATISTICS_NEEDS = {
    "proConsumStats": "meter",
    "proGridStats": "meter",
    "proPurchaseStats": "meter",
    "proSelfConsumStats": "meter",
    "proCharStats": "battery",
    "proDischarStats": "battery",
}


@dataclass(frozen=True)
class PeriodEnergy:
    """Energy of one statistics bucket (a day, a month or a year)."""

    label: str
    energy: DayEnergy


def sum_energy(energies: Iterable[DayEnergy]) -> DayEnergy:
    totals = [0.0] * 6
    for energy in energies:
        for index, value in enumerate(
            (
                energy.pv_kwh,
                energy.load_kwh,
                energy.export_kwh,
                energy.import_kwh,
                energy.charge_kwh,
                energy.discharge_kwh,
            )
        ):
            totals[index] += value
    return DayEnergy(*totals)


def _statistic(item: str, energy: DayEnergy) -> float:
    values = {
        "proSystemTotalStats": energy.pv_kwh,
        "proConsumStats": energy.load_kwh,
        "proCharStats": energy.charge_kwh,
        "proDischarStats": energy.discharge_kwh,
        "proGridStats": energy.export_kwh,
        "proPurchaseStats": energy.import_kwh,
        "proSelfConsumStats": energy.pv_kwh - energy.export_kwh,
    }
    return round(values[item], 2)


def _statistic_present(station: Station, item: str) -> bool:
    need = _STATISTICS_NEEDS.get(item)
    if need == "meter":
        return station.has_meter
    if need == "battery":
        return station.has_battery
    return True


def _share(part: float, whole: float) -> float:
    return round(part / whole * 100, 2) if whole > 0 else 0.0


def semsplus_statistics(
    station: Station,
    periods: Sequence[PeriodEnergy],
    items: Sequence[str],
    *,
    missing_series: MissingSeries = "omit",
) -> dict[str, Any]:
    """`data` of stations/statistics: range totals, then one list entry per bucket."""
    total = sum_energy(period.energy for period in periods)
    production = round(total.pv_kwh, 2)
    data: dict[str, Any] = {"production": production, "proAcTotal": production}
    if station.has_meter or missing_series == "null":
        meter = station.has_meter
        self_use = round(total.pv_kwh - total.export_kwh, 2) if meter else None
        data.update(
            {
                "proSelfConsum": self_use,
                "proSelfConsumRate": _share(total.pv_kwh - total.export_kwh, total.pv_kwh)
                if meter
                else None,
                "proGrid": round(total.export_kwh, 2) if meter else None,
                "proGridRate": _share(total.export_kwh, total.pv_kwh) if meter else None,
                "proConsum": round(total.load_kwh, 2) if meter else None,
                "contributionRate": _share(total.load_kwh - total.import_kwh, total.load_kwh)
                if meter
                else None,
                "proPurchase": round(total.import_kwh, 2) if meter else None,
                "proPurchaseRate": _share(total.import_kwh, total.load_kwh) if meter else None,
                "proPvStoreContribution": self_use,
            }
        )
    wanted = [item for item in STATISTICS_ITEMS if not items or item in items]
    data_list = []
    for item in wanted:
        present = _statistic_present(station, item)
        if not present and missing_series == "omit":
            continue
        data_list.append(
            {
                "item": item,
                "unit": "kWh",
                "statisticsList": [
                    {
                        "date": period.label,
                        "val": _statistic(item, period.energy) if present else None,
                    }
                    for period in periods
                ],
            }
        )
    data["dataList"] = data_list
    data["hasProfit"] = False
    return data


# --------------------------------------------------------------------------- SEMS+ stations


def semsplus_station_row(
    station: Station, on: date, today: DayEnergy, pv_now_kw: float
) -> dict[str, Any]:
    """One entry of portal/stations/page, shaped like the captured station list."""
    row: dict[str, Any] = {
        "id": station.id,
        "name": station.name,
        "status": "1",
        "googleAddress": station.address,
        "installedPower": station.capacity_kwp,
        "isCollected": False,
        "isShared": False,
        "powerStationTypeWeb": 2 if station.has_battery else 1,
        "pvInstallP": station.capacity_kwp,
        "createTime": f"{station.created.isoformat()} 09:00:00",
        "remark": "",
        "productionToday": round(today.pv_kwh, 2),
        "productionTotal": round(lifetime_production_kwh(station, on), 3),
        "pSystem": round(pv_now_kw, 3),
        "fullHourToday": round(today.pv_kwh / station.capacity_kwp, 2),
        "specificYield": round(today.pv_kwh / station.capacity_kwp, 2),
    }
    if station.exposes_timezone:
        row["timeZone"] = station.timezone
    if not station.exposes_created:
        del row["createTime"]
    return row


def semsplus_station_detail(station: Station) -> dict[str, Any]:
    """`data` of stations/basic/info: the plant's metadata.

    Field names from public clients (stationId, name, status, pvCapacity, batteryCapacity,
    timeZone, gridStatus only on storage plants); location and currency added in the
    same naming style.
    """
    detail: dict[str, Any] = {
        "stationId": station.id,
        "name": station.name,
        "status": "1",
        "powerStationType": "2" if station.has_battery else "1",
        "powerStationTypeUser": "2" if station.has_battery else "1",
        "isAllInOne": False,
        "pvCapacity": station.capacity_kwp,
        "installedPower": station.capacity_kwp,
        "batteryCapacity": float(station.battery_kwh),
        "address": station.address,
        "latitude": station.latitude,
        "longitude": station.longitude,
        "currency": station.currency,
        "createTime": f"{station.created.isoformat()}T09:00:00",
        "hasMeter": station.has_meter,
        "permissions": ["STATION_VIEW"],
        # Minus the standard-time UTC offset, like legacy `time_span` and the
        # `stationTimeSpan` of SEMS+ alarm rows: all a client gets when the zone is hidden.
        "stationTimeSpan": legacy_time_span(station, station.created),
    }
    if station.has_battery:
        detail["gridStatus"] = "1"
    if station.exposes_timezone:
        detail["timeZone"] = station.timezone
    if not station.exposes_created:
        del detail["createTime"]
    return detail


def lifetime_production_kwh(station: Station, until: date) -> float:
    """A plausible total for summary fields; not summed from curves, which would be slow."""
    days = max((until - station.created).days, 0)
    return days * station.capacity_kwp * 2.6


# --------------------------------------------------------------------------- legacy

_LEGACY_LINES = (
    # key, unit, colour, axis, sort
    ("PCurve_Power_PV", "W", "#03bbd6", 0, 1),
    ("PCurve_Power_Battery", "W", "#7dc243", 0, 2),
    ("PCurve_Power_Meter", "W", "#fbb03b", 0, 3),
    ("PCurve_Power_Load", "W", "#F1E000", 0, 4),
    ("PCurve_Power_SOC", "%", "#f26c4f", 1, 5),
)


def legacy_power_chart(
    station: Station, curve: SampledCurve, available: int, energy: DayEnergy
) -> dict[str, Any]:
    """`data` of GetPlantPowerChart: generation and income, then one line per series.

    Plants without battery or meter lack those lines; missing PV is 0, never null.
    """
    if curve.scale != 5:
        raise ValueError("the legacy chart is on a 5-minute grid")
    labels = [_WALL_TEXT[minute] for minute in curve.wall[:available].tolist()]
    series = {
        "PCurve_Power_PV": curve.pv_w,
        "PCurve_Power_Battery": curve.battery_w,
        "PCurve_Power_Meter": curve.grid_w,
        "PCurve_Power_Load": curve.load_w,
        "PCurve_Power_SOC": curve.soc_pct,
    }
    lines = []
    for key, unit, colour, axis, sort in _LEGACY_LINES:
        if key in ("PCurve_Power_Battery", "PCurve_Power_SOC") and not station.has_battery:
            continue
        if key in ("PCurve_Power_Meter", "PCurve_Power_Load") and not station.has_meter:
            continue
        values = series[key][:available].astype(float).tolist()
        lines.append(
            {
                "key": key,
                "unit": unit,
                "frontColor": colour,
                "isActive": True,
                "axis": axis,
                "sort": sort,
                "type": "2",
                "xy": [
                    {"x": label, "y": value, "z": None}
                    for label, value in zip(labels, values, strict=True)
                ],
            }
        )
    generation = round(energy.pv_kwh, 1)
    return {
        "generateData": [
            {"key": "Generation", "value": generation, "unit_Key": "kWh"},
            {
                "key": "Income",
                "value": round(generation * INCOME_PER_KWH, 2),
                "unit_Key": station.currency,
            },
        ],
        "lines": lines,
    }


def legacy_time_span(station: Station, on: date) -> float:
    """Legacy `time_span`: minus the plant's standard-time UTC offset, in hours."""
    winter = datetime(on.year, 1, 15, 12, tzinfo=ZoneInfo(station.timezone))
    summer = datetime(on.year, 7, 15, 12, tzinfo=ZoneInfo(station.timezone))
    offsets = [moment.utcoffset() for moment in (winter, summer)]
    standard = min(offset.total_seconds() for offset in offsets if offset is not None)
    return -standard / 3600


def legacy_monitor_detail(
    station: Station, now_local: datetime, today: DayEnergy, month_kwh: float, pv_now_w: float
) -> dict[str, Any]:
    """`data` of GetMonitorDetailByPowerstationId: info, kpi and one inverter, trimmed.

    Same keys and value types as the captured single-inverter answer for the parts a
    client reads; the captured weather and the long inverter telemetry are left out.
    """
    total = lifetime_production_kwh(station, now_local.date())
    serial = "GW" + station.id.replace("-", "")[:14].upper()
    detail: dict[str, Any] = {
        "info": {
            "powerstation_id": station.id,
            "time": now_local.strftime("%m/%d/%Y %H:%M:%S"),
            "date_format": "dd/MM/yyyy",
            "date_format_ym": "MM/yyyy",
            "stationname": station.name,
            "address": station.address,
            "owner_name": None,
            "owner_phone": None,
            "owner_email": None,
            "battery_capacity": float(station.battery_kwh),
            "turnon_time": station.created.strftime("%m/%d/%Y 00:00:00"),
            "create_time": station.created.strftime("%m/%d/%Y 09:00:00"),
            "capacity": station.capacity_kwp,
            "longitude": station.longitude,
            "latitude": station.latitude,
            "powerstation_type": "Residential",
            "status": 1,
            "is_stored": station.has_battery,
            "is_powerflow": station.has_meter,
            "charts_type": 4,
            "has_pv": True,
            "has_statistics_charts": station.has_meter,
            "only_bps": False,
            "only_bpu": False,
            "time_span": legacy_time_span(station, now_local.date()),
            "pr_value": "",
            "org_code": "GW000000",
            "org_name": "Goodwe",
        },
        "kpi": {
            "month_generation": round(month_kwh, 1),
            "pac": round(pv_now_w, 1),
            "power": round(today.pv_kwh, 1),
            "total_power": round(total, 1),
            "day_income": round(today.pv_kwh * INCOME_PER_KWH, 2),
            "total_income": round(total * INCOME_PER_KWH, 2),
            "yield_rate": round(INCOME_PER_KWH, 2),
            "currency": station.currency,
        },
        "powercontrol_status": 0,
        "images": [],
        "inverter": [
            {
                "sn": serial,
                "name": "Inverter 1",
                "type": "GW6000-EH" if station.has_battery else "GW6000-DNS",
                "capacity": station.capacity_kwp,
                "status": 1,
                "is_stored": station.has_battery,
                "eday": round(today.pv_kwh, 1),
                "etotal": round(total, 1),
                "out_pac": round(pv_now_w, 1),
                "turnon_time": station.created.strftime("%m/%d/%Y 00:00:00"),
            }
        ],
        "hjgx": {
            "co2": round(total * 0.000997, 4),
            "tree": round(total * 0.045, 2),
            "coal": round(total * 0.000404, 4),
        },
        "hasPowerflow": station.has_meter,
        "isShowBattery": station.has_battery,
        "soc": {"power": 0, "status": 0},
        "equipment": [],
    }
    if not station.exposes_created:
        for name in ("turnon_time", "create_time"):
            del detail["info"][name]
    return detail


def legacy_station_row(station: Station) -> dict[str, Any]:
    """One entry of QueryPowerStationByHistory's `list`, as public clients read it."""
    return {
        "id": station.id,
        "pw_name": station.name,
        "pw_address": station.address,
        "status": 1,
        "capacity": station.capacity_kwp,
        "battery_capacity": float(station.battery_kwh),
        "currency": station.currency,
        "inverters": [
            {
                "sn": "GW" + station.id.replace("-", "")[:14].upper(),
                "name": "Inverter 1",
                "change_num": 0,
                "change_type": 0,
                "relation_sn": None,
                "relation_name": None,
                "status": 1,
            }
        ],
    }
