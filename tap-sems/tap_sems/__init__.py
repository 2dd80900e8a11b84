"""Singer tap for GoodWe SEMS portal power curves, daily energy and stations."""
