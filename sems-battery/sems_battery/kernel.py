"""Compiled inner loops: the state of charge is a recurrence over every interval.

A battery's state at one interval depends on the one before, so the time loop cannot be
vectorised; numpy over the capacities still costs a Python iteration per interval. These
loops are compiled with numba (cached on disk after the first run) and touch each interval
once per battery size.

Inputs come in two pieces: a `Series` of what every size shares (one value per interval)
and one parameter row per battery, its columns named by the constants below. numba takes
a NamedTuple of arrays and numbers as one argument, and a 2-D array of rows is what a
sweep hands over in one call.

The battery is PerMod's AC-coupled model (see `losses`): AC power p (kW) in or out costs a
conversion loss A n² + B n + C kW at n = p / rated power, and the cells keep the square
root of their round trip each way. An ideal battery is the special case B = (1 - eta) x
rated power, A = C = 0, lossless cells and no standby draw. Energy bookkeeping, in kWh over
an interval:
    AC bus:   pv + import + discharge = load + export + curtailed + charge + standby_ac
    battery:  E_end = E_start + charge - conversion - discharge - standby_dc - self-discharge
"""

from __future__ import annotations

import math
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
    measured_soc: FloatArray  # back-test: the state of charge measured (NaN: unknown; or empty)
    export_limit_kw: float


# Columns of a battery parameter row; powers in kW, energies in kWh.
(
    CAPACITY,
    CHARGE_KW,  # rated AC charging power
    DISCHARGE_KW,
    FLOOR_KWH,  # the reserve, never discharged into
    START_KWH,
    CHARGE_A,  # conversion loss charging: A n² + B n + C (kW); C is the minimum power
    CHARGE_B,
    CHARGE_C,
    DISCHARGE_A,
    DISCHARGE_B,
    DISCHARGE_C,
    CELL_EFFICIENCY,  # one way: the square root of the cells' round trip
    CHARGE_DEVIATION_KW,  # the controller settles this far off its set point
    DISCHARGE_DEVIATION_KW,
    STANDBY_CHARGED_AC_KW,
    STANDBY_CHARGED_DC_KW,
    STANDBY_DISCHARGED_AC_KW,
    STANDBY_DISCHARGED_DC_KW,
    PERIPHERAL_KW,  # drawn all the time
    HYSTERESIS_SOC,  # once full, no top-up until below this share
    LOOKAHEAD_DISCHARGE_EFFICIENCY,  # time-of-use: stored energy per kWh it must deliver
) = range(21)
PARAMETERS = 21

# Columns of a totals row.
(
    IMPORT,
    EXPORT,
    CURTAILED,
    CHARGE_PV,
    CHARGE_GRID,
    DISCHARGE,
    CONVERSION_LOSS,
    STANDBY_AC,
    STANDBY_DC,
    SELF_DISCHARGE,
    CELL_DISCHARGE,  # energy taken out of the cells, for equivalent full cycles
    IMPORT_COST,
    EXPORT_REVENUE,
    STORED_START,
    STORED_END,
    SOC_SQUARED_ERROR,  # back-test: sums over the intervals with a measured state of charge
    SOC_ABSOLUTE_ERROR,
    SOC_SAMPLES,
) = range(18)
TOTALS = 18

# Rows of a per-interval trace; the names are those of `simulation.Flows`.
TRACE_ROWS = (
    "grid_import",
    "grid_export",
    "curtailed",
    "charge_from_pv",
    "charge_from_grid",
    "discharge",
    "standby_ac",
    "standby_dc",
    "conversion_loss",
    "self_discharge",
    "stored_end",
)
TRACE_SIZE = len(TRACE_ROWS)
FULL = 1.0 - 1e-12  # state of charge that counts as full (for the hysteresis)


@njit(cache=True, nogil=True, inline="always")
def _loss(share: float, battery: FloatArray, first: int) -> float:
    """Conversion loss (kW) at a share of the rated power; `first` is CHARGE_A or
    DISCHARGE_A, followed by its B and C columns."""
    return battery[first] * share * share + battery[first + 1] * share + battery[first + 2]


