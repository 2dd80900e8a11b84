"""An HTML report with PNG plots: what a battery of each size would have done for this house.

Plots are drawn with matplotlib's object API on the Agg canvas, so no display (and no
global pyplot state) is involved.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sems_battery.advice import MONTH_LABELS, best_size, headline, money, payback_text, percent
from sems_battery.backtest import Backtest, backtest
from sems_battery.battery import Battery, Strategy
from sems_battery.economics import Economics
from sems_battery.errors import DataError, ParameterError
from sems_battery.history import US_PER_HOUR, FloatArray, History
from sems_battery.simulation import SimulationResult, SizeResult, SweepResult, simulate, sweep
from sems_battery.tariff import DEFAULT_TARIFF, Tariff

COMPLETE_DAY_HOURS = 23.0
COLOURS = {
    "pv": "#f2a900",
    "load": "#4d4d4d",
    "import": "#d1495b",
    "export": "#2e86ab",
    "battery": "#66a182",
    "soc": "#7b2cbf",
}


@dataclass(frozen=True)
class Report:
    """What was written, for callers that want to show or check it."""

    html: Path
    plots: tuple[Path, ...]
    sweep_csv: Path
    hourly_csv: Path
    recommended: SizeResult | None
    headline: tuple[str, ...]  # the recommendation first, as the page opens


def _amount(value: float) -> str:
    return f"{value:,.0f}"


def _local_date(local_us: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=local_us // (24 * US_PER_HOUR))


def _figure(width: float = 9.0, height: float = 5.0) -> Figure:
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def plot_capacity(result: SweepResult, knee: SizeResult | None, path: Path) -> None:
    """Annual savings and self-sufficiency against capacity, the knee marked."""
    currency = result.tariff.currency
    capacities = [s.capacity_kwh for s in result.sizes]
    figure = _figure()
    savings_axis = figure.add_subplot()
    savings_axis.plot(
        capacities,
        [s.annual_savings for s in result.sizes],
        marker="o",
        color=COLOURS["battery"],
        label=f"annual savings ({currency}/year)",
    )
    savings_axis.set_xlabel("usable battery capacity (kWh)")
    savings_axis.set_ylabel(f"annual savings ({currency}/year)", color=COLOURS["battery"])
    savings_axis.grid(alpha=0.3)
    autarky_axis = savings_axis.twinx()
    autarky_axis.plot(
        capacities,
        [100 * s.self_sufficiency_rate for s in result.sizes],
        marker="s",
        color=COLOURS["soc"],
        label="self-sufficiency (%)",
    )
    autarky_axis.set_ylabel("self-sufficiency (% of consumption)", color=COLOURS["soc"])
    autarky_axis.set_ylim(0, 100)
    handles = savings_axis.get_lines() + autarky_axis.get_lines()
    if knee is not None:
        line = savings_axis.axvline(
            knee.capacity_kwh,
            color="black",
            linestyle="--",
            label=f"knee: {knee.capacity_kwh:g} kWh (diminishing returns beyond)",
        )
        savings_axis.annotate(
            f"{knee.capacity_kwh:g} kWh\n{knee.annual_savings:,.0f} {currency}/yr",
            xy=(knee.capacity_kwh, knee.annual_savings),
            xytext=(12, -36),
            textcoords="offset points",
            arrowprops={"arrowstyle": "->"},
        )
        handles.append(line)
    savings_axis.legend(handles=handles, loc="lower right")
    savings_axis.set_title("What each battery size saves, and how much of the house it supplies")
    savings_axis.set_xlim(left=0)
    savings_axis.set_ylim(bottom=min(0.0, *(s.annual_savings for s in result.sizes)))
    figure.savefig(path)


def plot_resolution(five_minute: SweepResult, hourly: SweepResult, path: Path) -> None:
    """The same sweep on 5-minute data and on hourly averages."""
    currency = five_minute.tariff.currency
    figure = _figure(10.0, 4.5)
    savings_axis, autarky_axis = figure.subplots(1, 2)
    step = f"{five_minute.history.coverage.step_minutes:g}-minute data"
    for result, label, style in ((five_minute, step, "-"), (hourly, "hourly averages", "--")):
        capacities = [s.capacity_kwh for s in result.sizes]
        savings_axis.plot(
            capacities, [s.annual_savings for s in result.sizes], style, marker="o", label=label
        )
        autarky_axis.plot(
            capacities,
            [100 * s.self_sufficiency_rate for s in result.sizes],
            style,
            marker="o",
            label=label,
        )
    savings_axis.set_title("Annual savings")
    savings_axis.set_ylabel(f"{currency}/year")
    autarky_axis.set_title("Self-sufficiency")
    autarky_axis.set_ylabel("% of consumption")
    for axis in (savings_axis, autarky_axis):
        axis.set_xlabel("usable battery capacity (kWh)")
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.suptitle("How much the answer moves when the history is averaged to hours")
    figure.savefig(path)


def _monthly(keys: np.ndarray, values: FloatArray, months: list[str]) -> FloatArray:
    index = np.searchsorted(months, keys)
    return np.bincount(index, weights=values, minlength=len(months)).astype(np.float64)


def plot_monthly(simulation: SimulationResult, path: Path) -> None:
    """Grid import and export per month without and with the recommended battery."""
    history = simulation.inputs.history
    keys = history.local_month_key()
    months = sorted(set(keys.tolist()))
    size = simulation.battery.capacity_kwh
    series = {
        "import": (simulation.baseline.grid_import, simulation.flows.grid_import),
        "export": (simulation.baseline.grid_export, simulation.flows.grid_export),
    }
    figure = _figure(10.0, 6.5)
    axes = figure.subplots(2, 1, sharex=True)
    positions = np.arange(len(months))
    width = 0.4
    for axis, (name, (without, with_battery)) in zip(axes, series.items(), strict=True):
        axis.bar(
            positions - width / 2,
            _monthly(keys, without, months),
            width,
            color=COLOURS[name],
            alpha=0.45,
            label="without a battery",
        )
        axis.bar(
            positions + width / 2,
            _monthly(keys, with_battery, months),
            width,
            color=COLOURS[name],
            label=f"with {size:g} kWh",
        )
        axis.set_ylabel("kWh per month")
        axis.set_title(f"Grid {name}", loc="left")
        axis.grid(axis="y", alpha=0.3)
        tallest = max(float(_monthly(keys, without, months).max()), 1e-9)
        axis.set_ylim(0, tallest * 1.3)  # room for the legend above the bars
        axis.legend(loc="upper center", ncols=2)
    covered_days = _monthly(keys, history.duration_h, months) / 24.0
    labels = []
    for month, days in zip(months, covered_days, strict=True):
        label = f"{MONTH_LABELS[int(month[5:7]) - 1]}\n{month[:4]}"
        in_month = calendar.monthrange(int(month[:4]), int(month[5:7]))[1]
        if days < in_month - 0.5:
            label += f"\n{days:.0f} of {in_month} d"
        labels.append(label)
    axes[1].set_xticks(positions, labels)
    figure.suptitle(
        f"Monthly grid import and export, without and with {size:g} kWh "
        "(partial months show the days covered)"
    )
    figure.savefig(path)


def _typical_days(history: History) -> list[tuple[str, dt.date]]:
    """A representative complete day of the sunniest and of the darkest months."""
    days = history.local_day()
    unique_days, index = np.unique(days, return_inverse=True)
    covered = np.bincount(index, weights=history.duration_h)
    pv = np.bincount(index, weights=history.pv_kw * history.duration_h)
    load = np.bincount(index, weights=history.load_kw * history.duration_h)
    month = unique_days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    complete = covered >= COMPLETE_DAY_HOURS
    if not complete.any():
        complete = covered >= covered.max() * 0.9
    month_pv = {int(m): float(pv[complete & (month == m)].mean()) for m in set(month[complete])}
    if len(month_pv) < 2:
        seasons = [("Typical day", set(month_pv))]
    else:
        ranked = sorted(month_pv, key=lambda m: month_pv[m])
        share = max(1, len(ranked) // 4)
        seasons = [
            ("Typical summer day (sunniest months)", set(ranked[-share:])),
            ("Typical winter day (darkest months)", set(ranked[:share])),
        ]
    chosen = []
    for title, months_in_season in seasons:
        candidates = np.flatnonzero(complete & np.isin(month, list(months_in_season)))
        pv_mid = float(np.median(pv[candidates])) or 1.0
        load_mid = float(np.median(load[candidates])) or 1.0
        distance = np.abs(pv[candidates] / pv_mid - 1) + np.abs(load[candidates] / load_mid - 1)
        best = candidates[int(np.argmin(distance))]
        chosen.append((title, unique_days[best].astype(dt.date)))
    return chosen


def plot_typical_days(simulation: SimulationResult, path: Path) -> None:
    """Power flows and the simulated state of charge over a typical summer and winter day."""
    history = simulation.inputs.history
    flows = simulation.flows
    days = _typical_days(history)
    figure = _figure(10.0, 4.2 * len(days))
    axes = np.atleast_1d(figure.subplots(len(days), 1))
    capacity = simulation.battery.capacity_kwh
    local_days = history.local_day()
    for axis, (title, day) in zip(axes, days, strict=True):
        mask = local_days == np.datetime64(day)
        hours = (history.local_us[mask] % (24 * US_PER_HOUR)) / US_PER_HOUR
        duration = history.duration_h[mask]
        battery_kw = (flows.discharge[mask] - flows.charge[mask]) / duration
        axis.fill_between(hours, history.pv_kw[mask], color=COLOURS["pv"], alpha=0.35, label="PV")
        axis.plot(
            hours, history.load_kw[mask], color=COLOURS["load"], lw=3.0, alpha=0.45, label="load"
        )
        axis.plot(
            hours,
            flows.grid_import[mask] / duration,
            color=COLOURS["import"],
            lw=1.1,
            label="grid import (with battery)",
        )
        axis.plot(
            hours,
            flows.grid_export[mask] / duration,
            color=COLOURS["export"],
            lw=1.1,
            label="grid export (with battery)",
        )
        axis.plot(
            hours,
            battery_kw,
            color=COLOURS["battery"],
            lw=1.1,
            label="battery (+ discharge, - charge)",
        )
        axis.axhline(0, color="black", lw=0.6)
        axis.set_xlim(0, 24)
        axis.set_xticks(range(0, 25, 3))
        axis.set_xlabel("local time (h)")
        axis.set_ylabel("power (kW)")
        axis.set_title(f"{title}: {day:%a %d %b %Y}", loc="left")
        axis.grid(alpha=0.3)
        soc_axis = axis.twinx()
        soc = 100 * flows.stored_end[mask] / capacity if capacity > 0 else np.zeros(hours.size)
        soc_axis.plot(
            hours,
            soc,
            color=COLOURS["soc"],
            lw=2.0,
            linestyle="--",
            label="state of charge (right)",
        )
        soc_axis.set_ylim(0, 105)
        soc_axis.set_ylabel("state of charge (%)", color=COLOURS["soc"])
        handles, names = axis.get_legend_handles_labels()
        soc_handles, soc_names = soc_axis.get_legend_handles_labels()
    figure.legend(
        handles + soc_handles, names + soc_names, loc="outside lower center", ncols=3, fontsize=9
    )
    figure.suptitle(f"A {capacity:g} kWh battery on typical days")
    figure.savefig(path)


def _table(rows: list[list[str]], header: list[str], highlight: int | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for number, row in enumerate(rows):
        cells = "".join(f"<td>{html.escape(c)}</td>" for c in row)
        mark = ' class="marked"' if number == highlight else ""
        body.append(f"<tr{mark}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _sweep_rows(result: SweepResult) -> list[list[str]]:
    return [
        [
            f"{s.capacity_kwh:g}",
            f"{s.charge_power_kw:g}",
            f"{s.grid_import_kwh:,.0f}",
            f"{s.grid_export_kwh:,.0f}",
            percent(s.self_consumption_rate),
            percent(s.self_sufficiency_rate),
            f"{s.equivalent_full_cycles:.0f}",
            f"{s.losses_kwh:,.0f}",
            _amount(s.cost_with),
            _amount(s.annual_savings),
            payback_text(s),
            _amount(s.net_present_value),
        ]
        for s in result.sizes
    ]


def _sweep_header(currency: str, economics: Economics) -> list[str]:
    placeholder = ", placeholder prices" if economics.placeholder_costs else ""
    return [
        "kWh",
        "kW",
        "import kWh/yr",
        "export kWh/yr",
        "self-consumption",
        "self-sufficiency",
        "cycles/yr",
        "losses kWh/yr",
        f"cost/yr ({currency})",
        f"savings/yr ({currency})",
        f"payback (yr{placeholder})",
        f"net present value ({currency}{placeholder})",
    ]


def _coverage_text(history: History) -> str:
    coverage = history.coverage
    first = _local_date(int(history.local_us[0]))
    last = _local_date(int(history.local_us[-1]))
    share = coverage.covered_hours / coverage.span_hours
    lines = [
        f"History from {first} to {last} (plant-local days): {coverage.covered_days:.1f} days "
        f"covered, {share:.1%} of the span, at a {coverage.step_minutes:g}-minute step.",
    ]
    if coverage.gaps:
        longest = max(coverage.gaps, key=lambda gap: gap.hours)
        lines.append(
            f"{len(coverage.gaps)} gaps longer than {coverage.gap_limit_minutes:g} minutes "
            f"({coverage.lost_hours:.1f} h in all; the longest {longest.hours:.1f} h from "
            f"{longest.start:%Y-%m-%d %H:%M} UTC) were left out, not filled."
        )
    factor = coverage.annualisation_factor
    if abs(factor - 1) > 0.005:
        months = sorted(set(history.local_month().tolist()))
        lines.append(
            f"Every figure is per year: totals over the {coverage.covered_days:.1f} covered days "
            f"are multiplied by {factor:.3f}. "
            + (
                "The covered months are "
                + ", ".join(MONTH_LABELS[m - 1] for m in months)
                + ", so the seasons missing from the history are missing from the answer too."
                if len(months) < 12
                else "All twelve months are present."
            )
        )
    else:
        lines.append("The history covers a full year: figures are its totals.")
    lines.append(f"Local time (for tariffs and plots): {history.local_time_source}.")
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def _assumptions(
    battery: Battery, tariff: Tariff, strategy: Strategy, economics: Economics, default_tariff: bool
) -> str:
    power = f"{battery.c_rate:g} kW per kWh of capacity"
    if battery.charge_power_kw is not None or battery.discharge_power_kw is not None:
        power = f"{battery.charge_kw:g} kW charge / {battery.discharge_kw:g} kW discharge"
    items = [
        f"Battery: usable capacity as listed; power {power}; loss model: {battery.model_name} "
        f"(round trip {battery.round_trip:.1%}"
        + (" at half power" if not battery.is_ideal else "")
        + f"); reserve {battery.min_soc:.0%}; self-discharge "
        f"{battery.monthly_self_discharge:.1%} per month; starts at {battery.start_share:.0%}.",
        "Tariff: "
        + tariff.describe()
        + (" (the built-in example: pass --tariff with your own prices)" if default_tariff else ""),
        f"Strategy: {strategy.name}"
        + (
            " (charges from the grid in cheap intervals, reading the next "
            f"{strategy.lookahead_hours:g} h of the history: a perfect forecast, so an upper bound)"
            if strategy.name == "time-of-use"
            else " (charge from PV surplus, discharge to cover demand)"
        ),
        f"Economics: {economics.describe_costs(tariff.currency)}; "
        f"{economics.lifetime_years} years; discount rate {economics.discount_rate:.1%}; "
        f"capacity fade {economics.capacity_fade_per_year:.1%} per year; energy price growth "
        f"{economics.price_growth_per_year:.1%} per year. Payback is simple: investment / "
        "first-year "
        "savings.",
    ]
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def _loss_model(battery: Battery, import_price: float, currency: str) -> str:
    """The loss model in plain words, with its parameters and why standby matters."""
    standby = (
        "A battery system also draws power when it does nothing: its inverter, its battery "
        "management and its meter. A few watts sound like nothing, but they run all year: "
        f"20 W x 8,760 hours = 175 kWh a year, {175.2 * import_price:,.0f} {currency} at "
        f"{import_price:.2f} {currency}/kWh, a visible share of what a small battery saves."
    )
    if battery.losses is None:
        text = [
            f"The figures use an ideal battery: {battery.charge_efficiency:.1%} efficient "
            f"charging and {battery.discharge_efficiency:.1%} discharging at any power, and "
            "no standby draw. Real systems lose much more at low power (a converter has "
            "fixed losses) and draw standby power all year, so read these savings as an upper "
            "bound; --system SG1 uses HTW Berlin's generic measured system instead.",
            standby,
        ]
        return "".join(f"<p>{html.escape(t)}</p>" for t in text)
    losses = battery.losses
    text = [
        f"The figures use the battery system {losses.id} ({losses.name}) in PerMod, the "
        "performance model of HTW Berlin for PV-battery systems (the model behind its yearly "
        "Stromspeicher-Inspektion). Charging and discharging each lose a fixed part and a "
        "part that grows with the power, so a battery that runs at a tenth of its power "
        f"loses far more (round trip {losses.round_trip_at(0.1):.0%}) than one at half "
        f"({losses.round_trip_at(0.5):.0%}); below the fixed part it does not run at all.",
        standby,
    ]
    idle_draw = (
        losses.standby_charged_ac_w,
        losses.standby_charged_dc_w,
        losses.standby_discharged_ac_w,
        losses.standby_discharged_dc_w,
        losses.peripheral_ac_w,
    )
    if not any(idle_draw):
        text.append(
            f"{losses.id} itself draws no standby power, so these figures leave it out: the "
            "measured systems (--system S2 to S5) draw a few watts to about 15 W, and a "
            "product's test report or datasheet gives its own (--system FILE)."
        )
    items = "".join(f"<li>{html.escape(line)}</li>" for line in losses.parameters_text())
    credit = (
        f"<p class=small>Parameters: {html.escape(losses.source)}."
        + (
            " Data: HTW Berlin (PerMod, Stromspeicher-Inspektion), compiled in bslib by "
            "Forschungszentrum Jülich (IEK-3), licensed CC BY 4.0."
            if "bslib" in losses.source
            else ""
        )
        + "</p>"
    )
    return "".join(f"<p>{html.escape(t)}</p>" for t in text) + f"<ul>{items}</ul>" + credit


def _backtest_section(result: Backtest, currency: str) -> str:
    """Measured against simulated for the plant's own battery, as given and calibrated."""
    installed = result.installed
    given, calibrated = result.given, result.calibrated
    rows = []
    for label, name in (
        ("grid import (kWh)", "grid_import_kwh"),
        ("grid export (kWh)", "grid_export_kwh"),
        ("battery charge (kWh)", "battery_charge_kwh"),
        ("battery discharge (kWh)", "battery_discharge_kwh"),
    ):
        measured = getattr(given, f"measured_{name}")
        cells = [label, f"{measured:,.0f}"]
        for comparison in (given, calibrated):
            value = getattr(comparison, f"simulated_{name}")
            cells.append(f"{value:,.0f} ({value / measured - 1:+.1%})" if measured else "-")
        rows.append(cells)
    if given.soc_rmse is not None and calibrated.soc_rmse is not None:
        rows.append(
            [
                "state of charge error (RMS)",
                "",
                f"{100 * given.soc_rmse:.1f} points",
                f"{100 * calibrated.soc_rmse:.1f} points",
            ]
        )
    intro = (
        f"The plant already has a battery ({installed.capacity_kwh:.3g} kWh, "
        f"{installed.capacity_source}; up to {installed.charge_kw:.2f} kW charging and "
        f"{installed.discharge_kw:.2f} kW discharging; state of charge {installed.min_soc:.0%} "
        f"to {installed.max_soc:.0%}). Replaying {result.first_day} to {result.last_day} with "
        "that battery modelled shows how far to trust the model: the closer the simulated "
        "figures are to the measured ones, the more the sizes above can be believed."
    )
    verdict = (
        f"With {result.base_model}, the simulated grid import is {given.import_error:+.1%} "
        f"off the measured. Calibrated ({result.calibrated_losses.name}; round trip "
        f"{result.calibrated_losses.round_trip_at(0.5):.1%} at half power) it is "
        f"{calibrated.import_error:+.1%}. The calibrated model is in calibrated-system.toml: "
        "pass it to the sweep with --system calibrated-system.toml; the figures are in "
        "backtest.json."
    )
    header = ["", "measured", "model", "calibrated"]
    return f"<p>{html.escape(intro)}</p>" + _table(rows, header) + f"<p>{html.escape(verdict)}</p>"


