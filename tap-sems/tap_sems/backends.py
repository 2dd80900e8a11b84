"""Where days of data come from: SEMS+, the legacy API, or a folder of legacy day files.

All three yield the same records in windows of whole days, so the streams can bookmark a
day only once every record of it has been emitted. `StationDirectory` says which stations
a run reads and in which time zone; `Source` holds a run's settings, backend and
directory for the streams.
"""

from __future__ import annotations

import abc
import datetime as dt
import itertools
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

from tap_sems import parsing, stations
from tap_sems.client import (
    LegacyClient,
    SemsClient,
    SemsError,
    SemsParameterError,
    SemsPlusClient,
)
from tap_sems.parsing import PayloadError, Record
from tap_sems.result_codes import is_success
from tap_sems.settings import SemsConfigError, Settings
from tap_sems.timeutil import DayClock, chunk_days, iter_days, load_zone

ARCHIVE_FILE = re.compile(r"^raw_v2_(\d{4}-\d{2}-\d{2})\.json$")


class SemsPayloadError(SemsError):
    """A malformed payload, named by station and day."""


@dataclass
class Window:
    """Whole days of one station fetched together: every requested day, in order."""

    first: dt.date
    last: dt.date
    days: dict[dt.date, list[Record]]
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def record_count(self) -> int:
        return sum(len(records) for records in self.days.values())


class Backend(abc.ABC):
    """One source of plant data, as records."""

    name: ClassVar[str]
    integrates_daily_energy: ClassVar[bool] = True

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        self.settings = settings
        self.logger = logger
        self._integrated: dict[tuple[str, dt.date], Record | None] = {}

    @abc.abstractmethod
    def list_station_ids(self) -> list[str]:
        """Every station the account can see."""

    @abc.abstractmethod
    def station_record(self, station_id: str) -> Record:
        """The `stations` record, with `timezone` when the source states one."""

    @abc.abstractmethod
    def fetch_curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        """Power records for first..last, a window at a time."""

    def curve_windows(
        self,
        station_id: str,
        first: dt.date,
        last: dt.date,
        zone: dt.tzinfo,
        *,
        integrate: bool | None = None,
    ) -> Iterator[Window]:
        """Power windows; days are also integrated when daily energy comes from the curve."""
        if integrate is None:
            integrate = self.integrates_daily_energy
        for window in self.fetch_curve_windows(station_id, first, last, zone):
            if window.skipped:
                self.logger.warning(
                    "Station %s, %s..%s: skipped points (%s)",
                    station_id,
                    window.first,
                    window.last,
                    ", ".join(f"{n} {why}" for why, n in sorted(window.skipped.items())),
                )
            if integrate:
                for day, records in window.days.items():
                    # An empty day is remembered too, so it is not fetched again.
                    self._integrated[(station_id, day)] = (
                        parsing.integrate_day(
                            records,
                            station_id=station_id,
                            day=day,
                            source=records[0]["source"],
                            max_gap_s=self.settings.max_gap_seconds,
                        )
                        if records
                        else None
                    )
            yield window

    def energy_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        """Daily energy integrated from the power curve, reusing days read this run."""
        runs = itertools.groupby(
            iter_days(first, last), key=lambda day: (station_id, day) in self._integrated
        )
        for cached, run in runs:
            days = list(run)
            if cached:
                yield self._cached_energy_window(station_id, days[0], days[-1])
                continue
            for window in self.curve_windows(station_id, days[0], days[-1], zone, integrate=True):
                yield self._cached_energy_window(station_id, window.first, window.last)

    def _cached_energy_window(self, station_id: str, first: dt.date, last: dt.date) -> Window:
        days = {}
        for day in iter_days(first, last):
            record = self._integrated.get((station_id, day))
            days[day] = [record] if record else []
        return Window(first, last, days)

    def legacy_day(
        self,
        document: Any,
        station_id: str,
        day: dt.date,
        zone: dt.tzinfo,
        *,
        source: str,
        file_name: str | None = None,
    ) -> parsing.ParsedCurve:
        """One legacy chart day (an API answer or a saved file); malformed ones named."""
        try:
            return parsing.parse_legacy_chart(
                document, station_id=station_id, day=day, clock=DayClock(day, zone), source=source
            )
        except PayloadError as error:
            cause = PayloadError(f"{file_name}: {error}") if file_name else error
            raise self.malformed(station_id, day, cause) from None

    def malformed(self, station_id: str, day: dt.date, error: Exception) -> SemsPayloadError:
        return SemsPayloadError(
            f"Malformed data for station {station_id} on {day}: {error}. Nothing of this day "
            "was bookmarked; the next run starts again at this day."
        )


