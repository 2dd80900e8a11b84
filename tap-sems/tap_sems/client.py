"""HTTP clients for the two SEMS API generations.

Both share one request loop that acts on the portal's result codes (`result_codes.py`):
transient trouble (timeouts, HTTP 5xx, system errors, rate limits, truncated JSON) is
retried with backoff a bounded number of times; a lost session gets exactly one fresh
login; wrong credentials, unaccepted terms and parameter errors stop at once.

Nothing here ever puts the password (or its hash) into a log line or an exception.
"""

from __future__ import annotations

import abc
import base64
import datetime as dt
import email.utils
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec
import requests

from tap_sems import REPOSITORY, VERSION
from tap_sems.result_codes import Outcome, outcome_of

# Names the client and its release to the portal's operators, and where to find it.
USER_AGENT = f"tap-sems/{VERSION}" + (f" (+{REPOSITORY})" if REPOSITORY else "")


class SemsError(Exception):
    """A SEMS problem the user can act on; the message is safe to show. It stops the run."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code  # the portal's result code, when it answered one


class SemsRequestError(SemsError):
    """A request that failed for good for reasons confined to what it asked for (a station,
    some days): the run sets those days aside and goes on with the rest."""


class SemsLoginError(SemsError):
    """The portal rejected the account or password."""


class SemsTermsError(SemsError):
    """The login worked but the account must first accept terms in the web portal."""


class SemsPortalError(SemsError):
    """The login did not get through (unreachable, or an answer the tap cannot use)."""


class SemsParameterError(SemsRequestError):
    """The portal refused the request's parameters (100004, S0327)."""


class SemsSessionError(SemsError):
    """The session was rejected even right after a fresh login."""


class SemsUnavailableError(SemsRequestError):
    """Transient failures outlasted every retry."""


class SemsApiError(SemsRequestError):
    """An answer the result-code table does not cover."""


class SemsPermissionError(SemsRequestError):
    """The portal refuses this account the data of one station (100025)."""


class SemsUnknownStationError(SemsError):
    """The station is not one the account can see (A0312)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How patient the client is. Tests shrink the waits; defaults suit the real portal."""

    max_retries: int = 5
    backoff_seconds: float = 2
    max_backoff_seconds: float = 120
    rate_limit_wait_seconds: float = 300
    request_timeout_seconds: float = 30
    max_requests_per_second: float = 1

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds))


@dataclass
class Answer:
    """One HTTP exchange that got past transient trouble."""

    status: int
    payload: Mapping[str, Any]
    raw: bytes = b""  # the body as the portal sent it
    # When the request that got this answer was sent: how far a day not yet over was read.
    sent_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def code(self) -> str:
        return str(self.payload.get("code", "")).strip()

    @property
    def outcome(self) -> Outcome | None:
        return outcome_of(self.code)

    @property
    def message(self) -> str:
        for key in ("msg", "description", "errorMsg"):
            value = self.payload.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""

    def describe(self) -> str:
        text = f"code {self.code or '(none)'}"
        return f"{text}: {self.message}" if self.message else text


@dataclass(frozen=True)
class Topic:
    """What a call asks for, in the portal's terms: names raw captures and diagnosis files."""

    endpoint: str  # login, power_curve, statistics, station_detail, station_list, power_chart
    station_id: str | None = None
    first: dt.date | None = None
    last: dt.date | None = None
    page: int | None = None


@dataclass(frozen=True)
class Exchange:
    """A finished request and its answer, as observers (raw capture, diagnosis) see it.

    Login requests carry the password, so their body is never passed on.
    """

    generation: str
    topic: Topic
    method: str
    url: str
    params: Mapping[str, str] | None
    body: Mapping[str, Any] | None
    answer: Answer

    def request(self) -> dict[str, Any]:
        """What was asked, as kept next to the answer (never headers: they hold the token)."""
        return {
            "method": self.method,
            "url": self.url,
            "params": dict(self.params or {}),
            "body": self.body,
        }


Observer = Callable[[Exchange], None]


