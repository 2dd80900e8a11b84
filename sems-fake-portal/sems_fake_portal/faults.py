"""Fault injection settings, shared by the Python API and `POST /_fake/faults`.

"K calls" faults are counters that each affected call uses up, so a test can say "the
next three curve calls are rate limited" and then assert, through `counts`, that exactly
three were.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, get_args

from sems_fake_portal import protocol

MalformKind = Literal["not_a_list", "missing_time", "non_numeric"]
MALFORM_KINDS: tuple[str, ...] = get_args(MalformKind)
StationAnswer = Literal["server_error", "permission_denied", "portal_error"]
STATION_ANSWERS: tuple[str, ...] = get_args(StationAnswer)


@dataclass(frozen=True)
class MalformedDay:
    """Serve a broken payload whenever `day` of `station_id` is part of an answer.

    not_a_list: `dataList` / `lines` is an object instead of a list;
    missing_time: one point of the day has no `tp` / `x`;
    non_numeric: one point of the day has power "n/a".
    """

    station_id: str
    day: date
    kind: MalformKind = "not_a_list"

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> MalformedDay:
        kind = value.get("kind", "not_a_list")
        if kind not in MALFORM_KINDS:
            raise ValueError(f"malformed payload kind {kind!r} is not one of {MALFORM_KINDS}")
        try:
            return cls(str(value["station_id"]), date.fromisoformat(str(value["day"])), kind)
        except KeyError as error:
            raise ValueError(f"malformed_payloads entry lacks {error.args[0]!r}") from error


@dataclass(frozen=True)
class StationFault:
    """Every data call about `station_id` (on `endpoints`, or all) fails, on every run:

    server_error: HTTP 500 with an HTML page; permission_denied: 100025 (the account may
    not read the station); portal_error: B0001 (an error on the portal's side).
    """

    station_id: str
    answer: StationAnswer = "server_error"
    endpoints: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> StationFault:
        answer = value.get("answer", "server_error")
        if answer not in STATION_ANSWERS:
            raise ValueError(f"station fault answer {answer!r} is not one of {STATION_ANSWERS}")
        endpoints = value.get("endpoints")
        if endpoints is not None and not (
            isinstance(endpoints, list) and all(isinstance(e, str) for e in endpoints)
        ):
            raise ValueError("station fault endpoints must be null or a list of endpoint names")
        try:
            station_id = str(value["station_id"])
        except KeyError as error:
            raise ValueError("station_faults entry lacks 'station_id'") from error
        return cls(station_id, answer, tuple(endpoints) if endpoints is not None else None)

    def hits(self, station_id: str | None, endpoint: str) -> bool:
        return station_id == self.station_id and (
            self.endpoints is None or endpoint in self.endpoints
        )


@dataclass(frozen=True)
class ZeroStatisticsDay:
    """The statistics of `day` of `station_id` answer 0 kWh in every item."""

    station_id: str
    day: date

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ZeroStatisticsDay:
        try:
            return cls(str(value["station_id"]), date.fromisoformat(str(value["day"])))
        except KeyError as error:
            raise ValueError(f"zero_statistics entry lacks {error.args[0]!r}") from error


@dataclass(frozen=True)
class Refusal:
    """Every call to `endpoint` (of `station_id`, or of any station) answers `code`.

    The portal's way of saying no to one thing while the rest works: for example
    A0312 (no permission for the station) or 100004 (parameter error) from statistics.
    """

    endpoint: str
    code: str
    station_id: str | None = None
    message: str = "refused"

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Refusal:
        try:
            return cls(
                str(value["endpoint"]),
                str(value["code"]),
                None if value.get("station_id") is None else str(value["station_id"]),
                str(value.get("message", "refused")),
            )
        except KeyError as error:
            raise ValueError(f"refusals entry lacks {error.args[0]!r}") from error


@dataclass
class Faults:
    # A session that has served this many data calls is expired (None: never).
    token_expiry_after_calls: int | None = None
    # False: the fault fires once and clears itself, so a fresh login lives on.
    token_expiry_repeat: bool = False
    # What SEMS+ answers for an expired session: one of protocol.EXPIRY_CODES.
    expiry_code: str = protocol.SEMSPLUS_SESSION_LOST
    rate_limit_calls: int = 0  # the next K data calls answer GY0429
    # The Retry-After header of those answers: seconds, an HTTP date as text, or None.
    rate_limit_retry_after: float | str | None = None
    portal_error_calls: int = 0  # the next K data calls answer B0001
    server_error_calls: int = 0  # the next K data calls answer HTTP `server_error_status`
    server_error_status: int = 503
    slow_calls: int = 0  # the next K data calls wait `slow_seconds` before answering
    slow_seconds: float = 0.0
    malformed_json_calls: int = 0  # the next K data calls answer a truncated JSON body
    malformed_payloads: list[MalformedDay] = field(default_factory=list)
    station_faults: list[StationFault] = field(default_factory=list)
    zero_statistics: list[ZeroStatisticsDay] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)  # answered after the session check
    login_without_token: bool = False  # SEMS+ login answers {agreement: true, api} only
    login_parameter_error: bool = False  # SEMS+ login answers 100004
    login_wrong_password: bool = False  # every login is refused as a wrong password
    legacy_switched_off: bool = False  # legacy login answers without token, data 100002
    # Endpoint names the K-call faults hit, e.g. ["semsplus.power_curve"]; None: all data calls.
    endpoints: list[str] | None = None
    # How often each fault (and each rejection) was served.
    counts: Counter[str] = field(default_factory=Counter)

    def applies_to(self, endpoint: str) -> bool:
        return self.endpoints is None or endpoint in self.endpoints

    def take(self, counter: str) -> bool:
        """Use up one call of a K-call fault; True when this call is affected."""
        remaining = getattr(self, counter)
        if remaining > 0:
            setattr(self, counter, remaining - 1)
            return True
        return False

    def malformed(self, station_id: str, day: date) -> MalformedDay | None:
        for entry in self.malformed_payloads:
            if entry.station_id == station_id and entry.day == day:
                return entry
        return None

    def station_fault(self, station_id: str | None, endpoint: str) -> StationFault | None:
        return next((f for f in self.station_faults if f.hits(station_id, endpoint)), None)

    def zero_statistics_on(self, station_id: str, day: date) -> bool:
        return ZeroStatisticsDay(station_id, day) in self.zero_statistics

    def refusal(self, endpoint: str, station_id: str | None) -> Refusal | None:
        for entry in self.refusals:
            if entry.endpoint == endpoint and entry.station_id in (None, station_id):
                return entry
        return None

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply settings from JSON, refusing unknown names and wrong types."""
        unknown = sorted(set(values) - set(_VALIDATORS))
        if unknown:
            raise ValueError(f"unknown fault setting(s) {unknown}; known: {sorted(_VALIDATORS)}")
        checked = {name: _VALIDATORS[name](name, value) for name, value in values.items()}
        for name, value in checked.items():  # all or nothing
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "malformed_payloads":
                value = [
                    {"station_id": e.station_id, "day": e.day.isoformat(), "kind": e.kind}
                    for e in value
                ]
            elif item.name == "station_faults":
                value = [
                    {
                        "station_id": e.station_id,
                        "answer": e.answer,
                        "endpoints": list(e.endpoints) if e.endpoints is not None else None,
                    }
                    for e in value
                ]
            elif item.name == "zero_statistics":
                value = [{"station_id": e.station_id, "day": e.day.isoformat()} for e in value]
            elif item.name == "refusals":
                value = [dataclasses.asdict(entry) for entry in value]
            elif item.name == "counts":
                value = dict(value)
            result[item.name] = value
        return result


def _count_setting(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0")
    return value


def _optional_count(name: str, value: Any) -> int | None:
    return None if value is None else _count_setting(name, value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _seconds(name: str, value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a number >= 0")
    return float(value)


def _expiry_code(name: str, value: Any) -> str:
    if value not in protocol.EXPIRY_CODES:
        raise ValueError(f"{name} must be one of {protocol.EXPIRY_CODES}")
    return str(value)


def _http_5xx(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 500 <= value <= 599:
        raise ValueError(f"{name} must be an HTTP 5xx status")
    return value


def _malformed(name: str, value: Any) -> list[MalformedDay]:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list of {{station_id, day, kind}}")
    return [v if isinstance(v, MalformedDay) else MalformedDay.from_json(v) for v in value]


def _entries(kind: Any) -> Callable[[str, Any], list[Any]]:
    def check(name: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ValueError(f"{name} must be a list of objects")
        return [v if isinstance(v, kind) else kind.from_json(v) for v in value]

    return check


def _retry_after(name: str, value: Any) -> float | str | None:
    if value is None or isinstance(value, str):
        return value
    return _seconds(name, value)


def _refusals(name: str, value: Any) -> list[Refusal]:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list of {{endpoint, code, station_id, message}}")
    return [v if isinstance(v, Refusal) else Refusal.from_json(v) for v in value]


def _endpoints(name: str, value: Any) -> list[str] | None:
    if value is not None and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise ValueError(f"{name} must be null or a list of endpoint names")
    return value


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "token_expiry_after_calls": _optional_count,
    "token_expiry_repeat": _flag,
    "expiry_code": _expiry_code,
    "rate_limit_calls": _count_setting,
    "rate_limit_retry_after": _retry_after,
    "portal_error_calls": _count_setting,
    "server_error_calls": _count_setting,
    "server_error_status": _http_5xx,
    "slow_calls": _count_setting,
    "slow_seconds": _seconds,
    "malformed_json_calls": _count_setting,
    "malformed_payloads": _malformed,
    "station_faults": _entries(StationFault),
    "zero_statistics": _entries(ZeroStatisticsDay),
    "refusals": _refusals,
    "login_without_token": _flag,
    "login_parameter_error": _flag,
    "login_wrong_password": _flag,
    "legacy_switched_off": _flag,
    "endpoints": _endpoints,
}
