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
from tap_sems.backends import SemsPayloadError, Source, Window
from tap_sems.client import (
    SemsRequestError,
    SemsUnavailableError,
    SemsUnknownStationError,
)
from tap_sems.parsing import ENERGY_FIELDS
from tap_sems.pending import PendingDays, RunReport, SetAside, describe_days
from tap_sems.timeutil import day_end, iter_days, runs_of_days, today_in

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
        self.records_sent = 0  # in a dry run

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """The stream's records; in a dry run (`--test`) no more than the SDK asked for.

        The SDK aborts a stream that yields more than ABORT_AT_RECORD_COUNT records and
        logs that as an ERROR; stopping there ourselves keeps the connection test clean
        and asks the portal for no more than one window.
        """
        limit = self.ABORT_AT_RECORD_COUNT
        if limit is None:
            return self.read_records(context)
        return self.dry_run(self.read_records(context), limit)

    def dry_run(self, records: Iterable[Record], limit: int) -> Iterator[Record]:
        """At most `limit` records over all partitions; not one request after the last."""
        if self.records_sent >= limit:
            return
        for record in records:
            self.records_sent += 1
            yield record
            if self.records_sent >= limit:
                return

    def read_records(self, context: Context | None) -> Iterable[Record]:
        raise NotImplementedError


class StationsStream(SemsStream):
    name = "stations"
    primary_keys = schemas.STATIONS_KEY
    schema = schemas.STATIONS

    def read_records(self, context: Context | None) -> Iterable[Record]:
        """Every station's metadata; one the portal does not describe this run is left out
        (and the run ends non-zero), the others are emitted."""
        directory = self.source.stations
        for station_id in directory.ids:
            try:
                yield directory.record(station_id)
            except SemsRequestError as error:
                self.source.report.unreadable.setdefault(station_id, str(error))


