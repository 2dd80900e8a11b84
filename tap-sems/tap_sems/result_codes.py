"""The portal's result codes and what the tap does with each: the one table.

SEMS answers HTTP 200 even on failure; the outcome is in `code`, an int or a string
(`0`, `"0"`, `"00000"`). docs/sems-protocol.md explains each code and where it was seen.
The SEMS+ codes (a letter and four digits) follow a common Java error-code convention:
A for a problem on the caller's side, B for one on the portal's side, C for a dependency.
"""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    """What the tap does about an answer."""

    SUCCESS = "use the data"
    SESSION_LOST = "log in again once, then repeat the call"
    WRONG_CREDENTIALS = "stop: wrong account or password (or a locked account)"
    BAD_PARAMETERS = "stop, or ask again with smaller windows where the tap can"
    RATE_LIMITED = "wait Retry-After (at most rate_limit_wait_seconds), then retry"
    TRANSIENT = "retry with backoff, up to max_retries"
    PERMISSION_DENIED = "set the station's days aside: the account may not read them"
    UNKNOWN_STATION = "stop, listing the stations the account can see"


RESULT_CODES: dict[str, Outcome] = {
    "0": Outcome.SUCCESS,  # legacy (int or string)
    "00000": Outcome.SUCCESS,  # SEMS+
    "100001": Outcome.SESSION_LOST,  # legacy: no access, please log in
    "100002": Outcome.SESSION_LOST,  # authorization expired (both generations)
    "C0602": Outcome.SESSION_LOST,  # SEMS+ account_login_abnormal
    "C0607": Outcome.SESSION_LOST,  # SEMS+ session expired
    "A0301": Outcome.SESSION_LOST,  # SEMS+ unauthorized (token or signature refused)
    "100005": Outcome.WRONG_CREDENTIALS,  # legacy: e-mail or password error
    "100004": Outcome.BAD_PARAMETERS,  # parameter error
    "S0327": Outcome.BAD_PARAMETERS,  # SEMS+ statistics dimension refused
    "GY0429": Outcome.RATE_LIMITED,
    "100000": Outcome.TRANSIENT,  # system error (also: a missing token header)
    "B0001": Outcome.TRANSIENT,  # SEMS+ portal-side error ("system execution error")
    "100025": Outcome.PERMISSION_DENIED,  # permission denied for one station
    "A0312": Outcome.UNKNOWN_STATION,  # SEMS+ no permission: a station of another account
}
# Whole families of codes: SEMS+ answers A02xx for a wrong account or password.
CODE_PREFIXES: dict[str, Outcome] = {"A02": Outcome.WRONG_CREDENTIALS}


def outcome_of(code: object) -> Outcome | None:
    """The outcome of a result code (int or text); None for a code the table lacks."""
    text = str(code).strip() if code is not None else ""
    found = RESULT_CODES.get(text)
    if found is None:
        found = next((o for prefix, o in CODE_PREFIXES.items() if text.startswith(prefix)), None)
    return found


def is_success(code: object) -> bool:
    return outcome_of(code) is Outcome.SUCCESS
