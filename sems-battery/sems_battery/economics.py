"""Money over a battery's life: investment, simple payback, net present value, the knee."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sems_battery.errors import ParameterError

PLACEHOLDER_PRICE_PER_KWH = 500.0
PLACEHOLDER_INSTALLATION = 1000.0


@dataclass(frozen=True)
class Economics:
    """What a battery costs and how its savings are valued over its life.

    Savings in year y (1-based) are those of a battery faded to
    capacity x (1 - fade)^(y-1), grown with energy prices by (1 + growth)^(y-1) and
    discounted by (1 + rate)^y. Battery prices that are not given are placeholders
    (`PLACEHOLDER_PRICE_PER_KWH`, `PLACEHOLDER_INSTALLATION`), and every output that uses
    them says so: replace them with a quote.
    """

    price_per_kwh: float | None = None
    installation_cost: float | None = None
    lifetime_years: int = 15
    discount_rate: float = 0.03
    capacity_fade_per_year: float = 0.02
    price_growth_per_year: float = 0.0

    def __post_init__(self) -> None:
        numbers = (
            self.unit_price,
            self.fixed_cost,
            self.discount_rate,
            self.capacity_fade_per_year,
            self.price_growth_per_year,
        )
        if not all(math.isfinite(number) for number in numbers):
            raise ParameterError("battery prices and rates must be numbers")
        checks = (
            (
                self.unit_price >= 0,
                f"battery price per kWh must be 0 or more, got {self.unit_price:g}",
            ),
            (
                self.fixed_cost >= 0,
                f"installation cost must be 0 or more, got {self.fixed_cost:g}",
            ),
            (
                isinstance(self.lifetime_years, int) and 1 <= self.lifetime_years <= 50,
                f"lifetime must be a whole number of years from 1 to 50, got {self.lifetime_years}",
            ),
            (
                -1 < self.discount_rate <= 1,
                f"discount rate must be above -1 and at most 1 (100%), got {self.discount_rate:g}",
            ),
            (
                0 <= self.capacity_fade_per_year < 1,
                "capacity fade per year must be at least 0 and below 1, got "
                f"{self.capacity_fade_per_year:g}",
            ),
            (
                -1 < self.price_growth_per_year <= 1,
                f"price growth must be above -1 and at most 1, got {self.price_growth_per_year:g}",
            ),
        )
        for ok, message in checks:
            if not ok:
                raise ParameterError(message)

    @property
    def unit_price(self) -> float:
        """Battery price per usable kWh (the placeholder when not given)."""
        return PLACEHOLDER_PRICE_PER_KWH if self.price_per_kwh is None else self.price_per_kwh

    @property
    def fixed_cost(self) -> float:
        """Installation cost (the placeholder when not given)."""
        return (
            PLACEHOLDER_INSTALLATION if self.installation_cost is None else self.installation_cost
        )

    @property
    def placeholder_costs(self) -> bool:
        return self.price_per_kwh is None or self.installation_cost is None

    def describe_costs(self, currency: str) -> str:
        text = (
            f"{self.unit_price:,.0f} {currency} per kWh plus {self.fixed_cost:,.0f} {currency} "
            "installation"
        )
        if self.placeholder_costs:
            text += (
                " (placeholders, not a quote: pass --price-per-kwh and --installation-cost "
                "from yours)"
            )
        return text

    def investment(self, capacity_kwh: float) -> float:
        """Price of the battery and its installation; no battery costs nothing."""
        if capacity_kwh <= 0:
            return 0.0
        return self.unit_price * capacity_kwh + self.fixed_cost

    def faded_capacities(self, capacity_kwh: float) -> list[float]:
        """Usable capacity in each year of the lifetime."""
        keep = 1.0 - self.capacity_fade_per_year
        return [capacity_kwh * keep**year for year in range(self.lifetime_years)]

    def net_present_value(
        self, capacity_kwh: float, annual_savings_at: Callable[[float], float]
    ) -> float:
        """Discounted savings over the lifetime minus the investment."""
        value = -self.investment(capacity_kwh)
        for year, capacity in enumerate(self.faded_capacities(capacity_kwh), start=1):
            growth = (1.0 + self.price_growth_per_year) ** (year - 1)
            value += annual_savings_at(capacity) * growth / (1.0 + self.discount_rate) ** year
        return value


def simple_payback(investment: float, annual_savings: float) -> float | None:
    """Years until savings repay the investment, without fade or discounting; None: never."""
    if investment <= 0:
        return 0.0
    if annual_savings <= 0:
        return None
    return investment / annual_savings


def savings_curve(
    capacities: Sequence[float], annual_savings: Sequence[float]
) -> Callable[[float], float]:
    """Annual savings at any capacity, interpolated along a sweep (no battery saves 0)."""
    x = np.asarray(capacities, dtype=np.float64)
    y = np.asarray(annual_savings, dtype=np.float64)
    if not (x == 0).any():
        x, y = np.r_[0.0, x], np.r_[0.0, y]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]

    def at(capacity: float) -> float:
        return float(np.interp(capacity, x, y))

    return at


def knee_index(capacities: Sequence[float], values: Sequence[float]) -> int | None:
    """Where a rising, flattening curve bends most: its diminishing-returns knee.

    The curve and the capacities are scaled to 0..1 and the knee is the point furthest
    above the straight line from the first to the last point (Satopaa et al., "Finding a
    'Kneedle' in a Haystack", 2011). None when the curve does not rise and flatten.
    """
    x = np.asarray(capacities, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if x.size < 3:
        return None
    order = np.argsort(x, kind="stable")
    x_sorted, y_sorted = x[order], y[order]
    x_span = x_sorted[-1] - x_sorted[0]
    y_span = y_sorted.max() - y_sorted[0]
    if x_span <= 0 or y_span <= 0:
        return None
    distance = (y_sorted - y_sorted[0]) / y_span - (x_sorted - x_sorted[0]) / x_span
    best = int(np.argmax(distance))
    if distance[best] <= 1e-9:
        return None
    return int(order[best])
