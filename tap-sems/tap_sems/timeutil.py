"""Plant wall-clock time to UTC, correct on daylight-saving days.

SEMS sends times without an offset: the plant's local wall clock. On the 25-hour day the
repeated hour arrives twice, in order, so the n-th occurrence of an ambiguous wall time is
the n-th instant with that wall time (fold 0, then fold 1). On the 23-hour day the skipped
hour does not exist; a point there cannot be placed on the time line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
FIXED_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


class NonexistentLocalTimeError(ValueError):
    """A wall-clock time inside a daylight-saving gap."""


def load_zone(name: str) -> dt.tzinfo:
    """An IANA zone, or a fixed UTC offset such as +08:00.

    A fixed offset is right only where clocks never change (or for an inverter whose clock
    ignores daylight saving); it is what the earlier exporter's SEMS_TZ_OFFSET held.
    """
    text = name.strip()
    offset = FIXED_OFFSET.match(text)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > dt.timedelta(hours=14):
            msg = f"'{name}' is not a UTC offset (at most 14 hours)"
            raise ValueError(msg)
        return dt.timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as error:
        msg = (
            f"'{name}' is neither an IANA time zone name (for example Europe/Berlin) "
            "nor a UTC offset (for example +08:00)"
        )
        raise ValueError(msg) from error


class DayClock:
    """Converts wall-clock times of one plant-local day to UTC.

    Most days have one UTC offset throughout; those convert by subtraction. Only days
    with a transition take the slower, fold-aware path.
    """

    def __init__(self, day: dt.date, zone: dt.tzinfo) -> None:
        self.day = day
        self.zone = zone
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        start_offset = start.utcoffset()
        self.fixed_offset = start_offset if start_offset == end.utcoffset() else None

    def to_utc(self, wall: dt.datetime, occurrence: int = 0) -> dt.datetime:
        """UTC instant of the `occurrence`-th (0-based) appearance of `wall` that day."""
        if self.fixed_offset is not None:
            return (wall - self.fixed_offset).replace(tzinfo=UTC)
        first = wall.replace(tzinfo=self.zone, fold=0)
        second = wall.replace(tzinfo=self.zone, fold=1)
        first_utc = first.astimezone(UTC)
        second_utc = second.astimezone(UTC)
        if first_utc == second_utc:
            if occurrence:
                msg = f"{wall:%Y-%m-%d %H:%M:%S} appears more than once but is not ambiguous"
                raise ValueError(msg)
            return first_utc
        # Inside a gap, fold 0 maps forward and fold 1 backward: the round trip differs.
        if first_utc.astimezone(self.zone).replace(tzinfo=None) != wall:
            msg = f"{wall:%Y-%m-%d %H:%M:%S} does not exist in {self.zone}"
            raise NonexistentLocalTimeError(msg)
        if occurrence > 1:
            msg = f"{wall:%Y-%m-%d %H:%M:%S} appears more than twice"
            raise ValueError(msg)
        return second_utc if occurrence else first_utc


def today_in(zone: dt.tzinfo, now: dt.datetime | None = None) -> dt.date:
    """The plant-local date now."""
    return (now or dt.datetime.now(UTC)).astimezone(zone).date()


def iter_days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def chunk_days(
    first: dt.date, last: dt.date, size: int, *, within_year: bool = False
) -> Iterator[tuple[dt.date, dt.date]]:
    """Consecutive windows of at most `size` days covering first..last; with
    `within_year`, no window crosses from one calendar year into the next."""
    start = first
    while start <= last:
        end = min(last, start + dt.timedelta(days=size - 1))
        if within_year:
            end = min(end, dt.date(start.year, 12, 31))
        yield start, end
        start = end + dt.timedelta(days=1)


def day_end(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The UTC instant a plant-local day ends (the next local midnight)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(UTC)


def runs_of_days(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as (first, last) runs of consecutive days."""
    runs: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]
