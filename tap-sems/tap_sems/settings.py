"""The tap's settings as one typed object, checked once.

Each default is defined once, on the dataclass field that holds the setting (`Settings`,
or `RetryPolicy` for the politeness and retry settings); the JSON schema in tap.py asks
`default(name)` for it. So `--about`, Meltano and a config read without the SDK (tests,
scripts) all see the same value. The exception is `user_agent`, whose default names the
installed release: the schema only describes it, or a Meltano plugin definition would carry
one release's value into the next.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_sems.client import USER_AGENT, RetryPolicy, SemsError
from tap_sems.timeutil import load_zone

INTERVALS = (1, 5, 10, 15, 30, 60)
END_MEANS_TODAY = ("", "latest", "today", "now")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The date is already tomorrow somewhere while it is today in most places: UTC+14.
EARLIEST_OFFSET = dt.timedelta(hours=14)


class SemsConfigError(SemsError):
    """Settings that cannot work; the message says which and why."""


@dataclass(frozen=True)
class DaySelection:
    """Days named by a setting: single days, ranges `first..last`, or `all`."""

    ranges: tuple[tuple[dt.date, dt.date], ...] = ()
    every_day: bool = False

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        return self.every_day or any(first <= day <= last for first, last in self.ranges)

    def __bool__(self) -> bool:
        return self.every_day or bool(self.ranges)

    @classmethod
    def parse(cls, name: str, value: Any) -> DaySelection:
        """Items may be comma-separated, as environment variables write lists."""
        if isinstance(value, str):
            value = [value]
        items = [part.strip() for item in value or [] for part in str(item).split(",")]
        ranges = []
        for item in filter(None, items):
            if item.lower() == "all":
                return cls(every_day=True)
            first, _, last = item.partition("..")
            start = parse_day(name, first)
            end = parse_day(name, last) if last else start
            if end < start:
                raise SemsConfigError(f"{name} '{item}': the range ends before it starts")
            ranges.append((start, end))
        return cls(tuple(ranges))


def parse_station_ids(value: Any) -> tuple[str, ...]:
    """Items may hold comma-separated ids, as SEMS_STATION_ID="uuid-1,uuid-2" does."""
    listed = (part.strip() for item in value or [] for part in str(item).split(","))
    return tuple(dict.fromkeys(part for part in listed if part))


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one run."""

    start_date: dt.date
    backend: str = "semsplus"
    end_date: dt.date | None = None  # None: today in the plant's zone
    station_ids: tuple[str, ...] = ()  # empty: every station the account can see
    account: str = ""
    password: str = field(default="", repr=False)
    api_url: str | None = None
    archive_dir: Path | None = None
    raw_dir: Path | None = None  # where API runs keep every data answer (capture.py)
    timezone: str | None = None
    fallback_utc_offset: str | None = None
    interval_minutes: int = 5
    lookback_days: int = 2
    max_day_attempts: int = 3
    retry_days: DaySelection = field(default_factory=DaySelection)  # none
    fail_on_set_aside_days: bool = True
    user_agent: str = USER_AGENT
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def max_gap_seconds(self) -> float:
        """Longest sampling gap bridged when integrating energy from a curve."""
        return max(3 * self.interval_minutes, 15) * 60.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check what the JSON schema cannot express; name the setting that is wrong."""

        def given(name: str) -> Any:
            value = config.get(name)
            return default(name) if value is None or value == "" else value

        backend = str(given("backend"))
        account, password = str(config.get("account") or ""), str(config.get("password") or "")
        if backend != "archive" and not (account and password):
            raise SemsConfigError(
                f"backend '{backend}' needs the `account` and `password` settings"
            )
        timezone = checked_zone("timezone", config.get("timezone"))
        fallback = checked_zone("fallback_utc_offset", config.get("fallback_utc_offset"))
        interval = int(given("interval_minutes"))
        if interval not in INTERVALS:
            raise SemsConfigError(f"interval_minutes must be one of {list(INTERVALS)}")
        if not config.get("start_date"):
            raise SemsConfigError("the `start_date` setting is required (YYYY-MM-DD)")
        start = parse_day("start_date", config["start_date"])
        latest = latest_today()
        if start > latest:
            raise SemsConfigError(
                f"start_date {start} is in the future (today is {latest} at the latest, "
                "anywhere on Earth): there is nothing to export yet. Set start_date to the "
                "first day you want exported."
            )
        end = parse_end_date(config.get("end_date"))
        if end and end < start:
            raise SemsConfigError(f"end_date {end} is before start_date {start}")
        attempts = int(given("max_day_attempts"))
        if attempts < 1:
            raise SemsConfigError("max_day_attempts must be 1 or more")
        station_ids = parse_station_ids(config.get("station_ids"))
        archive_dir = config.get("archive_dir")
        return cls(
            backend=backend,
            start_date=start,
            end_date=end,
            station_ids=station_ids,
            account=account,
            password=password,
            api_url=config.get("api_url") or None,
            archive_dir=Path(archive_dir).expanduser() if archive_dir else None,
            raw_dir=local_folder("raw_dir", config.get("raw_dir")),
            timezone=timezone,
            fallback_utc_offset=fallback,
            interval_minutes=interval,
            lookback_days=max(0, int(given("lookback_days"))),
            max_day_attempts=attempts,
            retry_days=DaySelection.parse("retry_days", config.get("retry_days")),
            fail_on_set_aside_days=bool(given("fail_on_set_aside_days")),
            user_agent=checked_user_agent(str(given("user_agent"))),
            policy=RetryPolicy(
                max_retries=int(given("max_retries")),
                backoff_seconds=float(given("backoff_seconds")),
                rate_limit_wait_seconds=float(given("rate_limit_wait_seconds")),
                request_timeout_seconds=float(given("request_timeout_seconds")),
                max_requests_per_second=float(given("max_requests_per_second")),
            ),
        )


def default(name: str) -> Any:
    """The default of setting `name`, from the field that holds it."""
    for owner in (Settings, RetryPolicy):
        for item in dataclasses.fields(owner):
            if item.name == name and item.default is not dataclasses.MISSING:
                return item.default
    raise KeyError(f"setting {name!r} has no default")


def local_folder(name: str, value: Any) -> Path | None:
    """A folder on this machine; object-store URIs are refused with what to do instead."""
    text = str(value or "").strip()
    if not text:
        return None
    if "://" in text and not text.startswith("file://"):
        raise SemsConfigError(
            f"{name} '{text}' is not a local folder. Raw answers are kept on local disk (they "
            "must be safe before their records are sent); copy the folder to object storage "
            "afterwards, e.g. with `aws s3 sync` or `rclone`."
        )
    return Path(text.removeprefix("file://")).expanduser()


def checked_user_agent(value: str) -> str:
    """One line of printable ASCII: HTTP cannot send anything else in a header."""
    text = value.strip() or default("user_agent")
    if not (text.isascii() and text.isprintable()):
        raise SemsConfigError(
            f"user_agent {text!r} is not one line of printable ASCII text, which is all an "
            "HTTP header can carry"
        )
    return str(text)


def checked_zone(name: str, value: Any) -> str | None:
    """`timezone` (an IANA name or a fixed offset) or `fallback_utc_offset` (an offset)."""
    if not value:
        return None
    try:
        zone = load_zone(str(value))
    except ValueError as error:
        raise SemsConfigError(f"{name}: {error}") from None
    if name == "fallback_utc_offset" and not isinstance(zone, dt.timezone):
        raise SemsConfigError(
            f"fallback_utc_offset '{value}' is not a UTC offset such as +08:00 "
            "(an IANA zone name belongs in `timezone`)"
        )
    return str(value)


def parse_day(name: str, value: Any) -> dt.date:
    """A day written YYYY-MM-DD and nothing else: 01.03.2026 could be March or January."""
    text = str(value).strip()
    if ISO_DAY.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise SemsConfigError(f"{name} '{text}' is not a day of the calendar") from None
    raise SemsConfigError(
        f"{name} '{text}' is not a date in the form YYYY-MM-DD (for example 2026-03-01 for "
        "1 March 2026); other forms are refused because 01.03.2026 reads as March or January "
        "depending on the country"
    )


def latest_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date where it is latest: no plant anywhere has a later day yet."""
    return ((now or dt.datetime.now(dt.UTC)) + EARLIEST_OFFSET).date()


def parse_end_date(value: Any) -> dt.date | None:
    """end_date as the earlier exporter's SEMS_END wrote it: a date, or latest/today/now."""
    text = str(value or "").strip()
    if text.lower() in END_MEANS_TODAY:
        return None
    try:
        return parse_day("end_date", text)
    except SemsConfigError as error:
        raise SemsConfigError(f"{error}; or write 'latest' for today") from None
