"""How far to trust the model: replay a plant's history with its own battery modelled.

For a plant that already has a battery, the measured grid import and export, battery
throughput and state of charge are what the model must reproduce when it drives a model
of that battery through the same PV and load. The installed battery's capacity comes from
the station metadata, or else from the state of charge against the battery's energy; its
power limits and reserve from the data.

Calibration then fits two numbers to the measurements: a factor on the model's conversion
losses (its round trip) and a standby draw. They act apart: the conversion losses change
the state of charge, the standby draw on the AC side only the grid. So the factor is
fitted to the state of charge (to the discharged energy where no state of charge is
measured), then the standby to grid import and export.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sems_battery import kernel
from sems_battery.battery import Battery, Strategy
from sems_battery.errors import DataError
from sems_battery.history import FloatArray, History, Measured
from sems_battery.losses import LossCurve, LossModel, load_system
from sems_battery.simulation import battery_row, prepare
from sems_battery.tariff import DEFAULT_TARIFF, Tariff

POWER_QUANTILE = 0.999  # the power limits: ignore a stray reading above them
SOC_QUANTILE = 0.001  # the reserve and the top: the same for the state of charge
LOSS_FACTORS = np.round(np.arange(0.0, 3.01, 0.1), 10)
STANDBY_WATTS = np.arange(0.0, 80.1, 2.5)
REFINE_STEPS = 21


@dataclass(frozen=True)
class InstalledBattery:
    """The plant's own battery as the data shows it."""

    capacity_kwh: float
    capacity_source: str
    charge_kw: float
    discharge_kw: float
    min_soc: float
    max_soc: float
    round_trip_estimate: float | None

    def battery(self, losses: LossModel | None, initial_soc: float) -> Battery:
        """A model of it: usable capacity between the observed lowest and highest state."""
        usable = self.capacity_kwh * self.max_soc
        reserve = self.min_soc / self.max_soc
        return Battery(
            usable,
            charge_power_kw=self.charge_kw,
            discharge_power_kw=self.discharge_kw,
            min_soc=reserve,
            initial_soc=min(max(initial_soc / self.max_soc, reserve), 1.0),
            self_discharge_per_month=0.0,
            losses=losses,
        )


@dataclass(frozen=True)
class Comparison:
    """Measured against simulated, in kWh over the compared intervals."""

    model: str
    measured_grid_import_kwh: float
    simulated_grid_import_kwh: float
    measured_grid_export_kwh: float
    simulated_grid_export_kwh: float
    measured_battery_charge_kwh: float
    simulated_battery_charge_kwh: float
    measured_battery_discharge_kwh: float
    simulated_battery_discharge_kwh: float
    soc_rmse: float | None  # share of capacity (0.05: 5 percentage points)
    soc_mean_absolute_error: float | None

    @property
    def import_error(self) -> float:
        return _relative(self.simulated_grid_import_kwh, self.measured_grid_import_kwh)

    @property
    def export_error(self) -> float:
        return _relative(self.simulated_grid_export_kwh, self.measured_grid_export_kwh)

    @property
    def discharge_error(self) -> float:
        return _relative(self.simulated_battery_discharge_kwh, self.measured_battery_discharge_kwh)


def _relative(simulated: float, measured: float) -> float:
    return simulated / measured - 1.0 if measured > 0 else math.nan


