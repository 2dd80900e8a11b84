"""A fake GoodWe SEMS portal on loopback (SEMS+ and legacy API) for tests and the demo.

with FakePortal() as portal:          # demo account, real clock, free port
    requests.post(portal.semsplus_login_url, ...)
    portal.faults.rate_limit_calls = 2
    portal.requests_for("semsplus.power_curve")
"""

from sems_fake_portal.faults import (
    Faults,
    MalformedDay,
    Refusal,
    StationFault,
    ZeroStatisticsDay,
)
from sems_fake_portal.model import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    Account,
    Station,
    demo_account,
    demo_station,
    make_fleet,
    station_uuid,
)
from sems_fake_portal.protocol import semsplus_password_hash, semsplus_signature
from sems_fake_portal.server import FakePortal, PortalOptions, RequestRecord

__all__ = [
    "DEMO_ACCOUNT",
    "DEMO_PASSWORD",
    "DEMO_STATION_ID",
    "Account",
    "FakePortal",
    "Faults",
    "MalformedDay",
    "PortalOptions",
    "Refusal",
    "RequestRecord",
    "Station",
    "StationFault",
    "ZeroStatisticsDay",
    "demo_account",
    "demo_station",
    "make_fleet",
    "semsplus_password_hash",
    "semsplus_signature",
    "station_uuid",
]
