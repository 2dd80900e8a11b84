"""tap-sems-diagnose: what the portal answers for this account, for users and bug reports.

    tap-sems-diagnose --config config.json [--out DIR] [--limit N] [--day YYYY-MM-DD]

It logs in with the tap's own settings and code (backend, client, parsers), lists the
stations, reads one finished day of the first few, and shows what came back: series, units,
point counts, sampling interval, what the tap maps and what goes to `extra`, and the day's
energy from the curve next to the portal's own figure. A refused or malformed answer is
reported with the portal's code and message, and the rest goes on. With `--out` it writes a
bundle for a bug report: every answer, redacted (redact.py), and the summary as Markdown and
JSON. Exit code 0 when anything useful was read, 1 when nothing was, 2 for unusable settings.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import itertools
import json
import logging
import platform
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from tap_sems import VERSION, parsing, stations
from tap_sems.backends import (
    ApiBackend,
    StationDirectory,
    Window,
    open_backend,
    semsplus_energy_window,
)
from tap_sems.client import Exchange, SemsError, SemsPlusClient, semsplus_password_hash
from tap_sems.redact import Redactor
from tap_sems.result_codes import Outcome
from tap_sems.settings import Settings
from tap_sems.timeutil import load_zone

DEFAULT_LIMIT = 3
GENERATION_NAMES = {"semsplus": "SEMS+", "legacy": "legacy SEMS"}
# Station names are often their owners' names or addresses: replaced like secrets.
NAME_KEYS = (*stations.MAPPED["name"], "pw_name")


@dataclass
class Series:
    """One series of a curve answer, as the portal sent it."""

    name: str
    unit: str | None
    points: int  # real points (markers not counted)
    with_value: int
    markers: int
    interval_minutes: float | None
    maps_to: str  # the record field, or "extra"


@dataclass
class DayReport:
    station_id: str
    day: str
    zone: str
    series: list[Series] = field(default_factory=list)
    records: int | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    curve_kwh: dict[str, float | None] = field(default_factory=dict)
    portal_kwh: dict[str, float | None] = field(default_factory=dict)
    portal_kwh_from: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    settings: dict[str, Any]
    login: dict[str, Any] = field(default_factory=dict)
    visible_stations: int | None = None
    stations: list[dict[str, Any]] = field(default_factory=list)
    days: list[DayReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    answers_read: int = 0

    @property
    def useful(self) -> bool:
        return self.answers_read > 0


class Diagnosis:
    """One diagnosis run: the backend's answers are observed as they arrive."""

    def __init__(self, settings: Settings, *, limit: int, day: dt.date | None) -> None:
        # A diagnosis reads, it does not add to the user's raw captures.
        self.settings = dataclasses.replace(settings, raw_dir=None)
        self.limit = limit
        self.day = day
        self.exchanges: list[Exchange] = []
        self.warnings: list[str] = []
        self.logger = logging.getLogger("tap-sems-diagnose")
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        self.logger.handlers = [_ListHandler(self.warnings)]
        self.report = Report(settings=describe_settings(self.settings))

    def run(self) -> Report:
        report = self.report
        backend = open_backend(self.settings, self.logger)
        if not isinstance(backend, ApiBackend):
            report.problems.append(
                "backend 'archive' reads files and talks to no portal: nothing to diagnose "
                "(set backend to semsplus or legacy)"
            )
            return report
        backend.client.observers.append(self.exchanges.append)
        generation = backend.client.generation
        report.login = {
            "generation": GENERATION_NAMES[generation],
            "backend": backend.name,
            "login_host": backend.client.base_url,
        }
        try:
            backend.client.login()
        except SemsError as error:
            report.login["ok"] = False
            report.login["error"] = str(error)
            return self._finish()
        login = self._latest("login")
        data = login.answer.payload.get("data") if login else None
        data = data if isinstance(data, Mapping) else {}
        report.login.update(
            ok=True,
            region=data.get("region") or "(not stated)",
            gateway=backend.client.api,
        )
        directory = StationDirectory(backend, self.settings, self.logger)
        try:
            ids = directory.ids
        except SemsError as error:
            report.problems.append(f"station list: {error}")
            return self._finish()
        if not self.settings.station_ids:
            report.visible_stations = len(ids)
        for station_id in ids[: self.limit]:
            self._station(backend, directory, station_id)
        for station_id in ids[self.limit :]:
            report.stations.append({"station_id": station_id, "read": False})
        return self._finish()

    def _station(
        self, backend: ApiBackend[Any], directory: StationDirectory, station_id: str
    ) -> None:
        entry: dict[str, Any] = {"station_id": station_id, "read": True}
        self.report.stations.append(entry)
        zone: dt.tzinfo | None = None
        try:
            record = directory.record(station_id)
            entry.update(
                name=record.get("name"),
                capacity_kwp=record.get("capacity_kwp"),
                battery_capacity_kwh=record.get("battery_capacity_kwh"),
                timezone=record.get("timezone"),
                timezone_from=directory.zone_origins.get(station_id),
            )
            zone = directory.zone(station_id)
        except SemsError as error:
            entry["problem"] = str(error)
            if self.settings.timezone:
                zone = load_zone(self.settings.timezone)
        day = self.day or (dt.datetime.now(zone or dt.UTC).date() - dt.timedelta(days=1))
        report = DayReport(station_id, day.isoformat(), str(zone) if zone else "UTC (stand-in)")
        if zone is None:
            report.problems.append(
                "the plant's time zone is unknown: wall-clock times are read as UTC here; "
                "set `timezone` for the real thing"
            )
        self.report.days.append(report)
        asked = len(self.exchanges)
        self._curve(backend, station_id, day, zone or dt.UTC, report)
        if backend.name == "semsplus":
            self._statistics(backend, station_id, day, report)
        else:
            self._legacy_generation(report, since=asked)

    def _curve(
        self,
        backend: ApiBackend[Any],
        station_id: str,
        day: dt.date,
        zone: dt.tzinfo,
        report: DayReport,
    ) -> None:
        window: Window | None = None
        asked = len(self.exchanges)
        try:
            window = next(iter(backend.curve_windows(station_id, day, day, zone)))
        except (SemsError, StopIteration) as error:
            report.problems.append(f"power curve: {error}")
        if window is not None and day in window.failed:  # set aside, as a sync would
            report.problems.append(f"power curve: {window.failed[day]}")
            window = None
        answer = self._latest("power_curve", "power_chart", since=asked)
        if answer is not None and answer.answer.outcome is Outcome.SUCCESS:
            try:
                report.series = describe_series(answer.generation, answer.answer.payload)
            except (TypeError, ValueError, AttributeError, KeyError) as error:
                report.problems.append(f"power curve: the series cannot be listed ({error})")
        if window is None:
            return
        records = window.days.get(day, [])
        report.records = len(records)
        report.skipped = dict(window.skipped)
        if records:
            integrated = parsing.integrate_day(
                records,
                station_id=station_id,
                day=day,
                source=records[0]["source"],
                max_gap_s=self.settings.max_gap_seconds,
            )
            report.curve_kwh = {name: integrated[name] for name in parsing.ENERGY_FIELDS}

    def _statistics(
        self, backend: ApiBackend[Any], station_id: str, day: dt.date, report: DayReport
    ) -> None:
        client = backend.client
        assert isinstance(client, SemsPlusClient)
        report.portal_kwh_from = "stations/statistics"
        try:
            payload = client.statistics(station_id, day, day, parsing.SEMSPLUS_STATISTICS_ITEMS)
            window = semsplus_energy_window(payload, station_id, day, day)
        except (SemsError, parsing.PayloadError) as error:
            report.problems.append(f"statistics: {error}")
            return
        for record in window.days.get(day, []):
            report.portal_kwh = {name: record[name] for name in parsing.ENERGY_FIELDS}

    def _legacy_generation(self, report: DayReport, since: int) -> None:
        """The legacy chart states the day's generation next to its curve."""
        answer = self._latest("power_chart", since=since)
        if answer is None or answer.answer.outcome is not Outcome.SUCCESS:
            return
        data = answer.answer.payload.get("data")
        entries = data.get("generateData") if isinstance(data, Mapping) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping) and entry.get("key") == "Generation":
                report.portal_kwh_from = "GetPlantPowerChart generateData"
                report.portal_kwh = {"production_kwh": parsing.to_number(entry.get("value"), "")}

    def _latest(self, *endpoints: str, since: int = 0) -> Exchange | None:
        """The last answer from one of `endpoints` among those since index `since`."""
        for exchange in reversed(self.exchanges[since:]):
            if exchange.topic.endpoint in endpoints:
                return exchange
        return None

    def _finish(self) -> Report:
        report = self.report
        for exchange in self.exchanges:
            outcome = exchange.answer.outcome
            if outcome is Outcome.SUCCESS:
                report.answers_read += exchange.topic.endpoint != "login"
            else:
                report.refused.append(
                    {
                        "endpoint": exchange.topic.endpoint,
                        "station_id": exchange.topic.station_id,
                        "http_status": exchange.answer.status,
                        "code": exchange.answer.code or None,
                        "message": exchange.answer.message or None,
                    }
                )
        report.warnings = list(self.warnings)
        return report


