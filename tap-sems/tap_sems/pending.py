"""Days that could not be read: set aside, kept in the state, read again, and the run's verdict.

A day is set aside when its answer stays malformed after the day-by-day re-read, when its
request still fails after the retries, or when the portal refuses the station. The run goes
on with the following days, the other stations and the other streams; the day is recorded
in its stream's state partition for that station, next to the bookmark:

    {"context": {"station_id": "…"}, "replication_key": "day",
     "replication_key_value": "2026-03-10",
     "pending_days": {"2026-03-04": {"attempts": 1, "problem": "…", "last_attempt": "…"}}}

Consecutive days with the same attempts and problem are written as one range key,
"2026-01-01..2026-01-07". Every later run reads the pending days again first, until they
succeed; a day that failed `max_day_attempts` runs is set aside for good: it stays listed,
is named in one warning per run, and is read again only when `retry_days` names it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_sems.client import SemsPortalError
from tap_sems.settings import DaySelection
from tap_sems.timeutil import iter_days, runs_of_days

PENDING_KEY = "pending_days"
RANGE = ".."


@dataclass(frozen=True)
class DayProblem:
    attempts: int
    problem: str
    last_attempt: str  # UTC, ISO 8601

    def to_state(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "problem": self.problem,
            "last_attempt": self.last_attempt,
        }


class PendingDays:
    """The pending days of one stream and station, read from and written to its partition."""

    def __init__(self, partition: dict[str, Any], max_attempts: int) -> None:
        self.partition = partition
        self.max_attempts = max_attempts
        self.days: dict[dt.date, DayProblem] = decode(partition.get(PENDING_KEY))

    def given_up(self, day: dt.date) -> bool:
        problem = self.days.get(day)
        return problem is not None and problem.attempts >= self.max_attempts

    def due(self, retry: DaySelection) -> list[dt.date]:
        """Pending days to read again this run: those with attempts left, and the days
        set aside for good that `retry_days` names."""
        return sorted(day for day in self.days if not self.given_up(day) or day in retry)

    def skipped(self, retry: DaySelection) -> set[dt.date]:
        """Days set aside for good that this run does not read."""
        return {day for day in self.days if self.given_up(day) and day not in retry}

    def failed(self, day: dt.date, problem: str, now: dt.datetime) -> DayProblem:
        before = self.days.get(day)
        entry = DayProblem((before.attempts if before else 0) + 1, problem, now.isoformat())
        self.days[day] = entry
        self.save()
        return entry

    def read(self, day: dt.date) -> bool:
        """The day was read; True when it had been pending."""
        if self.days.pop(day, None) is None:
            return False
        self.save()
        return True

    def save(self) -> None:
        if self.days:
            self.partition[PENDING_KEY] = encode(self.days)
        else:
            self.partition.pop(PENDING_KEY, None)


def decode(value: Any) -> dict[dt.date, DayProblem]:
    """Pending days from the state; entries the tap cannot read are dropped, not fatal."""
    days: dict[dt.date, DayProblem] = {}
    if not isinstance(value, Mapping):
        return days
    for key, entry in value.items():
        if not isinstance(key, str) or not isinstance(entry, Mapping):
            continue
        first, _, last = key.partition(RANGE)
        try:
            start = dt.date.fromisoformat(first)
            end = dt.date.fromisoformat(last) if last else start
            attempts = int(entry.get("attempts", 1))
        except (TypeError, ValueError):
            continue
        problem = DayProblem(
            attempts, str(entry.get("problem", "")), str(entry.get("last_attempt", ""))
        )
        days.update(dict.fromkeys(iter_days(start, end), problem))
    return days


def encode(days: Mapping[dt.date, DayProblem]) -> dict[str, dict[str, Any]]:
    """Runs of consecutive days with the same entry as one `first..last` key."""
    state: dict[str, dict[str, Any]] = {}
    run: list[dt.date] = []

    def close() -> None:
        if run:
            key = run[0].isoformat() if len(run) == 1 else f"{run[0]}{RANGE}{run[-1]}"
            state[key] = days[run[0]].to_state()

    for day in sorted(days):
        if run and day - run[-1] == dt.timedelta(days=1) and days[run[-1]] == days[day]:
            run.append(day)
            continue
        close()
        run = [day]
    close()
    return state


def describe_days(days: Iterable[dt.date], most: int = 8) -> str:
    """Sorted days as ranges, "2026-01-01..2026-01-05, 2026-02-03", cut after `most`."""
    texts = [f"{a}{RANGE}{b}" if a != b else str(a) for a, b in runs_of_days(days)]
    if len(texts) > most:
        texts = [*texts[:most], f"and {len(texts) - most} more"]
    return ", ".join(texts)


@dataclass
class SetAside:
    """Days of one stream and station that this run could not read."""

    stream: str
    station_id: str
    days: list[dt.date]
    problem: str
    for_good: bool


@dataclass
class RunReport:
    """What a run set aside, and whether it should end non-zero.

    Also the circuit breakers: a station whose windows keep failing is left for the next
    run after `STATION_FAILURES` windows in a row, and a run in which `STATIONS_DOWN`
    stations in a row were left because the portal did not answer stops, since the portal
    is down rather than one station.
    """

    STATION_FAILURES = 2
    STATIONS_DOWN = 3

    set_aside: list[SetAside] = field(default_factory=list)
    given_up: dict[tuple[str, str], set[dt.date]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # station -> problem
    stations_down: int = 0

    def add(self, entry: SetAside) -> None:
        self.set_aside.append(entry)

    def note_given_up(self, stream: str, station_id: str, days: Iterable[dt.date]) -> None:
        days = set(days)
        if days:
            self.given_up.setdefault((stream, station_id), set()).update(days)

    def station_left(self, unavailable: bool) -> bool:
        """A station was left for the next run; True when the portal looks down."""
        self.stations_down = self.stations_down + 1 if unavailable else 0
        return self.stations_down >= self.STATIONS_DOWN

    def portal_answered(self) -> None:
        self.stations_down = 0

    def portal_down(self, error: Exception) -> SemsPortalError:
        """The error that stops a run once STATIONS_DOWN stations in a row were left."""
        return SemsPortalError(
            f"The portal stopped answering: {self.STATIONS_DOWN} stations in a row failed "
            f"({error}). Everything read so far is kept and bookmarked; run again later."
        )

    def warn_given_up(self, logger: logging.Logger) -> None:
        """One warning per run naming every day set aside for good."""
        if not self.given_up:
            return
        parts = [
            f"{stream} station {station_id}: {describe_days(days)}"
            for (stream, station_id), days in sorted(self.given_up.items())
        ]
        first, last = runs_of_days(day for days in self.given_up.values() for day in days)[0]
        example = str(first) if first == last else f"{first}{RANGE}{last}"
        logger.warning(
            "Days set aside for good (they failed on every attempt and are no longer read): "
            "%s. To read them again, run once with the setting retry_days naming them, for "
            "example TAP_SEMS_RETRY_DAYS='[\"%s\"]' (or '[\"all\"]').",
            "; ".join(parts),
            example,
        )

    def summary(self) -> str | None:
        """What this run set aside, in one sentence; None for a clean run."""
        parts = [
            f"{e.stream} station {e.station_id} {describe_days(e.days, most=3)}"
            + (" (for good)" if e.for_good else "")
            for e in self.set_aside
        ]
        parts += [f"station {s} ({problem})" for s, problem in sorted(self.unreadable.items())]
        if not parts:
            return None
        shown = "; ".join(parts[:6]) + (f"; and {len(parts) - 6} more" if len(parts) > 6 else "")
        return (
            f"Everything else was exported, but {len(parts)} part(s) could not be read and "
            f"were set aside: {shown}. The warnings above say why; they are read again on the "
            "next run."
        )