@dataclass(frozen=True)
class Backtest:
    """The back-test of one plant: its battery, the model as given and as calibrated."""

    station_id: str
    station_name: str
    covered_days: float
    first_day: str
    last_day: str
    installed: InstalledBattery
    given: Comparison
    calibrated: Comparison
    calibrated_losses: LossModel
    loss_factor: float
    standby_w: float
    base_model: str

    def record(self) -> dict[str, Any]:
        """The JSON document: the given model's figures at the top level, then the rest."""
        document: dict[str, Any] = {
            "station_id": self.station_id,
            "station_name": self.station_name,
            "period": {
                "first_day": self.first_day,
                "last_day": self.last_day,
                "covered_days": round(self.covered_days, 3),
            },
            "installed_battery": dataclasses.asdict(self.installed),
        }
        document.update(_comparison_record(self.given))
        document["calibrated"] = {
            **_comparison_record(self.calibrated),
            "loss_factor": self.loss_factor,
            "standby_w": self.standby_w,
            "round_trip_at_half_power": self.calibrated_losses.round_trip_at(0.5),
            "base_model": self.base_model,
        }
        return _finite(document)

    def summary_lines(self) -> list[str]:
        """The back-test as a small table for the terminal."""
        installed = self.installed
        rows = [
            f"station {self.station_name or self.station_id}: back-test over {self.first_day} "
            f"to {self.last_day} ({self.covered_days:.1f} days)",
            f"installed battery: {installed.capacity_kwh:.3g} kWh ({installed.capacity_source}), "
            f"up to {installed.charge_kw:.2f} kW charging and {installed.discharge_kw:.2f} kW "
            f"discharging, state of charge {installed.min_soc:.0%} to {installed.max_soc:.0%}",
            f"{'kWh':<24}{'measured':>10}{'model':>18}{'calibrated':>18}",
        ]
        pairs = (
            ("grid import", "grid_import_kwh"),
            ("grid export", "grid_export_kwh"),
            ("battery charge", "battery_charge_kwh"),
            ("battery discharge", "battery_discharge_kwh"),
        )
        for label, name in pairs:
            measured = getattr(self.given, f"measured_{name}")
            cells = []
            for comparison in (self.given, self.calibrated):
                value = getattr(comparison, f"simulated_{name}")
                cells.append(f"{value:,.0f} ({_relative(value, measured):+.1%})")
            rows.append(f"{label:<24}{measured:>10,.0f}{cells[0]:>18}{cells[1]:>18}")
        if self.given.soc_rmse is not None and self.calibrated.soc_rmse is not None:
            rows.append(
                f"{'state of charge error':<24}{'(RMS)':>10}"
                f"{100 * self.given.soc_rmse:>11.1f} points"
                f"{100 * self.calibrated.soc_rmse:>11.1f} points"
            )
        rows.append(f"model: {self.base_model}")
        rows.append(
            f"calibrated: {self.calibrated_losses.name}; round trip "
            f"{self.calibrated_losses.round_trip_at(0.5):.1%} at half power"
        )
        return rows

    def json_text(self) -> str:
        return json.dumps(self.record(), indent=2) + "\n"

    def write_system(self, path: str | Path) -> None:
        """The calibrated model as a parameter file for `--system FILE`."""
        soc = self.calibrated.soc_rmse
        header = (
            f"Calibrated by `sems-battery backtest` on {self.station_name or self.station_id} "
            f"({self.first_day} to {self.last_day}, {self.covered_days:.0f} days): "
            f"{self.base_model}, with its conversion losses x {self.loss_factor:.3g} and "
            f"{self.standby_w:.3g} W standby. Back-test error: grid import "
            f"{self.calibrated.import_error:+.1%}, export {self.calibrated.export_error:+.1%}"
            + (f", state of charge {100 * soc:.1f} points RMS." if soc is not None else ".")
        )
        Path(path).write_text(self.calibrated_losses.to_toml(header), encoding="utf-8")


def _comparison_record(comparison: Comparison) -> dict[str, Any]:
    record = dataclasses.asdict(comparison)
    record["grid_import_error"] = comparison.import_error
    record["grid_export_error"] = comparison.export_error
    return record


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def installed_battery(history: History, capacity_kwh: float | None = None) -> InstalledBattery:
    """The plant's battery: capacity from `capacity_kwh`, the metadata or the data."""
    measured = _measured(history)
    battery_kw = np.nan_to_num(measured.battery_kw)
    charging, discharging = battery_kw < 0, battery_kw > 0
    if not charging.any() or not discharging.any():
        raise DataError(
            "the battery never both charged and discharged in this history: nothing to back-test"
        )
    charge_kw = round(float(np.quantile(-battery_kw[charging], POWER_QUANTILE)), 3)
    discharge_kw = round(float(np.quantile(battery_kw[discharging], POWER_QUANTILE)), 3)
    soc = measured.soc[~np.isnan(measured.soc)]
    min_soc = float(np.quantile(soc, SOC_QUANTILE)) if soc.size else 0.0
    max_soc = float(np.quantile(soc, 1 - SOC_QUANTILE)) if soc.size else 1.0
    if max_soc <= min_soc:
        min_soc, max_soc = 0.0, 1.0
    estimate, round_trip = _capacity_from_soc(history, measured)
    if capacity_kwh is not None:
        source = "given"
    elif history.battery_capacity_kwh:
        capacity_kwh, source = history.battery_capacity_kwh, "station metadata"
    elif estimate is not None:
        capacity_kwh, source = estimate, "estimated from the state of charge and battery power"
    else:
        raise DataError(
            "the station metadata has no battery capacity and the history has no state of "
            "charge to estimate it from; give it with --battery-kwh"
        )
    return InstalledBattery(
        capacity_kwh=float(capacity_kwh),
        capacity_source=source,
        charge_kw=charge_kw,
        discharge_kw=discharge_kw,
        min_soc=max(min_soc, 0.0),
        max_soc=min(max_soc, 1.0),
        round_trip_estimate=round_trip,
    )


def _measured(history: History) -> Measured:
    if history.measured is None:
        raise DataError(
            "the history has no battery readings (battery_power_w): a back-test needs a plant "
            "with a battery"
        )
    return history.measured


