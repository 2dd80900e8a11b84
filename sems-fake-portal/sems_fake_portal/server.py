"""The fake portal: a real HTTP server on loopback speaking SEMS+ and the legacy API.

`FakePortal` owns the accounts, sessions, clock, fault settings and request log; the
endpoint modules (`semsplus_api`, `legacy_api`, `control`) hold the per-endpoint logic
and call back into it. Faults that do not depend on the endpoint (slow, 5xx, rate limit,
truncated JSON) are applied here, around every data call.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import orjson

from sems_fake_portal import control, legacy_api, payloads, protocol, semsplus_api
from sems_fake_portal.calls import (
    JSON,
    Answer,
    Call,
    Generation,
    PortalError,
    Session,
    legacy_failure,
    semsplus_failure,
    semsplus_parameter_error,
)
from sems_fake_portal.faults import Faults, MalformedDay
from sems_fake_portal.model import Account, Station, demo_account
from sems_fake_portal.simulation import DayEnergy, SampledCurve, Simulator, day_energy, sample

_RECORDED_HEADERS = ("token", "x-signature", "content-type", "user-agent")
_SECRET_KEYS = {"pwd", "password"}


@dataclass(frozen=True)
class PortalOptions:
    """Behaviour that differs between real accounts, or that tests want to pin."""

    max_window_days: int = 7  # longest statisticsAndPreV2 window; longer answers 100004
    max_statistics_days: int = 366  # longest `dimension: day` statistics range
    # A `dimension: day` range not inside one calendar year answers zeros (as reported).
    statistics_zeros_across_years: bool = True
    points_key: payloads.PointsKey = "powerData"  # or "statisticsList"; both reported
    missing_series: payloads.MissingSeries = "omit"  # or "null": all-null series
    markers: bool = True  # the isCE marker points SEMS+ adds to each day
    require_signature: bool = True
    signature_max_age_seconds: float = 300.0
    max_page_size: int = 100

    def __post_init__(self) -> None:
        if self.points_key not in ("powerData", "statisticsList"):
            raise ValueError("points_key must be 'powerData' or 'statisticsList'")
        if self.missing_series not in ("omit", "null"):
            raise ValueError("missing_series must be 'omit' or 'null'")
        if self.max_window_days < 1 or self.max_statistics_days < 1 or self.max_page_size < 1:
            raise ValueError("window, range and page limits must be >= 1")


@dataclass
class RequestRecord:
    """One request the portal served, for tests to assert on."""

    seq: int
    time: datetime  # when it was served (real UTC time)
    method: str
    path: str
    query: dict[str, str]
    endpoint: str  # e.g. "semsplus.power_curve"; "unknown" for unrouted paths
    body: JSON  # parsed JSON, with passwords replaced by "***"
    # token (parsed), x-signature, content-type, user-agent. Kept out of the repr, which a
    # failing assertion prints: the token and signature are secrets to the client.
    headers: dict[str, Any] = field(repr=False)
    http_status: int
    code: str | int | None  # the result code answered (None for HTTP failures)
    station_id: str | None = None
    days: list[str] = field(default_factory=list)  # plant-local days a curve/chart covered
    faults: list[str] = field(default_factory=list)  # faults this call met
    duration_ms: float = 0.0  # time to build the answer (not to send it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "endpoint": self.endpoint,
            "body": self.body,
            "headers": self.headers,
            "http_status": self.http_status,
            "code": self.code,
            "station_id": self.station_id,
            "days": self.days,
            "faults": self.faults,
            "duration_ms": round(self.duration_ms, 3),
        }


class FakePortal:
    """A fake SEMS portal on 127.0.0.1; use as a context manager or start()/stop().

    `accounts` defaults to the demo account (demo@example.com, one Berlin plant with a
    battery and a meter). `now` pins the portal's clock (timezone-aware); None follows the
    real clock. `faults` may be changed at any time, from Python or over HTTP.
    """

    def __init__(
        self,
        accounts: Sequence[Account] | None = None,
        *,
        now: datetime | None = None,
        options: PortalOptions | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.accounts: list[Account] = list(accounts) if accounts is not None else [demo_account()]
        _check_unique_stations(self.accounts)
        self.options = options or PortalOptions()
        self.faults = faults or Faults()
        self.simulator = Simulator()
        self.lock = threading.RLock()
        self._now = _aware(now) if now is not None else None
        self._address = (host, port)
        self._sessions: dict[str, Session] = {}
        self._log: list[RequestRecord] = []
        self._seq = 0
        self._energy: dict[tuple[Station, date], DayEnergy] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakePortal:
        if self._server is None:
            server = _Server(self._address, _Handler)
            server.portal = self
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, name="sems-fake-portal", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        # shutdown() waits for the serve loop's next poll; an empty connection wakes it at
        # once, which keeps a test suite that starts hundreds of portals quick.
        host, port = str(server.server_address[0]), int(server.server_address[1])
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()
        while stopper.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection((host, port), timeout=1).close()
            stopper.join(timeout=0.01)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def wait(self) -> None:
        """Block until stop() is called from another thread (or a signal handler)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> FakePortal:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Root URL such as http://127.0.0.1:40123, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("the fake portal is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def semsplus_login_url(self) -> str:
        return self.url + protocol.SEMSPLUS_LOGIN_PATH

    @property
    def legacy_login_url(self) -> str:
        return self.url + protocol.LEGACY_LOGIN_PATH

    def semsplus_api(self, region: str = "eu") -> str:
        """The regional base a SEMS+ login answers in `data.api` (no trailing slash)."""
        return self.url + protocol.SEMSPLUS_GATEWAY_TEMPLATE.format(region=region)

    def legacy_api(self, region: str = "eu") -> str:
        """The base a legacy login answers in `api` (with a trailing slash, as captured)."""
        return self.url + protocol.LEGACY_BASE_TEMPLATE.format(region=region)

    # ------------------------------------------------------------------ clock and data

    @property
    def now(self) -> datetime:
        return self._now if self._now is not None else datetime.now(UTC)

    @now.setter
    def now(self, value: datetime | None) -> None:
        self._now = _aware(value) if value is not None else None

    @property
    def clock_is_fixed(self) -> bool:
        return self._now is not None

    def today(self, station: Station) -> date:
        return self.now.astimezone(station.zone).date()

    def stations(self) -> list[Station]:
        return [station for account in self.accounts for station in account.stations]

    def station(self, station_id: str) -> Station:
        for station in self.stations():
            if station.id == station_id:
                return station
        raise KeyError(f"no station {station_id}")

    def day_energy(self, station: Station, day: date) -> DayEnergy:
        """kWh of a day as the statistics report it: today up to now, later days zero."""
        today = self.today(station)
        if day > today or day < station.created:
            return DayEnergy(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        if day == today:
            return day_energy(self.simulator.curve(station, day), self.now.timestamp())
        key = (station, day)
        cached = self._energy.get(key)
        if cached is None:
            cached = self._energy[key] = day_energy(self.simulator.curve(station, day))
        return cached

    def uploaded_intervals(self, station: Station, curve: SampledCurve) -> int:
        """Intervals of the day the plant has uploaded by now: none before it existed."""
        if curve.day < station.created:
            return 0
        return int(np.count_nonzero(curve.available(self.now.timestamp())))

    def legacy_chart_data(self, station: Station, day: date) -> dict[str, Any]:
        """The `data` of GetPlantPowerChart for a day, as of the portal's clock."""
        curve = sample(self.simulator.curve(station, day), 5)
        available = self.uploaded_intervals(station, curve)
        energy = self.day_energy(station, day)
        return payloads.legacy_power_chart(station, curve, available, energy)

    def latest_point(self, station: Station) -> dict[str, float]:
        """Today's last uploaded 5-minute point (zeros before the first upload)."""
        curve = sample(self.simulator.curve(station, self.today(station)), 5)
        available = int(np.count_nonzero(curve.available(self.now.timestamp())))
        if available == 0:
            return dict.fromkeys(("pv", "load", "grid", "battery", "soc", "utc"), 0.0)
        last = available - 1
        return {
            "pv": float(curve.pv_w[last]),
            "load": float(curve.load_w[last]),
            "grid": float(curve.grid_w[last]),
            "battery": float(curve.battery_w[last]),
            "soc": float(curve.soc_pct[last]),
            "utc": float(curve.utc[last] + curve.minutes[last] * 60),
        }

    # ------------------------------------------------------------------ log and faults

    @property
    def requests(self) -> list[RequestRecord]:
        """The requests served so far (control endpoints excluded), oldest first."""
        with self.lock:
            return list(self._log)

    def requests_for(self, endpoint: str) -> list[RequestRecord]:
        return [record for record in self.requests if record.endpoint == endpoint]

    def secrets(self) -> list[str]:
        """Every string a client must never write down: each account's password, its SEMS+
        hash (and the MD5 inside it), account name and uid, and every session token, login
        uuid and X-Signature this portal handed out or received. Tests scan output for them."""
        found: set[str] = set()
        for account in self.accounts:
            hashed = protocol.semsplus_password_hash(account.password)
            md5_hex = base64.b64decode(hashed).decode()
            found.update((account.password, hashed, md5_hex, account.account, account.uid))
        with self.lock:
            for session in self._sessions.values():
                found.add(session.token)
                found.update(
                    str(session.login_data[key]) for key in ("uuid",) if key in session.login_data
                )
            signatures = {record.headers.get("x-signature") for record in self._log}
        found.update(signature for signature in signatures if isinstance(signature, str))
        return sorted(value for value in found if value)

    def clear_requests(self) -> None:
        with self.lock:
            self._log.clear()

    def reset(self, *, sessions: bool = False) -> None:
        """Forget the request log and every fault setting and count (and the sessions)."""
        with self.lock:
            self._log.clear()
            self.faults = Faults()
            if sessions:
                self._sessions.clear()

    def update_faults(self, values: Mapping[str, Any]) -> None:
        with self.lock:
            self.faults.update(values)

    def count(self, name: str) -> None:
        with self.lock:
            self.faults.counts[name] += 1

    def malformed(self, call: Call, station: Station, day: date) -> MalformedDay | None:
        broken = self.faults.malformed(station.id, day)
        if broken is not None:
            self.count("malformed_payload")
            call.applied.append(f"malformed_payload:{broken.kind}")
        return broken

    # ------------------------------------------------------------------ sessions

    def find_account(self, name: Any) -> Account | None:
        if not isinstance(name, str):
            return None
        for account in self.accounts:
            if account.account.casefold() == name.strip().casefold():
                return account
        return None

    def new_session(self, account: Account, generation: Generation) -> Session:
        token = secrets.token_hex(16)
        stamp = int(time.time() * 1000)
        if generation == "semsplus":
            data: dict[str, Any] = {
                "uid": account.uid,
                "timestamp": str(stamp),
                "token": token,
                "client": "semsPlusWeb",
                "version": "",
                "language": "en",
                "api": self.semsplus_api(account.region),
                "region": account.region,
                "uuid": secrets.token_hex(16),
            }
        else:
            data = {
                "uid": account.uid,
                "timestamp": stamp,
                "token": token,
                "client": "ios",
                "version": "v2.1.0",
                "language": "en",
            }
        session = Session(token, account, generation, data)
        with self.lock:
            self._sessions[token] = session
        return session

    def session_for(self, token: Any, generation: Generation) -> Session | None:
        with self.lock:
            session = self._sessions.get(token) if isinstance(token, str) else None
        return session if session is not None and session.generation == generation else None

    def expire_if_due(self, session: Session) -> bool:
        """True when the session is expired, expiring it now if the fault says so."""
        with self.lock:
            limit = self.faults.token_expiry_after_calls
            if not session.expired and limit is not None and session.served >= limit:
                session.expired = True
                if not self.faults.token_expiry_repeat:
                    self.faults.token_expiry_after_calls = None
            return session.expired

    def expire_sessions(self) -> int:
        """Expire every live session now; returns how many there were."""
        with self.lock:
            live = [session for session in self._sessions.values() if not session.expired]
            for session in live:
                session.expired = True
            return len(live)

    # ------------------------------------------------------------------ serving

    def handle(self, call: Call) -> tuple[int, bytes, str]:
        """Serve one call: (HTTP status, body bytes, content type)."""
        started = time.perf_counter()
        if call.path.startswith(protocol.CONTROL_PREFIX):
            name = call.path[len(protocol.CONTROL_PREFIX) :].strip("/")
            status, reply = control.handle(self, call, name)
            return status, _dump(reply), "application/json"
        route = _route(call.path)
        call.endpoint = route.endpoint
        if route.generation is None or call.method != route.method:
            status = 404 if route.generation is None else 405
            reply = {"error_msg": "404 Route Not Found" if status == 404 else "Method Not Allowed"}
            self._record(call, status, None, None, started)
            return status, _dump(reply), "application/json"
        try:
            if route.login:
                answer = self._login(call, route.generation)
            else:
                self._before_data_call(call)
                answer = self._data_call(call, route)
        except PortalError as failure:
            self._record(call, failure.status, failure.code, None, started)
            content_type = "text/html" if failure.status >= 500 else "application/json"
            call.reply_headers.update(failure.headers)
            return failure.status, _dump(failure.body), content_type
        body = _dump(answer.body)
        if not route.login and self._take("malformed_json_calls", call.endpoint):
            self.count("malformed_json")
            call.applied.append("malformed_json")
            body = body[: max(len(body) // 2, 1)]
        self._record(call, 200, answer.code, answer, started)
        return 200, body, "application/json"

    def _login(self, call: Call, generation: Generation) -> Answer:
        if generation == "semsplus":
            if call.body_error:
                raise semsplus_parameter_error(call.body_error)
            return semsplus_api.login(self, call)
        if call.body_error:
            raise legacy_failure(protocol.LEGACY_PARAMETER_ERROR, call.body_error)
        return legacy_api.login(self, call)

    def _take(self, counter: str, endpoint: str) -> bool:
        with self.lock:
            return self.faults.applies_to(endpoint) and self.faults.take(counter)

    def _before_data_call(self, call: Call) -> None:
        """Faults that hit a data call before it is even authenticated."""
        if self._take("slow_calls", call.endpoint):
            self.count("slow")
            call.applied.append("slow")
            time.sleep(self.faults.slow_seconds)
        if self._take("server_error_calls", call.endpoint):
            self.count("server_error")
            call.applied.append("server_error")
            status = self.faults.server_error_status
            page = f"<html><body><h1>{status} Service Temporarily Unavailable</h1></body></html>"
            raise PortalError(page, None, status)
        if self._take("rate_limit_calls", call.endpoint):
            self.count("rate_limited")
            call.applied.append("rate_limited")
            message = "Too many requests, please try again later."
            failure = (
                legacy_failure(protocol.RATE_LIMITED, message)
                if call.endpoint.startswith("legacy.")
                else semsplus_failure(protocol.RATE_LIMITED, message)
            )
            retry_after = self.faults.rate_limit_retry_after
            if retry_after is not None:
                text = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
                failure.headers["Retry-After"] = text
            raise failure
        if self._take("portal_error_calls", call.endpoint):
            self.count("portal_error")
            call.applied.append("portal_error")
            raise self._failure(call, protocol.PORTAL_SIDE_ERROR, "system execution error")
        station_fault = self.faults.station_fault(_station_in(call), call.endpoint)
        if station_fault is not None:
            self.count(f"station_{station_fault.answer}")
            call.applied.append(f"station_{station_fault.answer}")
            if station_fault.answer == "permission_denied":
                raise self._failure(call, protocol.PERMISSION_DENIED, "permission denied")
            if station_fault.answer == "portal_error":
                raise self._failure(call, protocol.PORTAL_SIDE_ERROR, "system execution error")
            page = "<html><body><h1>500 Internal Server Error</h1></body></html>"
            raise PortalError(page, None, 500)

    @staticmethod
    def _failure(call: Call, code: str, message: str) -> PortalError:
        """A failure envelope in the call's API generation."""
        if call.endpoint.startswith("legacy."):
            return legacy_failure(int(code) if code.isdigit() else code, message)
        return semsplus_failure(code, message)

    def _data_call(self, call: Call, route: _Route) -> Answer:
        if route.generation == "semsplus":
            session = semsplus_api.authenticate(self, call, route.region)
            if call.body_error:
                raise semsplus_parameter_error(call.body_error)
            self._refuse_if_asked(call)
            answer = semsplus_api.DATA_HANDLERS[route.endpoint](self, call, session)
        else:
            legacy_session = legacy_api.authenticate(self, call, route.region)
            if call.body_error:
                raise legacy_failure(protocol.LEGACY_PARAMETER_ERROR, call.body_error)
            self._refuse_if_asked(call)
            answer = legacy_api.DATA_HANDLERS[route.endpoint](self, call, legacy_session)
            if legacy_session is None:
                return answer
            session = legacy_session
        with self.lock:
            session.served += 1
        return answer

    def _refuse_if_asked(self, call: Call) -> None:
        """The `refusals` fault: this endpoint (for this station) answers a code."""
        with self.lock:
            refusal = self.faults.refusal(call.endpoint, _station_in(call))
        if refusal is None:
            return
        self.count("refused")
        call.applied.append(f"refused:{refusal.code}")
        if call.endpoint.startswith("legacy."):
            raise legacy_failure(refusal.code, refusal.message)
        raise semsplus_failure(refusal.code, refusal.message)

    def _record(
        self, call: Call, status: int, code: str | int | None, answer: Answer | None, started: float
    ) -> None:
        headers: dict[str, Any] = {}
        for name in _RECORDED_HEADERS:
            value = call.headers.get(name)
            if value is not None:
                headers[name] = _parse_or_keep(value) if name == "token" else value
        with self.lock:
            self._seq += 1
            self._log.append(
                RequestRecord(
                    seq=self._seq,
                    time=datetime.now(UTC),
                    method=call.method,
                    path=call.path,
                    query=call.query,
                    endpoint=call.endpoint,
                    body=_redact(call.body),
                    headers=headers,
                    http_status=status,
                    code=code,
                    station_id=answer.station_id if answer else _station_in(call),
                    days=answer.days if answer else [],
                    faults=list(call.applied),
                    duration_ms=(time.perf_counter() - started) * 1000,
                )
            )


# ---------------------------------------------------------------------- routing


@dataclass(frozen=True)
class _Route:
    endpoint: str = "unknown"
    generation: Generation | None = None
    region: str | None = None  # None: the non-regional host, which data calls must not use
    login: bool = False
    method: str = "POST"


_GATEWAY = re.compile(r"^/(?P<region>[a-z]{2,8})-gateway/web/sems(?P<rest>/.*)$")
_LEGACY = re.compile(r"^/legacy-(?P<region>[a-z]{2,8})/api/(?P<rest>.*)$")
_SEMSPLUS_LOGIN_REST = protocol.SEMSPLUS_LOGIN_PATH[len(protocol.SEMSPLUS_NON_REGIONAL_BASE) :]


def _route(path: str) -> _Route:
    gateway = _GATEWAY.match(path)
    legacy = _LEGACY.match(path)
    if gateway:
        region, rest = gateway["region"], gateway["rest"]
    elif path.startswith(protocol.SEMSPLUS_NON_REGIONAL_BASE + "/"):
        region, rest = None, path[len(protocol.SEMSPLUS_NON_REGIONAL_BASE) :]
    elif legacy:
        return _legacy_route(legacy["rest"], legacy["region"])
    elif path.startswith("/api/"):
        return _legacy_route(path[len("/api/") :], None)
    else:
        return _Route()
    if rest == _SEMSPLUS_LOGIN_REST:
        return _Route("semsplus.login", "semsplus", login=True)
    endpoint = protocol.SEMSPLUS_ENDPOINTS.get(rest)
    if endpoint is None:
        return _Route()
    method = "GET" if endpoint == "semsplus.station_flow" else "POST"
    return _Route(endpoint, "semsplus", region, method=method)


def _legacy_route(rest: str, region: str | None) -> _Route:
    if rest == "v2/Common/CrossLogin":
        return _Route("legacy.login", "legacy", login=True)
    endpoint = protocol.LEGACY_ENDPOINTS.get(rest)
    return _Route(endpoint, "legacy", region) if endpoint else _Route()


# ---------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    portal: FakePortal


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a client's session expects
    # Headers and body go out in separate writes; with Nagle's algorithm the body waits
    # for the client's delayed ACK of the headers (~40 ms a request on a kept-alive
    # connection), which would make a fleet's thousand requests take minutes.
    disable_nagle_algorithm = True
    server_version = "sems-fake-portal"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record, and bodies may hold credentials."""

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        call = Call(
            method=self.command,
            path=path,
            query=dict(parse_qsl(query)),
            headers={name.lower(): value for name, value in self.headers.items()},
        )
        if raw.strip():
            try:
                call.body = json.loads(raw)
            except ValueError:
                call.body = raw.decode("utf-8", "replace")
                call.body_error = "the request body is not valid JSON"
        try:
            status, payload, content_type = self.server.portal.handle(call)
        except Exception as error:  # a bug in the fake must answer, not hang the client
            status, content_type = 500, "application/json"
            payload = _dump({"error": f"fake portal failure: {type(error).__name__}: {error}"})
        try:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type};charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in call.reply_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except ConnectionError:  # the client gave up (a timeout test does): nobody to tell
            self.close_connection = True


# ---------------------------------------------------------------------- helpers


def _check_unique_stations(accounts: Sequence[Account]) -> None:
    owner: dict[str, str] = {}
    for account in accounts:
        for station in account.stations:
            if owner.setdefault(station.id, account.account) != account.account:
                raise ValueError(f"station {station.id} belongs to two accounts")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the portal clock needs a timezone-aware datetime")
    return moment


def _dump(payload: JSON) -> bytes:
    if isinstance(payload, str):
        return payload.encode()
    return orjson.dumps(payload)


def _parse_or_keep(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _redact(body: JSON) -> JSON:
    if isinstance(body, dict):
        return {key: "***" if key in _SECRET_KEYS else _redact(v) for key, v in body.items()}
    if isinstance(body, list):
        return [_redact(item) for item in body]
    return body


def _station_in(call: Call) -> str | None:
    body = call.body_object()
    for key in ("stationId", "id", "powerStationId"):
        value = body.get(key)
        if isinstance(value, str):
            return value
    return call.query.get("stationId")
