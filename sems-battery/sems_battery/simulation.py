"""simulate() one battery or sweep() many sizes over a history; the CLI is a shell over these.

Every figure in a result is per year: totals over the covered time are multiplied by the
history's annualisation factor (8,760 h / covered hours), whatever the span of data.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sems_battery import kernel
from sems_battery.battery import Battery, Strategy
from sems_battery.economics import Economics, knee_index, savings_curve, simple_payback
from sems_battery.errors import ParameterError
from sems_battery.history import FloatArray, History
from sems_battery.tariff import DEFAULT_TARIFF, Tariff

JSON_FIELDS = (
    "capacity_kwh",
    "grid_import_kwh",
    "grid_export_kwh",
    "self_consumption_rate",
    "self_sufficiency_rate",
    "equivalent_full_cycles",
    "cost_without",
    "cost_with",
    "annual_savings",
    "payback_years",
)


@dataclass(frozen=True)
class SizeResult:
    """One battery size; energies in kWh per year, money per year in the tariff's currency."""

    capacity_kwh: float
    grid_import_kwh: float
    grid_export_kwh: float
    self_consumption_rate: float
    self_sufficiency_rate: float
    equivalent_full_cycles: float
    cost_without: float
    cost_with: float
    annual_savings: float
    payback_years: float | None
    net_present_value: float
    investment: float
    charge_power_kw: float
    discharge_power_kw: float
    pv_kwh: float
    load_kwh: float
    curtailed_kwh: float
    battery_charge_kwh: float
    grid_charge_kwh: float
    battery_discharge_kwh: float
    conversion_losses_kwh: float
    standby_kwh: float
    self_discharge_kwh: float

    @property
    def losses_kwh(self) -> float:
        return self.conversion_losses_kwh + self.standby_kwh + self.self_discharge_kwh

    def as_record(self) -> dict[str, Any]:
        """Plain values for JSON/CSV: the documented fields first, then the rest."""
        values = asdict(self)
        values["losses_kwh"] = self.losses_kwh
        ordered = {name: values.pop(name) for name in JSON_FIELDS}
        ordered.update(values)
        return ordered


@dataclass(frozen=True, eq=False)
class Flows:
    """Per-interval energies (kWh) of one simulation, aligned with the history."""

    grid_import: FloatArray
    grid_export: FloatArray
    curtailed: FloatArray
    charge_from_pv: FloatArray
    charge_from_grid: FloatArray
    discharge: FloatArray
    standby_ac: FloatArray  # the system's own draw on the AC side, peripherals included
    standby_dc: FloatArray  # ... and from the cells
    conversion_loss: FloatArray
    self_discharge: FloatArray
    stored_end: FloatArray
    stored_start: float

    @property
    def charge(self) -> FloatArray:
        return self.charge_from_pv + self.charge_from_grid


