"""The answer in words: one recommendation first, then what a reader must know to weigh it.

The same lines open the terminal output and the report, so both say the same thing.
"""

from __future__ import annotations

import numpy as np

from sems_battery.history import History
from sems_battery.simulation import SizeResult, SweepResult

MONTH_LABELS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def money(value: float | None, currency: str) -> str:
    return "-" if value is None else f"{value:,.0f} {currency}"


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def payback_text(size: SizeResult) -> str:
    """Simple payback in years, or that it does not pay back."""
    if size.capacity_kwh == 0:
        return "-"
    return "does not pay back" if size.payback_years is None else f"{size.payback_years:.1f}"


def best_size(result: SweepResult) -> SizeResult | None:
    """The size above 0 kWh with the highest net present value, positive or not."""
    batteries = [size for size in result.sizes if size.capacity_kwh > 0]
    return max(batteries, key=lambda size: size.net_present_value) if batteries else None


def recommendation(result: SweepResult) -> str:
    """One sentence: the size with the best net present value, or no battery, and why."""
    currency = result.tariff.currency
    economics = result.economics
    placeholder = " at placeholder battery prices" if economics.placeholder_costs else ""
    best = best_size(result)
    if best is None:
        return "Recommendation: none, because no battery size above 0 kWh was tried."
    if best.net_present_value > 0:
        return (
            f"Recommendation: a {best.capacity_kwh:g} kWh battery, because it has the best net "
            f"present value of the sizes tried, {money(best.net_present_value, currency)} over "
            f"{economics.lifetime_years} years{placeholder}: it saves "
            f"{money(best.annual_savings, currency)} a year and pays back in "
            f"{best.payback_years:.1f} years."
        )
    if best.annual_savings > 0:
        opening = (
            "Recommendation: no battery pays off here, because even the best size "
            f"({best.capacity_kwh:g} kWh) saves only {money(best.annual_savings, currency)} a "
            "year"
        )
        payback = best.payback_years
        if payback is not None and payback <= economics.lifetime_years:
            # The simple payback falls inside the battery's life, yet the money is worth
            # less: say what the table's payback column leaves out.
            return (
                f"{opening}: that repays its {money(best.investment, currency)}{placeholder} "
                f"in {payback:.1f} years before interest, but over its "
                f"{economics.lifetime_years}-year life, with {percent(economics.discount_rate)} "
                f"interest and {percent(economics.capacity_fade_per_year)} capacity fade a year, "
                f"it is worth {money(-best.net_present_value, currency)} less than it costs "
                f"(net present value {money(best.net_present_value, currency)})."
            )
        return (
            f"{opening}, which does not repay its {money(best.investment, currency)}"
            f"{placeholder} within {economics.lifetime_years} years (net present value "
            f"{money(best.net_present_value, currency)})."
        )
    return (
        "Recommendation: no battery pays off here, because no size saves money under these "
        f"prices (the best changes the bill by {money(best.annual_savings, currency)} a year)."
    )


def _partial_year(history: History) -> str | None:
    coverage = history.coverage
    if abs(coverage.annualisation_factor - 1) <= 0.005:
        return None
    months = sorted(set(history.local_month().tolist()))
    named = ", ".join(MONTH_LABELS[m - 1] for m in months)
    return (
        f"Partial year: these figures come from {coverage.covered_days:.0f} days of data "
        f"({named}) scaled to a year"
        + (
            ", so the seasons missing from the data are missing from the answer."
            if len(months) < 12
            else "."
        )
    )


def _installed_battery(history: History) -> str | None:
    """What the figures compare for a plant that already has a battery, in plain words."""
    measured = history.measured
    if measured is None:
        return None
    factor = history.coverage.annualisation_factor
    delivered = float(np.dot(np.maximum(np.nan_to_num(measured.battery_kw), 0), history.duration_h))
    delivered *= factor
    consumption = history.load_kwh * factor
    size = (
        f"a {history.battery_capacity_kwh:g} kWh battery"
        if history.battery_capacity_kwh
        else "a battery"
    )
    return (
        f"This plant already has {size}. The figures compare the house as if it had no "
        "battery with the same house and a battery of each size instead, so they say what a "
        "battery is worth here, not what adding a second one would bring. The installed one "
        f"already delivers about {delivered:,.0f} kWh a year to the house, "
        f"{percent(delivered / consumption if consumption else 0)} of its consumption."
    )


def headline(result: SweepResult, *, default_tariff: bool = False) -> list[str]:
    """The recommendation, then the plant's situation, warnings and context, in that order."""
    history = result.history
    lines = [recommendation(result)]
    lines += [line for line in (_partial_year(history), _installed_battery(history)) if line]
    import_price, export_price = result.tariff.prices(history)
    lines += [f"Warning: {text}" for text in result.tariff.warnings(import_price, export_price)]
    if default_tariff:
        lines.append(
            "Energy prices are the built-in example (0.30 import, 0.08 feed-in per kWh): pass "
            "--tariff with yours (examples in sems-battery/examples/)."
        )
    economics = result.economics
    if economics.placeholder_costs:
        currency = result.tariff.currency
        lines.append(
            f"Battery costs are placeholders, not a quote: {economics.unit_price:,.0f} "
            f"{currency} per kWh plus {economics.fixed_cost:,.0f} {currency} installation; pass "
            "--price-per-kwh and --installation-cost from yours."
        )
    knee = result.knee
    baseline = result.sizes[0] if result.sizes[0].capacity_kwh == 0 else None
    if knee is not None:
        before = (
            f" (from {percent(baseline.self_sufficiency_rate)} without a battery)"
            if baseline
            else ""
        )
        lines.append(
            f"For context: more capacity buys clearly less beyond about {knee.capacity_kwh:g} "
            f"kWh, which saves {money(knee.annual_savings, result.tariff.currency)} a year and "
            f"covers {percent(knee.self_sufficiency_rate)} of consumption{before}; every size "
            "tried is in the table."
        )
    lines.append(f"Battery model: {result.battery.model_name}.")
    return lines
