"""Where days of data come from: SEMS+, the legacy API, or a folder of saved answers
(the earlier exporter's legacy day files, or the tap's own raw captures).

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from tap_sems import parsing, stations
from tap_sems.capture import CaptureError, CaptureFile, CaptureFolder, RawCapture
from tap_sems.client import (
    LegacyClient,
    SemsClient,
    SemsError,
    SemsParameterError,
    SemsPlusClient,
    SemsRequestError,
    SemsUnavailableError,
    SemsUnknownStationError,
)
from tap_sems.parsing import PayloadError, Record
from tap_sems.pending import RunReport
from tap_sems.result_codes import is_success
from tap_sems.settings import SemsConfigError, Settings
from tap_sems.timeutil import UTC, DayClock, chunk_days, iter_days, load_zone

ARCHIVE_FILE = re.compile(r"^raw_v2_(\d{4}-\d{2}-\d{2})\.json$")
# The endpoint a record came from, in its `source` field (replayed captures included).
SEMSPLUS_CURVE_SOURCE = "semsplus:statisticsAndPreV2"
SEMSPLUS_STATISTICS_SOURCE = "semsplus:stations/statistics"
LEGACY_CHART_SOURCE = "legacy:GetPlantPowerChart"


class SemsPayloadError(SemsRequestError):
    """A malformed payload; the message says what was wrong."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


@dataclass
class Window:
    """Whole days of one station fetched together: every requested day, in order, either
    read (`days`, possibly without records) or not readable (`failed`, with the problem)."""

    first: dt.date
    last: dt.date
    days: dict[dt.date, list[Record]]
    skipped: Counter[str] = field(default_factory=Counter)
    failed: dict[dt.date, str] = field(default_factory=dict)
    error: SemsRequestError | None = None  # set when the request of the whole window failed
    read_at: dt.datetime = field(default_factory=utc_now)  # when the portal was asked
    day_read_at: dict[dt.date, dt.datetime] = field(default_factory=dict)  # per day, if not

    @classmethod
    def failure(cls, first: dt.date, last: dt.date, error: SemsRequestError) -> Window:
        failed = dict.fromkeys(iter_days(first, last), str(error))
        return cls(first, last, {}, failed=failed, error=error)

    @property
    def record_count(self) -> int:
        return sum(len(records) for records in self.days.values())

    def read_time(self, day: dt.date) -> dt.datetime:
        return self.day_read_at.get(day, self.read_at)


@dataclass(frozen=True)
class CurveDay:
    """What this run learnt of one station-day's curve: its integrated energy (None when
    the day had no points), when it was read, or why it could not be."""

    energy: Record | None
    read_at: dt.datetime
    problem: str | None = None