class DailyStream(SemsStream, DayBookmarkStream):
    """A stream read day by day, with one bookmark per station and the days set aside."""

    replication_key = "day"
    first_read = False  # reading a station without a bookmark (daily_energy uses it)

    @property
    def partitions(self) -> list[dict] | None:
        return [{"station_id": station_id} for station_id in self.source.stations.ids]

    def windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        raise NotImplementedError

    def day_records(
        self, records: list[Record], *, complete: bool, read_through: dt.datetime
    ) -> list[Record]:
        """A day's records as emitted, saying whether the day was over when read."""
        raise NotImplementedError

    def read_records(self, context: Context | None) -> Iterable[Record]:
        """The days of one station this run reads, a window at a time; days that cannot be
        read are set aside and the bookmark moves on past them."""
        assert context is not None
        station_id = context["station_id"]
        source = self.source
        try:
            zone = source.stations.zone(station_id)
        except SemsRequestError as error:
            source.report.unreadable.setdefault(station_id, str(error))
            return
        today = today_in(zone)
        state = self.get_context_state(context)
        pending = PendingDays(state, source.settings.max_day_attempts)
        source.report.note_given_up(
            self.name, station_id, pending.skipped(source.settings.retry_days)
        )
        plan = self.days_to_read(station_id, state, pending, today)
        if not plan:
            self.logger.info("%s %s: nothing to read", self.name, station_id)
            return
        self.first_read = not state.get("replication_key_value")
        total_days = sum((last - first).days + 1 for first, last in plan)
        days_done = 0
        empty_days: list[dt.date] = []
        failures_in_a_row = 0
        for window in self.planned_windows(station_id, plan, zone):
            for day, records in window.days.items():
                end = day_end(day, zone)
                read_at = window.read_time(day)
                emitted = self.day_records(
                    records, complete=read_at >= end, read_through=min(read_at, end)
                )
                if emitted:
                    yield from emitted
                elif day < today:
                    empty_days.append(day)
                if pending.read(day):
                    self.logger.info("%s station %s: %s read at last", self.name, station_id, day)
            if window.failed:
                self.set_aside(station_id, pending, window)
            days_done += len(window.days) + len(window.failed)
            finished = [day for day in (*window.days, *window.failed) if day < today]
            if finished:
                self.bookmark_through(context, max(finished))
            self.logger.info(
                "%s station %s: %s..%s (%d days), %d records, %d days left",
                self.name,
                station_id,
                window.first,
                window.last,
                len(window.days) + len(window.failed),
                window.record_count,
                total_days - days_done,
            )
            failures_in_a_row = failures_in_a_row + 1 if self.counts_as_failure(window) else 0
            if window.days:
                source.report.portal_answered()
            if failures_in_a_row >= RunReport.STATION_FAILURES and days_done < total_days:
                self.leave_station(station_id, window, total_days - days_done)
                break
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

    def planned_windows(
        self, station_id: str, plan: list[tuple[dt.date, dt.date]], zone: dt.tzinfo
    ) -> Iterator[Window]:
        """The windows of every run of days in the plan."""
        try:
            for first, last in plan:
                yield from self.windows(station_id, first, last, zone)
        except SemsUnknownStationError as error:
            raise self.source.stations.not_visible(station_id, error) from None

    def days_to_read(
        self, station_id: str, state: dict, pending: PendingDays, today: dt.date
    ) -> list[tuple[dt.date, dt.date]]:
        """Runs of days this run reads: the pending days due again, then from the bookmark
        minus the lookback (or from start_date, or the plant's first day) to end_date or
        today; days set aside for good are left out unless retry_days names them."""
        settings = self.source.settings
        last = min(settings.end_date or today, today)
        bookmark = state.get("replication_key_value")
        first = settings.start_date
        if bookmark:
            resume = dt.date.fromisoformat(bookmark) + dt.timedelta(days=1 - settings.lookback_days)
            first = max(resume, first)
        else:
            first = max(first, self.plant_first_day(station_id, first))
        days = set(iter_days(first, last)) - pending.skipped(settings.retry_days)
        due = pending.due(settings.retry_days)
        days |= {day for day in due if settings.start_date <= day <= last}
        return runs_of_days(days)

    def plant_first_day(self, station_id: str, start: dt.date) -> dt.date:
        """start_date, or the plant's first day when the portal names a later one."""
        first_day = self.source.stations.first_day(station_id)
        if first_day is None or first_day <= start:
            return start
        self.source.stations.say_once(
            f"Station {station_id}: the portal says the plant was set up on {first_day}; "
            f"reading from that day, not from start_date {start}"
        )
        return first_day

    def set_aside(self, station_id: str, pending: PendingDays, window: Window) -> None:
        """Record the window's unreadable days as pending, and say so."""
        settings = self.source.settings
        now = dt.datetime.now(dt.UTC)
        by_problem: dict[tuple[str, int], list[dt.date]] = {}
        for day, problem in window.failed.items():
            entry = pending.failed(day, problem, now)
            by_problem.setdefault((problem, entry.attempts), []).append(day)
        for (problem, attempts), days in by_problem.items():
            for_good = attempts >= settings.max_day_attempts
            self.logger.warning(
                "%s station %s: %s set aside (attempt %d of %d): %s. %s",
                self.name,
                station_id,
                describe_days(days),
                attempts,
                settings.max_day_attempts,
                problem,
                "It is no longer read unless retry_days names it."
                if for_good
                else "It is read again on the next run.",
            )
            self.source.report.add(SetAside(self.name, station_id, days, problem, for_good))
        self.write_state_now()

    @staticmethod
    def counts_as_failure(window: Window) -> bool:
        """A window whose request failed; a malformed day says nothing about the next."""
        return window.error is not None and not isinstance(window.error, SemsPayloadError)

    def leave_station(self, station_id: str, window: Window, days_left: int) -> None:
        """Stop asking for a station whose windows keep failing; its remaining days stay
        after the bookmark for the next run. Stop the run when the portal looks down."""
        self.logger.warning(
            "%s station %s: %d windows in a row failed; its other %d day(s) are left for the "
            "next run",
            self.name,
            station_id,
            RunReport.STATION_FAILURES,
            days_left,
        )
        report = self.source.report
        if report.station_left(isinstance(window.error, SemsUnavailableError)):
            raise report.portal_down(window.error or SemsUnavailableError("no answer"))

    def bookmark_through(self, context: Context, day: dt.date) -> None:
        """Record that every day up to `day` is emitted or set aside, and say so downstream.

        In batch mode the SDK sends STATE after each BATCH message; a STATE sent here would
        name days whose records are still in an unsent batch file.
        """
        state = self.get_context_state(context)
        current = state.get("replication_key_value")
        if current and current >= day.isoformat():
            return
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = day.isoformat()
        self.write_state_now()

    def write_state_now(self) -> None:
        if self.get_batch_config(self.config) is None:
            super().write_state_now()


class PlantPowerStream(DailyStream):
    name = "plant_power"
    primary_keys = schemas.PLANT_POWER_KEY
    schema = schemas.PLANT_POWER

    def windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        return self.source.backend.curve_windows(station_id, first, last, zone)

    def day_records(
        self, records: list[Record], *, complete: bool, read_through: dt.datetime
    ) -> list[Record]:
        for record in records:
            record["complete"] = complete
        return records


class DailyEnergyStream(DailyStream):
    name = "daily_energy"
    primary_keys = schemas.DAILY_ENERGY_KEY
    schema = schemas.DAILY_ENERGY

    def windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        return self.source.backend.energy_windows(station_id, first, last, zone)

    def day_records(
        self, records: list[Record], *, complete: bool, read_through: dt.datetime
    ) -> list[Record]:
        """On a station's first read, days before its first data are not emitted: a row of
        zeros would look like a day without sun, not like a plant not yet installed."""
        emitted = []
        for record in records:
            if self.first_read and not any(record.get(name) for name in ENERGY_FIELDS):
                continue
            self.first_read = False
            record["complete"] = complete
            record["read_through"] = read_through.isoformat()
            emitted.append(record)
        return emitted
