"""Import and feed-in prices: flat, a time-of-use schedule, or a CSV of market prices.

A tariff is written by hand in TOML (or the same structure in JSON); see the package
README for examples. Prices are per kWh in the tariff's currency. Every interval of the
history gets one import and one feed-in price; a schedule is read on the plant's local
clock, a price series on absolute time.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from sems_battery.errors import ParameterError
from sems_battery.history import US_PER_HOUR, FloatArray, History, IntArray

SLOTS_PER_HOUR = 4  # schedules resolve to the quarter hour
SLOTS_PER_DAY = 24 * SLOTS_PER_HOUR
US_PER_SLOT = US_PER_HOUR // SLOTS_PER_HOUR
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAY_GROUPS = {"weekdays": range(5), "weekend": range(5, 7), "all": range(7)}
TOP_LEVEL_KEYS = {"name", "currency", "timezone", "monthly_fee", "export_limit_kw"}
PRICE_KEYS = {"price", "periods", "csv", "time_column", "price_column", "scale", "adder"}
PRICE_KEYS |= {"timezone", "repeat"}
PERIOD_KEYS = {"name", "price", "hours", "days", "months"}


@dataclass(frozen=True)
class Period:
    """A price that applies in some months, on some weekdays, between some hours."""

    price: float
    name: str = ""
    months: frozenset[int] = frozenset(range(1, 13))
    weekdays: frozenset[int] = frozenset(range(7))
    slots: frozenset[int] = frozenset(range(SLOTS_PER_DAY))


REPEATS = {"week": 7 * 24 * US_PER_HOUR, "year": 52 * 7 * 24 * US_PER_HOUR}


@dataclass(frozen=True, eq=False)
class PriceSeries:
    """Prices that each hold from their start until the next one (market prices).

    Rows may come at any step, and the step may change within a file (the EU day-ahead
    market went from hours to quarter hours in October 2025). The last row holds for the
    step before it. With `repeat` ("week" or "year" = 52 weeks, so weekdays stay
    weekdays), times outside the file take the price of the same moment a whole number
    of periods away: a typical week or year serves any history.
    """

    start_us: IntArray
    price: FloatArray
    source: str
    wall_us: IntArray  # each row's wall clock, as written in the file (for repeating)
    repeat: str | None = None

    @property
    def end_us(self) -> int:
        step = int(self.start_us[-1] - self.start_us[-2]) if self.start_us.size > 1 else US_PER_HOUR
        return int(self.start_us[-1]) + step

    @property
    def resolution(self) -> str:
        """'15-minute', 'hourly', or both when the step changes within the file."""
        steps = sorted({int(step) for step in np.diff(self.start_us)} or {US_PER_HOUR})
        names = [
            "hourly" if step == US_PER_HOUR else f"{step / US_PER_SLOT * 15:g}-minute"
            for step in steps
            if step <= US_PER_HOUR
        ]
        return " and ".join(names) or "market"

    def at(self, time_us: IntArray, local_us: IntArray) -> FloatArray:
        """Prices at these moments; a repeat matches the wall clock (`local_us`), so that
        a winter week's evening peak stays in the evening in summer too."""
        first = int(self.start_us[0])
        index = np.searchsorted(self.start_us, time_us, side="right") - 1
        outside = (index < 0) | (time_us >= self.end_us)
        if self.repeat is not None and outside.any():
            period = REPEATS[self.repeat]
            wall_first = int(self.wall_us[0])
            wall = wall_first + (local_us[outside] - wall_first) % period
            order = np.argsort(self.wall_us, kind="stable")
            found = np.searchsorted(self.wall_us[order], wall, side="right") - 1
            index[outside] = order[np.maximum(found, 0)]
            outside[:] = False
        missing = time_us[outside]
        if missing.size:
            raise ParameterError(
                f"the price file {self.source} covers {_format_us(first)} to "
                f"{_format_us(self.end_us)} but the history needs prices "
                f"from {_format_us(int(missing[0]))} too ({missing.size} intervals without a "
                'price); extend the file, narrow --from/--to, or set repeat = "year" (or '
                '"week") to repeat a typical period'
            )
        return self.price[index]