def _backtest_files(history: History, battery: Battery, tariff: Tariff, out: Path) -> str:
    """For a plant with a battery: the back-test section, and its JSON and calibrated model."""
    if not history.has_battery:
        return ""
    try:
        tested = backtest(history, system=battery.losses, tariff=tariff)
    except DataError as error:
        return f"<p>The plant's battery could not be back-tested: {html.escape(str(error))}.</p>"
    (out / "backtest.json").write_text(tested.json_text(), encoding="utf-8")
    tested.write_system(out / "calibrated-system.toml")
    return _backtest_section(tested, tariff.currency)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } tr.marked td { background: #fff3c4; font-weight: bold; }
img { max-width: 100%; border: 1px solid #eee; } .headline { font-size: 1.1em; }
.notes li, .warning { color: #8a4b00; }
.recommendation { font-size: 1.25em; font-weight: bold; } .small { font-size: 0.85em; color: #555; }
"""


def write_report(
    history: History,
    out_dir: str | Path,
    capacities: list[float],
    *,
    battery: Battery | None = None,
    tariff: Tariff | None = None,
    strategy: Strategy | None = None,
    economics: Economics | None = None,
) -> Report:
    """Sweep at the data's resolution and at hourly averages, simulate the knee, write it all."""
    default_tariff = tariff is None
    tariff = tariff or DEFAULT_TARIFF
    battery = battery or Battery(0.0)
    strategy = strategy or Strategy()
    economics = economics or Economics()
    capacities = sorted({0.0, *capacities})
    if len(capacities) < 3:
        raise ParameterError("a report needs at least two battery sizes above 0 kWh")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    options = {"battery": battery, "tariff": tariff, "strategy": strategy, "economics": economics}
    result = sweep(history, capacities, **options)  # type: ignore[arg-type]
    hourly = sweep(result.history.averaged(60), capacities, **options)  # type: ignore[arg-type]
    knee = result.knee
    best = best_size(result)
    lines = headline(result, default_tariff=default_tariff)
    recommended = (
        best
        if best is not None and best.net_present_value > 0
        else knee or best or result.sizes[-1]
    )
    sweep_csv, hourly_csv = out / "sweep.csv", out / "sweep-hourly.csv"
    result.write_csv(sweep_csv)
    hourly.write_csv(hourly_csv)
    result.write_json(out / "sweep.json")

    plots = [out / "capacity.png", out / "monthly.png", out / "typical-days.png"]
    plots.append(out / "resolution.png")
    plot_capacity(result, knee, plots[0])
    simulation = simulate(
        result.history,
        battery.sized(recommended.capacity_kwh),
        tariff=tariff,
        strategy=strategy,
        economics=economics,
    )
    plot_monthly(simulation, plots[1])
    plot_typical_days(simulation, plots[2])
    plot_resolution(result, hourly, plots[3])

    currency = tariff.currency
    mean_import_price = float(np.mean(tariff.prices(result.history)[0]))
    backtest_html = _backtest_files(history, battery, tariff, out)
    marked = result.sizes.index(recommended)
    comparison_rows = [
        [
            f"{five.capacity_kwh:g}",
            percent(five.self_sufficiency_rate),
            percent(hour.self_sufficiency_rate),
            percent(five.self_consumption_rate),
            percent(hour.self_consumption_rate),
            _amount(five.annual_savings),
            _amount(hour.annual_savings),
            payback_text(five),
            payback_text(hour),
        ]
        for five, hour in zip(result.sizes, hourly.sizes, strict=True)
    ]
    step = f"{history.coverage.step_minutes:g} min"
    comparison_header = [
        "kWh",
        f"self-sufficiency {step}",
        "hourly",
        f"self-consumption {step}",
        "hourly",
        f"savings/yr {step} ({currency})",
        "hourly",
        f"payback {step}",
        "hourly",
    ]
    baseline_five, baseline_hour = result.sizes[0], hourly.sizes[0]
    hourly_pick = hourly.sizes[marked]
    shift = (
        f" At {recommended.capacity_kwh:g} kWh hourly averages put the savings at "
        f"{money(hourly_pick.annual_savings, currency)} a year instead of "
        f"{money(recommended.annual_savings, currency)} "
        f"({hourly_pick.annual_savings / recommended.annual_savings - 1:+.0%})."
        if recommended.annual_savings > 0
        else ""
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in history.notes)
    station = html.escape(history.title)
    station_id = (
        f"<p class=small>Station {html.escape(history.station_id)}</p>"
        if history.station_name and history.station_id
        else ""
    )
    opening = f"<p class=recommendation>{html.escape(lines[0])}</p>" + "".join(
        f"<p class={'warning' if line.startswith('Warning') else 'headline'}>"
        f"{html.escape(line)}</p>"
        for line in lines[1:]
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Would a battery pay off? {station}</title><style>{STYLE}</style></head><body>
<h1>Would a home battery pay off? {station}</h1>
{station_id}
{opening}
<h2>The data</h2>
{_coverage_text(result.history)}
{f'<ul class="notes">{notes}</ul>' if notes else ""}
<h2>Assumptions</h2>
{_assumptions(battery, tariff, strategy, economics, default_tariff)}
<h2>The battery model</h2>
{_loss_model(battery, mean_import_price, currency)}
{"<h2>Back-test on the plant's own battery</h2>" + backtest_html if backtest_html else ""}
<h2>Savings and self-sufficiency by size</h2>
<img src="capacity.png" alt="Annual savings and self-sufficiency against battery capacity">
{_table(_sweep_rows(result), _sweep_header(currency, economics), marked)}
<p>All figures per year. Highlighted: the size used in the plots below. The full table, with
more columns, is in <a href="sweep.csv">sweep.csv</a>
(hourly: <a href="sweep-hourly.csv">sweep-hourly.csv</a>).</p>
<h2>Month by month with {recommended.capacity_kwh:g} kWh</h2>
<img src="monthly.png" alt="Monthly grid import and export without and with the battery">
<h2>Typical days with {recommended.capacity_kwh:g} kWh</h2>
<img src="typical-days.png"
 alt="PV, load, grid and state of charge on a typical summer and winter day">
<h2>Five-minute data against hourly averages</h2>
<p>A spreadsheet of hourly values nets out the minutes when the house draws more than the
panels give and the minutes when it is the other way round. The same history averaged to
hours gives, without a battery, {percent(baseline_hour.self_sufficiency_rate)} self-sufficiency
instead of {percent(baseline_five.self_sufficiency_rate)}.{html.escape(shift)}</p>
<img src="resolution.png" alt="Savings and self-sufficiency at 5-minute and hourly resolution">
{_table(comparison_rows, comparison_header, marked)}
</body></html>
"""
    html_path = out / "report.html"
    html_path.write_text(body, encoding="utf-8")
    return Report(html_path, tuple(plots), sweep_csv, hourly_csv, recommended, tuple(lines))
