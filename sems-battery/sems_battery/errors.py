"""Errors a user can act on: each message names the problem and what to do about it."""

from __future__ import annotations


class BatteryError(ValueError):
    """Base of every error sems-battery reports to the user instead of a traceback."""


class DataError(BatteryError):
    """The history cannot be read or does not hold what the simulation needs."""


class ParameterError(BatteryError):
    """A battery, tariff or economics parameter makes no physical or financial sense."""
