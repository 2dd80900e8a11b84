"""Redaction of portal answers for a diagnosis bundle that strangers will read.

Two nets, because nobody knows every field name SEMS uses:

- by key: values under keys that look like a password, token, signature, uid, account,
  e-mail, street address, coordinates, a person's contact or a serial number;
- by value: any string equal to (or, for long values, containing) a secret the bundle was
  told about or found under such a key anywhere, and anything that looks like an e-mail
  address, whatever key it is under.

Each distinct value gets one placeholder such as `<token-1>` everywhere in the bundle, so
the structure stays readable: the same uid in two answers is the same placeholder.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

# Substrings of a long text are replaced only for values at least this long; shorter
# secrets (a short password) are replaced where a whole string equals them.
MIN_SUBSTRING = 8
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SERIAL_KEY = re.compile(r"(?:^|_)sn$|[a-z]Sn$|^SN$|serial", re.IGNORECASE)

_EXACT_KEYS: dict[str, str] = {
    **dict.fromkeys(("pwd", "password", "passwd", "pass", "userpassword"), "password"),
    **dict.fromkeys(
        ("token", "authorization", "cookie", "xsignature", "signature", "sign", "secret"),
        "token",
    ),
    **dict.fromkeys(("apikey", "accesskey", "secretkey", "session", "sessionid"), "token"),
    **dict.fromkeys(("uid", "userid", "uuid", "memberid", "ownerid", "customerid"), "uid"),
    **dict.fromkeys(
        ("account", "email", "mail", "username", "loginname", "accountname", "useremail"),
        "account",
    ),
    **dict.fromkeys(("lat", "latitude", "gpslat"), "latitude"),
    **dict.fromkeys(("lng", "lon", "long", "longitude", "gpslng", "gpslon"), "longitude"),
    **dict.fromkeys(
        ("street", "location", "postcode", "postalcode", "zipcode", "zip", "gps", "coordinates"),
        "address",
    ),
    **dict.fromkeys(("tel", "telephone", "fax", "contact", "realname", "nickname"), "personal"),
}


def key_kind(key: str) -> str | None:
    """The kind of sensitive value `key` holds, or None."""
    norm = re.sub(r"[^a-z0-9]", "", key.lower())
    if norm in _EXACT_KEYS:
        return _EXACT_KEYS[norm]
    if norm.endswith("token") or norm.endswith("password") or norm.endswith("signature"):
        return "token" if not norm.endswith("password") else "password"
    if "email" in norm:
        return "account"
    if "latitude" in norm:
        return "latitude"
    if "longitude" in norm:
        return "longitude"
    if "address" in norm or norm.endswith("addr"):
        return "address"
    if "phone" in norm or "mobile" in norm or norm.startswith("owner"):
        return "personal"
    if _SERIAL_KEY.search(key):
        return "serial"
    return None


class Redactor:
    """Replaces sensitive values with placeholders, the same one for the same value."""

    def __init__(self) -> None:
        self._placeholders: dict[tuple[str, str], str] = {}
        self._counts: Counter[str] = Counter()
        self._values: dict[str, str] = {}  # known sensitive text -> placeholder
        self._pattern: re.Pattern[str] | None = None

    def placeholder(self, kind: str, value: Any) -> str:
        canonical = str(value).strip()
        if kind in ("account", "email"):
            canonical = canonical.casefold()
        key = (kind, canonical)
        found = self._placeholders.get(key)
        if found is None:
            self._counts[kind] += 1
            found = self._placeholders[key] = f"<{kind}-{self._counts[kind]}>"
        return found

    def secret(self, kind: str, value: Any) -> None:
        """Redact `value` wherever it appears, under any key."""
        if value is None or isinstance(value, bool):
            return
        text = str(value).strip()
        if not text or text in self._values:
            return
        self._values[text] = self.placeholder(kind, text)
        if kind == "account":
            self._values[text.casefold()] = self._values[text]
        self._pattern = None

    def learn(self, document: Any) -> None:
        """Note every value under a sensitive key, so it is also caught elsewhere."""
        if isinstance(document, Mapping):
            for key, value in document.items():
                kind = key_kind(str(key))
                if (
                    kind is not None
                    and kind not in ("latitude", "longitude")
                    and isinstance(value, str | int | float)
                    and len(str(value)) >= 4
                ):
                    self.secret(kind, value)
                self.learn(value)
        elif isinstance(document, list):
            for item in document:
                self.learn(item)

    def redact(self, document: Any) -> Any:
        """A copy of `document` (JSON values) with every sensitive value replaced."""
        if isinstance(document, Mapping):
            result = {}
            for key, value in document.items():
                kind = key_kind(str(key))
                if kind is not None and _is_content(value):
                    result[self.text(str(key))] = self._placeholder_for(kind, value)
                else:
                    result[self.text(str(key))] = self.redact(value)
            return result
        if isinstance(document, list):
            return [self.redact(item) for item in document]
        if isinstance(document, str):
            return self.text(document)
        return document

    def _placeholder_for(self, kind: str, value: Any) -> Any:
        """Everything under a sensitive key: scalars become placeholders, the shape stays."""
        if isinstance(value, Mapping):
            return {
                self.text(str(key)): self._placeholder_for(key_kind(str(key)) or kind, item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._placeholder_for(kind, item) for item in value]
        if not _is_content(value):
            return value
        text = str(value).strip()
        known = self._values.get(text) or self._values.get(text.casefold())
        return known if known is not None else self.placeholder(kind, value)

    def text(self, text: str) -> str:
        """`text` with every known secret and every e-mail address replaced."""
        exact = self._values.get(text) or self._values.get(text.casefold())
        if exact is not None:
            return exact
        pattern = self._substring_pattern()
        if pattern is not None:
            text = pattern.sub(lambda match: self._values[match.group(0)], text)
        return _EMAIL.sub(lambda match: self._email(match.group(0)), text)

    def _email(self, address: str) -> str:
        known = self._values.get(address) or self._values.get(address.casefold())
        return known if known is not None else self.placeholder("email", address)

    def _substring_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None:
            long_values = sorted(
                (value for value in self._values if len(value) >= MIN_SUBSTRING),
                key=len,
                reverse=True,
            )
            if not long_values:
                return None
            self._pattern = re.compile("|".join(map(re.escape, long_values)))
        return self._pattern

    def leaks(self, text: str) -> list[str]:
        """Placeholders of known secrets still present in `text` (a final check)."""
        return sorted(
            {
                placeholder
                for value, placeholder in self._values.items()
                if len(value) >= MIN_SUBSTRING and value in text
            }
        )

    def kinds(self) -> dict[str, int]:
        """How many distinct values of each kind were replaced."""
        return dict(sorted(self._counts.items()))


def _is_content(value: Any) -> bool:
    """Empty values and flags reveal nothing and stay, so the shape reads the same."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, Mapping | list):
        return bool(value)
    return True
