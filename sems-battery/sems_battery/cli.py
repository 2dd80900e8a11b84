"""`sems-battery sweep|report|backtest`: a thin shell over `sweep()`, `write_report()` and
`backtest()`."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from sems_battery.battery import DEFAULT_C_RATE, STRATEGIES, Battery, Strategy
from sems_battery.economics import PLACEHOLDER_INSTALLATION, PLACEHOLDER_PRICE_PER_KWH, Economics
from sems_battery.errors import BatteryError, ParameterError
from sems_battery.losses import DEFAULT_SYSTEM, IDEAL, LossModel, builtin_systems, load_system

DEFAULT_CAPACITIES = "0,2.5,5,7.5,10,12.5,15,20"


def _share(text: str) -> float:
    """A fraction given as 0.9 or as 90%."""
    try:
        if text.strip().endswith("%"):
            return float(text.strip()[:-1]) / 100.0
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or a percentage") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-01-31") from None


def _capacities(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of capacities in kWh, like 0,5,10"
        ) from None


def _history_options(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("history")
    data.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="dataset folder, plant_power file/folder, or URI",
    )
    data.add_argument("--station", metavar="ID", help="station id (when the dataset holds several)")
    data.add_argument(
        "--from", dest="start", type=_date, metavar="DATE", help="first plant-local day"
    )
    data.add_argument("--to", dest="end", type=_date, metavar="DATE", help="last day, included")
    data.add_argument("--timezone", metavar="TZ", help="IANA zone (default: the plant clock)")
    data.add_argument(
        "--gap-limit-minutes",
        type=_number,
        metavar="MIN",
        help="longer gaps are left out and reported (default: 3 steps, at least 15)",
    )


def _system_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--system",
        metavar="ID|FILE",
        help=f"loss model: a PerMod system ({', '.join(builtin_systems())}), a TOML file of "
        f"parameters (e.g. written by backtest), or '{IDEAL}' (default {DEFAULT_SYSTEM}; "
        f"{IDEAL} when efficiencies are given)",
    )


def _common_options(parser: argparse.ArgumentParser) -> None:
    _history_options(parser)
    battery = parser.add_argument_group("battery (shares as 0.9 or 90%)")
    _system_option(battery)
    battery.add_argument(
        "--capacities",
        type=_capacities,
        default=_capacities(DEFAULT_CAPACITIES),
        metavar="LIST",
        help=f"usable capacities in kWh (default {DEFAULT_CAPACITIES})",
    )
    battery.add_argument(
        "--power-kw", type=_number, metavar="KW", help="charge and discharge power for every size"
    )
    battery.add_argument(
        "--c-rate",
        type=_number,
        default=DEFAULT_C_RATE,
        metavar="R",
        help="kW per kWh of capacity, without --power-kw (default %(default)g)",
    )
    battery.add_argument(
        "--round-trip", type=_share, metavar="X", help="ideal model: round-trip efficiency"
    )
    battery.add_argument(
        "--charge-efficiency", type=_share, metavar="X", help="ideal model (default 95%%)"
    )
    battery.add_argument(
        "--discharge-efficiency", type=_share, metavar="X", help="ideal model (default 95%%)"
    )
    battery.add_argument(
        "--min-soc", type=_share, default=0.0, metavar="X", help="reserve kept back (default 0)"
    )
    battery.add_argument(
        "--self-discharge",
        type=_share,
        metavar="X",
        help="per month (default 2%% for the ideal model, 0 with PerMod's measured standby)",
    )
    battery.add_argument(
        "--initial-soc", type=_share, metavar="X", help="at the start (default: the reserve)"
    )
    money = parser.add_argument_group("tariff and economics")
    money.add_argument(
        "--tariff", type=Path, metavar="FILE", help="tariff file (.toml or .json, see README)"
    )
    money.add_argument("--strategy", choices=STRATEGIES, default="self-consumption")
    money.add_argument(
        "--grid-charge-below",
        type=_number,
        metavar="PRICE",
        help="time-of-use: import price at or under which to charge from the grid",
    )
    money.add_argument(
        "--price-per-kwh",
        type=_number,
        metavar="X",
        help=f"battery price per usable kWh (default: placeholder {PLACEHOLDER_PRICE_PER_KWH:g})",
    )
    money.add_argument(
        "--installation-cost",
        type=_number,
        metavar="X",
        help=f"fixed cost per installation (default: placeholder {PLACEHOLDER_INSTALLATION:g})",
    )
    economics = Economics()
    for flag, kind, default, help_text in (
        ("--lifetime-years", int, economics.lifetime_years, "years of savings"),
        ("--discount-rate", _share, economics.discount_rate, "per year"),
        ("--capacity-fade", _share, economics.capacity_fade_per_year, "capacity lost per year"),
        ("--price-growth", _share, economics.price_growth_per_year, "energy prices, per year"),
    ):
        money.add_argument(
            flag,
            type=kind,
            default=default,
            metavar="N" if kind is int else "X",
            help=f"{help_text} (default {default:g})",
        )


def _log_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="warning",
        help="debug also shows where an error happened (default %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sems-battery",
        description="Would a home battery pay off? Simulate battery sizes on your SEMS history.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sweep_parser = commands.add_parser("sweep", help="yearly figures for each battery size")
    _common_options(sweep_parser)
    _log_option(sweep_parser)
    sweep_parser.add_argument(
        "--json", help="also write the table as JSON to this file ('-': stdout)"
    )
    sweep_parser.add_argument(
        "--hourly", action="store_true", help="average the history to hours first (for comparison)"
    )
    report_parser = commands.add_parser(
        "report", help="HTML report with plots and the sweep as CSV"
    )
    _common_options(report_parser)
    _log_option(report_parser)
    report_parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="folder for the report"
    )
    backtest_parser = commands.add_parser(
        "backtest",
        help="replay a plant's history with its own battery modelled; calibrate the losses",
    )
    _history_options(backtest_parser)
    _log_option(backtest_parser)
    model = backtest_parser.add_argument_group("the installed battery")
    _system_option(model)
    model.add_argument(
        "--battery-kwh",
        type=_number,
        metavar="KWH",
        help="its capacity (default: station metadata, else estimated from the data)",
    )
    backtest_parser.add_argument("--json", help="also write the figures as JSON ('-': stdout)")
    backtest_parser.add_argument(
        "--calibrated-system",
        type=Path,
        metavar="FILE",
        help="write the calibrated model as a parameter file for --system",
    )
    return parser


def _losses(args: argparse.Namespace) -> LossModel | None:
    """The loss model `--system` names; None is the ideal battery."""
    efficiencies = [
        getattr(args, name, None)
        for name in ("round_trip", "charge_efficiency", "discharge_efficiency")
    ]
    given = any(value is not None for value in efficiencies)
    system = args.system or (IDEAL if given else DEFAULT_SYSTEM)
    if system.lower() == IDEAL:
        return None
    if given:
        raise ParameterError(
            f"--round-trip and the efficiencies describe the ideal battery, not {system}: drop "
            f"them or use --system {IDEAL}"
        )
    return load_system(system)


def _battery(args: argparse.Namespace) -> Battery:
    options: dict[str, Any] = {
        "charge_power_kw": args.power_kw,
        "discharge_power_kw": args.power_kw,
        "c_rate": args.c_rate,
        "min_soc": args.min_soc,
        "self_discharge_per_month": args.self_discharge,
        "initial_soc": args.initial_soc,
        "losses": _losses(args),
    }
    if args.round_trip is not None:
        return Battery.with_round_trip(0.0, args.round_trip, **options)
    return Battery(
        0.0,
        charge_efficiency=0.95 if args.charge_efficiency is None else args.charge_efficiency,
        discharge_efficiency=(
            0.95 if args.discharge_efficiency is None else args.discharge_efficiency
        ),
        **options,
    )


def _print_table(result: Any, stream: TextIO) -> None:
    from sems_battery.advice import payback_text

    currency = result.tariff.currency
    coverage = result.history.coverage
    print(
        f"station {result.history.title}: {coverage.covered_days:.1f} days at "
        f"{coverage.step_minutes:g} min, {len(coverage.gaps)} gaps left out "
        f"({coverage.lost_hours:.1f} h); figures per year "
        f"(x{coverage.annualisation_factor:.3f})",
        file=stream,
    )
    print(f"tariff: {result.tariff.describe()}; strategy: {result.strategy.name}", file=stream)
    for note in result.notes:
        print(f"note: {note}", file=stream)
    placeholder = "; placeholder battery prices" if result.economics.placeholder_costs else ""
    header = (
        f"{'kWh':>6} {'import':>8} {'export':>8} {'self-cons':>9} {'autarky':>8} "
        f"{'cycles':>6} {'cost':>9} {'savings':>8} {'payback':>17} {'NPV':>9}"
    )
    print(header + f"   ({currency}, kWh per year{placeholder})", file=stream)
    for size in result.sizes:
        print(
            f"{size.capacity_kwh:>6g} {size.grid_import_kwh:>8.0f} {size.grid_export_kwh:>8.0f} "
            f"{size.self_consumption_rate:>9.1%} {size.self_sufficiency_rate:>8.1%} "
            f"{size.equivalent_full_cycles:>6.0f} {size.cost_with:>9.0f} "
            f"{size.annual_savings:>8.0f} {payback_text(size):>17} "
            f"{size.net_present_value:>9.0f}",
            file=stream,
        )


def _print_headline(lines: Sequence[str], stream: TextIO) -> None:
    """One paragraph a line; wrapped to the width of a terminal, whole in a log or pipe."""
    width = shutil.get_terminal_size((100, 24)).columns if stream.isatty() else 0
    for line in lines:
        wrapped = textwrap.fill(line, width=max(width - 2, 60), subsequent_indent="  ")
        print(wrapped if width else line, file=stream)
    print(file=stream)


def _backtest(args: argparse.Namespace, history: Any) -> int:
    from sems_battery.backtest import backtest

    losses = _losses(args)
    result = backtest(history, system=losses, capacity_kwh=args.battery_kwh)
    to_stdout = args.json == "-"
    stream = sys.stderr if to_stdout else sys.stdout
    for line in result.summary_lines():
        print(line, file=stream)
    if to_stdout:
        sys.stdout.write(result.json_text())
    elif args.json:
        Path(args.json).write_text(result.json_text(), encoding="utf-8")
    if args.calibrated_system:
        result.write_system(args.calibrated_system)
        print(
            f"calibrated model written to {args.calibrated_system} (use it with "
            f"--system {args.calibrated_system})",
            file=stream,
        )
    return 0


def run(args: argparse.Namespace) -> int:
    from sems_battery.dataset import load_history
    from sems_battery.simulation import sweep
    from sems_battery.tariff import DEFAULT_TARIFF, load_tariff

    tariff = load_tariff(args.tariff) if getattr(args, "tariff", None) else None
    timezone = args.timezone or (tariff.timezone if tariff else None)
    history = load_history(
        args.data,
        station=args.station,
        start=args.start,
        end=args.end,
        timezone=timezone,
        gap_limit_minutes=args.gap_limit_minutes,
    )
    if args.command == "backtest":
        return _backtest(args, history)
    battery = _battery(args)
    strategy = Strategy(args.strategy, grid_charge_below=args.grid_charge_below)
    economics = Economics(
        price_per_kwh=args.price_per_kwh,
        installation_cost=args.installation_cost,
        lifetime_years=args.lifetime_years,
        discount_rate=args.discount_rate,
        capacity_fade_per_year=args.capacity_fade,
        price_growth_per_year=args.price_growth,
    )
    if args.command == "report":
        from sems_battery.report import write_report  # matplotlib only when plotting

        report = write_report(
            history,
            args.out,
            args.capacities,
            battery=battery,
            tariff=tariff,
            strategy=strategy,
            economics=economics,
        )
        _print_headline(report.headline, sys.stdout)
        print(f"report written to {report.html}")
        return 0
    if args.hourly:
        history = history.averaged(60)
    result = sweep(
        history,
        args.capacities,
        battery=battery,
        tariff=tariff or DEFAULT_TARIFF,
        strategy=strategy,
        economics=economics,
    )
    from sems_battery.advice import headline

    to_stdout = args.json == "-"
    stream = sys.stderr if to_stdout else sys.stdout
    _print_headline(headline(result, default_tariff=tariff is None), stream)
    _print_table(result, stream)
    if to_stdout:
        sys.stdout.write(result.json_text())
    elif args.json:
        result.write_json(args.json)
    return 0


LOG_LEVELS = ("debug", "info", "warning", "error")
log = logging.getLogger("sems_battery")


class _LowerCaseLevel(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LowerCaseLevel("sems-battery: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(level.upper())


def _fatal(error: BaseException) -> tuple[str, int]:
    """One plain line for a fatal error (what went wrong, what to do) and the exit code."""
    if isinstance(error, BatteryError):
        return str(error), 2
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        reason = error.strerror or str(error)
        return f"cannot read or write{where}: {reason}; check the path and its permissions", 1
    return (
        f"unexpected {type(error).__name__}: {error}; run again with --log-level debug to see "
        "where, and report it",
        1,
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    try:
        code = run(args)
    except Exception as error:  # every failure ends in one plain line, the last one shown
        message, code = _fatal(error)
        log.debug("where it failed:", exc_info=True)
        log.error(message)
    raise SystemExit(code)
