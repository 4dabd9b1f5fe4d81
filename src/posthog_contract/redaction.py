"""Value- and key-based scrubbing of everything the suite records or prints.

Why both: value-based redaction catches a configured key wherever it travels (echoed in a body,
percent-encoded in a URL, quoted in an exception); key-based redaction catches credentials the suite
never configured (another project's ``api_token``, a ``password`` in a sharing payload, a session
cookie). Unrelated data that merely looks like a key (``phx_…`` in an event property) is left alone
unless it is a configured secret or sits under a sensitive name.
"""

from __future__ import annotations

import gzip
import json as _json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

__all__ = [
    "REDACTED",
    "SENSITIVE_HEADERS",
    "SENSITIVE_KEYS",
    "Redactor",
    "redact_everything",
]

REDACTED = "[REDACTED]"

#: Body keys and query/form parameter names whose values are always redacted (compared lowercased).
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "api_key",
        "token",
        "$token",
        "personal_api_key",
        "personal_api_key_value",
        "password",
        # Project tokens PostHog returns in project/team objects: not configured by the user, but
        # credentials all the same (the secret ones especially).
        "api_token",
        "secret_api_token",
        "secret_api_token_backup",
    }
)

#: Header names whose values are always redacted (compared lowercased).
SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)

_MIN_SECRET_LENGTH = 4  # shorter "secrets" would shred ordinary text
_KEY_ALTERNATION = "|".join(re.escape(k) for k in sorted(SENSITIVE_KEYS, key=len, reverse=True))
_PARAM_ALTERNATION = _KEY_ALTERNATION + "|%24token"
# "Bearer <token>" in free text (exception messages, curl lines, dict reprs); the lookahead wants a
# digit, underscore or '=' in the token so that prose such as "Basic authentication" survives.
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+(?=[A-Za-z0-9._~+/=-]*[0-9_=])[A-Za-z0-9._~+/=-]{6,}")
_QUERY_PARAM = re.compile(rf"(?i)([?&;](?:{_PARAM_ALTERNATION})=)[^&#;\s\"'<>]+")
_JSONISH_PAIR = re.compile(rf"""(?i)(["'](?:{_KEY_ALTERNATION})["']\s*:\s*)(["'])(?:(?!\2)[^\\]|\\.)+\2""")
# The same inside a JSON string that holds JSON (an echoed request body): \"token\": \"…\"
_ESCAPED_JSONISH_PAIR = re.compile(rf"""(?i)(\\"(?:{_KEY_ALTERNATION})\\"\s*:\s*\\")(?:(?!\\").)+(\\")""")
_MULTIPART_FIELD = re.compile(
    rf"""(?i)(content-disposition:[^\r\n]*\bname="(?:{_KEY_ALTERNATION})"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)[^\r\n]*"""
)
_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:)[^/?#@]*@")


class Redactor:
    """Scrubs configured secrets and credential-shaped fields out of text, headers, URLs and bodies.

    Secrets can be added later (:meth:`add`): the client registers every key it sends, and preflight
    registers the project key it discovers.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    # -- configuration ---------------------------------------------------------------------------

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._secrets)

    def add(self, *secrets: str | None) -> None:
        """Register more secret values (None, empty and very short values are ignored)."""
        changed = False
        for secret in secrets:
            if not secret or len(secret.strip()) < _MIN_SECRET_LENGTH:
                continue
            secret = secret.strip()
            if secret not in self._secrets:
                self._secrets.append(secret)
                changed = True
        if changed:
            variants: set[str] = set()
            for s in self._secrets:
                variants.update({s, quote(s, safe=""), quote_plus(s), _json.dumps(s)[1:-1]})
            ordered = sorted(variants, key=len, reverse=True)  # longest first: no partial leftovers
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    # -- scrubbing -------------------------------------------------------------------------------

    def text(self, s: str) -> str:
        """Free text: secret values (raw, percent- and JSON-encoded) and credential-shaped fragments."""
        if not s:
            return s
        if self._pattern is not None:
            s = self._pattern.sub(REDACTED, s)
        s = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", s)
        s = _QUERY_PARAM.sub(lambda m: m.group(1) + REDACTED, s)
        s = _JSONISH_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}", s)
        s = _ESCAPED_JSONISH_PAIR.sub(lambda m: m.group(1) + REDACTED + m.group(2), s)
        return s

    def headers(self, headers: Mapping[str, Any] | Iterable[tuple[Any, Any]] | None) -> dict[str, str]:
        """Headers as a plain dict; credential headers keep only their scheme or cookie names."""
        if headers is None:
            return {}
        if hasattr(headers, "multi_items"):
            items = headers.multi_items()
        elif isinstance(headers, Mapping):
            items = headers.items()
        else:
            items = headers
        out: dict[str, str] = {}
        for raw_name, raw_value in items:
            name = _decode(raw_name)
            value = self._header_value(name, _decode(raw_value))
            out[name] = f"{out[name]}, {value}" if name in out else value
        return out

    def url(self, url: Any) -> str:
        """A URL with sensitive query parameters, userinfo passwords and secret values redacted."""
        text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", str(url))
        head, sep, rest = text.partition("?")
        if sep:
            query, hash_sep, fragment = rest.partition("#")
            text = head + "?" + self._pairs(query, "&") + hash_sep + fragment
        return self.text(text)

    def json(self, obj: Any) -> Any:
        """A deep copy of decoded JSON with sensitive keys and secret values redacted."""
        return self._walk(obj, strings=True)

    def body(self, body: bytes | str | None, content_type: str | None = None) -> str:
        """A request or response body as redacted text (JSON re-serialised, forms field by field)."""
        if body is None:
            return ""
        prefix = ""
        if isinstance(body, bytes | bytearray | memoryview):
            data = bytes(body)
            if data[:2] == b"\x1f\x8b":
                try:
                    data = gzip.decompress(data)
                    prefix = "[gzip] "
                except (OSError, EOFError):
                    return f"<{len(data)} bytes of undecodable gzip data>"
            text = data.decode("utf-8", errors="replace")
        else:
            text = str(body)
        ctype = (content_type or "").lower()
        stripped = text.lstrip()
        if stripped and ("json" in ctype or stripped[0] in "{["):
            try:
                decoded = _json.loads(text)
            except ValueError:
                pass
            else:
                walked = self._walk(decoded, strings=False)
                return prefix + self.text(_json.dumps(walked, ensure_ascii=False))
        if "x-www-form-urlencoded" in ctype:
            return prefix + self.text(self._pairs(text, "&"))
        if "multipart/form-data" in ctype:
            text = _MULTIPART_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
        return prefix + self.text(text)

    # -- internals -------------------------------------------------------------------------------

    def _header_value(self, name: str, value: str) -> str:
        lname = name.lower()
        if not value:
            return value
        if lname in ("authorization", "proxy-authorization"):
            scheme, space, _credentials = value.strip().partition(" ")
            return f"{scheme} {REDACTED}" if space else REDACTED
        if lname == "cookie":
            return "; ".join(_redact_cookie_pair(p) for p in value.split(";"))
        if lname == "set-cookie":
            first, sep, attributes = value.partition(";")
            return _redact_cookie_pair(first) + sep + attributes
        if lname in SENSITIVE_HEADERS or "api-key" in lname or "apikey" in lname or "token" in lname:
            return REDACTED
        return self.text(value)

    def _pairs(self, query: str, separator: str) -> str:
        parts = []
        for part in query.split(separator):
            name, eq, value = part.partition("=")
            if eq and value and unquote_plus(name).strip().lower() in SENSITIVE_KEYS:
                part = f"{name}={REDACTED}"
            parts.append(part)
        return separator.join(parts)

    def _walk(self, obj: Any, *, strings: bool) -> Any:
        if isinstance(obj, Mapping):
            out: dict[Any, Any] = {}
            for key, value in obj.items():
                new_key = self.text(key) if strings and isinstance(key, str) else key
                if isinstance(key, str) and key.lower() in SENSITIVE_KEYS and value not in (None, ""):
                    out[new_key] = REDACTED
                else:
                    out[new_key] = self._walk(value, strings=strings)
            return out
        if isinstance(obj, list | tuple):
            return [self._walk(item, strings=strings) for item in obj]
        if strings and isinstance(obj, str):
            return self.text(obj)
        return obj


def _decode(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return str(value)


def _redact_cookie_pair(pair: str) -> str:
    name, eq, value = pair.strip().partition("=")
    return f"{name}={REDACTED}" if eq and value else pair.strip()


def redact_everything(text: str, secrets: Iterable[str | None]) -> str:
    """One-shot free-text redaction, the last line of defence for report writers."""
    return Redactor(secrets).text(text)
