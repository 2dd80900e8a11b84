"""Compiled inner loops: the state of charge is a recurrence over every interval.

A battery's state at one interval depends on the one before, so the time loop cannot be
vectorised; numpy over the capacities still costs a Python iteration per interval. These
loops are compiled with numba (cached on disk after the first run) and touch each interval
once per battery size.

Energy bookkeeping, all in kWh on the house's AC bus over an interval of `duration` hours:
    pv + import + discharge = load + export + curtailed + charge_from_pv + charge_from_grid
and in the battery (stored energy E):
    E_end = (E_start + charge * eta_c - discharge / eta_d) * retention
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sems_battery.history import FloatArray, IntArray

# Indices of `battery_totals` results.
IMPORT, EXPORT, CURTAILED, CHARGE_PV, CHARGE_GRID, DISCHARGE = 0, 1, 2, 3, 4, 5
CONVERSION_LOSS, SELF_DISCHARGE, IMPORT_COST, EXPORT_REVENUE, STORED_START, STORED_END = (
    6,
    7,
    8,
    9,
    10,
    11,
)
TOTALS = 12
# Rows of a per-interval trace.
TRACE_ROWS = (
    "import",
    "export",
    "curtailed",
    "charge_pv",
    "charge_grid",
    "discharge",
    "self_discharge",
    "stored_end",
)
TRACE_SIZE = len(TRACE_ROWS)


@njit(cache=True, nogil=True)
def _run_battery(  # noqa: PLR0915, PLR0917 - numba takes positional arguments only
    pv: FloatArray,
    load: FloatArray,
    duration: FloatArray,
    retention: FloatArray,
    import_price: FloatArray,
    export_price: FloatArray,
    grid_need: FloatArray,
    export_limit_kw: float,
    capacity: float,
    charge_kw: float,
    discharge_kw: float,
    eta_charge: float,
    eta_discharge: float,
    floor_kwh: float,
    stored_start: float,
    totals: FloatArray,
    trace: FloatArray,
) -> None:
    record = trace.shape[1] == pv.size
    stored = stored_start
    imported = exported = curtailed_sum = charged_pv = charged_grid = discharged = 0.0
    conversion = self_loss_sum = cost = revenue = 0.0
    for i in range(pv.size):
        dt = duration[i]
        net = (pv[i] - load[i]) * dt
        surplus = net if net > 0.0 else 0.0
        deficit = -net if net < 0.0 else 0.0
        charge_cap = charge_kw * dt

        charge_pv = min(surplus, charge_cap, (capacity - stored) / eta_charge)
        charge_pv = max(charge_pv, 0.0)
        stored = min(stored + charge_pv * eta_charge, capacity)
        export = surplus - charge_pv

        hold = floor_kwh
        charge_grid = 0.0
        if grid_need[i] > 0.0:
            target = min(capacity, floor_kwh + grid_need[i] / eta_discharge)
            if stored < target:
                charge_grid = min(charge_cap - charge_pv, (target - stored) / eta_charge)
                charge_grid = max(charge_grid, 0.0)
                stored = min(stored + charge_grid * eta_charge, capacity)
            hold = max(hold, target)

        available = (stored - hold) * eta_discharge
        discharge = min(deficit, discharge_kw * dt, available)
        discharge = max(discharge, 0.0)
        stored = max(stored - discharge / eta_discharge, 0.0)
        grid_import = deficit - discharge + charge_grid

        curtailed = 0.0
        limit = export_limit_kw * dt
        if export > limit:
            curtailed = export - limit
            export = limit

        before = stored
        stored = stored * retention[i]
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
        cost += grid_import * import_price[i]
        revenue += export * export_price[i]
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
    totals[STORED_START] = stored_start
    totals[STORED_END] = stored


@njit(cache=True, nogil=True)
def _run_sizes(  # noqa: PLR0917 - numba takes positional arguments only
    pv: FloatArray,
    load: FloatArray,
    duration: FloatArray,
    retention: FloatArray,
    import_price: FloatArray,
    export_price: FloatArray,
    grid_need: FloatArray,
    export_limit_kw: float,
    capacities: FloatArray,
    charge_kw: FloatArray,
    discharge_kw: FloatArray,
    eta_charge: float,
    eta_discharge: float,
    floor_share: float,
    start_share: float,
    totals: FloatArray,
) -> None:
    no_trace = np.empty((TRACE_SIZE, 0))
    for k in range(capacities.size):
        capacity = capacities[k]
        _run_battery(
            pv,
            load,
            duration,
            retention,
            import_price,
            export_price,
            grid_need,
            export_limit_kw,
            capacity,
            charge_kw[k],
            discharge_kw[k],
            eta_charge,
            eta_discharge,
            floor_share * capacity,
            start_share * capacity,
            totals[k],
            no_trace,
        )


def battery_totals(
    *,
    pv_kw: FloatArray,
    load_kw: FloatArray,
    duration_h: FloatArray,
    retention: FloatArray,
    import_price: FloatArray,
    export_price: FloatArray,
    grid_need_kwh: FloatArray,
    export_limit_kw: float,
    capacities_kwh: FloatArray,
    charge_kw: FloatArray,
    discharge_kw: FloatArray,
    eta_charge: float,
    eta_discharge: float,
    floor_share: float,
    start_share: float,
) -> FloatArray:
    """Totals over the history (columns: the index constants above), one row per size."""
    totals = np.zeros((capacities_kwh.size, TOTALS))
    _run_sizes(
        pv_kw,
        load_kw,
        duration_h,
        retention,
        import_price,
        export_price,
        grid_need_kwh,
        float(export_limit_kw),
        np.ascontiguousarray(capacities_kwh, dtype=np.float64),
        np.ascontiguousarray(charge_kw, dtype=np.float64),
        np.ascontiguousarray(discharge_kw, dtype=np.float64),
        float(eta_charge),
        float(eta_discharge),
        float(floor_share),
        float(start_share),
        totals,
    )
    return totals


def battery_trace(
    *,
    pv_kw: FloatArray,
    load_kw: FloatArray,
    duration_h: FloatArray,
    retention: FloatArray,
    import_price: FloatArray,
    export_price: FloatArray,
    grid_need_kwh: FloatArray,
    export_limit_kw: float,
    capacity_kwh: float,
    charge_kw: float,
    discharge_kw: float,
    eta_charge: float,
    eta_discharge: float,
    floor_share: float,
    start_share: float,
) -> tuple[FloatArray, FloatArray]:
    """Totals and the per-interval flows (rows: TRACE_ROWS) of one battery."""
    totals = np.zeros(TOTALS)
    trace = np.zeros((TRACE_SIZE, pv_kw.size))
    _run_battery(
        pv_kw,
        load_kw,
        duration_h,
        retention,
        import_price,
        export_price,
        grid_need_kwh,
        float(export_limit_kw),
        float(capacity_kwh),
        float(charge_kw),
        float(discharge_kw),
        float(eta_charge),
        float(eta_discharge),
        float(floor_share * capacity_kwh),
        float(start_share * capacity_kwh),
        totals,
        trace,
    )
    return totals, trace


@njit(cache=True, nogil=True)
def _grid_need(  # noqa: PLR0917 - numba takes positional arguments only
    time_us: IntArray,
    net_kwh: FloatArray,
    import_price: FloatArray,
    cheap: np.ndarray,
    round_trip: float,
    pv_to_load: float,
    horizon_us: int,
    need: FloatArray,
) -> None:
    for i in range(time_us.size):
        if not cheap[i]:
            continue
        price = import_price[i]
        running = 0.0
        required = 0.0
        seen_dear = False
        j = i + 1
        while j < time_us.size and time_us[j] - time_us[i] <= horizon_us:
            dear = import_price[j] * round_trip > price
            if dear:
                seen_dear = True
            elif seen_dear and import_price[j] <= price:
                break  # the next cheap window can charge for what comes after it
            if net_kwh[j] > 0.0:
                running -= net_kwh[j] * pv_to_load
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
    _grid_need(
        time_us,
        np.ascontiguousarray(net_kwh, dtype=np.float64),
        np.ascontiguousarray(import_price, dtype=np.float64),
        np.ascontiguousarray(cheap, dtype=np.bool_),
        float(round_trip),
        float(round_trip),
        round(horizon_hours * 3_600_000_000),
        need,
    )
    return need