ClientT = TypeVar("ClientT", bound=SemsClient)


class ApiBackend(Backend, Generic[ClientT]):
    """Shared by the two API generations: one client, one login, station metadata."""

    client_class: type[ClientT]

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        super().__init__(settings, logger)
        self.client: ClientT = self.client_class(
            settings.account,
            settings.password,
            base_url=settings.api_url,
            policy=settings.policy,
            logger=logger,
        )


class SemsPlusBackend(ApiBackend[SemsPlusClient]):
    name = "semsplus"
    client_class = SemsPlusClient
    integrates_daily_energy = False
    window_days = 7
    statistics_window_days = (366, 31, 7, 1)

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        super().__init__(settings, logger)
        self._statistics_sizes = list(self.statistics_window_days)
        self._integrate_stations: set[str] = set()

    def list_station_ids(self) -> list[str]:
        ids: list[str] = []
        page = 1
        while True:
            payload = self.client.stations_page(page, 100)
            try:
                rows, total = stations.parse_semsplus_station_page(payload)
            except PayloadError as error:
                raise SemsPayloadError(f"SEMS+ station list page {page}: {error}") from None
            ids.extend(row for row in rows if row not in ids)
            if not rows or len(ids) >= total:
                return ids
            page += 1

    def station_record(self, station_id: str) -> Record:
        payload = self.client.station_detail(station_id)
        try:
            return stations.parse_semsplus_station(payload, station_id=station_id)
        except PayloadError as error:
            raise SemsPayloadError(f"SEMS+ station detail of {station_id}: {error}") from None

    def fetch_curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        for start, end in chunk_days(first, last, self.window_days):
            try:
                window = self._curve_window(station_id, start, end, zone)
            except SemsParameterError:
                if self.window_days == 1:
                    raise
                self.logger.warning(
                    "SEMS+ refused a %d-day window; asking for one day per request from now on",
                    self.window_days,
                )
                self.window_days = 1
                yield from self.fetch_curve_windows(station_id, start, last, zone)
                return
            except PayloadError as error:
                if start == end:
                    raise self.malformed(station_id, start, error) from None
                # Find the bad day, so every good day before it is still emitted.
                self.logger.warning(
                    "Station %s, %s..%s: malformed answer (%s); re-reading day by day",
                    station_id,
                    start,
                    end,
                    error,
                )
                for day in iter_days(start, end):
                    try:
                        yield self._curve_window(station_id, day, day, zone)
                    except PayloadError as day_error:
                        raise self.malformed(station_id, day, day_error) from None
                continue
            yield window

    def _curve_window(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Window:
        noon = dt.datetime.combine(first, dt.time(12), tzinfo=zone)
        offset = noon.utcoffset() or dt.timedelta(0)
        payload = self.client.power_curve(
            station_id,
            first,
            last,
            items=parsing.SEMSPLUS_CURVE_ITEMS,
            interval_minutes=self.settings.interval_minutes,
            utc_offset_hours=offset.total_seconds() / 3600,
        )
        clocks = {day: DayClock(day, zone) for day in iter_days(first, last)}
        parsed = parsing.parse_semsplus_curve(
            payload,
            station_id=station_id,
            clocks=clocks,
            source="semsplus:statisticsAndPreV2",
        )
        return Window(first, last, parsed.days, parsed.skipped)

    def energy_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        if station_id in self._integrate_stations:
            yield from super().energy_windows(station_id, first, last, zone)
            return
        for start, end in chunk_days(first, last, self._statistics_sizes[0]):
            days = list(iter_days(start, end))
            try:
                payload = self.client.statistics(
                    station_id, start, end, parsing.SEMSPLUS_STATISTICS_ITEMS
                )
            except SemsParameterError as error:
                if len(self._statistics_sizes) > 1:
                    self._statistics_sizes.pop(0)  # the same days again, in smaller windows
                    yield from self.energy_windows(station_id, start, last, zone)
                    return
                self.logger.warning(
                    "SEMS+ statistics unavailable for station %s (%s); integrating daily "
                    "energy from the power curve instead",
                    station_id,
                    error,
                )
                self._integrate_stations.add(station_id)
                yield from super().energy_windows(station_id, start, last, zone)
                return
            try:
                records = parsing.parse_semsplus_statistics(
                    payload,
                    station_id=station_id,
                    days=days,
                    source="semsplus:stations/statistics",
                )
            except PayloadError as error:
                raise self.malformed(station_id, start, error) from None
            yield Window(
                start, end, {day: [records[day]] if day in records else [] for day in days}
            )


class LegacyBackend(ApiBackend[LegacyClient]):
    name = "legacy"
    client_class = LegacyClient

    def list_station_ids(self) -> list[str]:
        payload = self.client.station_list()
        try:
            return stations.parse_legacy_station_list(payload)
        except PayloadError as error:
            raise SemsPayloadError(f"Legacy station list: {error}") from None

    def station_record(self, station_id: str) -> Record:
        payload = self.client.monitor_detail(station_id)
        try:
            return stations.parse_legacy_station(payload, station_id=station_id)
        except stations.StationDataMissingError as error:
            self.logger.warning("Station %s: %s", station_id, error)
            return stations.empty_station(station_id, source="legacy")
        except PayloadError as error:
            raise SemsPayloadError(f"Legacy station detail of {station_id}: {error}") from None

    def fetch_curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        for day in iter_days(first, last):
            payload = self.client.power_chart(station_id, day)
            parsed = self.legacy_day(
                payload, station_id, day, zone, source="legacy:GetPlantPowerChart"
            )
            yield Window(day, day, parsed.days, parsed.skipped)


class ArchiveBackend(Backend):
    """A folder of `raw_v2_YYYY-MM-DD.json` files saved by the earlier exporter scripts."""

    name = "archive"
    window_days = 7

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        super().__init__(settings, logger)
        if settings.archive_dir is None:
            raise SemsConfigError("backend 'archive' needs the `archive_dir` setting")
        if not settings.archive_dir.is_dir():
            raise SemsConfigError(f"archive_dir '{settings.archive_dir}' is not a folder")
        self.files = {
            dt.date.fromisoformat(match.group(1)): path
            for path in settings.archive_dir.iterdir()
            if (match := ARCHIVE_FILE.match(path.name))
        }

    def list_station_ids(self) -> list[str]:
        raise SemsConfigError(
            "backend 'archive' needs `station_ids` with the station the files belong to"
        )

    def station_record(self, station_id: str) -> Record:
        return stations.empty_station(station_id, source="archive")

    def fetch_curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        for start, end in chunk_days(first, last, self.window_days):
            skipped: Counter[str] = Counter()
            days = {
                day: self._read_day(station_id, day, zone, skipped) for day in iter_days(start, end)
            }
            yield Window(start, end, days, skipped)

    def _read_day(
        self, station_id: str, day: dt.date, zone: dt.tzinfo, skipped: Counter[str]
    ) -> list[Record]:
        path = self.files.get(day)
        if path is None:
            return []
        try:
            document: Any = json.loads(path.read_bytes())
        except (OSError, ValueError) as error:
            raise self.malformed(station_id, day, PayloadError(f"{path.name}: {error}")) from None
        if isinstance(document, Mapping) and is_saved_error(document):
            self.logger.warning(
                "%s holds a failed answer, not data (%s); no records for %s",
                path.name,
                str(document.get("code", document.get("error", "empty")))[:200],
                day,
            )
            return []
        parsed = self.legacy_day(
            document, station_id, day, zone, source=f"archive:{path.name}", file_name=path.name
        )
        skipped.update(parsed.skipped)
        return parsed.days[day]


def is_saved_error(document: Mapping[str, Any]) -> bool:
    """The old exporter saved failed days too: an error answer, `{"error": ...}` or `{}`."""
    if not document:
        return True
    if "error" in document and not {"lines", "data", "plant"} & set(document):
        return True
    code = document.get("code")
    return code is not None and not is_success(code) and not document.get("data")


BACKENDS: dict[str, type[Backend]] = {
    backend.name: backend for backend in (SemsPlusBackend, LegacyBackend, ArchiveBackend)
}


def open_backend(settings: Settings, logger: logging.Logger) -> Backend:
    backend = BACKENDS.get(settings.backend)
    if backend is None:
        raise SemsConfigError(f"backend must be one of {list(BACKENDS)}, not {settings.backend!r}")
    return backend(settings, logger)


class StationDirectory:
    """The stations a run reads: which, their metadata, and the zone their clocks keep.

    Metadata is read once per station and run; the zone comes from `timezone`, else from
    the portal when it names an IANA zone, else from `fallback_utc_offset`.
    """

    def __init__(self, backend: Backend, settings: Settings, logger: logging.Logger) -> None:
        self.backend = backend
        self.settings = settings
        self.logger = logger
        self._records: dict[str, Record] = {}

    @cached_property
    def ids(self) -> list[str]:
        if self.settings.station_ids:
            return list(self.settings.station_ids)
        ids = self.backend.list_station_ids()
        if not ids:
            raise SemsError(f"The account '{self.settings.account}' can see no stations")
        self.logger.info("The account can see %d station(s)", len(ids))
        return ids

    def record(self, station_id: str) -> Record:
        """The `stations` record, with the zone in use."""
        record = self._records.get(station_id)
        if record is None:
            record = dict(self.backend.station_record(station_id))
            fallback = self.settings.fallback_utc_offset
            if self.settings.timezone:
                record["timezone"] = self.settings.timezone
            elif not record.get("timezone") and fallback:
                self.logger.warning(
                    "Station %s: the portal names no time zone; using the fixed offset %s "
                    "(fallback_utc_offset). Daylight saving is ignored: set `timezone` to "
                    "the plant's IANA zone if its clocks change.",
                    station_id,
                    fallback,
                )
                record["timezone"] = fallback
            self._records[station_id] = record
        return record

    def zone(self, station_id: str) -> dt.tzinfo:
        if self.settings.timezone:
            return load_zone(self.settings.timezone)
        record = self.record(station_id)
        if record.get("timezone"):
            return load_zone(record["timezone"])
        offset = stations.legacy_utc_offset_hours(record)
        hint = f" (it only gives the UTC offset {offset:+g} h)" if offset is not None else ""
        raise SemsConfigError(
            f"Station {station_id}: the portal does not say which time zone the plant is in"
            f"{hint}, and wall-clock times cannot be placed in UTC without one. Set the "
            "`timezone` setting to the plant's IANA zone, for example Europe/Berlin."
        )


class Source:
    """What the streams read: settings, backend and station directory of one run.

    Each is built on first use, so discovery and `--about` work before the settings are
    complete, and all streams share one login and one cache of days read.
    """

    def __init__(self, config: Mapping[str, Any], logger: logging.Logger) -> None:
        self.config = config
        self.logger = logger

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_config(self.config)

    @cached_property
    def backend(self) -> Backend:
        return open_backend(self.settings, self.logger)

    @cached_property
    def stations(self) -> StationDirectory:
        return StationDirectory(self.backend, self.settings, self.logger)