class Backend(abc.ABC):
    """One source of plant data, as records."""

    name: ClassVar[str]

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        self.settings = settings
        self.logger = logger
        self._curve_days: dict[tuple[str, dt.date], CurveDay] = {}

    def list_station_ids(self) -> list[str]:
        """Every station the account can see."""
        return list(self.list_stations())

    @abc.abstractmethod
    def list_stations(self) -> dict[str, str]:
        """Every station the account can see: id and name."""

    @abc.abstractmethod
    def station_record(self, station_id: str) -> Record:
        """The `stations` record, with `timezone` when the source states one."""

    @abc.abstractmethod
    def fetch_curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        """Power records for first..last, a window at a time."""

    def curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        """Power windows; each day's energy is integrated and kept for daily_energy (which
        legacy and archive take from the curve, and SEMS+ checks its statistics against)."""
        for window in self.fetch_curve_windows(station_id, first, last, zone):
            if window.skipped:
                self.logger.warning(
                    "Station %s, %s..%s: skipped points (%s)",
                    station_id,
                    window.first,
                    window.last,
                    ", ".join(f"{n} {why}" for why, n in sorted(window.skipped.items())),
                )
            for day, records in window.days.items():
                # An empty day is remembered too, so it is not fetched again.
                energy = (
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
                self._curve_days[(station_id, day)] = CurveDay(energy, window.read_time(day))
            for day, problem in window.failed.items():
                self._curve_days[(station_id, day)] = CurveDay(None, window.read_at, problem)
            yield window

    def energy_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        """Daily energy integrated from the power curve, reusing days read this run."""
        runs = itertools.groupby(
            iter_days(first, last), key=lambda day: (station_id, day) in self._curve_days
        )
        for cached, run in runs:
            days = list(run)
            if cached:
                yield self._cached_energy_window(station_id, days[0], days[-1])
                continue
            for window in self.curve_windows(station_id, days[0], days[-1], zone):
                yield self._cached_energy_window(station_id, window.first, window.last, window)

    def _cached_energy_window(
        self, station_id: str, first: dt.date, last: dt.date, curve: Window | None = None
    ) -> Window:
        window = Window(first, last, {}, error=curve.error if curve else None)
        for day in iter_days(first, last):
            known = self._curve_days[(station_id, day)]
            if known.problem is not None:
                window.failed[day] = known.problem
            else:
                window.days[day] = [known.energy] if known.energy else []
                window.day_read_at[day] = known.read_at
        return window

    def guarded(self, first: dt.date, last: dt.date, read: Callable[[], Window]) -> Window:
        """`read()`, or the window set aside when its request fails or its answer is bad."""
        try:
            return read()
        except PayloadError as error:
            return Window.failure(first, last, self.malformed(error))
        except SemsRequestError as error:
            return Window.failure(first, last, error)

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
            raise self.malformed(cause) from None

    @staticmethod
    def malformed(error: Exception) -> SemsPayloadError:
        return SemsPayloadError(f"malformed answer: {error}")


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
            user_agent=settings.user_agent,
            logger=logger,
        )
        if settings.raw_dir is not None:
            self.client.observers.append(RawCapture(settings.raw_dir).keep)