class _ListHandler(logging.Handler):
    """Collects the tap's warnings for the report instead of printing them."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def describe_settings(settings: Settings) -> dict[str, Any]:
    """The settings that shape what the tap asks for; no credentials, no local paths."""
    return {
        "backend": settings.backend,
        "api_url": settings.api_url or "(default)",
        "interval_minutes": settings.interval_minutes,
        "timezone": settings.timezone,
        "fallback_utc_offset": settings.fallback_utc_offset,
        "station_ids": list(settings.station_ids) or "(every station the account sees)",
        "user_agent": settings.user_agent,
    }


def describe_series(generation: str, payload: Mapping[str, Any]) -> list[Series]:
    """What each series of a curve answer holds, read from the answer itself."""
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise ValueError("the answer has no 'data' object")
    result = []
    if generation == "semsplus":
        for entry in data.get("dataList") or []:
            name = str(entry.get("item"))
            points = entry.get("powerData", entry.get("statisticsList")) or []
            real = [p for p in points if isinstance(p, Mapping) and not p.get("isCE")]
            details = set().union(*(p.keys() for p in real)) - parsing.POINT_KEYS if real else ()
            target = parsing.SEMSPLUS_CURVE_FIELDS.get(name)
            maps_to = target or "extra: " + ", ".join([name, *(f"{name}.{d}" for d in details)])
            result.append(
                Series(
                    name,
                    entry.get("unit"),
                    len(real),
                    sum(p.get("power") not in (None, "") for p in real),
                    len(points) - len(real),
                    median_minutes([str(p.get("tp")) for p in real]),
                    maps_to,
                )
            )
        return result
    for line in data.get("lines") or []:
        name = str(line.get("key"))
        points = [p for p in line.get("xy") or [] if isinstance(p, Mapping)]
        stamps = [parsing.legacy_stamp("2000-01-01 ", p.get("x"), name) for p in points]
        result.append(
            Series(
                name,
                line.get("unit"),
                len(points),
                sum(p.get("y") not in (None, "") for p in points),
                0,
                median_minutes(stamps),
                parsing.LEGACY_CURVE_FIELDS.get(name) or f"extra: {name}",
            )
        )
    return result


def median_minutes(stamps: Sequence[str]) -> float | None:
    """The usual step between distinct consecutive times, in minutes."""
    times = sorted({dt.datetime.fromisoformat(stamp) for stamp in stamps if stamp})
    steps = [(b - a).total_seconds() / 60 for a, b in itertools.pairwise(times)]
    return round(statistics.median(steps), 2) if steps else None


# ---- output -------------------------------------------------------------------------------


def render(report: Report) -> str:
    """The report as Markdown (also what the terminal shows)."""
    lines = ["# tap-sems diagnosis", ""]
    lines.append(
        f"tap-sems {VERSION}, Python {platform.python_version()}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )
    settings = ", ".join(f"{k} {'(unset)' if v is None else v}" for k, v in report.settings.items())
    lines += ["", f"Settings: {settings}", ""]
    login = report.login
    if login:
        lines += ["## Login", ""]
        lines.append(f"- API generation: {login['generation']} (backend `{login['backend']}`)")
        lines.append(f"- login host: {login['login_host']}")
        if login.get("ok"):
            lines.append(f"- answered: logged in; region {login['region']}")
            lines.append(f"- gateway for data calls: {login['gateway']}")
        else:
            lines.append(f"- **login failed**: {login.get('error')}")
        lines.append("")
    if report.stations:
        lines += ["## Stations", ""]
        if report.visible_stations is not None:
            lines.append(f"The account sees {report.visible_stations} station(s).")
        read = [s for s in report.stations if s["read"]]
        lines += [f"One day is read of {len(read)} (at most `--limit`).", ""]
        lines += [
            "| station | name | time zone (from) | PV kWp | battery kWh |",
            "|---|---|---|---|---|",
        ]
        for station in report.stations:
            if not station["read"]:
                lines.append(f"| {station['station_id']} | (not read) | | | |")
                continue
            zone = station.get("timezone")
            origin = station.get("timezone_from")
            lines.append(
                f"| {station['station_id']} | {station.get('name') or ''} | "
                f"{f'{zone} ({origin})' if zone else 'unknown'} "
                f"| {_number(station.get('capacity_kwp'))} "
                f"| {_number(station.get('battery_capacity_kwh'))} |"
            )
        lines.append("")
        lines += [f"- {s['station_id']}: {s['problem']}" for s in report.stations if "problem" in s]
        lines += [""] if any("problem" in s for s in report.stations) else []
    for day in report.days:
        lines += render_day(day)
    if report.refused:
        lines += ["## Refused answers", ""]
        for refusal in report.refused:
            about = f" {refusal['station_id']}" if refusal["station_id"] else ""
            lines.append(
                f"- {refusal['endpoint']}{about}: HTTP {refusal['http_status']}, "
                f"code {refusal['code']}: {refusal['message'] or '(no message)'}"
            )
        lines.append("")
    problems = report.problems + report.warnings
    if problems:
        lines += ["## Problems and warnings", "", *(f"- {p}" for p in problems), ""]
    verdict = "OK" if report.useful else "NOTHING USEFUL COULD BE READ"
    lines.append(
        f"**Result: {verdict}**: {report.answers_read} data answer(s) read, "
        f"{len(report.refused)} refused."
    )
    return "\n".join(lines) + "\n"


def render_day(day: DayReport) -> list[str]:
    lines = [f"## Station {day.station_id}, {day.day} ({day.zone})", ""]
    if day.series:
        lines += [
            "| series | unit | points | with a value | markers | interval (min) | tap field |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in day.series:
            lines.append(
                f"| {s.name} | {s.unit or ''} | {s.points} | {s.with_value} | {s.markers} "
                f"| {_number(s.interval_minutes)} | {s.maps_to} |"
            )
        lines.append("")
    if day.records is not None:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(day.skipped.items()))
        lines += [f"Records: {day.records} instants{f'; skipped {skipped}' if skipped else ''}", ""]
    if day.curve_kwh or day.portal_kwh:
        lines += [
            f"| energy (kWh) | integrated from the curve | portal ({day.portal_kwh_from}) |",
            "|---|---|---|",
        ]
        for name in parsing.ENERGY_FIELDS:
            curve, portal = day.curve_kwh.get(name), day.portal_kwh.get(name)
            if curve is not None or portal is not None:
                lines.append(f"| {name} | {_number(curve)} | {_number(portal)} |")
        lines.append("")
    lines += [f"- problem: {problem}" for problem in day.problems]
    return [*lines, ""] if day.problems else lines


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def redactor_for(settings: Settings, report: Report, exchanges: Sequence[Exchange]) -> Redactor:
    """A redactor that knows every secret this run handled or received."""
    redactor = Redactor()
    if settings.password:
        redactor.secret("password", settings.password)
        hashed = semsplus_password_hash(settings.password)
        redactor.secret("password-hash", hashed)
        redactor.secret("password-hash", _md5_hex(hashed))
    if settings.account:
        redactor.secret("account", settings.account)
    for exchange in exchanges:
        redactor.learn(exchange.answer.payload)
        redactor.learn(exchange.body or {})
        if exchange.topic.endpoint in ("station_list", "station_detail"):
            for name in station_names(exchange.answer.payload.get("data")):
                redactor.secret("station-name", name)
    return redactor


def station_names(data: Any) -> list[str]:
    """Names in a station answer: in `data`, its rows and its objects (not deeper, where
    inverters and other devices have names of their own)."""
    levels = [data]
    children = (
        data.values() if isinstance(data, Mapping) else data if isinstance(data, list) else []
    )
    for child in children:
        levels += child if isinstance(child, list) else [child]
    return [
        str(level[key])
        for level in levels
        if isinstance(level, Mapping)
        for key in NAME_KEYS
        if isinstance(level.get(key), str) and level[key].strip()
    ]


def _md5_hex(hashed: str) -> str:
    return base64.b64decode(hashed).decode()


def write_bundle(
    folder: Path, redactor: Redactor, markdown: str, report: Report, exchanges: Sequence[Exchange]
) -> list[Path]:
    """The redacted answers and the summary; refuses to write anything that leaks."""
    files: dict[str, str] = {}
    for index, exchange in enumerate(exchanges, 1):
        topic = exchange.topic
        parts = [f"{index:02d}", exchange.generation, topic.endpoint]
        if topic.station_id:
            parts.append(topic.station_id[:8])
        if topic.first:
            parts.append(str(topic.first))
        if topic.page:
            parts.append(f"page-{topic.page}")
        document = {
            "request": exchange.request(),
            "http_status": exchange.answer.status,
            "answer": exchange.answer.payload,
        }
        text = json.dumps(redactor.redact(document), indent=1, ensure_ascii=False)
        files[f"answers/{'-'.join(parts)}.json"] = text + "\n"
    summary = dataclasses.asdict(report) | {
        "tool": "tap-sems-diagnose",
        "version": VERSION,
        "useful": report.useful,
        "answers": sorted(name for name in files if name.startswith("answers/")),
        "replaced": [f"{kind}: {n} value(s)" for kind, n in redactor.kinds().items()],
    }
    files["summary.json"] = json.dumps(redactor.redact(summary), indent=1, ensure_ascii=False)
    files["summary.md"] = markdown
    leaking = {name: redactor.leaks(text) for name, text in files.items()}
    leaking = {name: found for name, found in leaking.items() if found}
    if leaking:  # a bug in redaction: better no bundle than a leaking one
        raise SemsError(f"the bundle would leak {leaking}; nothing was written")
    written = []
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# ---- command line -----------------------------------------------------------------------


def load_settings(configs: Sequence[str]) -> Settings:
    """The tap's own config handling: JSON files, or ENV for TAP_SEMS_* variables.

    A diagnosis reads one recent day, so `start_date` may be left out.
    """
    from singer_sdk.exceptions import ConfigValidationError

    from tap_sems.tap import TapSems

    files: list[PurePath | str] = [name for name in configs if name != "ENV"]
    merged = TapSems(
        config=files or None,
        parse_env_config="ENV" in configs,
        validate_config=False,
        setup_mapper=False,
    ).config
    config = dict(merged)
    config["start_date"] = config.get("start_date") or "2000-01-01"  # not used here
    try:
        tap = TapSems(config=config, validate_config=True, setup_mapper=False)
    except ConfigValidationError as error:
        details = "; ".join(getattr(error, "errors", []) or [str(error)])
        raise SemsError(f"invalid config: {details}") from None
    return Settings.from_config(tap.config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tap-sems-diagnose",
        description=(
            "Log in with tap-sems' settings, list the stations, read one finished day of "
            "the first few and show what the portal answered; --out writes a redacted "
            "bundle for a bug report."
        ),
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="tap-sems config JSON (repeatable), or ENV to read TAP_SEMS_* variables",
    )
    parser.add_argument("--out", type=Path, help="folder for the bug-report bundle")
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        help=f"read a day of at most this many stations (default {DEFAULT_LIMIT})",
    )
    parser.add_argument(
        "--day",
        type=dt.date.fromisoformat,
        help="the plant-local day to read, YYYY-MM-DD (default: yesterday)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except SemsError as error:
        print(f"tap-sems-diagnose: {error}", file=sys.stderr)
        return 2
    diagnosis = Diagnosis(settings, limit=max(args.limit, 1), day=args.day)
    try:
        report = diagnosis.run()
    except SemsError as error:  # settings the backend cannot work with
        print(f"tap-sems-diagnose: {error}", file=sys.stderr)
        return 2
    redactor = redactor_for(settings, report, diagnosis.exchanges)
    markdown = redactor.text(render(report))
    print(markdown, end="")
    if args.out is not None:
        try:
            written = write_bundle(args.out, redactor, markdown, report, diagnosis.exchanges)
        except (SemsError, OSError) as error:
            print(f"tap-sems-diagnose: {error}", file=sys.stderr)
            return 1
        print(
            f"\nBundle: {args.out} ({len(written)} files; secrets, uid, account, addresses and "
            "coordinates replaced by placeholders). Read it before you attach it."
        )
    return 0 if report.useful else 1


if __name__ == "__main__":
    sys.exit(main())