class SemsClient(abc.ABC):
    """Login, session reuse, throttling and the result-code table."""

    generation: ClassVar[str]
    default_url: ClassVar[str]

    def __init__(
        self,
        account: str,
        password: str,
        *,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        user_agent: str = USER_AGENT,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.account = account
        self._password = password
        self.base_url = (base_url or self.default_url).rstrip("/")
        self.policy = policy or RetryPolicy()
        self.logger = logger or logging.getLogger(f"tap_sems.{self.generation}")
        self._sleep = sleep
        self._http = requests.Session()
        # Session headers go with every request, the login included.
        self._http.headers.update({"Accept": "application/json", "User-Agent": user_agent})
        self._api: str | None = None
        self._last_request_at = 0.0
        # Called with every answer that got past transient trouble, before it is used.
        self.observers: list[Observer] = []
        # When the request behind the latest successful data answer was sent.
        self.last_sent_at = dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account!r}, base_url={self.base_url!r})"

    # -- public -------------------------------------------------------------------------

    @property
    def api(self) -> str:
        """The regional base URL the login handed out (logging in if needed)."""
        if self._api is None:
            self.login()
        assert self._api is not None
        return self._api

    def login(self) -> None:
        """Log in; a login that does not get through stops the run, whatever the cause."""
        self._api = None
        try:
            self._login()
        except SemsUnavailableError as error:
            raise SemsPortalError(
                f"{error}. Is the portal reachable from here? Check the network and the "
                "`api_url` setting.",
            ) from None
        except SemsRequestError as error:
            raise SemsPortalError(str(error), code=error.code) from None

    def call(
        self,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        what: str,
        topic: Topic,
        method: str = "POST",
        params: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        """Call an authenticated endpoint under the regional base URL; return the payload."""
        fresh_login = False
        while True:
            url = self.join(self.api, path)
            answer = self.exchange(
                method, url, what=what, topic=topic, body=body, params=params, auth=True
            )
            if answer.status == 401 or answer.outcome is Outcome.SESSION_LOST:
                if fresh_login:
                    raise SemsSessionError(self.session_rejected_message(what, answer))
                self.logger.info("%s: session expired (%s), logging in again", what, answer.code)
                self.login()
                fresh_login = True
                continue
            if answer.outcome is Outcome.SUCCESS:
                self.last_sent_at = answer.sent_at
                return answer.payload
            code = answer.code or None
            if answer.outcome is Outcome.BAD_PARAMETERS:
                raise SemsParameterError(
                    f"{what}: the portal refused the parameters ({answer.describe()})", code=code
                )
            if answer.outcome is Outcome.WRONG_CREDENTIALS:
                raise SemsLoginError(
                    f"{what}: the portal rejected the credentials ({answer.describe()})", code=code
                )
            if answer.outcome is Outcome.PERMISSION_DENIED:
                raise SemsPermissionError(
                    f"{what}: the portal refuses this account access ({answer.describe()})",
                    code=code,
                )
            if answer.outcome is Outcome.UNKNOWN_STATION:
                raise SemsUnknownStationError(
                    f"{what}: not a station of this account ({answer.describe()})", code=code
                )
            raise SemsApiError(
                f"{what}: unexpected answer ({answer.describe()}, HTTP {answer.status})",
                code=code,
            )

    def exchange(
        self,
        method: str,
        url: str,
        *,
        what: str,
        topic: Topic,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        auth: bool,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One request, retried through transient trouble; any result code is returned
        (and shown to the observers first)."""
        policy = self.policy
        problem = ""
        wait = 0.0
        for attempt in range(policy.max_retries + 1):
            if attempt:
                self.logger.warning(
                    "%s: %s; retry %d of %d in %.1f s",
                    what,
                    problem,
                    attempt,
                    policy.max_retries,
                    wait,
                )
                self._sleep(wait)
            wait = policy.backoff(attempt + 1)
            self._throttle()
            request_headers = dict(headers or {})
            if auth:
                request_headers.update(self.auth_headers())
            sent_at = dt.datetime.now(dt.UTC)
            try:
                response = self._http.request(
                    method,
                    url,
                    json=body,
                    params=params,
                    headers=request_headers,
                    timeout=policy.request_timeout_seconds,
                )
            except requests.Timeout:
                problem = f"no answer within {policy.request_timeout_seconds:g} s"
                continue
            except requests.ConnectionError as error:
                problem = f"connection failed ({type(error).__name__})"
                continue
            if response.status_code == 429:
                problem, wait = self.rate_limited("HTTP 429", response)
                continue
            if response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                continue
            if response.status_code == 401:
                return Answer(401, {"code": "HTTP 401"})
            try:
                payload = msgspec.json.decode(response.content)
            except msgspec.DecodeError:
                problem = f"malformed JSON in the answer (HTTP {response.status_code})"
                continue
            if not isinstance(payload, Mapping):
                problem = f"the answer is JSON {type(payload).__name__}, not an object"
                continue
            answer = Answer(response.status_code, payload, response.content, sent_at)
            if answer.outcome is Outcome.RATE_LIMITED:
                problem, wait = self.rate_limited(answer.describe(), response)
                continue
            if answer.outcome is Outcome.TRANSIENT:
                problem = f"portal-side error ({answer.describe()})"
                continue
            exchange = Exchange(
                self.generation, topic, method, url, params, body if auth else None, answer
            )
            for observe in self.observers:
                observe(exchange)
            if response.status_code >= 400:
                raise SemsApiError(
                    f"{what}: HTTP {response.status_code} ({answer.describe()})",
                    code=answer.code or None,
                )
            return answer
        raise SemsUnavailableError(
            f"{what}: gave up after {policy.max_retries + 1} attempts at {url}; "
            f"last problem: {problem}"
        )

    def rate_limited(self, what: str, response: requests.Response) -> tuple[str, float]:
        """The problem to log and the wait: Retry-After when the portal sends one, at most
        rate_limit_wait_seconds; without it, rate_limit_wait_seconds."""
        limit = self.policy.rate_limit_wait_seconds
        asked = retry_after_seconds(response.headers.get("Retry-After"), time.time())
        if asked is None:
            return f"rate limited ({what})", limit
        if asked > limit:
            return (
                f"rate limited ({what}; the portal asks for {asked:g} s, "
                f"rate_limit_wait_seconds allows {limit:g})",
                limit,
            )
        return f"rate limited ({what}; Retry-After {asked:g} s)", asked

    @staticmethod
    def join(base: str, path: str) -> str:
        return base.rstrip("/") + "/" + path.lstrip("/")

    # -- generation specifics -----------------------------------------------------------

    @abc.abstractmethod
    def _login(self) -> None:
        """Log in and set `self._api` and the session headers."""

    @abc.abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """Headers proving the session on a data call."""

    def session_rejected_message(self, what: str, answer: Answer) -> str:
        return f"{what}: the portal rejected a fresh session ({answer.describe()})"

    def login_failure(self, answer: Answer) -> SemsError:
        """The error for a login that did not succeed."""
        if answer.outcome is Outcome.WRONG_CREDENTIALS:
            return SemsLoginError(
                f"{self.name} login failed: wrong account or password for account "
                f"'{self.account}' ({answer.describe()}). Check both; an account locked "
                "after too many attempts is refused the same way."
            )
        if answer.outcome is Outcome.BAD_PARAMETERS:
            return SemsParameterError(
                f"{self.name} login refused with a parameter error ({answer.describe()}); "
                "check the account name and the api_url setting"
            )
        return SemsApiError(f"{self.name} login failed ({answer.describe()}, HTTP {answer.status})")

    @property
    def name(self) -> str:
        return "SEMS+" if self.generation == "semsplus" else "Legacy SEMS"

    def _throttle(self) -> None:
        rate = self.policy.max_requests_per_second
        if rate <= 0:
            return
        wait = self._last_request_at + 1.0 / rate - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last_request_at = time.monotonic()


# ---- SEMS+ ------------------------------------------------------------------------------


def semsplus_password_hash(password: str) -> str:
    """SEMS+ wants base64 of the lower-case hex MD5 of the password, not the password."""
    digest = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def semsplus_signature(uid: str, token: str, epoch_ms: int) -> str:
    digest = hashlib.sha256(f"{epoch_ms}@{uid}@{token}".encode()).hexdigest()
    return base64.b64encode(f"{digest}@{epoch_ms}".encode()).decode()


class SemsPlusClient(SemsClient):
    generation = "semsplus"
    default_url = "https://semsplus.goodwe.com"
    login_path = "/web/sems/sems-user/api/v1/auth/cross-login"
    anonymous_token: ClassVar[dict[str, Any]] = {
        "uid": "",
        "timestamp": 0,
        "token": "",
        "client": "semsPlusWeb",
        "version": "",
        "language": "en",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session_token: dict[str, Any] = {}

    def _login(self) -> None:
        body = {
            "account": self.account,
            "pwd": semsplus_password_hash(self._password),
            "agreement": 1,
            "isChinese": False,
            "isLocal": False,
        }
        headers = {
            "token": json.dumps(self.anonymous_token, separators=(",", ":")),
            "X-Signature": semsplus_signature("", "", now_ms()),
        }
        answer = self.exchange(
            "POST",
            self.join(self.base_url, self.login_path),
            what="SEMS+ login",
            topic=Topic("login"),
            body=body,
            auth=False,
            headers=headers,
        )
        self._session_token, self._api = self.session_from_login(answer)
        self.logger.info(
            "Logged in to SEMS+ as '%s' (region %s)",
            self.account,
            self._session_token.get("region") or "?",
        )

    def session_from_login(self, answer: Answer) -> tuple[dict[str, Any], str]:
        """The session token object and regional API base, or the error to stop with."""
        if answer.outcome is not Outcome.SUCCESS:
            raise self.login_failure(answer)
        data = answer.payload.get("data")
        if not isinstance(data, Mapping):
            raise SemsApiError(f"SEMS+ login answered {answer.describe()} without a 'data' object")
        if not data.get("token"):
            raise SemsTermsError(
                f"SEMS+ accepted the login for '{self.account}' but returned no session token. "
                "This happens when the account has not yet accepted the SEMS+ terms: log in once "
                "at https://semsplus.goodwe.com in a browser, accept them, then run again."
            )
        api = data.get("api") or answer.payload.get("api")
        if not isinstance(api, str) or not api.startswith(("http://", "https://")):
            raise SemsApiError("SEMS+ login returned no regional API address ('data.api')")
        return dict(data), api.rstrip("/")

    def auth_headers(self) -> dict[str, str]:
        token = self._session_token
        return {
            "token": json.dumps(token, separators=(",", ":")),
            "X-Signature": semsplus_signature(
                str(token.get("uid", "")), str(token.get("token", "")), now_ms()
            ),
        }

    def power_curve(
        self,
        station_id: str,
        first: dt.date,
        last: dt.date,
        *,
        items: list[str],
        interval_minutes: int,
        utc_offset_hours: float,
    ) -> Mapping[str, Any]:
        body = {
            "stationId": station_id,
            "items": items,
            "timeScale": interval_minutes,
            "timeZone": utc_offset_hours,
            "startTime": f"{first.isoformat()} 00:00:00",
            "endTime": f"{last.isoformat()} 23:59:59",
        }
        return self.call(
            "/sems-plant/api/v1/hems/power/statisticsAndPreV2",
            body,
            what=f"SEMS+ power curve {station_id} {first}..{last}",
            topic=Topic("power_curve", station_id, first, last),
        )

    def statistics(
        self, station_id: str, first: dt.date, last: dt.date, items: list[str]
    ) -> Mapping[str, Any]:
        body = {
            "stationId": station_id,
            "isReport": False,
            "items": items,
            "dimension": "day",
            "startTime": f"{first.isoformat()} 00:00:00",
            "endTime": f"{last.isoformat()} 23:59:59",
        }
        return self.call(
            "/sems-plant/api/stations/statistics",
            body,
            what=f"SEMS+ statistics {station_id} {first}..{last}",
            topic=Topic("statistics", station_id, first, last),
        )

    def station_detail(self, station_id: str) -> Mapping[str, Any]:
        return self.call(
            "/sems-plant/api/app/v2/stations/basic/info",
            {},
            params={"stationId": station_id},
            what=f"SEMS+ station detail {station_id}",
            topic=Topic("station_detail", station_id),
        )

    def stations_page(self, page: int, size: int) -> Mapping[str, Any]:
        return self.call(
            "/sems-plant/api/portal/stations/page",
            {"current": page, "size": size},
            what=f"SEMS+ station list page {page}",
            topic=Topic("station_list", page=page),
        )


# ---- legacy -----------------------------------------------------------------------------


class LegacyClient(SemsClient):
    generation = "legacy"
    default_url = "https://www.semsportal.com"
    login_path = "/api/v2/Common/CrossLogin"
    anonymous_token: ClassVar[dict[str, str]] = {
        "version": "v2.1.0",
        "client": "ios",
        "language": "en",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session_token: dict[str, Any] = {}

    def _login(self) -> None:
        headers = {"Token": json.dumps(self.anonymous_token, separators=(",", ":"))}
        body = {"account": self.account, "pwd": self._password}
        answer = self.exchange(
            "POST",
            self.join(self.base_url, self.login_path),
            what="Legacy SEMS login",
            topic=Topic("login"),
            body=body,
            auth=False,
            headers=headers,
        )
        if answer.outcome is not Outcome.SUCCESS:
            raise self.login_failure(answer)
        data = answer.payload.get("data")
        if not isinstance(data, Mapping) or not data.get("token"):
            raise SemsApiError(
                "The legacy SEMS portal accepted the login but returned no session token. It was "
                "switched off for most accounts in September 2026: use `backend: semsplus`."
            )
        api = answer.payload.get("api") or data.get("api")
        if not isinstance(api, str) or not api.startswith(("http://", "https://")):
            raise SemsApiError("Legacy SEMS login returned no API address ('api')")
        self._session_token = dict(data)
        self._api = api if api.endswith("/") else api + "/"
        self.logger.info("Logged in to the legacy SEMS portal as '%s'", self.account)

    def auth_headers(self) -> dict[str, str]:
        return {"Token": json.dumps(self._session_token, separators=(",", ":"))}

    def session_rejected_message(self, what: str, answer: Answer) -> str:
        return (
            f"{what}: the legacy portal rejected a fresh session ({answer.describe()}). "
            "The legacy API was switched off for most accounts in September 2026: "
            "use `backend: semsplus`."
        )

    def power_chart(self, station_id: str, day: dt.date) -> Mapping[str, Any]:
        return self.call(
            "v2/Charts/GetPlantPowerChart",
            {"id": station_id, "date": day.isoformat(), "full_script": False},
            what=f"Legacy power chart {station_id} {day}",
            topic=Topic("power_chart", station_id, day, day),
        )

    def station_list(self) -> Mapping[str, Any]:
        return self.call(
            "v2/HistoryData/QueryPowerStationByHistory",
            {},
            what="Legacy station list",
            topic=Topic("station_list"),
        )

    def monitor_detail(self, station_id: str) -> Mapping[str, Any]:
        return self.call(
            "v3/PowerStation/GetMonitorDetailByPowerstationId",
            {"powerStationId": station_id},
            what=f"Legacy station detail {station_id}",
            topic=Topic("station_detail", station_id),
        )


def now_ms() -> int:
    return int(time.time() * 1000)


def retry_after_seconds(header: str | None, now: float) -> float | None:
    """Seconds a Retry-After header asks for: a number of seconds or an HTTP date."""
    text = (header or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        seconds = moment.timestamp() - now
    return max(seconds, 0.0) if math.isfinite(seconds) else None