def _capacity_from_soc(history: History, measured: Measured) -> tuple[float | None, float | None]:
    """Energy charged per point of state of charge gained, and discharged per point lost.

    Charging overstates the capacity by the charge losses and discharging understates it by
    the discharge losses; their geometric mean cancels both when they are alike, and their
    ratio is the round trip.
    """
    soc = measured.soc
    change = np.diff(soc)
    energy = (np.nan_to_num(measured.battery_kw) * history.duration_h)[:-1]
    contiguous = np.isclose(history.elapsed_h[:-1], history.duration_h[:-1])
    valid = contiguous & ~np.isnan(change)
    gained = change[valid & (energy < 0)].sum()
    lost = -change[valid & (energy > 0)].sum()
    charged = -energy[valid & (energy < 0)].sum()
    discharged = energy[valid & (energy > 0)].sum()
    if gained <= 0.05 or lost <= 0.05 or charged <= 0 or discharged <= 0:
        return None, None
    per_charge, per_discharge = charged / gained, discharged / lost
    return float(math.sqrt(per_charge * per_discharge)), float(per_discharge / per_charge)


def _ideal_as_losses(battery: Battery) -> LossModel:
    """The ideal battery written as a PerMod parameter set (linear losses, no standby)."""
    return LossModel(
        id=IDEAL_ID,
        name=battery.model_name,
        charge_loss=LossCurve(0.0, (1 - battery.charge_efficiency) * 1000, 0.0),
        discharge_loss=LossCurve(0.0, (1 / battery.discharge_efficiency - 1) * 1000, 0.0),
        rated_charge_w=1000.0,
        rated_discharge_w=1000.0,
        battery_efficiency=1.0,
        hysteresis_soc=1.0,
    )


IDEAL_ID = "ideal"


def _calibrated(
    base: LossModel, installed: InstalledBattery, factor: float, standby_w: float, title: str
) -> LossModel:
    """`base` at the installed power, its losses x factor, its standby replaced."""
    charge_scale = installed.charge_kw * 1000 / base.rated_charge_w * factor
    discharge_scale = installed.discharge_kw * 1000 / base.rated_discharge_w * factor

    def scaled(curve: LossCurve, scale: float) -> LossCurve:
        return LossCurve(curve.a * scale, curve.b * scale, curve.c * scale)

    return dataclasses.replace(
        base,
        id="calibrated",
        name=f"{base.id} losses x {factor:.3g} and {standby_w:.3g} W standby, fitted to {title}",
        charge_loss=scaled(base.charge_loss, charge_scale),
        discharge_loss=scaled(base.discharge_loss, discharge_scale),
        rated_charge_w=installed.charge_kw * 1000,
        rated_discharge_w=installed.discharge_kw * 1000,
        capacity_kwh=installed.capacity_kwh,
        standby_charged_ac_w=standby_w,
        standby_discharged_ac_w=standby_w,
        standby_charged_dc_w=0.0,
        standby_discharged_dc_w=0.0,
        peripheral_ac_w=0.0,
        source=f"fitted to the measurements of {title}",
    )


def _compare(
    history: History,
    battery: Battery,
    tariff: Tariff,
    measured_soc_end: FloatArray,
    soc_scale: float,
) -> Comparison:
    """`soc_scale` turns the model's state of charge (a share of its usable capacity) into
    the plant's (a share of its whole capacity)."""
    inputs = prepare(history, tariff, battery, Strategy(), measured_soc=measured_soc_end)
    totals, trace = kernel.battery_trace(inputs.series, battery_row(battery))
    measured = _measured(history)
    flows = dict(zip(kernel.TRACE_ROWS, trace, strict=True))
    known_grid = ~np.isnan(measured.grid_kw)
    grid_kwh = np.nan_to_num(measured.grid_kw) * history.duration_h
    battery_kwh = np.nan_to_num(measured.battery_kw) * history.duration_h
    samples = totals[kernel.SOC_SAMPLES]
    return Comparison(
        model=battery.model_name,
        measured_grid_import_kwh=float(np.maximum(-grid_kwh, 0).sum()),
        simulated_grid_import_kwh=float(flows["grid_import"][known_grid].sum()),
        measured_grid_export_kwh=float(np.maximum(grid_kwh, 0).sum()),
        simulated_grid_export_kwh=float(flows["grid_export"][known_grid].sum()),
        measured_battery_charge_kwh=float(np.maximum(-battery_kwh, 0).sum()),
        simulated_battery_charge_kwh=float(
            (flows["charge_from_pv"] + flows["charge_from_grid"]).sum()
        ),
        measured_battery_discharge_kwh=float(np.maximum(battery_kwh, 0).sum()),
        simulated_battery_discharge_kwh=float(flows["discharge"].sum()),
        soc_rmse=float(math.sqrt(totals[kernel.SOC_SQUARED_ERROR] / samples)) * soc_scale
        if samples
        else None,
        soc_mean_absolute_error=float(totals[kernel.SOC_ABSOLUTE_ERROR] / samples) * soc_scale
        if samples
        else None,
    )