class SemsPlusBackend(ApiBackend[SemsPlusClient]):
    name = "semsplus"
    client_class = SemsPlusClient
    window_days = 7
    statistics_window_days = (366, 31, 7, 1)

    def __init__(self, settings: Settings, logger: logging.Logger) -> None:
        super().__init__(settings, logger)
        self._statistics_sizes = list(self.statistics_window_days)
        self._integrate_stations: set[str] = set()

    def list_stations(self) -> dict[str, str]:
        found: dict[str, str] = {}
        page = 1
        while True:
            payload = self.client.stations_page(page, 100)
            try:
                rows, total = stations.parse_semsplus_station_page(payload)
            except PayloadError as error:
                raise SemsPayloadError(f"SEMS+ station list page {page}: {error}") from None
            found.update(rows)
            if not rows or len(found) >= total:
                return found
            page += 1

    def station_record(self, station_id: str) -> Record:
        return semsplus_station_record(self.client.station_detail(station_id), station_id)

    def fetch_curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        for start, end in chunk_days(first, last, self.window_days):
            try:
                window = self._curve_window(station_id, start, end, zone)
            except SemsParameterError as error:
                if self.window_days == 1:
                    yield Window.failure(start, end, error)
                    continue
                self.logger.warning(
                    "SEMS+ refused a %d-day window; asking for one day per request from now on",
                    self.window_days,
                )
                self.window_days = 1
                yield from self.fetch_curve_windows(station_id, start, last, zone)
                return
            except PayloadError as error:
                if start == end:
                    yield Window.failure(start, end, self.malformed(error))
                    continue
                # Find the bad day, so every good day around it is still emitted.
                self.logger.warning(
                    "Station %s, %s..%s: malformed answer (%s); re-reading day by day",
                    station_id,
                    start,
                    end,
                    error,
                )
                for day in iter_days(start, end):
                    read = partial(self._curve_window, station_id, day, day, zone)
                    yield self.guarded(day, day, read)
                continue
            except SemsRequestError as error:
                yield Window.failure(start, end, error)
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
        window = semsplus_curve_window(payload, station_id, first, last, zone)
        window.read_at = self.client.last_sent_at
        return window

    def energy_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        """The portal's daily statistics, in windows inside one calendar year (longer ranges
        have been seen to answer zeros), checked against the curve where it was read."""
        if station_id in self._integrate_stations:
            yield from super().energy_windows(station_id, first, last, zone)
            return
        size = self._statistics_sizes[0]
        for start, end in chunk_days(first, last, size, within_year=True):
            try:
                window = self._statistics_window(station_id, start, end)
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
            except PayloadError as error:
                yield from self._narrowed_statistics(station_id, start, end, size, error)
                continue
            except SemsRequestError as error:
                yield Window.failure(start, end, error)
                continue
            yield self.checked_against_curve(station_id, window)

    def _narrowed_statistics(
        self, station_id: str, first: dt.date, last: dt.date, size: int, error: PayloadError
    ) -> Iterator[Window]:
        """A malformed statistics answer, asked again in ever smaller windows to find the
        bad days, so every good day of the range is still emitted."""
        smaller = [n for n in self.statistics_window_days if n < min(size, (last - first).days + 1)]
        if not smaller:
            yield Window.failure(first, last, self.malformed(error))
            return
        self.logger.warning(
            "Station %s, statistics %s..%s: malformed answer (%s); asking again in %d-day windows",
            station_id,
            first,
            last,
            error,
            smaller[0],
        )
        for start, end in chunk_days(first, last, smaller[0]):
            try:
                window = self._statistics_window(station_id, start, end)
            except PayloadError as narrower:
                yield from self._narrowed_statistics(station_id, start, end, smaller[0], narrower)
                continue
            except SemsRequestError as failure:
                yield Window.failure(start, end, failure)
                continue
            yield self.checked_against_curve(station_id, window)

    def _statistics_window(self, station_id: str, first: dt.date, last: dt.date) -> Window:
        payload = self.client.statistics(station_id, first, last, parsing.SEMSPLUS_STATISTICS_ITEMS)
        window = semsplus_energy_window(payload, station_id, first, last)
        window.read_at = self.client.last_sent_at
        return window

    def checked_against_curve(self, station_id: str, window: Window) -> Window:
        """Days whose statistics fall grossly short of the energy in the curve read this
        run take the curve's figures (seen: statistics of zero on days with production)."""
        replaced: dict[dt.date, str] = {}
        for day, records in window.days.items():
            curve = self._curve_days.get((station_id, day))
            if curve is None or curve.energy is None:
                continue
            if not records:
                window.days[day] = [curve.energy]
                replaced[day] = "no statistics"
                continue
            shortfall = parsing.statistics_shortfall(records[0], curve.energy)
            if shortfall:
                window.days[day] = [{**curve.energy, "method": parsing.CURVE_OVER_STATISTICS}]
                replaced[day] = shortfall
        if replaced:
            self.logger.warning(
                "Station %s: the portal's daily statistics fall short of the power curve on %d "
                "day(s) (%s); daily_energy takes the curve's figures for them (method %s)",
                station_id,
                len(replaced),
                "; ".join(f"{day}: {why}" for day, why in list(replaced.items())[:5])
                + ("; ..." if len(replaced) > 5 else ""),
                parsing.CURVE_OVER_STATISTICS,
            )
        return window


def semsplus_curve_window(
    payload: Any, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
) -> Window:
    """A statisticsAndPreV2 answer for first..last, from the portal or a capture."""
    clocks = {day: DayClock(day, zone) for day in iter_days(first, last)}
    parsed = parsing.parse_semsplus_curve(
        payload, station_id=station_id, clocks=clocks, source=SEMSPLUS_CURVE_SOURCE
    )
    return Window(first, last, parsed.days, parsed.skipped)


def semsplus_energy_window(payload: Any, station_id: str, first: dt.date, last: dt.date) -> Window:
    """A stations/statistics answer: one daily_energy record per day it holds."""
    days = list(iter_days(first, last))
    records = parsing.parse_semsplus_statistics(
        payload, station_id=station_id, days=days, source=SEMSPLUS_STATISTICS_SOURCE
    )
    return Window(first, last, {day: [records[day]] if day in records else [] for day in days})


