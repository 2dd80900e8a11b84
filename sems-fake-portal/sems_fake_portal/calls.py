"""The vocabulary shared by the endpoint modules: a call, its answer, its failure, a session."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sems_fake_portal import protocol
from sems_fake_portal.model import Account

Generation = Literal["semsplus", "legacy"]
JSON = Any

WALL_CLOCK = "%Y-%m-%d %H:%M:%S"


class PortalError(Exception):
    """A failure answer: the envelope to send, its HTTP status, and the code to log."""

    def __init__(
        self,
        body: JSON,
        code: str | int | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"portal answered {code}")
        self.body = body
        self.code = code
        self.status = status
        self.headers = headers or {}


@dataclass
class Call:
    """What the server knows about the request being served."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: JSON = None
    body_error: str | None = None
    endpoint: str = "unknown"
    applied: list[str] = field(default_factory=list)  # faults this call met
    reply_headers: dict[str, str] = field(default_factory=dict)  # extra response headers

    def body_object(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


@dataclass
class Answer:
    """A successful result, before faults that alter the bytes."""

    body: JSON
    code: str | int | None
    station_id: str | None = None
    days: list[str] = field(default_factory=list)


@dataclass
class Session:
    token: str
    account: Account
    generation: Generation
    login_data: dict[str, Any]
    served: int = 0
    expired: bool = False


def semsplus_failure(code: str, description: str, translation: str | None = None) -> PortalError:
    return PortalError(protocol.semsplus_error(code, description, translation), code)


def semsplus_parameter_error(detail: str) -> PortalError:
    """100004 as captured, plus a `detail` naming what was wrong (to help client authors)."""
    body = protocol.semsplus_error(protocol.PARAMETER_ERROR, "parameter error.", "parameter_error")
    body["detail"] = detail
    return PortalError(body, protocol.PARAMETER_ERROR)


def legacy_failure(code: int | str, msg: str) -> PortalError:
    return PortalError(protocol.legacy_envelope(None, code=code, msg=msg), code)


def json_header(value: str | None) -> dict[str, Any] | None:
    """A header holding a JSON object (the SEMS `token`/`Token` headers), or None."""
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def wall_range(body: dict[str, Any]) -> tuple[datetime, datetime]:
    """startTime/endTime as the SEMS+ web UI sends them: plant-local, no offset."""
    try:
        start = datetime.strptime(str(body.get("startTime")), WALL_CLOCK)
        end = datetime.strptime(str(body.get("endTime")), WALL_CLOCK)
    except ValueError:
        raise semsplus_parameter_error(
            "startTime and endTime must be plant-local 'YYYY-MM-DD HH:MM:SS'"
        ) from None
    if end < start:
        raise semsplus_parameter_error("endTime is before startTime")
    return start, end


def days_between(first: date, last: date) -> list[date]:
    """Every day from first to last, inclusive."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