@dataclass(frozen=True, eq=False)
class PriceSchedule:
    """One direction's price: flat, a schedule of periods over a default, or a series."""

    default: float | None = None
    periods: tuple[Period, ...] = ()
    series: PriceSeries | None = None

    def table(self) -> FloatArray:
        """Price for each month x weekday x quarter hour; the first matching period wins."""
        prices = np.full((12, 7, SLOTS_PER_DAY), np.nan)
        for period in reversed(self.periods):
            for month in period.months:
                for day in period.weekdays:
                    prices[month - 1, day, sorted(period.slots)] = period.price
        uncovered = np.isnan(prices)
        if uncovered.any():
            if self.default is None:
                month, day, slot = (int(v[0]) for v in np.nonzero(uncovered))
                raise ParameterError(
                    "the time-of-use periods leave times without a price (e.g. "
                    f"{MONTH_NAMES[month]} {DAY_NAMES[day]} {slot // 4:02d}:{slot % 4 * 15:02d}); "
                    "add a default `price` next to the periods"
                )
            prices[uncovered] = self.default
        return prices

    def prices(self, history: History) -> FloatArray:
        if self.series is not None:
            return self.series.at(history.time_us, history.local_us)
        if not self.periods:
            assert self.default is not None
            return np.full(len(history), self.default)
        slot = (history.local_us // US_PER_SLOT) % SLOTS_PER_DAY
        table = self.table()
        return table[history.local_month() - 1, history.local_weekday(), slot]

    def describe(self, currency: str) -> str:
        if self.series is not None:
            repeated = f", repeated every {self.series.repeat}" if self.series.repeat else ""
            return f"{self.series.resolution} prices from {self.series.source}{repeated}"
        if not self.periods:
            return f"{self.default:g} {currency}/kWh"
        parts = [f"{p.name or 'period'} {p.price:g}" for p in self.periods]
        if self.default is not None:
            parts.append(f"otherwise {self.default:g}")
        return f"time of use ({', '.join(parts)} {currency}/kWh)"


@dataclass(frozen=True, eq=False)
class Tariff:
    """What the household pays for imports and earns for exports.

    `monthly_fee` is paid with and without a battery alike, so it is in both costs and
    never in the savings. `export_limit_kw` caps feed-in; PV above it is curtailed.
    """

    import_price: PriceSchedule
    export_price: PriceSchedule
    currency: str = "EUR"
    monthly_fee: float = 0.0
    export_limit_kw: float | None = None
    timezone: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        _refuse_implausible(self)

    @classmethod
    def flat(
        cls,
        import_price: float,
        export_price: float,
        *,
        currency: str = "EUR",
        monthly_fee: float = 0.0,
        export_limit_kw: float | None = None,
    ) -> Tariff:
        return cls(
            import_price=PriceSchedule(default=_price(import_price, "import price")),
            export_price=PriceSchedule(default=_price(export_price, "export price")),
            currency=currency,
            monthly_fee=_non_negative(monthly_fee, "monthly_fee"),
            export_limit_kw=(
                None
                if export_limit_kw is None
                else _non_negative(export_limit_kw, "export_limit_kw")
            ),
        )

    def prices(self, history: History) -> tuple[FloatArray, FloatArray]:
        return self.import_price.prices(history), self.export_price.prices(history)

    def warnings(self, import_price: FloatArray, export_price: FloatArray) -> list[str]:
        """Prices that can be meant but change the answer, in plain words (for headlines)."""
        found = []
        if export_price.min() < 0:
            found.append(
                f"The feed-in price is negative ({export_price.min():g} {self.currency}/kWh at "
                "times): you pay for exporting, so part of the savings is avoiding that charge. "
                "Check that this is meant."
            )
        if float(np.mean(export_price)) > float(np.mean(import_price)):
            found.append(
                f"Feed-in pays more than import on average ({np.mean(export_price):.3g} against "
                f"{np.mean(import_price):.3g} {self.currency}/kWh): storing energy then costs "
                "money instead of saving it. Check the prices."
            )
        negative = import_price < 0
        if negative.any():
            found.append(
                f"The import price goes below zero in {negative.mean():.1%} of the intervals "
                "(market prices can): the battery is assumed to import then as the house "
                "needs, no more."
            )
        return found

    def describe(self) -> str:
        text = (
            f"import {self.import_price.describe(self.currency)}; "
            f"feed-in {self.export_price.describe(self.currency)}"
        )
        if self.export_limit_kw is not None:
            text += f"; feed-in limited to {self.export_limit_kw:g} kW"
        if self.monthly_fee:
            text += f"; fixed fee {self.monthly_fee:g} {self.currency}/month"
        return text


# Above these prices per kWh the number was almost certainly written in cents (or the
# currency is wrong). Currencies not listed are not checked.
IMPLAUSIBLE_PRICE = {"EUR": 3.0, "USD": 3.0, "GBP": 3.0, "CHF": 3.0, "AUD": 4.0, "CAD": 4.0}
IMPLAUSIBLE_PRICE |= {"NZD": 4.0, "SEK": 30.0, "NOK": 30.0, "DKK": 20.0, "PLN": 10.0}


def _fixed_prices(schedule: PriceSchedule) -> list[float]:
    return ([] if schedule.default is None else [schedule.default]) + [
        period.price for period in schedule.periods
    ]


def _refuse_implausible(tariff: Tariff) -> None:
    """Prices that cannot be meant: cents written as whole units, free or paid-for import."""
    limit = IMPLAUSIBLE_PRICE.get(tariff.currency.upper())
    for side, schedule in (("import", tariff.import_price), ("feed-in", tariff.export_price)):
        prices = _fixed_prices(schedule)
        if schedule.series is not None:
            prices.append(float(np.median(schedule.series.price)))
        worst = max(prices, key=abs)
        if limit is not None and abs(worst) > limit:
            raise ParameterError(
                f"the {side} price {worst:g} {tariff.currency}/kWh looks like cents: prices are "
                f"per kWh in {tariff.currency}, e.g. 0.32 for 32 cents (for a price file, set "
                "scale, e.g. 0.001 for prices per MWh)"
            )
    default = tariff.import_price.default
    if tariff.import_price.series is None and default is not None and default <= 0:
        raise ParameterError(
            f"an import price of {default:g} {tariff.currency}/kWh cannot be meant: every kWh "
            "from the grid would earn money; write the price per kWh you pay, e.g. 0.32"
        )


def _format_us(time_us: int) -> str:
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=time_us)
    return moment.isoformat().replace("+00:00", "Z")