@dataclass(frozen=True, eq=False)
class Inputs:
    """Everything one history x tariff x technology x strategy shares across sizes."""

    history: History
    series: kernel.Series

    @property
    def import_price(self) -> FloatArray:
        return self.series.import_price

    @property
    def export_price(self) -> FloatArray:
        return self.series.export_price

    @property
    def export_limit_kw(self) -> float:
        return self.series.export_limit_kw


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """One battery: its yearly figures, and its and the baseline's per-interval flows."""

    result: SizeResult
    flows: Flows
    baseline: Flows
    inputs: Inputs
    battery: Battery
    tariff: Tariff
    strategy: Strategy
    economics: Economics


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Many sizes of one battery technology on one history."""

    sizes: tuple[SizeResult, ...]
    history: History
    battery: Battery
    tariff: Tariff
    strategy: Strategy
    economics: Economics
    notes: tuple[str, ...] = field(default=())

    @property
    def annualisation_factor(self) -> float:
        return self.history.coverage.annualisation_factor

    @property
    def knee(self) -> SizeResult | None:
        """The size where more capacity starts to buy clearly less (see `knee_index`)."""
        capacities = [size.capacity_kwh for size in self.sizes]
        index = knee_index(capacities, [size.annual_savings for size in self.sizes])
        if index is None:
            index = knee_index(capacities, [size.self_sufficiency_rate for size in self.sizes])
        return None if index is None else self.sizes[index]

    def records(self) -> list[dict[str, Any]]:
        """One record a size, each naming the loss model (JSON and CSV say which was used)."""
        return [
            {**size.as_record(), "battery_model": self.battery.model_name} for size in self.sizes
        ]

    def json_text(self) -> str:
        return json.dumps([_json_safe(record) for record in self.records()], indent=2) + "\n"

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(self.json_text(), encoding="utf-8")

    def write_csv(self, path: str | Path) -> None:
        records = self.records()
        with Path(path).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in record.items()
    }


def prepare(
    history: History,
    tariff: Tariff,
    battery: Battery,
    strategy: Strategy,
    measured_soc: FloatArray | None = None,
) -> Inputs:
    """Prices, self-discharge and grid-charging needs for every interval.

    `measured_soc` (a share per interval, NaN where unknown) makes the kernel sum the
    simulated state of charge's error against it, for back-tests.
    """
    if tariff.timezone and history.local_time_source != f"time zone {tariff.timezone}":
        history = history.in_timezone(tariff.timezone)
    import_price, export_price = tariff.prices(history)
    retention = np.exp(battery.retention_per_hour() * history.elapsed_h)
    measured_soc = np.empty(0) if measured_soc is None else measured_soc
    grid_need = np.zeros(len(history))
    if strategy.name == "time-of-use":
        threshold = strategy.grid_charge_below
        if threshold is None:
            threshold = float(np.quantile(import_price, 0.25))
        grid_need = kernel.grid_charge_need(
            time_us=history.time_us,
            net_kwh=(history.pv_kw - history.load_kw) * history.duration_h,
            import_price=import_price,
            cheap=import_price <= threshold,
            round_trip=battery.round_trip,
            horizon_hours=strategy.lookahead_hours,
        )
    limit = math.inf if tariff.export_limit_kw is None else tariff.export_limit_kw
    series = kernel.Series(
        pv_kw=history.pv_kw,
        load_kw=history.load_kw,
        duration_h=history.duration_h,
        retention=retention,
        import_price=np.ascontiguousarray(import_price, dtype=np.float64),
        export_price=np.ascontiguousarray(export_price, dtype=np.float64),
        grid_need_kwh=grid_need,
        measured_soc=np.ascontiguousarray(measured_soc, dtype=np.float64),
        export_limit_kw=float(limit),
    )
    return Inputs(history, series)


def baseline_flows(history: History, export_limit_kw: float = math.inf) -> Flows:
    """The house without a battery, straight from PV and load."""
    net = (history.pv_kw - history.load_kw) * history.duration_h
    surplus = np.maximum(net, 0.0)
    exported = np.minimum(surplus, export_limit_kw * history.duration_h)
    zeros = np.zeros(len(history))
    return Flows(
        grid_import=np.maximum(-net, 0.0),
        grid_export=exported,
        curtailed=surplus - exported,
        **dict.fromkeys(kernel.TRACE_ROWS[3:], zeros),
        stored_start=0.0,
    )


def battery_row(battery: Battery) -> FloatArray:
    """One battery as the kernel reads it (columns: `kernel.CAPACITY`, ...).

    PerMod's loss curves are in W at the system's rated power; here they become kW at this
    battery's power (the generic SG1 is defined per kW, and a measured system's curves are
    assumed to scale the same way). An ideal battery is a linear loss and lossless cells.
    """
    row = np.zeros(kernel.PARAMETERS)
    charge_kw, discharge_kw = battery.charge_kw, battery.discharge_kw
    row[kernel.CAPACITY] = battery.capacity_kwh
    row[kernel.CHARGE_KW] = charge_kw
    row[kernel.DISCHARGE_KW] = discharge_kw
    row[kernel.FLOOR_KWH] = battery.min_soc * battery.capacity_kwh
    row[kernel.START_KWH] = battery.start_share * battery.capacity_kwh
    row[kernel.LOOKAHEAD_DISCHARGE_EFFICIENCY] = battery.efficiencies_at(0.5)[1]
    losses = battery.losses
    if losses is None:
        row[kernel.CHARGE_B] = (1.0 - battery.charge_efficiency) * charge_kw
        row[kernel.DISCHARGE_B] = (1.0 / battery.discharge_efficiency - 1.0) * discharge_kw
        row[kernel.CELL_EFFICIENCY] = 1.0
        row[kernel.HYSTERESIS_SOC] = 1.0
        return row
    charge_scale = charge_kw / losses.rated_charge_w  # W at rated power -> kW at this power
    discharge_scale = discharge_kw / losses.rated_discharge_w
    for column, value in (
        (kernel.CHARGE_A, losses.charge_loss.a * charge_scale),
        (kernel.CHARGE_B, losses.charge_loss.b * charge_scale),
        (kernel.CHARGE_C, losses.charge_loss.c * charge_scale),
        (kernel.DISCHARGE_A, losses.discharge_loss.a * discharge_scale),
        (kernel.DISCHARGE_B, losses.discharge_loss.b * discharge_scale),
        (kernel.DISCHARGE_C, losses.discharge_loss.c * discharge_scale),
        (kernel.CELL_EFFICIENCY, math.sqrt(losses.battery_efficiency)),
        (kernel.CHARGE_DEVIATION_KW, losses.charge_deviation_w / 1000),
        (kernel.DISCHARGE_DEVIATION_KW, losses.discharge_deviation_w / 1000),
        (kernel.STANDBY_CHARGED_AC_KW, losses.standby_charged_ac_w / 1000),
        (kernel.STANDBY_CHARGED_DC_KW, losses.standby_charged_dc_w / 1000),
        (kernel.STANDBY_DISCHARGED_AC_KW, losses.standby_discharged_ac_w / 1000),
        (kernel.STANDBY_DISCHARGED_DC_KW, losses.standby_discharged_dc_w / 1000),
        (kernel.PERIPHERAL_KW, losses.peripheral_ac_w / 1000),
        (kernel.HYSTERESIS_SOC, losses.hysteresis_soc),
    ):
        row[column] = value
    return row


def _totals(inputs: Inputs, batteries: Sequence[Battery]) -> FloatArray:
    return kernel.battery_totals(inputs.series, np.array([battery_row(b) for b in batteries]))


def _cost(totals: FloatArray, tariff: Tariff, factor: float) -> float:
    energy = totals[kernel.IMPORT_COST] - totals[kernel.EXPORT_REVENUE]
    return float(energy * factor + 12.0 * tariff.monthly_fee)


def _size_result(
    *,
    battery: Battery,
    totals: FloatArray,
    baseline_totals: FloatArray,
    history: History,
    tariff: Tariff,
    economics: Economics,
    net_present_value: float,
) -> SizeResult:
    factor = history.coverage.annualisation_factor
    pv = history.pv_kwh * factor
    load = history.load_kwh * factor
    grid_import = totals[kernel.IMPORT] * factor
    grid_export = totals[kernel.EXPORT] * factor
    curtailed = totals[kernel.CURTAILED] * factor
    discharge = totals[kernel.DISCHARGE] * factor
    cell_out = totals[kernel.CELL_DISCHARGE] * factor
    cost_without = _cost(baseline_totals, tariff, factor)
    cost_with = _cost(totals, tariff, factor)
    savings = cost_without - cost_with
    investment = economics.investment(battery.capacity_kwh)
    cycles = cell_out / battery.capacity_kwh if battery.capacity_kwh > 0 else 0.0
    return SizeResult(
        capacity_kwh=battery.capacity_kwh,
        grid_import_kwh=float(grid_import),
        grid_export_kwh=float(grid_export),
        self_consumption_rate=float(1.0 - (grid_export + curtailed) / pv) if pv > 0 else 0.0,
        self_sufficiency_rate=float(1.0 - grid_import / load) if load > 0 else 0.0,
        equivalent_full_cycles=float(cycles),
        cost_without=cost_without,
        cost_with=cost_with,
        annual_savings=savings,
        payback_years=simple_payback(investment, savings),
        net_present_value=net_present_value,
        investment=investment,
        charge_power_kw=battery.charge_kw,
        discharge_power_kw=battery.discharge_kw,
        pv_kwh=float(pv),
        load_kwh=float(load),
        curtailed_kwh=float(curtailed),
        battery_charge_kwh=float((totals[kernel.CHARGE_PV] + totals[kernel.CHARGE_GRID]) * factor),
        grid_charge_kwh=float(totals[kernel.CHARGE_GRID] * factor),
        battery_discharge_kwh=float(discharge),
        conversion_losses_kwh=float(totals[kernel.CONVERSION_LOSS] * factor),
        standby_kwh=float((totals[kernel.STANDBY_AC] + totals[kernel.STANDBY_DC]) * factor),
        self_discharge_kwh=float(totals[kernel.SELF_DISCHARGE] * factor),
    )


def _check_capacities(capacities: Iterable[float]) -> list[float]:
    values = [float(c) for c in capacities]
    if not values:
        raise ParameterError("give at least one battery capacity")
    for value in values:
        if not math.isfinite(value) or value < 0:
            raise ParameterError(f"battery capacity must be 0 or more kWh, got {value:g}")
    return sorted(set(values))


def sweep(
    history: History,
    capacities: Iterable[float],
    *,
    battery: Battery | None = None,
    tariff: Tariff = DEFAULT_TARIFF,
    strategy: Strategy | None = None,
    economics: Economics | None = None,
) -> SweepResult:
    """Yearly figures for each capacity (sorted, without repeats) of the `battery` template.

    Net present values read faded capacities off the sweep's own savings curve (linear
    between swept sizes, 0 at 0 kWh), so a dense sweep values fade best.
    """
    sizes = _check_capacities(capacities)
    template = battery or Battery(0.0)
    strategy = strategy or Strategy()
    economics = economics or Economics()
    inputs = prepare(history, tariff, template, strategy)
    batteries = [template.sized(capacity) for capacity in [0.0, *sizes]]
    totals = _totals(inputs, batteries)
    factor = history.coverage.annualisation_factor
    cost_without = _cost(totals[0], tariff, factor)
    savings = [cost_without - _cost(row, tariff, factor) for row in totals[1:]]
    curve = savings_curve(sizes, savings)
    results = tuple(
        _size_result(
            battery=size_battery,
            totals=row,
            baseline_totals=totals[0],
            history=inputs.history,
            tariff=tariff,
            economics=economics,
            net_present_value=economics.net_present_value(size_battery.capacity_kwh, curve),
        )
        for size_battery, row in zip(batteries[1:], totals[1:], strict=True)
    )
    return SweepResult(
        sizes=results,
        history=inputs.history,
        battery=template,
        tariff=tariff,
        strategy=strategy,
        economics=economics,
        notes=history.notes,
    )


def simulate(
    history: History,
    battery: Battery,
    *,
    tariff: Tariff = DEFAULT_TARIFF,
    strategy: Strategy | None = None,
    economics: Economics | None = None,
) -> SimulationResult:
    """One battery over the history, with its per-interval flows.

    Its net present value simulates the battery again at each year's faded capacity
    (same power), so it is exact where a sweep interpolates.
    """
    strategy = strategy or Strategy()
    economics = economics or Economics()
    inputs = prepare(history, tariff, battery, strategy)
    totals, trace = kernel.battery_trace(inputs.series, battery_row(battery))
    faded = [
        replace(
            battery,
            capacity_kwh=capacity,
            charge_power_kw=battery.charge_kw,
            discharge_power_kw=battery.discharge_kw,
        )
        for capacity in economics.faded_capacities(battery.capacity_kwh)
    ]
    lifetime = _totals(inputs, [battery.sized(0.0), *faded])
    factor = inputs.history.coverage.annualisation_factor
    cost_without = _cost(lifetime[0], tariff, factor)
    yearly = {
        b.capacity_kwh: cost_without - _cost(row, tariff, factor)
        for b, row in zip(faded, lifetime[1:], strict=True)
    }
    result = _size_result(
        battery=battery,
        totals=totals,
        baseline_totals=lifetime[0],
        history=inputs.history,
        tariff=tariff,
        economics=economics,
        net_present_value=economics.net_present_value(battery.capacity_kwh, lambda c: yearly[c]),
    )
    flows = Flows(
        **dict(zip(kernel.TRACE_ROWS, trace, strict=True)),
        stored_start=float(totals[kernel.STORED_START]),
    )
    return SimulationResult(
        result=result,
        flows=flows,
        baseline=baseline_flows(inputs.history, inputs.export_limit_kw),
        inputs=inputs,
        battery=battery,
        tariff=tariff,
        strategy=strategy,
        economics=economics,
    )