def _soc_after_each_interval(history: History, installed: InstalledBattery) -> FloatArray:
    """The measured state of charge at each interval's end, as a share of the model's
    usable capacity (NaN where the next reading is missing or a gap follows)."""
    soc = _measured(history).soc / installed.max_soc
    after = np.full(soc.size, np.nan)
    after[:-1] = soc[1:]
    after[:-1][~np.isclose(history.elapsed_h[:-1], history.duration_h[:-1])] = np.nan
    return after


def _grid_error(totals: FloatArray, measured_import: float, measured_export: float) -> FloatArray:
    imported = totals[:, kernel.IMPORT]
    exported = totals[:, kernel.EXPORT]
    return ((imported - measured_import) / max(measured_import, 1e-9)) ** 2 + (
        (exported - measured_export) / max(measured_export, 1e-9)
    ) ** 2


def _best(values: FloatArray, scores: FloatArray) -> float:
    return float(values[int(np.argmin(scores))])


def _refined(values: FloatArray, best: float) -> FloatArray:
    step = float(values[1] - values[0])
    low, high = max(best - step, float(values[0])), best + step
    return np.linspace(low, high, REFINE_STEPS)


def backtest(
    history: History,
    *,
    system: LossModel | str | None = "SG1",
    capacity_kwh: float | None = None,
    tariff: Tariff = DEFAULT_TARIFF,
) -> Backtest:
    """Replay the history with the installed battery modelled, then calibrate the losses.

    `system` is the loss model to test (a `LossModel`, a system id, or None for the ideal
    battery); the calibration scales its conversion losses and fits a standby draw.
    """
    installed = installed_battery(history, capacity_kwh)
    losses = load_system(system) if isinstance(system, str) else system
    measured = _measured(history)
    known_soc = measured.soc[~np.isnan(measured.soc)]
    start_soc = float(known_soc[0]) if known_soc.size else installed.min_soc
    given_battery = installed.battery(losses, start_soc)
    base = _ideal_as_losses(given_battery) if losses is None else losses
    soc_end = _soc_after_each_interval(history, installed)
    title = history.title
    given = _compare(history, given_battery, tariff, soc_end, installed.max_soc)

    def candidates(factors: FloatArray, standby: FloatArray) -> tuple[FloatArray, list[Battery]]:
        batteries = [
            installed.battery(_calibrated(base, installed, f, s, title), start_soc)
            for f in factors
            for s in standby
        ]
        inputs = prepare(history, tariff, batteries[0], Strategy(), measured_soc=soc_end)
        rows = np.array([battery_row(b) for b in batteries])
        return kernel.battery_totals(inputs.series, rows), batteries

    has_soc = known_soc.size > 0
    measured_discharge = given.measured_battery_discharge_kwh

    def factor_score(totals: FloatArray) -> FloatArray:
        if has_soc:
            return totals[:, kernel.SOC_SQUARED_ERROR] / np.maximum(
                totals[:, kernel.SOC_SAMPLES], 1
            )
        return (totals[:, kernel.DISCHARGE] / max(measured_discharge, 1e-9) - 1) ** 2

    no_standby = np.zeros(1)
    totals, _ = candidates(LOSS_FACTORS, no_standby)
    factor = _best(LOSS_FACTORS, factor_score(totals))
    fine = _refined(LOSS_FACTORS, factor)
    totals, _ = candidates(fine, no_standby)
    factor = _best(fine, factor_score(totals))

    imported, exported = given.measured_grid_import_kwh, given.measured_grid_export_kwh
    totals, _ = candidates(np.array([factor]), STANDBY_WATTS)
    standby = _best(STANDBY_WATTS, _grid_error(totals, imported, exported))
    fine = _refined(STANDBY_WATTS, standby)
    totals, _ = candidates(np.array([factor]), fine)
    standby = _best(fine, _grid_error(totals, imported, exported))

    factor, standby = round(factor, 4), round(standby, 3)
    calibrated_losses = _calibrated(base, installed, factor, standby, title)
    calibrated = _compare(
        history, installed.battery(calibrated_losses, start_soc), tariff, soc_end, installed.max_soc
    )
    first = history.local_day()
    return Backtest(
        station_id=history.station_id,
        station_name=history.station_name,
        covered_days=history.coverage.covered_days,
        first_day=str(first[0]),
        last_day=str(first[-1]),
        installed=installed,
        given=given,
        calibrated=calibrated,
        calibrated_losses=calibrated_losses,
        loss_factor=factor,
        standby_w=standby,
        base_model=given_battery.model_name,
    )