def semsplus_station_record(payload: Any, station_id: str) -> Record:
    try:
        return stations.parse_semsplus_station(payload, station_id=station_id)
    except PayloadError as error:
        raise SemsPayloadError(f"SEMS+ station detail of {station_id}: {error}") from None


def legacy_station_record(payload: Any, station_id: str, logger: logging.Logger) -> Record:
    try:
        return stations.parse_legacy_station(payload, station_id=station_id)
    except stations.StationDataMissingError as error:
        logger.warning("Station %s: %s", station_id, error)
        return stations.empty_station(station_id, source="legacy")
    except PayloadError as error:
        raise SemsPayloadError(f"Legacy station detail of {station_id}: {error}") from None


class LegacyBackend(ApiBackend[LegacyClient]):
    name = "legacy"
    client_class = LegacyClient

    def list_stations(self) -> dict[str, str]:
        payload = self.client.station_list()
        try:
            return stations.parse_legacy_station_list(payload)
        except PayloadError as error:
            raise SemsPayloadError(f"Legacy station list: {error}") from None

    def station_record(self, station_id: str) -> Record:
        return legacy_station_record(
            self.client.monitor_detail(station_id), station_id, self.logger
        )

    def fetch_curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        for day in iter_days(first, last):
            yield self.guarded(day, day, partial(self._chart_window, station_id, day, zone))

    def _chart_window(self, station_id: str, day: dt.date, zone: dt.tzinfo) -> Window:
        payload = self.client.power_chart(station_id, day)
        parsed = self.legacy_day(payload, station_id, day, zone, source=LEGACY_CHART_SOURCE)
        read_at = self.client.last_sent_at
        return Window(day, day, parsed.days, parsed.skipped, read_at=read_at)


