"""Invariants of the battery model, on a synthetic 5-minute year and on hand-made days."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from sems_battery import (
    Battery,
    Economics,
    ParameterError,
    Strategy,
    Tariff,
    build_history,
    simulate,
    sweep,
)
from sems_battery.history import History
from sems_battery.losses import load_system
from sems_battery.simulation import SimulationResult, baseline_flows
from sems_battery.tariff import parse_tariff

HOUR_US = 3_600_000_000
TOU = parse_tariff(
    {
        "import": {"price": 0.40, "periods": [{"hours": "00:00-06:00", "price": 0.12}]},
        "export": {"price": 0.07},
        "export_limit_kw": 3.0,
    }
)


def scaled(history: History, factor: float) -> History:
    return dataclasses.replace(
        history, pv_kw=history.pv_kw * factor, load_kw=history.load_kw * factor
    )


def assert_energy_is_conserved(run: SimulationResult) -> None:
    """PV + import + discharge = load + export + curtailed + charge + standby, every interval."""
    history, flows = run.inputs.history, run.flows
    supply = history.pv_kw * history.duration_h + flows.grid_import + flows.discharge
    demand = (
        history.load_kw * history.duration_h
        + flows.grid_export
        + flows.curtailed
        + flows.charge
        + flows.standby_ac
    )
    assert np.abs(supply - demand).max() < 1e-9
    # Inside the battery: what went in, minus losses, is what it holds.
    before = np.r_[flows.stored_start, flows.stored_end[:-1]]
    expected = (
        before
        + flows.charge
        - flows.discharge
        - flows.conversion_loss
        - flows.standby_dc
        - flows.self_discharge
    )
    assert np.abs(expected - flows.stored_end).max() < 1e-9
    if run.battery.is_ideal:
        ideal_loss = flows.charge * (1 - run.battery.charge_efficiency) + flows.discharge * (
            1 / run.battery.discharge_efficiency - 1
        )
        assert np.abs(flows.conversion_loss - ideal_loss).max() < 1e-9


def test_zero_capacity_reproduces_the_baseline_exactly(year_history: History) -> None:
    run = simulate(year_history, Battery(0.0), tariff=TOU)
    baseline = baseline_flows(year_history, export_limit_kw=3.0)
    for name in ("grid_import", "grid_export", "curtailed"):
        assert np.array_equal(getattr(run.flows, name), getattr(baseline, name)), name
    assert not run.flows.charge.any() and not run.flows.discharge.any()
    assert run.result.annual_savings == 0.0
    assert run.result.grid_import_kwh == pytest.approx(baseline.grid_import.sum(), rel=1e-12)
    table = sweep(year_history, [0, 5], tariff=TOU)
    assert table.sizes[0].cost_with == table.sizes[0].cost_without


@pytest.mark.parametrize(
    ("strategy", "system"),
    [("self-consumption", None), ("time-of-use", None), ("time-of-use", "S2")],
)
def test_energy_is_conserved_in_every_interval(
    year_history: History, strategy: str, system: str | None
) -> None:
    losses = None if system is None else load_system(system)
    battery = Battery(7.5, min_soc=0.1, self_discharge_per_month=0.03, losses=losses)
    run = simulate(year_history, battery, tariff=TOU, strategy=Strategy(strategy))  # type: ignore[arg-type]
    assert_energy_is_conserved(run)
    assert run.flows.curtailed.sum() > 0  # the 3 kW export limit bites on sunny days
    totals = run.result
    # Losses are what went in (standby from the AC side too) minus what came out minus what
    # is still stored.
    factor = year_history.coverage.annualisation_factor
    stored_gain = (run.flows.stored_end[-1] - run.flows.stored_start) * factor
    drawn = totals.battery_charge_kwh + run.flows.standby_ac.sum() * factor
    assert drawn - totals.battery_discharge_kwh == pytest.approx(
        totals.losses_kwh + stored_gain, rel=1e-9
    )
    assert (totals.standby_kwh > 0) == (system is not None)


def test_state_of_charge_stays_within_bounds(year_history: History) -> None:
    battery = Battery(10.0, min_soc=0.2, initial_soc=0.5)
    for strategy in ("self-consumption", "time-of-use"):
        run = simulate(year_history, battery, tariff=TOU, strategy=Strategy(strategy))  # type: ignore[arg-type]
        stored = run.flows.stored_end
        assert stored.min() >= 0.0
        assert stored.max() <= 10.0 + 1e-12
        assert stored.max() > 9.9  # it does fill up
        discharging = run.flows.discharge > 0
        # Discharge to the house never digs into the reserve (self-discharge may, slowly).
        after_discharge = stored[discharging] + run.flows.self_discharge[discharging]
        assert after_discharge.min() >= 2.0 - 1e-9


def test_savings_never_decrease_and_their_increments_shrink(year_history: History) -> None:
    capacities = np.arange(0, 20.01, 1.0)
    result = sweep(year_history, capacities, tariff=Tariff.flat(0.32, 0.08))
    savings = np.array([size.annual_savings for size in result.sizes])
    autarky = np.array([size.self_sufficiency_rate for size in result.sizes])
    increments = np.diff(savings)
    assert (increments >= -1e-9).all()
    assert (np.diff(autarky) >= -1e-12).all()
    assert (np.diff(increments) <= 1e-6).all()
    assert increments[0] > 10 * increments[-1]  # strongly diminishing


def test_rates_depend_only_on_the_ratios_to_consumption(year_history: History) -> None:
    battery = Battery(5.0, charge_power_kw=2.5, discharge_power_kw=2.5)
    small = simulate(year_history, battery, tariff=TOU).result
    factor = 2.5
    big_tariff = dataclasses.replace(TOU, export_limit_kw=3.0 * factor)
    big_battery = dataclasses.replace(
        battery, capacity_kwh=12.5, charge_power_kw=6.25, discharge_power_kw=6.25
    )
    big = simulate(scaled(year_history, factor), big_battery, tariff=big_tariff).result
    assert big.self_sufficiency_rate == pytest.approx(small.self_sufficiency_rate, rel=1e-9)
    assert big.self_consumption_rate == pytest.approx(small.self_consumption_rate, rel=1e-9)
    assert big.equivalent_full_cycles == pytest.approx(small.equivalent_full_cycles, rel=1e-9)
    assert big.grid_import_kwh == pytest.approx(factor * small.grid_import_kwh, rel=1e-9)


def test_results_do_not_depend_on_how_the_data_was_batched(
    year_arrays: dict[str, np.ndarray], year_history: History
) -> None:
    order = np.random.default_rng(11).permutation(year_arrays["time_us"].size)
    overlap = order[:5000]  # a batch delivered twice
    picked = np.r_[order, overlap]
    messy = build_history(
        year_arrays["time_us"][picked],
        pv_w=year_arrays["pv_w"][picked],
        load_w=year_arrays["load_w"][picked],
        local_us=year_arrays["local_us"][picked],
        local_time_source=year_history.local_time_source,
    )
    capacities = [0, 2.5, 5, 10]
    clean = sweep(year_history, capacities, tariff=TOU).records()
    assert sweep(messy, capacities, tariff=TOU).records() == clean


def test_sweep_rows_match_single_simulations(year_history: History) -> None:
    battery = Battery(0.0, c_rate=0.4, charge_efficiency=0.96, discharge_efficiency=0.94)
    table = sweep(year_history, [2.5, 5.0, 10.0], battery=battery, tariff=TOU)
    for size in table.sizes:
        single = simulate(year_history, battery.sized(size.capacity_kwh), tariff=TOU).result
        for name in ("grid_import_kwh", "grid_export_kwh", "annual_savings", "losses_kwh"):
            assert getattr(size, name) == getattr(single, name), name


def test_swept_net_present_value_is_close_to_the_exact_one(year_history: History) -> None:
    economics = Economics(capacity_fade_per_year=0.03, lifetime_years=12)
    battery = Battery(0.0, charge_power_kw=4.0, discharge_power_kw=4.0)
    table = sweep(year_history, np.arange(0, 12.01, 0.5), battery=battery, economics=economics)
    swept = next(size for size in table.sizes if size.capacity_kwh == 8.0)
    exact = simulate(year_history, battery.sized(8.0), economics=economics).result
    assert swept.net_present_value == pytest.approx(exact.net_present_value, rel=0.01)
    # And fade costs value: without it the battery is worth more.
    no_fade = simulate(
        year_history,
        battery.sized(8.0),
        economics=Economics(capacity_fade_per_year=0.0, lifetime_years=12),
    ).result
    assert no_fade.net_present_value > exact.net_present_value


def hand_made(pv_kw: list[float], load_kw: list[float], step_hours: float = 1.0) -> History:
    time_us = (np.arange(len(pv_kw)) * step_hours * HOUR_US).astype(np.int64)
    return build_history(
        time_us,
        pv_w=np.asarray(pv_kw) * 1000,
        load_w=np.asarray(load_kw) * 1000,
        gap_limit_minutes=step_hours * 60,
    )


def test_efficiency_and_power_limits_act_as_stated() -> None:
    # Two hours of 3 kW surplus, then two hours of 3 kW demand; power limits are AC side.
    history = hand_made([3.0, 3.0, 0.0, 0.0], [0.0, 0.0, 3.0, 3.0])
    battery = Battery(
        10.0,
        charge_power_kw=2.0,
        discharge_power_kw=2.0,
        charge_efficiency=0.9,
        discharge_efficiency=0.8,
        self_discharge_per_month=0.0,
    )
    flows = simulate(history, battery).flows
    assert flows.charge_from_pv.tolist() == pytest.approx([2.0, 2.0, 0.0, 0.0])
    assert flows.grid_export.tolist() == pytest.approx([1.0, 1.0, 0.0, 0.0])
    # 2 kWh in at 90% stores 1.8; 2 kWh out at 80% takes 2.5; then only 1.1 x 0.8 is left.
    assert flows.stored_end.tolist() == pytest.approx([1.8, 3.6, 1.1, 0.0])
    assert flows.discharge.tolist() == pytest.approx([0.0, 0.0, 2.0, 0.88])
    assert flows.grid_import.tolist() == pytest.approx([0.0, 0.0, 1.0, 2.12])


def test_self_discharge_drains_the_stated_share_per_month() -> None:
    hours = 730.5  # one month
    history = hand_made([0.0, 0.0], [0.0, 0.0], step_hours=hours)
    battery = Battery(10.0, initial_soc=1.0, self_discharge_per_month=0.05)
    flows = simulate(history, battery).flows
    assert flows.stored_end.tolist() == pytest.approx([9.5, 9.025])


def test_a_partial_year_is_annualised(year_history: History) -> None:
    first_90_days = year_history.time_us < year_history.time_us[0] + 90 * 24 * HOUR_US
    part = build_history(
        year_history.time_us[first_90_days],
        pv_w=year_history.pv_kw[first_90_days] * 1000,
        load_w=year_history.load_kw[first_90_days] * 1000,
    )
    assert part.coverage.annualisation_factor == pytest.approx(365 / 90)
    run = simulate(part, Battery(5.0), tariff=Tariff.flat(0.3, 0.1))
    assert run.result.grid_import_kwh == pytest.approx(run.flows.grid_import.sum() * 365 / 90)
    assert run.result.load_kwh == pytest.approx(part.load_kwh * 365 / 90)


def test_monthly_fee_is_in_both_costs_but_not_in_the_savings(year_history: History) -> None:
    plain = sweep(year_history, [5.0], tariff=Tariff.flat(0.3, 0.08)).sizes[0]
    with_fee = sweep(year_history, [5.0], tariff=Tariff.flat(0.3, 0.08, monthly_fee=15.0)).sizes[0]
    assert with_fee.cost_without == pytest.approx(plain.cost_without + 180.0)
    assert with_fee.cost_with == pytest.approx(plain.cost_with + 180.0)
    assert with_fee.annual_savings == pytest.approx(plain.annual_savings)


def test_time_of_use_charges_from_the_grid_only_when_cheap(year_history: History) -> None:
    battery = Battery(10.0)
    tou = simulate(year_history, battery, tariff=TOU, strategy=Strategy("time-of-use"))
    own = simulate(year_history, battery, tariff=TOU)
    charged = tou.flows.charge_from_grid > 0
    assert charged.sum() > 100
    assert (tou.inputs.import_price[charged] == 0.12).all()
    assert own.flows.charge_from_grid.sum() == 0
    assert tou.result.annual_savings > own.result.annual_savings
    assert tou.result.grid_charge_kwh > 0


def test_time_of_use_does_nothing_extra_on_a_flat_tariff(year_history: History) -> None:
    flat = Tariff.flat(0.3, 0.08)
    tou = simulate(year_history, Battery(5.0), tariff=flat, strategy=Strategy("time-of-use"))
    own = simulate(year_history, Battery(5.0), tariff=flat)
    assert np.array_equal(tou.flows.grid_import, own.flows.grid_import)
    assert tou.result.annual_savings == own.result.annual_savings


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Battery(-1.0), "capacity must be 0 or more"),
        (
            lambda: Battery(5.0, charge_efficiency=1.2),
            "charge efficiency must be above 0 and at most 1",
        ),
        (lambda: Battery(5.0, discharge_efficiency=0.0), "discharge efficiency"),
        (lambda: Battery.with_round_trip(5.0, 1.1), "round-trip efficiency"),
        (lambda: Battery(5.0, min_soc=1.0), "minimum state of charge"),
        (lambda: Battery(5.0, min_soc=0.3, initial_soc=0.1), "initial state of charge"),
        (lambda: Battery(5.0, self_discharge_per_month=-0.1), "self-discharge"),
        (lambda: Battery(5.0, charge_power_kw=-2.0), "charge power"),
        (lambda: Battery(math.nan), "must be numbers"),
        (lambda: Economics(discount_rate=-1.5), "discount rate"),
        (lambda: Economics(lifetime_years=0), "lifetime"),
        (lambda: Strategy("peak-shaving"), "unknown strategy"),  # type: ignore[arg-type]
    ],
)
def test_nonsense_parameters_are_refused(make: object, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        make()  # type: ignore[operator]


def test_negative_capacity_in_a_sweep_is_refused(year_history: History) -> None:
    with pytest.raises(ParameterError, match="capacity must be 0 or more"):
        sweep(year_history, [0, 5, -2])


def test_time_of_use_fills_for_the_dear_hours_and_holds_while_cheap() -> None:
    # Two days, hourly, no PV, a steady 1 kW; cheap 00:00-06:00; a lossless 10 kWh battery.
    history = hand_made([0.0] * 48, [1.0] * 48)
    tariff = parse_tariff(
        {
            "import": {"price": 0.40, "periods": [{"hours": "00:00-06:00", "price": 0.10}]},
            "export": {"price": 0.0},
        }
    )
    battery = Battery(
        10.0,
        charge_power_kw=10.0,
        discharge_power_kw=10.0,
        charge_efficiency=1.0,
        discharge_efficiency=1.0,
        self_discharge_per_month=0.0,
    )
    flows = simulate(history, battery, tariff=tariff, strategy=Strategy("time-of-use")).flows
    day = slice(0, 24)
    # 18 dear hours follow, more than fits: fill to 10 kWh at midnight ...
    assert flows.charge_from_grid[day].tolist() == [10.0] + [0.0] * 23
    # ... hold it through the cheap hours, then cover the first ten dear hours.
    assert flows.discharge[day].tolist() == [0.0] * 6 + [1.0] * 10 + [0.0] * 8
    assert flows.grid_import[day].tolist() == [11.0] + [1.0] * 5 + [0.0] * 10 + [1.0] * 8
    assert flows.stored_end[5] == 10.0 and flows.stored_end[15] == 0.0
