"""A fake GoodWe SEMS portal on loopback (SEMS+ and legacy API) for tests and the demo."""
