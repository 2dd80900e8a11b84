"""Break a well-formed answer the way `Faults.malformed_payloads` asks.

Each breakage is one a client meets in the wild: a list that arrives as an object, a
point without its time, a power that is not a number. The day named in the fault is the
one broken, so a client's error message can be checked to name it.
"""

from __future__ import annotations

from typing import Any

from sems_fake_portal.faults import MalformedDay


def _points_of_day(points: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [p for p in points if str(p.get("tp", "")).startswith(prefix) and not p.get("isCE")]


def _series_to_break(
    data: dict[str, Any], list_key: str, name_key: str, broken: MalformedDay
) -> list[dict[str, Any]] | None:
    """The series whose point to break; None when done (no series, or `not_a_list`)."""
    series = data.get(list_key)
    if not isinstance(series, list) or not series:
        return None
    if broken.kind == "not_a_list":
        data[list_key] = {entry[name_key]: entry for entry in series}
        return None
    return series


def break_power_curve(data: dict[str, Any], broken: MalformedDay, points_key: str) -> None:
    data_list = _series_to_break(data, "dataList", "item", broken)
    if data_list is None:
        return
    points = data_list[0][points_key]
    candidates = _points_of_day(points, broken.day.isoformat()) or points
    if candidates:
        _break_point(candidates[len(candidates) // 2], broken, "tp", "power")


def break_statistics(data: dict[str, Any], broken: MalformedDay) -> None:
    data_list = _series_to_break(data, "dataList", "item", broken)
    if data_list is None:
        return
    day = broken.day.isoformat()
    for entry in data_list[0]["statisticsList"]:
        label = str(entry.get("date", ""))
        if label and day.startswith(label):  # a day, its month or its year
            _break_point(entry, broken, "date", "val")
            return


def break_legacy_chart(data: dict[str, Any], broken: MalformedDay) -> None:
    lines = _series_to_break(data, "lines", "key", broken)
    if lines is None:
        return
    xy = lines[0]["xy"]
    if xy:
        _break_point(xy[len(xy) // 2], broken, "x", "y")


def _break_point(
    point: dict[str, Any], broken: MalformedDay, time_key: str, value_key: str
) -> None:
    if broken.kind == "missing_time":
        point.pop(time_key, None)
    else:
        point[value_key] = "n/a"
