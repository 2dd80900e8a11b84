"""A thin stdlib client for the fake portal: the wire protocol spelled out once.

For tests and scripts that talk to a portal over HTTP (possibly in another process):
`SemsPlusSession` and `LegacySession` log in and sign calls exactly as
docs/sems-protocol.md describes; `Control` drives the /_fake/ endpoints. They check
nothing: a reply is returned whatever its code, so tests can assert on failures too.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from sems_fake_portal import payloads, protocol

SEMSPLUS_BOOTSTRAP_TOKEN = {
    "uid": "",
    "timestamp": 0,
    "token": "",
    "client": "semsPlusWeb",
    "version": "",
    "language": "en",
}
LEGACY_BOOTSTRAP_TOKEN = {"version": "v2.1.0", "client": "ios", "language": "en"}
CURVE_PATH = protocol.SEMSPLUS_CURVE_PATH
STATISTICS_PATH = protocol.SEMSPLUS_STATISTICS_PATH
STATION_LIST_PATH = protocol.SEMSPLUS_STATION_LIST_PATH
STATION_DETAIL_PATH = protocol.SEMSPLUS_STATION_DETAIL_PATH


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Reply:
    """One HTTP request; HTTP errors are replies too, not exceptions."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    prepared = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as response:
            return Reply(response.status, response.read(), response.headers["Content-Type"])
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), error.headers.get("Content-Type", ""))


class SemsPlusSession:
    """Log in to SEMS+ and make signed data calls on the regional base it names."""

    def __init__(self, root_url: str, account: str, password: str) -> None:
        self.root_url = root_url.rstrip("/")
        self.account = account
        self._password = password
        self.login_data: dict[str, Any] = {}

    def login(self) -> Reply:
        reply = request(
            "POST",
            self.root_url + protocol.SEMSPLUS_LOGIN_PATH,
            {
                "account": self.account,
                "pwd": protocol.semsplus_password_hash(self._password),
                "agreement": 1,
                "isChinese": False,
                "isLocal": False,
            },
            {"token": json.dumps(SEMSPLUS_BOOTSTRAP_TOKEN)},
        )
        payload = reply.json()
        if str(payload.get("code")) == protocol.SEMSPLUS_OK and "token" in payload["data"]:
            self.login_data = payload["data"]
        return reply

    @property
    def api(self) -> str:
        return str(self.login_data["api"])

    def headers(self, milliseconds: int | None = None) -> dict[str, str]:
        stamp = int(time.time() * 1000) if milliseconds is None else milliseconds
        signature = protocol.semsplus_signature(
            stamp, self.login_data["uid"], self.login_data["token"]
        )
        return {"token": json.dumps(self.login_data), "X-Signature": signature}

    def post(self, path: str, body: Any, *, base: str | None = None) -> Reply:
        return request("POST", (base or self.api) + path, body, self.headers())

    def get(self, path: str, query: dict[str, str]) -> Reply:
        return request("GET", f"{self.api}{path}?{urlencode(query)}", None, self.headers())

    def power_curve(
        self,
        station_id: str,
        first: date,
        last: date,
        *,
        scale: int = 5,
        items: list[str] | None = None,
        time_zone: float = 1,
    ) -> Reply:
        return self.post(
            CURVE_PATH,
            {
                "stationId": station_id,
                "items": items or list(payloads.SEMSPLUS_POWER_ITEMS),
                "timeScale": scale,
                "timeZone": time_zone,
                "startTime": f"{first.isoformat()} 00:00:00",
                "endTime": f"{last.isoformat()} 23:59:59",
            },
        )

    def statistics(self, station_id: str, first: date, last: date, dimension: str = "day") -> Reply:
        return self.post(
            STATISTICS_PATH,
            {
                "stationId": station_id,
                "isReport": False,
                "items": [],
                "dimension": dimension,
                "startTime": f"{first.isoformat()} 00:00:00",
                "endTime": f"{last.isoformat()} 23:59:59",
            },
        )


class LegacySession:
    """Log in to the legacy API and call it on the `api` base the login names."""

    def __init__(self, root_url: str, account: str, password: str) -> None:
        self.root_url = root_url.rstrip("/")
        self.account = account
        self._password = password
        self.login_data: dict[str, Any] | None = None
        self.api = ""

    def login(self) -> Reply:
        reply = request(
            "POST",
            self.root_url + protocol.LEGACY_LOGIN_PATH,
            {"account": self.account, "pwd": self._password},
            {"Token": json.dumps(LEGACY_BOOTSTRAP_TOKEN)},
        )
        payload = reply.json()
        if str(payload.get("code")) == protocol.LEGACY_OK:
            self.login_data = payload.get("data")
            self.api = payload["api"]
        return reply

    def post(self, path: str, body: Any) -> Reply:
        token = self.login_data or LEGACY_BOOTSTRAP_TOKEN
        return request("POST", self.api + path, body, {"Token": json.dumps(token)})

    def power_chart(self, station_id: str, day: date) -> Reply:
        body = {"id": station_id, "date": day.isoformat(), "full_script": False}
        return self.post("v2/Charts/GetPlantPowerChart", body)


class Control:
    """The /_fake/ control API of a portal running elsewhere."""

    def __init__(self, root_url: str) -> None:
        self.root_url = root_url.rstrip("/")

    def _call(self, method: str, name: str, body: Any = None, query: str = "") -> Any:
        url = f"{self.root_url}{protocol.CONTROL_PREFIX}{name}{query}"
        reply = request(method, url, body)
        if reply.status != 200:
            raise RuntimeError(f"{method} /_fake/{name} answered {reply.status}: {reply.body!r}")
        return reply.json()

    def health(self) -> dict[str, Any]:
        return dict(self._call("GET", "health"))

    def requests(self, since: int = 0, endpoint: str | None = None) -> list[dict[str, Any]]:
        query = {"since": str(since), **({"endpoint": endpoint} if endpoint else {})}
        return list(self._call("GET", "requests", query="?" + urlencode(query))["requests"])

    def faults(self) -> dict[str, Any]:
        return dict(self._call("GET", "faults"))

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        return dict(self._call("POST", "faults", settings))

    def reset(self, *, sessions: bool = False) -> None:
        self._call("POST", "reset", {"sessions": sessions})

    def set_clock(self, now: datetime | None) -> None:
        self._call("POST", "clock", {"now": now.isoformat() if now else None})