def _price(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{where} must be a number (price per kWh), got {value!r}")
    return float(value)


def _non_negative(value: object, where: str) -> float:
    number = _price(value, where)
    if number < 0:
        raise ParameterError(f"{where} must be 0 or more, got {number:g}")
    return number


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ParameterError(
            f"unknown key {unknown[0]!r} in {where}; expected one of {', '.join(sorted(allowed))}"
        )


def _parse_clock(text: str, where: str) -> int:
    """'6', '06', '6:30' or '24:00' as a quarter-hour slot index (0..96)."""
    match = re.fullmatch(r"\s*(\d{1,2})(?::(\d{2}))?\s*", text)
    if not match:
        raise ParameterError(f"{where}: {text!r} is not a time of day like 06:00")
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if hours > 24 or minutes >= 60 or (hours == 24 and minutes) or minutes % 15:
        raise ParameterError(
            f"{where}: {text!r} must be a time between 00:00 and 24:00 in steps of 15 minutes"
        )
    return hours * SLOTS_PER_HOUR + minutes // 15


def _as_list(value: object) -> list[object]:
    if isinstance(value, str):
        return [part for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return value
    return [value]


def _parse_slots(value: object, where: str) -> frozenset[int]:
    slots: set[int] = set()
    for item in _as_list(value):
        if not isinstance(item, str) or "-" not in item:
            raise ParameterError(f'{where}: hours must be ranges like "22:00-06:00", got {item!r}')
        start_text, end_text = item.split("-", 1)
        start, end = _parse_clock(start_text, where), _parse_clock(end_text, where)
        if start == end:
            raise ParameterError(f"{where}: the range {item!r} is empty")
        if start < end:
            slots.update(range(start, end))
        else:  # wraps past midnight
            slots.update(range(start, SLOTS_PER_DAY))
            slots.update(range(end))
    return frozenset(slots)


def _parse_names(
    value: object, names: tuple[str, ...], first: int, where: str, groups: Mapping[str, range]
) -> frozenset[int]:
    """'mon-fri', 'sat,sun', 'weekend', 'oct-mar', [6, 7, 8] or '6-8' as index sets."""

    def index(token: object) -> int:
        if isinstance(token, int) and not isinstance(token, bool):
            number = token
        elif isinstance(token, str) and token.strip().isdigit():
            number = int(token)
        elif isinstance(token, str) and token.strip().lower()[:3] in names:
            return names.index(token.strip().lower()[:3]) + first
        else:
            raise ParameterError(f"{where}: {token!r} is not one of {', '.join(names)}")
        if not first <= number < first + len(names):
            raise ParameterError(f"{where}: {number} is outside {first}..{first + len(names) - 1}")
        return number

    chosen: set[int] = set()
    for item in _as_list(value):
        text = item.strip().lower() if isinstance(item, str) else item
        if isinstance(text, str) and text in groups:
            chosen.update(v + first for v in groups[text])
        elif isinstance(text, str) and "-" in text:
            start_text, end_text = text.split("-", 1)
            start, end = index(start_text), index(end_text)
            span = (end - start) % len(names)
            chosen.update((start - first + k) % len(names) + first for k in range(span + 1))
        else:
            chosen.add(index(text))
    if not chosen:
        raise ParameterError(f"{where}: no {'days' if first == 0 else 'months'} given")
    return frozenset(chosen)


def _parse_period(table: object, where: str) -> Period:
    if not isinstance(table, Mapping):
        raise ParameterError(f"{where} must be a table with a price and hours, days or months")
    _check_keys(table, PERIOD_KEYS, where)
    if "price" not in table:
        raise ParameterError(f"{where} has no price")
    if not {"hours", "days", "months"} & set(table):
        raise ParameterError(f"{where} says neither hours, days nor months")
    return Period(
        price=_price(table["price"], f"{where} price"),
        name=str(table.get("name", "")),
        months=(
            _parse_names(table["months"], MONTH_NAMES, 1, f"{where} months", {})
            if "months" in table
            else Period.months
        ),
        weekdays=(
            _parse_names(table["days"], DAY_NAMES, 0, f"{where} days", DAY_GROUPS)
            if "days" in table
            else Period.weekdays
        ),
        slots=_parse_slots(table["hours"], f"{where} hours") if "hours" in table else Period.slots,
    )


def _parse_time(text: str, zone: dt.tzinfo | None, where: str) -> tuple[int, int]:
    """The moment (µs since the epoch, UTC) and its wall clock (µs, as if UTC)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(f"{where}: {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        if zone is None:
            raise ParameterError(
                f"{where}: {text!r} has no UTC offset; write it as e.g. "
                "2025-01-01T00:00:00+01:00, or set `timezone` for the price file"
            )
        moment = moment.replace(tzinfo=zone)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    utc = (moment - epoch) // dt.timedelta(microseconds=1)
    offset = moment.utcoffset() or dt.timedelta(0)
    return utc, utc + offset // dt.timedelta(microseconds=1)


def _zone(name: object, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(f"{where}: unknown time zone {name!r} (use an IANA name)") from None


def read_price_csv(
    path: Path,
    *,
    time_column: str | None = None,
    price_column: str | None = None,
    scale: float = 1.0,
    adder: float = 0.0,
    timezone: str | None = None,
    repeat: str | None = None,
) -> PriceSeries:
    """A CSV with a header: a start time per row and a price (hourly or finer)."""
    zone = None if timezone is None else _zone(timezone, f"{path.name} timezone")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise ParameterError(f"cannot read the price file {path}: {error.strerror}") from None
    if len(rows) < 2:
        raise ParameterError(f"the price file {path} has no prices under its header")
    header = [name.strip() for name in rows[0]]
    for wanted in (time_column, price_column):
        if wanted is not None and wanted not in header:
            raise ParameterError(f"the price file {path} has no column {wanted!r} (has {header})")
    time_index = header.index(time_column) if time_column else 0
    price_index = header.index(price_column) if price_column else 1
    starts: list[int] = []
    walls: list[int] = []
    prices: list[float] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path.name} line {line}"
        if len(row) <= max(time_index, price_index):
            raise ParameterError(
                f"{where}: expected at least {max(time_index, price_index) + 1} columns"
            )
        start, wall = _parse_time(row[time_index], zone, where)
        starts.append(start)
        walls.append(wall)
        try:
            prices.append(float(row[price_index]) * scale + adder)
        except ValueError:
            raise ParameterError(f"{where}: price {row[price_index]!r} is not a number") from None
    start_us = np.asarray(starts, dtype=np.int64)
    if np.any(np.diff(start_us) <= 0):
        bad = int(np.flatnonzero(np.diff(start_us) <= 0)[0]) + 3
        raise ParameterError(f"{path.name} line {bad}: times must increase from row to row")
    series = PriceSeries(
        start_us=start_us,
        price=np.asarray(prices),
        source=path.name,
        wall_us=np.asarray(walls, dtype=np.int64),
        repeat=repeat,
    )
    if repeat is not None and series.end_us - int(start_us[0]) < REPEATS[repeat]:
        raise ParameterError(
            f"{path.name} covers {(series.end_us - int(start_us[0])) / (24 * US_PER_HOUR):g} "
            f"days, less than the {repeat} it is to repeat"
        )
    return series


def _repeat(value: object, where: str) -> str | None:
    if value is None or value in REPEATS:
        return None if value is None else str(value)
    raise ParameterError(f'{where} must be "week" or "year", got {value!r}')


def _parse_schedule(value: object, where: str, base_dir: Path) -> PriceSchedule:
    if not isinstance(value, Mapping):
        return PriceSchedule(default=_price(value, f"{where} price"))
    _check_keys(value, PRICE_KEYS, f"[{where}]")
    if "csv" in value:
        if "price" in value or "periods" in value:
            raise ParameterError(f"[{where}] has a csv and a price or periods: choose one")
        csv_path = Path(str(value["csv"]))
        return PriceSchedule(
            series=read_price_csv(
                csv_path if csv_path.is_absolute() else base_dir / csv_path,
                time_column=value.get("time_column"),
                price_column=value.get("price_column"),
                scale=_price(value.get("scale", 1.0), f"[{where}] scale"),
                adder=_price(value.get("adder", 0.0), f"[{where}] adder"),
                timezone=value.get("timezone"),
                repeat=_repeat(value.get("repeat"), f"[{where}] repeat"),
            )
        )
    periods_value = value.get("periods", [])
    if not isinstance(periods_value, list):
        raise ParameterError(f"[{where}] periods must be a list of tables ([[{where}.periods]])")
    periods = tuple(
        _parse_period(table, f"[[{where}.periods]] number {number}")
        for number, table in enumerate(periods_value, start=1)
    )
    default = _price(value["price"], f"[{where}] price") if "price" in value else None
    schedule = PriceSchedule(default=default, periods=periods)
    if default is None and not periods:
        raise ParameterError(f"[{where}] needs a price, periods, or a csv")
    schedule.table()  # refuse schedules with holes now, not at simulation time
    return schedule


def parse_tariff(document: Mapping[str, Any], base_dir: Path = Path()) -> Tariff:
    """A tariff from the TOML/JSON structure described in the README."""
    _check_keys(document, TOP_LEVEL_KEYS | {"import", "export"}, "the tariff")
    for side in ("import", "export"):
        if side not in document:
            raise ParameterError(
                f"the tariff has no [{side}] price; write e.g. [{side}] price = 0.30 "
                "(0 if there is no feed-in payment)"
            )
    limit = document.get("export_limit_kw")
    timezone = document.get("timezone")
    if timezone is not None:
        _zone(timezone, "tariff timezone")
    return Tariff(
        import_price=_parse_schedule(document["import"], "import", base_dir),
        export_price=_parse_schedule(document["export"], "export", base_dir),
        currency=str(document.get("currency", "EUR")),
        monthly_fee=_non_negative(document.get("monthly_fee", 0.0), "monthly_fee"),
        export_limit_kw=None if limit is None else _non_negative(limit, "export_limit_kw"),
        timezone=None if timezone is None else str(timezone),
        name=str(document.get("name", "")),
    )


def load_tariff(path: str | Path) -> Tariff:
    """Read a tariff file: `.toml` or `.json`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ParameterError(f"cannot read the tariff file {path}: {error.strerror}") from None
    try:
        is_json = path.suffix.lower() == ".json"
        document = json.loads(text) if is_json else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise ParameterError(f"the tariff file {path} is not valid: {error}") from None
    if not isinstance(document, dict):
        raise ParameterError(f"the tariff file {path} must hold a table of settings")
    tariff = parse_tariff(document, path.parent)
    if not tariff.name:
        tariff = replace(tariff, name=path.stem)
    return tariff


# Used when no tariff is given, and said so in every output that shows costs.
DEFAULT_TARIFF = Tariff.flat(0.30, 0.08, currency="EUR")
