"""The SEMS+ password hash and X-Signature against values worked out by hand.

The expected values were computed from the published formulas with coreutils, not with
the code under test:

    printf '%s' 'S3cret!pw' | md5sum                      -> 39160755403262d6a6a3ac543be6df45
    printf '%s' 39160755403262d6a6a3ac543be6df45 | base64  -> PASSWORD_HASH
    printf '%s' "$MS@$UID@$TOKEN" | sha256sum             -> SIGNATURE_DIGEST
    printf '%s@%s' "$SIGNATURE_DIGEST" "$MS" | base64 -w0  -> SIGNATURE
    printf '%s' "$MS@@" | sha256sum                       -> the login's anonymous one

Both the tap (the client) and the fake portal (the server) are checked against them, so
the two cannot agree with each other on a wrong formula.
"""

from __future__ import annotations

import json

import requests

from sems_fake_portal import Account, FakePortal, demo_station, protocol
from tap_sems.client import SemsPlusClient, semsplus_password_hash, semsplus_signature

PASSWORD = "S3cret!pw"
PASSWORD_HASH = "MzkxNjA3NTU0MDMyNjJkNmE2YTNhYzU0M2JlNmRmNDU="
# base64 of the upper-case hex digest: what a client gets wrong if it skips .lower()
UPPER_HEX_HASH = "MzkxNjA3NTU0MDMyNjJENkE2QTNBQzU0M0JFNkRGNDU="

MS = 1767225600000  # 2026-01-01T00:00:00Z
UID = "a1b2c3d4-0000-4000-8000-000000000001"
TOKEN = "0123456789abcdef0123456789abcdef"
SIGNATURE_DIGEST = "1513f94689ae1b991cf837f9e2bae6e7cb282cc96aac914528ef53973cf18de5"
SIGNATURE = (
    "MTUxM2Y5NDY4OWFlMWI5OTFjZjgzN2Y5ZTJiYWU2ZTdjYjI4MmNjOTZhYWM5MTQ1MjhlZjUz"
    "OTczY2YxOGRlNUAxNzY3MjI1NjAwMDAw"
)
ANONYMOUS_SIGNATURE = (  # uid and token empty, as on the login call
    "MjZlMTMxYzZkMjBjNjE4NmE0MDE2NDdhNTJkNDRmOTg4YzFjODYwOTYzNzg2NmYxNWQxMzRm"
    "YjNiNWU4YTcyMEAxNzY3MjI1NjAwMDAw"
)


def test_tap_password_hash() -> None:
    assert semsplus_password_hash(PASSWORD) == PASSWORD_HASH


def test_tap_signature() -> None:
    assert semsplus_signature(UID, TOKEN, MS) == SIGNATURE
    assert semsplus_signature("", "", MS) == ANONYMOUS_SIGNATURE


def test_fake_portal_formulas() -> None:
    assert protocol.semsplus_password_hash(PASSWORD) == PASSWORD_HASH
    assert protocol.semsplus_signature(MS, UID, TOKEN) == SIGNATURE


def test_fake_portal_accepts_the_right_signature_and_refuses_wrong_ones() -> None:
    def accepted(header: str, uid: str = UID, token: str = TOKEN, now: float = MS / 1000) -> bool:
        return protocol.signature_accepted(header, uid, token, now=now, max_age_seconds=300)

    assert accepted(SIGNATURE)
    assert accepted(SIGNATURE, now=MS / 1000 + 299)
    assert not accepted(SIGNATURE, now=MS / 1000 + 301)  # stale
    assert not accepted(SIGNATURE, uid="someone-else")
    assert not accepted(SIGNATURE, token="f" * 32)
    assert not accepted(ANONYMOUS_SIGNATURE)  # signed for no session
    assert not accepted(SIGNATURE[:-4] + "MDAx")  # another time than the one signed
    assert not accepted(SIGNATURE_DIGEST)  # the digest alone, not base64 of digest@ms
    assert not accepted("")


def test_fake_portal_login_takes_the_hash_and_nothing_else() -> None:
    account = Account("known@example.com", PASSWORD, [demo_station()])
    token = {"uid": "", "timestamp": 0, "token": "", "client": "semsPlusWeb", "version": ""}
    with FakePortal([account]) as portal:

        def login_code(pwd: str) -> str:
            body = {"account": account.account, "pwd": pwd, "agreement": 1}
            headers = {"token": json.dumps(token)}
            answer = requests.post(
                portal.semsplus_login_url, json=body, headers=headers, timeout=10
            )
            return str(answer.json()["code"])

        assert login_code(PASSWORD_HASH) == protocol.SEMSPLUS_OK
        assert login_code(PASSWORD) == protocol.SEMSPLUS_WRONG_PASSWORD
        assert login_code(UPPER_HEX_HASH) == protocol.SEMSPLUS_WRONG_PASSWORD

        # And the tap's client, which computes its own hash, logs in to it.
        client = SemsPlusClient(account.account, PASSWORD, base_url=portal.url)
        client.login()
        assert portal.requests_for("semsplus.login")[-1].code == protocol.SEMSPLUS_OK
