"""Compiled inner loops: the state of charge is a recurrence over every interval.

A battery's state at one interval depends on the one before, so the time loop cannot be
vectorised; numpy over the capacities still costs a Python iteration per interval. These
loops are compiled with numba (cached on disk after the first run) and touch each interval
once per battery size.

Inputs come in two pieces: a `Series` of what every size shares (one value per interval)
and one parameter row per battery, its columns named by the constants below. numba takes
a NamedTuple of arrays and numbers as one argument, and a 2-D array of rows is what a
sweep hands over in one call.

Energy bookkeeping, all in kWh on the house's AC bus over an interval of `duration` hours:
    pv + import + discharge = load + export + curtailed + charge_from_pv + charge_from_grid
and in the battery (stored energy E):
    E_end = (E_start + charge * eta_c - discharge / eta_d) * retention
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sems_battery.history import FloatArray, IntArray


class Series(NamedTuple):
    """Per-interval inputs that every battery size shares."""

    pv_kw: FloatArray
    load_kw: FloatArray
    duration_h: FloatArray
    retention: FloatArray  # share of the stored energy left after the interval
    import_price: FloatArray
    export_price: FloatArray
    grid_need_kwh: FloatArray  # time-of-use: AC energy worth buying now (0: none)
    export_limit_kw: float


# Columns of a battery parameter row.
CAPACITY, CHARGE_KW, DISCHARGE_KW, ETA_CHARGE, ETA_DISCHARGE, FLOOR_KWH, START_KWH = range(7)
PARAMETERS = 7

# Columns of a totals row.
(
    IMPORT,
    EXPORT,
    CURTAILED,
    CHARGE_PV,
    CHARGE_GRID,
    DISCHARGE,
    CONVERSION_LOSS,
    SELF_DISCHARGE,
    IMPORT_COST,
    EXPORT_REVENUE,
    STORED_START,
    STORED_END,
) = range(12)
TOTALS = 12

# Rows of a per-interval trace; the names are those of `simulation.Flows`.
TRACE_ROWS = (
    "grid_import",
    "grid_export",
    "curtailed",
    "charge_from_pv",
    "charge_from_grid",
    "discharge",
    "self_discharge",
    "stored_end",
)
TRACE_SIZE = len(TRACE_ROWS)


@njit(cache=True, nogil=True)
def _run_battery(  # noqa: PLR0915 - one pass over the interval, kept together for speed
    series: Series, battery: FloatArray, totals: FloatArray, trace: FloatArray
) -> None:
    pv, load, duration = series.pv_kw, series.load_kw, series.duration_h
    capacity = battery[CAPACITY]
    eta_charge, eta_discharge = battery[ETA_CHARGE], battery[ETA_DISCHARGE]
    floor_kwh = battery[FLOOR_KWH]
    record = trace.shape[1] == pv.size
    stored = battery[START_KWH]
    imported = exported = curtailed_sum = charged_pv = charged_grid = discharged = 0.0
    conversion = self_loss_sum = cost = revenue = 0.0
    for i in range(pv.size):
        dt = duration[i]
        net = (pv[i] - load[i]) * dt
        surplus = net if net > 0.0 else 0.0
        deficit = -net if net < 0.0 else 0.0
        charge_cap = battery[CHARGE_KW] * dt

        charge_pv = min(surplus, charge_cap, (capacity - stored) / eta_charge)
        charge_pv = max(charge_pv, 0.0)
        stored = min(stored + charge_pv * eta_charge, capacity)
        export = surplus - charge_pv

        hold = floor_kwh
        charge_grid = 0.0
        need = series.grid_need_kwh[i]
        if need > 0.0:
            target = min(capacity, floor_kwh + need / eta_discharge)
            if stored < target:
                charge_grid = min(charge_cap - charge_pv, (target - stored) / eta_charge)
                charge_grid = max(charge_grid, 0.0)
                stored = min(stored + charge_grid * eta_charge, capacity)
            hold = max(hold, target)

        available = (stored - hold) * eta_discharge
        discharge = min(deficit, battery[DISCHARGE_KW] * dt, available)
        discharge = max(discharge, 0.0)
        stored = max(stored - discharge / eta_discharge, 0.0)
        grid_import = deficit - discharge + charge_grid

        curtailed = 0.0
        limit = series.export_limit_kw * dt
        if export > limit:
            curtailed = export - limit
            export = limit

        before = stored
        stored = stored * series.retention[i]
        self_loss = before - stored

        imported += grid_import
        exported += export
        curtailed_sum += curtailed
        charged_pv += charge_pv
        charged_grid += charge_grid
        discharged += discharge
        conversion += (charge_pv + charge_grid) * (1.0 - eta_charge) + discharge * (
            1.0 / eta_discharge - 1.0
        )
        self_loss_sum += self_loss
        cost += grid_import * series.import_price[i]
        revenue += export * series.export_price[i]
        if record:
            trace[0, i] = grid_import
            trace[1, i] = export
            trace[2, i] = curtailed
            trace[3, i] = charge_pv
            trace[4, i] = charge_grid
            trace[5, i] = discharge
            trace[6, i] = self_loss
            trace[7, i] = stored

    totals[IMPORT] = imported
    totals[EXPORT] = exported
    totals[CURTAILED] = curtailed_sum
    totals[CHARGE_PV] = charged_pv
    totals[CHARGE_GRID] = charged_grid
    totals[DISCHARGE] = discharged
    totals[CONVERSION_LOSS] = conversion
    totals[SELF_DISCHARGE] = self_loss_sum
    totals[IMPORT_COST] = cost
    totals[EXPORT_REVENUE] = revenue
    totals[STORED_START] = battery[START_KWH]
    totals[STORED_END] = stored


@njit(cache=True, nogil=True)
def _run_sizes(series: Series, batteries: FloatArray, totals: FloatArray) -> None:
    no_trace = np.empty((TRACE_SIZE, 0))
    for k in range(batteries.shape[0]):
        _run_battery(series, batteries[k], totals[k], no_trace)


def battery_totals(series: Series, batteries: FloatArray) -> FloatArray:
    """Totals over the history (columns: the constants above), one row per battery row."""
    rows = np.ascontiguousarray(batteries, dtype=np.float64).reshape(-1, PARAMETERS)
    totals = np.zeros((rows.shape[0], TOTALS))
    _run_sizes(series, rows, totals)
    return totals


def battery_trace(series: Series, battery: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Totals and the per-interval flows (rows: TRACE_ROWS) of one battery."""
    totals = np.zeros(TOTALS)
    trace = np.zeros((TRACE_SIZE, series.pv_kw.size))
    _run_battery(series, np.ascontiguousarray(battery, dtype=np.float64), totals, trace)
    return totals, trace


