"""Station metadata from both API generations, as `stations` records.

Field names differ between portal versions and even between accounts, so each value is
looked up under every name it has been seen with. The time zone matters most: it is only
taken when the portal states an IANA name, because an offset alone (legacy `time_span`)
says nothing about daylight saving.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tap_sems.parsing import PayloadError, Record, check_success, to_number
from tap_sems.result_codes import is_success
from tap_sems.timeutil import load_zone

MAPPED = {
    "station_id": ("id", "stationId", "powerstation_id", "powerStationId"),
    "name": ("name", "stationName", "stationname", "plantName"),
    "capacity_kwp": ("capacity", "pvCapacity", "installedCapacity", "capacityKw"),
    "battery_capacity_kwh": ("batteryCapacity", "battery_capacity", "storageCapacity"),
    "timezone": ("timeZoneId", "timezoneId", "ianaTimeZone", "zoneId", "timeZone", "timezone"),
    "currency": ("currency", "currencyCode", "moneyUnit"),
    "address": ("address", "location", "detailAddress"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lng", "lon"),
}
NUMERIC = ("capacity_kwp", "battery_capacity_kwh", "latitude", "longitude")
# When the plant was set up in the portal, or its inverter first turned on (kept in `extra`).
FIRST_DAY_FIELDS = ("createTime", "create_time", "turnon_time", "turnOnTime", "installTime")
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
SLASHED_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
EPOCH_MS_AFTER_2001 = 10**12


def empty_station(station_id: str, *, source: str) -> Record:
    record: Record = dict.fromkeys(MAPPED)
    record.update(station_id=station_id, source=source, extra=None)
    return record


def iana_zone(value: Any) -> str | None:
    """An IANA zone name, or None for offsets, blanks and unknown names."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        load_zone(value.strip())
    except ValueError:
        return None
    return value.strip()


def station_from_fields(
    station_id: str, sources: Iterable[Mapping[str, Any]], *, source: str
) -> Record:
    """Build a record from the first non-empty value of each field across `sources`."""
    record = empty_station(station_id, source=source)
    extra: dict[str, Any] = {}
    used: set[str] = set()
    for fields in sources:
        for target, names in MAPPED.items():
            if target == "station_id" or record[target] is not None:
                continue
            for name in names:
                value = fields.get(name)
                if target == "timezone":
                    value = iana_zone(value)
                elif target in NUMERIC:
                    value = to_number(value, f"station field '{name}'")
                elif isinstance(value, str):
                    value = value.strip() or None
                else:
                    value = None
                if value is not None:
                    record[target] = value
                    used.add(name)
                    break
        for name, value in fields.items():
            if name not in used and isinstance(value, str | int | float | bool) and value != "":
                extra.setdefault(name, value)
    # The portal writes 0 for "unknown" coordinates and "no battery".
    if record["latitude"] == 0 and record["longitude"] == 0:
        record["latitude"] = record["longitude"] = None
    if not record["battery_capacity_kwh"]:
        record["battery_capacity_kwh"] = None
    record["extra"] = extra or None
    return record


def parse_semsplus_station_page(payload: Any) -> tuple[dict[str, str], int]:
    """Stations on one page of the SEMS+ station list (id and name), and the total count."""
    data = check_success(payload, "station list")
    rows = data.get("dataList", data.get("records", data.get("list")))
    if not isinstance(rows, list):
        raise PayloadError("station list: no list of stations ('dataList')")
    found = station_rows(rows)
    total = data.get("total")
    return found, int(total) if isinstance(total, int | str) and str(total).isdigit() else len(rows)


def station_rows(rows: list[Any]) -> dict[str, str]:
    """Id and name of each row of a station list (a row may also be a bare id)."""
    found: dict[str, str] = {}
    for index, row in enumerate(rows):
        fields = row if isinstance(row, Mapping) else {}
        station_id = row if isinstance(row, str) else None
        for key in MAPPED["station_id"]:
            station_id = station_id or fields.get(key)
        if not isinstance(station_id, str) or not station_id:
            raise PayloadError(f"station list row {index} has no station id")
        name = next((fields[k] for k in (*MAPPED["name"], "pw_name") if fields.get(k)), "")
        found[station_id] = str(name)
    return found


def parse_semsplus_station(payload: Any, *, station_id: str) -> Record:
    data = check_success(payload, "station detail")
    nested = [value for value in data.values() if isinstance(value, Mapping)]
    return station_from_fields(station_id, [data, *nested], source="semsplus")


class StationDataMissingError(PayloadError):
    """The legacy portal answers success with `{}` for accounts moved to SEMS+."""


def parse_legacy_station(payload: Any, *, station_id: str) -> Record:
    """GetMonitorDetailByPowerstationId; after the shutdown it answers success with `{}`."""
    data = check_success(payload, "station detail")
    info = data.get("info")
    if not data:
        raise StationDataMissingError(
            "the legacy portal answered success with no station data (accounts moved to "
            "SEMS+ get this since September 2026)"
        )
    if not isinstance(info, Mapping):
        raise PayloadError("station detail has no 'info' object")
    kpi = data.get("kpi")
    if not isinstance(kpi, Mapping):
        kpi = {}
    return station_from_fields(station_id, [info, kpi], source="legacy")


def legacy_utc_offset_hours(record: Record) -> float | None:
    """Legacy `time_span` looks like minus the UTC offset; only used to word an error."""
    extra = record.get("extra") or {}
    value = extra.get("time_span")
    return -float(value) if isinstance(value, int | float) else None


def parse_legacy_station_list(payload: Any) -> dict[str, str]:
    """QueryPowerStationByHistory (`data.list` of stations); also the shapes of
    GetPowerStationIdByOwner (`data` is one id or a list), which some accounts answer."""
    if not isinstance(payload, Mapping):
        raise PayloadError("station list: expected a JSON object")
    code = str(payload.get("code", "")).strip()
    if not is_success(code):
        raise PayloadError(f"station list: answered code {code or '(none)'}")
    data = payload.get("data")
    rows = [data] if isinstance(data, str) else data
    if isinstance(rows, Mapping):
        rows = rows.get("list")
    if not isinstance(rows, list):
        raise PayloadError("station list: no list of stations in 'data'")
    return station_rows(rows)


def first_day(record: Mapping[str, Any]) -> dt.date | None:
    """The earliest day the station metadata names for the plant (set up or turned on).

    Legacy dates are MM/dd/yyyy in the captures although the account's `date_format` may
    say otherwise, so a date that reads both ways counts as the earlier of the two: a start
    moved too early costs requests, one moved too late would lose data.
    """
    extra = record.get("extra") or {}
    days = [day for name in FIRST_DAY_FIELDS if (day := earliest_day(extra.get(name)))]
    return min(days, default=None)


def earliest_day(value: Any) -> dt.date | None:
    candidates: list[tuple[int, int, int]] = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value >= EPOCH_MS_AFTER_2001:  # epoch milliseconds; the plant's zone is unknown here
            moment = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
            return moment.date() - dt.timedelta(days=1)
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if match := ISO_DATE.match(text):
        year, month, day = map(int, match.groups())
        candidates.append((year, month, day))
    elif match := SLASHED_DATE.match(text):
        first, second, year = map(int, match.groups())
        candidates += [(year, first, second), (year, second, first)]
    days = []
    for year, month, day in candidates:
        try:
            days.append(dt.date(year, month, day))
        except ValueError:
            continue
    plausible = [day for day in days if dt.date(2000, 1, 1) <= day]
    return min(plausible, default=None)
