"""Payback, net present value with fade and discounting, and the knee."""

from __future__ import annotations

import numpy as np
import pytest

from sems_battery import Economics
from sems_battery.economics import knee_index, savings_curve, simple_payback


def test_investment_is_price_per_kwh_plus_installation_and_nothing_for_no_battery() -> None:
    economics = Economics(price_per_kwh=450.0, installation_cost=1200.0)
    assert economics.investment(10.0) == 450.0 * 10 + 1200.0
    assert economics.investment(0.0) == 0.0


def test_simple_payback() -> None:
    assert simple_payback(5000.0, 400.0) == 12.5
    assert simple_payback(5000.0, 0.0) is None
    assert simple_payback(5000.0, -20.0) is None
    assert simple_payback(0.0, 0.0) == 0.0


def test_net_present_value_discounts_and_fades_year_by_year() -> None:
    economics = Economics(
        price_per_kwh=500.0,
        installation_cost=1000.0,
        lifetime_years=3,
        discount_rate=0.05,
        capacity_fade_per_year=0.1,
        price_growth_per_year=0.02,
    )
    seen: list[float] = []

    def savings_at(capacity: float) -> float:
        seen.append(capacity)
        return 100.0 * capacity

    value = economics.net_present_value(10.0, savings_at)
    assert seen == pytest.approx([10.0, 9.0, 8.1])
    by_hand = -6000.0 + 1000.0 / 1.05 + 900.0 * 1.02 / 1.05**2 + 810.0 * 1.02**2 / 1.05**3
    assert value == pytest.approx(by_hand)


def test_savings_curve_interpolates_and_starts_at_zero() -> None:
    curve = savings_curve([5.0, 10.0], [200.0, 300.0])
    assert curve(0.0) == 0.0
    assert curve(2.5) == pytest.approx(100.0)
    assert curve(7.5) == pytest.approx(250.0)


def test_knee_of_a_curve_that_rises_then_flattens() -> None:
    capacities = np.arange(0, 21, 1.0)
    values = np.minimum(capacities, 6.0) * 50 + capacities  # steep to 6 kWh, then gentle
    assert capacities[knee_index(capacities, values)] == 6.0
    shuffled = np.random.default_rng(0).permutation(capacities.size)
    assert capacities[shuffled][knee_index(capacities[shuffled], values[shuffled])] == 6.0


def test_no_knee_on_straight_flat_or_short_curves() -> None:
    assert knee_index([0, 5, 10], [0, 5, 10]) is None
    assert knee_index([0, 5, 10], [3, 3, 3]) is None
    assert knee_index([0, 5], [0, 100]) is None