@njit(cache=True, nogil=True, inline="always")
def _power_to_store(energy: float, dt: float, battery: FloatArray) -> float:
    """AC charging power that stores `energy` in `dt`: solves (p - loss(p)) x cells x dt."""
    rated = battery[CHARGE_KW]
    quadratic = battery[CHARGE_A] / (rated * rated)
    linear = battery[CHARGE_B] / rated - 1.0
    constant = battery[CHARGE_C] + energy / (battery[CELL_EFFICIENCY] * dt)
    discriminant = linear * linear - 4.0 * quadratic * constant
    if discriminant < 0.0:
        return math.inf  # more than the converter can store at any power
    return 2.0 * constant / (-linear + math.sqrt(discriminant))


@njit(cache=True, nogil=True, inline="always")
def _power_from_store(energy: float, dt: float, battery: FloatArray) -> float:
    """AC power delivered while taking `energy` from the cells in `dt`."""
    rated = battery[DISCHARGE_KW]
    quadratic = battery[DISCHARGE_A] / (rated * rated)
    linear = battery[DISCHARGE_B] / rated + 1.0
    constant = battery[DISCHARGE_C] - energy * battery[CELL_EFFICIENCY] / dt
    if constant >= 0.0:
        return 0.0  # not even the idle loss can be paid
    discriminant = linear * linear - 4.0 * quadratic * constant
    if discriminant < 0.0:
        return math.inf
    return -2.0 * constant / (linear + math.sqrt(discriminant))


