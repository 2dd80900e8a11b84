"""The singer-sdk standard tap tests, against the fake portal, for both API generations.

The standard tests need their config when the module is imported, so the portal starts
here rather than in a fixture and stops when the interpreter exits.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, FakePortal
from tap_sems.tap import TapSems

PORTAL = FakePortal().start()
atexit.register(PORTAL.stop)

COMMON = {
    "account": DEMO_ACCOUNT,
    "password": DEMO_PASSWORD,
    "api_url": PORTAL.url,
    "start_date": "2026-06-01",
    "end_date": "2026-06-02",
    "max_requests_per_second": 0,
    "backoff_seconds": 0.01,
}

TestTapSemsPlus = get_tap_test_class(TapSems, config={**COMMON, "backend": "semsplus"})
TestTapSemsLegacy = get_tap_test_class(
    TapSems, config={**COMMON, "backend": "legacy", "timezone": "Europe/Berlin"}
)
