"""What goes over the wire: paths, result codes, password hash, request signature, envelopes.

Paths and codes follow the project's protocol notes (docs/sems-protocol.md); where they are
silent the choice and its public source are documented in this package's README. The codes
are the ones this server answers, named; what a client should do about them is the
client's business.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any

# SEMS+ -----------------------------------------------------------------------------------
SEMSPLUS_LOGIN_PATH = "/web/sems/sems-user/api/v1/auth/cross-login"
# Data calls go to the regional gateway the login names: {url}/{region}-gateway/web/sems.
SEMSPLUS_GATEWAY_TEMPLATE = "/{region}-gateway/web/sems"
SEMSPLUS_NON_REGIONAL_BASE = "/web/sems"
SEMSPLUS_CURVE_PATH = "/sems-plant/api/v1/hems/power/statisticsAndPreV2"
SEMSPLUS_STATISTICS_PATH = "/sems-plant/api/stations/statistics"
SEMSPLUS_STATION_LIST_PATH = "/sems-plant/api/portal/stations/page"
SEMSPLUS_STATION_DETAIL_PATH = "/sems-plant/api/portal/stations/basic/info"
SEMSPLUS_ENDPOINTS = {
    SEMSPLUS_CURVE_PATH: "semsplus.power_curve",
    SEMSPLUS_STATISTICS_PATH: "semsplus.statistics",
    SEMSPLUS_STATION_LIST_PATH: "semsplus.station_list",
    SEMSPLUS_STATION_DETAIL_PATH: "semsplus.station_detail",
    "/sems-plant/api/app/v2/stations/basic/info": "semsplus.station_detail",
    "/sems-plant/api/stations/flow": "semsplus.station_flow",
}

SEMSPLUS_OK = "00000"
SEMSPLUS_SESSION_LOST = "C0602"
SEMSPLUS_SESSION_EXPIRED = "C0607"
SEMSPLUS_UNAUTHORIZED = "A0301"
SEMSPLUS_WRONG_PASSWORD = "A0210"
SEMSPLUS_NO_PERMISSION = "A0312"
AUTH_EXPIRED = "100002"
PARAMETER_ERROR = "100004"
SYSTEM_ERROR = "100000"
RATE_LIMITED = "GY0429"
BAD_STATISTICS_DIMENSION = "S0327"
PORTAL_SIDE_ERROR = "B0001"  # SEMS+ "system execution error"
PERMISSION_DENIED = "100025"  # the account may not read this station
# What SEMS+ has been seen to answer for an expired session (Faults.expiry_code).
EXPIRY_CODES = (
    SEMSPLUS_SESSION_LOST,
    AUTH_EXPIRED,
    SEMSPLUS_SESSION_EXPIRED,
    SEMSPLUS_UNAUTHORIZED,
)

# Legacy ----------------------------------------------------------------------------------
LEGACY_LOGIN_PATH = "/api/v2/Common/CrossLogin"
LEGACY_BASE_TEMPLATE = "/legacy-{region}/api/"
LEGACY_ENDPOINTS = {
    "v2/Charts/GetPlantPowerChart": "legacy.power_chart",
    "v3/PowerStation/GetMonitorDetailByPowerstationId": "legacy.monitor_detail",
    "v2/PowerStation/GetMonitorDetailByPowerstationId": "legacy.monitor_detail",
    "v2/HistoryData/QueryPowerStationByHistory": "legacy.station_list",
}
LEGACY_LOGIN_OK = 0  # the login answers an int, data calls a string, as captured
LEGACY_OK = "0"
LEGACY_SYSTEM_ERROR = 100000
LEGACY_NO_ACCESS = 100001
LEGACY_AUTH_EXPIRED = 100002
LEGACY_PARAMETER_ERROR = 100004
LEGACY_WRONG_PASSWORD = 100005

CONTROL_PREFIX = "/_fake/"


def semsplus_password_hash(password: str) -> str:
    """What SEMS+ expects in `pwd`: base64 of the lower-case hex MD5 of the password."""
    digest = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def semsplus_signature(milliseconds: int, uid: str, token: str) -> str:
    """The X-Signature header: base64(sha256hex("{ms}@{uid}@{token}") + "@" + ms)."""
    digest = hashlib.sha256(f"{milliseconds}@{uid}@{token}".encode()).hexdigest()
    return base64.b64encode(f"{digest}@{milliseconds}".encode()).decode()


def signature_accepted(
    header: str, uid: str, token: str, *, now: float, max_age_seconds: float
) -> bool:
    """True when `header` is the X-Signature of this uid and token, made within
    `max_age_seconds` of `now` (epoch seconds)."""
    try:
        decoded = base64.b64decode(header.encode(), validate=True).decode()
        milliseconds = int(decoded.rsplit("@", 1)[1])
    except (ValueError, UnicodeDecodeError, IndexError):
        return False
    fresh = abs(now - milliseconds / 1000) <= max_age_seconds
    expected = semsplus_signature(milliseconds, uid, token)
    return fresh and secrets.compare_digest(expected, header)


def trace_id() -> str:
    return uuid.uuid4().hex


def semsplus_ok(data: Any, description: str = "success") -> dict[str, Any]:
    return {"code": SEMSPLUS_OK, "description": description, "traceId": trace_id(), "data": data}


def semsplus_error(code: str, description: str, translation: str | None = None) -> dict[str, Any]:
    """The SEMS+ failure envelope (HTTP 200), shaped like the captured 100004 and S0327."""
    body: dict[str, Any] = {"code": code, "description": description}
    if translation:
        body["translationCode"] = translation
        body["errorMsg"] = description
    body["traceId"] = trace_id()
    return body


def legacy_envelope(
    data: Any, *, code: int | str = LEGACY_OK, msg: str = "success", para: str | None = None
) -> dict[str, Any]:
    """The legacy envelope; `hasError` stays false even on failures, as captured."""
    return {
        "language": "en",
        "function": None,
        "hasError": False,
        "msg": msg,
        "code": code,
        "data": data,
        "components": {"para": para, "langVer": 179, "timeSpan": 0, "msgSocketAdr": None},
    }