@njit(cache=True, nogil=True)
def _run_battery(  # noqa: PLR0915 - one pass over the interval, kept together for speed
    series: Series, battery: FloatArray, totals: FloatArray, trace: FloatArray
) -> None:
    pv, load, duration = series.pv_kw, series.load_kw, series.duration_h
    capacity = battery[CAPACITY]
    active = capacity > 0.0
    charge_kw, discharge_kw = battery[CHARGE_KW], battery[DISCHARGE_KW]
    cells = battery[CELL_EFFICIENCY]
    floor_kwh = battery[FLOOR_KWH]
    peripheral_kw = battery[PERIPHERAL_KW] if active else 0.0
    record = trace.shape[1] == pv.size
    compare = series.measured_soc.size == pv.size and active
    stored = battery[START_KWH]
    topped_up = active and stored >= capacity * FULL  # full, not yet below the hysteresis
    imported = exported = curtailed_sum = charged_pv = charged_grid = discharged = 0.0
    conversion_sum = standby_ac_sum = standby_dc_sum = self_loss_sum = cell_out = 0.0
    cost = revenue = soc_squared = soc_absolute = soc_samples = 0.0
    for i in range(pv.size):
        dt = duration[i]
        net = (pv[i] - load[i]) * dt
        house = net - peripheral_kw * dt  # what the battery's set point sees (+ surplus)
        charge = discharge = conversion = standby_ac = standby_dc = 0.0
        if active:
            # Charging: PV surplus, and in a cheap interval what the dear hours ahead need.
            wanted = house / dt if house > 0.0 else 0.0
            hold = floor_kwh
            need = series.grid_need_kwh[i]
            if need > 0.0:
                target = min(capacity, floor_kwh + need / battery[LOOKAHEAD_DISCHARGE_EFFICIENCY])
                hold = max(hold, target)
                if stored < target:
                    wanted = max(wanted, _power_to_store(target - stored, dt, battery))
            may_charge = stored < capacity * (battery[HYSTERESIS_SOC] if topped_up else FULL)
            if wanted > 0.0 and may_charge and charge_kw > 0.0:
                fill = _power_to_store(capacity - stored, dt, battery)
                power = min(wanted, charge_kw, fill)
                if power > battery[CHARGE_C]:
                    power = max(battery[CHARGE_C], power + battery[CHARGE_DEVIATION_KW])
                    power = min(power, charge_kw, fill)
                    loss = _loss(power / charge_kw, battery, CHARGE_A)
                    gain = max(power - loss, 0.0) * cells * dt
                    charge = power * dt
                    conversion = charge - gain
                    stored = min(stored + gain, capacity)
            deficit = -house / dt if house < 0.0 else 0.0
            if charge == 0.0 and deficit > 0.0 and stored > hold and discharge_kw > 0.0:
                empty = _power_from_store(stored - hold, dt, battery)
                power = min(deficit, discharge_kw, empty)
                if power > battery[DISCHARGE_C]:
                    power = max(battery[DISCHARGE_C], power + battery[DISCHARGE_DEVIATION_KW])
                    power = min(power, discharge_kw, empty)
                    loss = _loss(power / discharge_kw, battery, DISCHARGE_A)
                    drop = min((power + loss) / cells * dt, stored)
                    discharge = power * dt
                    conversion = drop - discharge
                    cell_out += drop
                    stored = stored - drop
            standby_ac = peripheral_kw * dt
            if charge == 0.0 and discharge == 0.0:
                if stored <= floor_kwh + 1e-9:
                    idle_ac = battery[STANDBY_DISCHARGED_AC_KW]
                    idle_dc = battery[STANDBY_DISCHARGED_DC_KW]
                else:
                    idle_ac = battery[STANDBY_CHARGED_AC_KW]
                    idle_dc = battery[STANDBY_CHARGED_DC_KW]
                standby_ac += idle_ac * dt
                standby_dc = min(idle_dc * dt, stored)
                stored -= standby_dc
        grid = net - charge + discharge - standby_ac  # + export
        grid_import = -grid if grid < 0.0 else 0.0
        export = grid if grid > 0.0 else 0.0
        charge_pv = min(charge, house) if house > 0.0 else 0.0
        charge_grid = charge - charge_pv

        curtailed = 0.0
        limit = series.export_limit_kw * dt
        if export > limit:
            curtailed = export - limit
            export = limit

        before = stored
        stored = stored * series.retention[i]
        self_loss = before - stored
        if active:
            soc = stored / capacity
            topped_up = (topped_up and soc > battery[HYSTERESIS_SOC]) or soc >= FULL
            if compare and not math.isnan(series.measured_soc[i]):
                error = soc - series.measured_soc[i]
                soc_squared += error * error
                soc_absolute += abs(error)
                soc_samples += 1.0

        imported += grid_import
        exported += export
        curtailed_sum += curtailed
        charged_pv += charge_pv
        charged_grid += charge_grid
        discharged += discharge
        conversion_sum += conversion
        standby_ac_sum += standby_ac
        standby_dc_sum += standby_dc
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
            trace[6, i] = standby_ac
            trace[7, i] = standby_dc
            trace[8, i] = conversion
            trace[9, i] = self_loss
            trace[10, i] = stored

    totals[IMPORT] = imported
    totals[EXPORT] = exported
    totals[CURTAILED] = curtailed_sum
    totals[CHARGE_PV] = charged_pv
    totals[CHARGE_GRID] = charged_grid
    totals[DISCHARGE] = discharged
    totals[CONVERSION_LOSS] = conversion_sum
    totals[STANDBY_AC] = standby_ac_sum
    totals[STANDBY_DC] = standby_dc_sum
    totals[SELF_DISCHARGE] = self_loss_sum
    totals[CELL_DISCHARGE] = cell_out
    totals[IMPORT_COST] = cost
    totals[EXPORT_REVENUE] = revenue
    totals[STORED_START] = battery[START_KWH]
    totals[STORED_END] = stored
    totals[SOC_SQUARED_ERROR] = soc_squared
    totals[SOC_ABSOLUTE_ERROR] = soc_absolute
    totals[SOC_SAMPLES] = soc_samples


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
