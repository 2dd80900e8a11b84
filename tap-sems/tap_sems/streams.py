"""The tap's streams: stations, plant_power and daily_energy.

plant_power and daily_energy share one base class that keeps a bookmark per station and
per plant-local day. The SDK's per-record bookmarking does not fit: the replication key is a
`date` (so the SDK would ignore start_date), a run re-reads `lookback_days` before the
bookmark (which `is_sorted` would reject), and a day may only be bookmarked once all of it
has been emitted and it is over (today is re-read every run). So the base class moves the
bookmark itself after each request window and writes a STATE message right away.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections.abc import Iterable, Iterator

from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_sems import schemas
from tap_sems._sdk import DayBookmarkStream, UnwalkedRecordStream
from tap_sems.backends import Source, Window
from tap_sems.timeutil import today_in

if t.TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context, Record


class SemsStream(UnwalkedRecordStream):
    """A stream reading from the run's `Source` (settings, backend, station directory)."""

    # Records are built with their final types by parsing.py; re-checking every field of
    # every record would cost a third of the tap's CPU.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, source: Source) -> None:
        super().__init__(tap)
        self.source = source


class StationsStream(SemsStream):
    name = "stations"
    primary_keys = schemas.STATIONS_KEY
    schema = schemas.STATIONS

    def get_records(self, context: Context | None) -> Iterable[Record]:
        directory = self.source.stations
        for station_id in directory.ids:
            yield directory.record(station_id)


class DailyStream(SemsStream, DayBookmarkStream):
    """A stream read day by day, with one bookmark per station."""

    replication_key = "day"

    @property
    def partitions(self) -> list[dict] | None:
        return [{"station_id": station_id} for station_id in self.source.stations.ids]

    def windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        raise NotImplementedError

    def get_records(self, context: Context | None) -> Iterable[Record]:
        assert context is not None
        station_id = context["station_id"]
        zone = self.source.stations.zone(station_id)
        today = today_in(zone)
        first, last = self.day_range(context, today)
        if first > last:
            self.logger.info("%s %s: nothing to read (%s..%s)", self.name, station_id, first, last)
            return
        total_days = (last - first).days + 1
        days_done = 0
        empty_days: list[dt.date] = []
        for window in self.windows(station_id, first, last, zone):
            for day, records in window.days.items():
                if records:
                    yield from records
                elif day < today:
                    empty_days.append(day)
            days_done += len(window.days)
            finished = [day for day in window.days if day < today]
            if finished:
                self.bookmark_through(context, max(finished))
            self.logger.info(
                "%s station %s: %s..%s (%d days), %d records, %d days left",
                self.name,
                station_id,
                window.first,
                window.last,
                len(window.days),
                window.record_count,
                total_days - days_done,
            )
        if empty_days:
            # Days before a plant existed are empty, but so are days the portal failed to
            # fill; they are bookmarked like any other, so say which they were.
            self.logger.warning(
                "%s station %s: the portal had no data for %d finished day(s): %s. They are "
                "bookmarked; to read them again, run with --full-refresh and start_date set to "
                "the first of them.",
                self.name,
                station_id,
                len(empty_days),
                describe_days(empty_days),
            )

    def day_range(self, context: Context, today: dt.date) -> tuple[dt.date, dt.date]:
        """Days this run reads: from the bookmark minus the lookback, to end_date or today."""
        settings = self.source.settings
        last = min(settings.end_date or today, today)
        bookmark = self.get_context_state(context).get("replication_key_value")
        if not bookmark:
            return settings.start_date, last
        resume = dt.date.fromisoformat(bookmark) + dt.timedelta(days=1 - settings.lookback_days)
        return max(resume, settings.start_date), last

    def bookmark_through(self, context: Context, day: dt.date) -> None:
        """Record that every day up to `day` is fully emitted, and say so downstream now."""
        state = self.get_context_state(context)
        current = state.get("replication_key_value")
        if current and current >= day.isoformat():
            return
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = day.isoformat()
        self.write_state_now()


class PlantPowerStream(DailyStream):
    name = "plant_power"
    primary_keys = schemas.PLANT_POWER_KEY
    schema = schemas.PLANT_POWER

    def windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        return self.source.backend.curve_windows(station_id, first, last, zone)


class DailyEnergyStream(DailyStream):
    name = "daily_energy"
    primary_keys = schemas.DAILY_ENERGY_KEY
    schema = schemas.DAILY_ENERGY

    def windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        return self.source.backend.energy_windows(station_id, first, last, zone)


def describe_days(days: list[dt.date], most: int = 8) -> str:
    """Sorted days as ranges, "2026-01-01..2026-01-05, 2026-02-03", cut after `most`."""
    ranges: list[list[dt.date]] = []
    for day in sorted(days):
        if ranges and day - ranges[-1][1] == dt.timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    texts = [f"{a}..{b}" if a != b else str(a) for a, b in ranges]
    if len(texts) > most:
        texts = [*texts[:most], f"and {len(texts) - most} more"]
    return ", ".join(texts)