class Lookahead(NamedTuple):
    """What the time-of-use look-ahead reads: the history's net demand and its prices."""

    time_us: IntArray
    net_kwh: FloatArray
    import_price: FloatArray
    cheap: np.ndarray
    round_trip: float
    horizon_us: int


@njit(cache=True, nogil=True)
def _grid_need(ahead: Lookahead, need: FloatArray) -> None:
    time_us, net_kwh, import_price = ahead.time_us, ahead.net_kwh, ahead.import_price
    round_trip = ahead.round_trip
    for i in range(time_us.size):
        if not ahead.cheap[i]:
            continue
        price = import_price[i]
        running = 0.0
        required = 0.0
        seen_dear = False
        j = i + 1
        while j < time_us.size and time_us[j] - time_us[i] <= ahead.horizon_us:
            dear = import_price[j] * round_trip > price
            if dear:
                seen_dear = True
            elif seen_dear and import_price[j] <= price:
                break  # the next cheap window can charge for what comes after it
            if net_kwh[j] > 0.0:
                running -= net_kwh[j] * round_trip
            elif dear:
                running -= net_kwh[j]
                required = max(required, running)
            j += 1
        need[i] = required


def grid_charge_need(
    *,
    time_us: IntArray,
    net_kwh: FloatArray,
    import_price: FloatArray,
    cheap: np.ndarray,
    round_trip: float,
    horizon_hours: float,
) -> FloatArray:
    """AC energy worth buying now to serve dearer demand before the next cheap window.

    For each cheap interval: the largest running shortfall over the coming horizon, where
    demand counts only in intervals dear enough to repay the round-trip loss and PV
    surplus on the way (stored and returned at the round trip) reduces it. This reads the
    history ahead, i.e. a perfect day-ahead forecast: an upper bound of what a real
    controller achieves.
    """
    need = np.zeros(time_us.size)
    ahead = Lookahead(
        time_us=time_us,
        net_kwh=np.ascontiguousarray(net_kwh, dtype=np.float64),
        import_price=np.ascontiguousarray(import_price, dtype=np.float64),
        cheap=np.ascontiguousarray(cheap, dtype=np.bool_),
        round_trip=float(round_trip),
        horizon_us=round(horizon_hours * 3_600_000_000),
    )
    _grid_need(ahead, need)
    return need