class ArchiveBackend(Backend):
    """A folder of saved answers, read without the portal.

    It may hold the tap's raw captures (the `raw_dir` of API runs, any number of stations;
    see capture.py), and `raw_v2_YYYY-MM-DD.json` files saved by the earlier exporter
    scripts, which belong to the first of `station_ids`. A day kept several times is read
    from its newest capture, as the last API run that read it emitted it. A file that
    cannot be read sets its days aside, like a bad answer of the portal; its modification
    time counts as the moment the day was read, so a day saved before it was over stays
    marked incomplete.
    """

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
        self.captures = CaptureFolder(settings.archive_dir)
        self.day_files_station = settings.station_ids[0] if settings.station_ids else None
        if (
            self.files
            and not self.captures.station_ids
            and not (settings.timezone or settings.fallback_utc_offset)
        ):
            raise SemsConfigError(
                "backend 'archive' needs the `timezone` setting (legacy day files only hold "
                "wall-clock times), for example Europe/Berlin"
            )

    def list_stations(self) -> dict[str, str]:
        if self.captures.station_ids and not self.files:
            return dict.fromkeys(self.captures.station_ids, "")
        raise SemsConfigError(
            "backend 'archive' needs `station_ids` with the station the files belong to"
        )

    def station_record(self, station_id: str) -> Record:
        capture = self.captures.station_detail(station_id)
        if capture is None:
            return stations.empty_station(station_id, source="archive")
        answer = self._answer(capture, station_id)
        if capture.generation == "semsplus":
            return semsplus_station_record(answer, station_id)
        return legacy_station_record(answer, station_id, self.logger)

    def fetch_curve_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        for start, end, capture in self.captures.runs(station_id, "curve", first, last):
            if capture is None:
                yield from self._day_file_windows(station_id, start, end, zone)
            else:
                read = partial(self._replayed_curve, capture, station_id, start, end, zone)
                yield self.guarded(start, end, read)

    def energy_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        """The portal's statistics where they were captured, else integrated curves."""
        for start, end, capture in self.captures.runs(station_id, "statistics", first, last):
            if capture is None:
                yield from super().energy_windows(station_id, start, end, zone)
                continue
            yield self.guarded(
                start, end, partial(self._replayed_statistics, capture, station_id, start, end)
            )

    def _replayed_statistics(
        self, capture: CaptureFile, station_id: str, first: dt.date, last: dt.date
    ) -> Window:
        try:
            window = semsplus_energy_window(
                self._answer(capture, station_id), station_id, first, last
            )
        except PayloadError as error:
            raise self.malformed(PayloadError(f"{capture.path.name}: {error}")) from None
        window.read_at = capture.read_at
        return window

    def _replayed_curve(
        self, capture: CaptureFile, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Window:
        """first..last of a captured curve (which may cover more days)."""
        assert capture.first is not None and capture.last is not None
        answer = self._answer(capture, station_id)
        if capture.generation == "legacy":
            parsed = self.legacy_day(
                answer,
                station_id,
                capture.first,
                zone,
                source=LEGACY_CHART_SOURCE,
                file_name=capture.path.name,
            )
            return Window(first, last, parsed.days, parsed.skipped, read_at=capture.read_at)
        try:
            window = semsplus_curve_window(answer, station_id, capture.first, capture.last, zone)
        except PayloadError as error:
            raise self.malformed(PayloadError(f"{capture.path.name}: {error}")) from None
        days = {day: window.days.get(day, []) for day in iter_days(first, last)}
        return Window(first, last, days, window.skipped, read_at=capture.read_at)

    def _answer(self, capture: CaptureFile, station_id: str) -> Any:
        try:
            return capture.answer()
        except CaptureError as error:
            if capture.first is None:
                raise SemsPayloadError(f"Station {station_id}: {error}") from None
            raise self.malformed(error) from None

    def _day_file_windows(
        self, station_id: str, first: dt.date, last: dt.date, zone: dt.tzinfo
    ) -> Iterator[Window]:
        """The earlier exporter's day files, a week at a time; a file that cannot be read
        sets only its own day aside."""
        for start, end in chunk_days(first, last, self.window_days):
            window = Window(start, end, {})
            for day in iter_days(start, end):
                try:
                    window.days[day] = self._read_day(station_id, day, zone, window)
                except SemsRequestError as error:
                    window.failed[day] = str(error)
            yield window

    def _read_day(
        self, station_id: str, day: dt.date, zone: dt.tzinfo, window: Window
    ) -> list[Record]:
        path = self.files.get(day) if station_id == self.day_files_station else None
        if path is None:
            return []
        try:
            document: Any = json.loads(path.read_bytes())
            window.day_read_at[day] = file_time(path)
        except (OSError, ValueError) as error:
            raise self.malformed(PayloadError(f"{path.name}: {error}")) from None
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
        window.skipped.update(parsed.skipped)
        return parsed.days[day]


def file_time(path: Path) -> dt.datetime:
    """When a saved answer was written: the moment its day was read."""
    return dt.datetime.fromtimestamp(path.stat().st_mtime, UTC)


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
    the portal when it names an IANA zone, else from `fallback_utc_offset`. A station whose
    metadata cannot be read is left for the next run (named once); one the account cannot
    see stops the run with the list of those it can.
    """

    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        logger: logging.Logger,
        report: RunReport | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.logger = logger
        self.report = report or RunReport()
        self._records: dict[str, Record] = {}
        self._unreadable: dict[str, SemsRequestError] = {}
        self._first_days: dict[str, dt.date | None] = {}
        self._said: set[str] = set()
        self.zone_origins: dict[str, str | None] = {}  # station -> where its zone came from

    def say_once(self, message: str) -> None:
        """Log a line about a station once per run, though several streams meet it."""
        if message not in self._said:
            self._said.add(message)
            self.logger.info(message)

    @cached_property
    def ids(self) -> list[str]:
        if self.settings.station_ids:
            return list(self.settings.station_ids)
        ids = self.backend.list_station_ids()
        if not ids:
            raise SemsError(
                f"The account '{self.settings.account}' can see no stations: check that this "
                "is the account the plants are registered to."
            )
        self.logger.info("The account can see %d station(s)", len(ids))
        return ids

    def record(self, station_id: str) -> Record:
        """The `stations` record, with the zone in use; SemsRequestError when the portal
        did not give it this run."""
        record = self._records.get(station_id)
        if record is not None:
            return record
        known = self._unreadable.get(station_id)
        if known is not None:
            raise known
        try:
            record = dict(self.backend.station_record(station_id))
        except SemsUnknownStationError as error:
            raise self.not_visible(station_id, error) from None
        except SemsParameterError as error:  # legacy: "The power station does not exist."
            if station_id not in self.backend.list_stations():
                raise self.not_visible(station_id, error) from None
            raise self.unreadable(station_id, error) from None
        except SemsRequestError as error:
            raise self.unreadable(station_id, error) from None
        self.report.portal_answered()
        fallback = self.settings.fallback_utc_offset
        origin = "the portal's station data" if record.get("timezone") else None
        if self.settings.timezone:
            record["timezone"] = self.settings.timezone
            origin = "the `timezone` setting"
        elif not record.get("timezone") and fallback:
            origin = "the `fallback_utc_offset` setting (no daylight saving)"
            self.logger.warning(
                "Station %s: the portal names no time zone; using the fixed offset %s "
                "(fallback_utc_offset). Daylight saving is ignored: set `timezone` to "
                "the plant's IANA zone if its clocks change.",
                station_id,
                fallback,
            )
            record["timezone"] = fallback
        self._records[station_id] = record
        self.zone_origins[station_id] = origin
        return record

    def unreadable(self, station_id: str, error: SemsRequestError) -> SemsError:
        """Remember (and say once) that a station cannot be read this run; the error to
        stop the run with instead when the portal has stopped answering."""
        self.logger.warning(
            "Station %s cannot be read this run, its days are left for the next one: %s",
            station_id,
            error,
        )
        self._unreadable[station_id] = error
        if self.report.station_left(isinstance(error, SemsUnavailableError)):
            return self.report.portal_down(error)
        return error

    def not_visible(self, station_id: str, error: SemsError) -> SemsError:
        """The station is not the account's: stop, naming the stations it can see."""
        try:
            visible = self.backend.list_stations()
        except SemsError:
            visible = {}
        shown = list(visible.items())[:20]
        listed = ", ".join(f"{sid} ({name or 'no name'})" for sid, name in shown)
        if len(visible) > 20:
            listed += f", and {len(visible) - 20} more"
        return SemsConfigError(
            f"Station {station_id} is not one the account '{self.settings.account}' can see "
            f"({error}). The account can see: {listed or 'no stations'}. Correct station_ids, "
            "or leave it empty to read every station of the account."
        )

    def zone(self, station_id: str) -> dt.tzinfo:
        if self.settings.timezone:
            return load_zone(self.settings.timezone)
        record = self.record(station_id)
        if record.get("timezone"):
            return load_zone(record["timezone"])
        offset = stations.legacy_utc_offset_hours(record)
        hint = f" (it only gives the UTC offset {offset:+g} h)" if offset is not None else ""
        error = SemsRequestError(
            f"the portal does not say which time zone the plant is in{hint}, and wall-clock "
            "times cannot be placed in UTC without one. Set the `timezone` setting to the "
            "plant's IANA zone, for example Europe/Berlin (or `fallback_utc_offset` for the "
            "stations that name none)."
        )
        raise self.unreadable(station_id, error)

    def first_day(self, station_id: str) -> dt.date | None:
        """The plant's first day, when its metadata names one (the earliest of its creation
        and turn-on dates); None when it names none or was not read."""
        if station_id not in self._first_days:
            try:
                record: Record | None = self.record(station_id)
            except SemsRequestError:
                record = None
            self._first_days[station_id] = stations.first_day(record) if record else None
        return self._first_days[station_id]


class Source:
    """What the streams read: settings, backend and station directory of one run, and the
    report of what it set aside.

    Each is built on first use, so discovery and `--about` work before the settings are
    complete, and all streams share one login and one cache of days read.
    """

    def __init__(self, config: Mapping[str, Any], logger: logging.Logger) -> None:
        self.config = config
        self.logger = logger
        self.report = RunReport()

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_config(self.config)

    @cached_property
    def backend(self) -> Backend:
        return open_backend(self.settings, self.logger)

    @cached_property
    def stations(self) -> StationDirectory:
        return StationDirectory(self.backend, self.settings, self.logger, self.report)
