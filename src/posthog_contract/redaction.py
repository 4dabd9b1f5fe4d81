"""Value- and key-based scrubbing of everything the suite records or prints.

Why both: value-based redaction catches a configured key wherever it travels (echoed in a body,
percent-encoded in a URL, quoted in an exception); key-based redaction catches credentials the suite
never configured (another project's ``api_token``, a ``password`` in a sharing payload, a session
cookie). Unrelated data that merely looks like a key (``phx_…`` in an event property) is left alone
unless it is a configured secret or sits under a sensitive name.

A configured key is found by meaning, not by spelling (issue 20: a hostile host echoes it
``\\u0070hx_…``): each of its characters may be written raw, as a JSON or Python escape
(``\\u0070``, ``\\x70``, any number of backslashes, any mix), percent-encoded (once or twice), as
an HTML character reference, or a space as ``+``; the key's bytes are also found inside any
base64 or base64url text (at every alignment, so ``Bearer <key>`` and ``user:<key>`` encoded whole
are caught too; the whole base64 run is redacted) and as hex. Structured bodies are decoded
(JSON, forms, gzip within a bound) before they are matched.
"""

from __future__ import annotations

import base64
import bisect
import json as _json
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

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
_MIN_BASE64_CORE = 12  # base64 of a shorter secret is matched only by accident
_GUNZIP_LIMIT = 4_000_000  # bytes of a gzip body decoded for evidence: a gzip bomb stays small
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
        self._literal: re.Pattern[str] | None = None  # each secret as it reads once decoded, and as hex
        self._base64: re.Pattern[str] | None = None  # the fixed cores of each secret's base64 forms
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
            literals: set[str] = set()
            cores: set[str] = set()
            for secret in self._secrets:
                raw = secret.encode("utf-8")
                # percent-encoded UTF-8 decodes byte by byte: a non-ASCII key then reads as latin-1
                literals.update({secret, raw.decode("latin-1"), secret.replace(" ", "+"), raw.hex(), raw.hex().upper()})
                cores.update(_base64_cores(raw))
            self._literal = _alternation(literals)
            self._base64 = _alternation(cores) if cores else None

    # -- scrubbing -------------------------------------------------------------------------------

    def text(self, s: str) -> str:
        """Free text: secret values (raw, percent- and JSON-encoded) and credential-shaped fragments."""
        if not s:
            return s
        if self._literal is not None:
            s = self._scrub_secrets(s)
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
                    inflate = zlib.decompressobj(wbits=31)  # gzip, at most _GUNZIP_LIMIT bytes out
                    unpacked = inflate.decompress(data, _GUNZIP_LIMIT)
                except zlib.error:
                    return f"<{len(data)} bytes of undecodable gzip data>"
                prefix = "[gzip] " if not inflate.unconsumed_tail else f"[gzip, first {_GUNZIP_LIMIT:,} bytes] "
                data = unpacked
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

    def _scrub_secrets(self, s: str) -> str:
        """Every configured secret, in whatever spelling (see the module doc), becomes REDACTED.

        The text is read decoded (escapes and percent-encoding undone, each decoded character
        remembering the characters it came from), the secrets are found in the decoded reading, and
        the original characters behind each find are replaced.
        """
        assert self._literal is not None
        view = _Decoded(s)
        spans = [view.original(m.start(), m.end()) for m in self._literal.finditer(view.text)]
        if self._base64 is not None:
            for m in self._base64.finditer(view.text):
                start, end = view.original(m.start(), m.end())
                spans.append(_base64_run(s, start, end))
        if not spans:
            return s
        spans.sort()
        out, position = [], 0
        for start, end in spans:
            if end <= position:
                continue
            out.append(s[position:max(start, position)])
            out.append(REDACTED)
            position = end
        out.append(s[position:])
        return "".join(out)

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


#: one encoded character: JSON / Python escapes (any number of backslashes), percent-encoding (once or
#: twice), HTML / XML character references, JSON's short escapes of " \\ /
_ESCAPE = re.compile(
    r"\\+u([0-9a-fA-F]{4})|\\+x([0-9a-fA-F]{2})|%(?:25)?([0-9a-fA-F]{2})|&#0*([0-9]{1,7});"
    r"|&#[xX]0*([0-9a-fA-F]{1,6});|\\+([\"\\\\/])"
)
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")


class _Decoded:
    """A text read with its escapes undone, and the way back from the reading to the text."""

    def __init__(self, text: str) -> None:
        self.source = text
        # segments: (start in the reading, start in the text, length in the text, literal?)
        self._segments: list[tuple[int, int, int, bool]] = []
        parts: list[str] = []
        done = at = 0
        for m in _ESCAPE.finditer(text):
            if m.start() > done:
                self._segments.append((at, done, m.start() - done, True))
                parts.append(text[done:m.start()])
                at += m.start() - done
            parts.append(_unescape(m))
            self._segments.append((at, m.start(), m.end() - m.start(), False))
            at += 1
            done = m.end()
        if not self._segments:  # nothing encoded: the reading is the text
            self.text = text
            return
        if done < len(text):
            self._segments.append((at, done, len(text) - done, True))
            parts.append(text[done:])
        self.text = "".join(parts)
        self._starts = [segment[0] for segment in self._segments]

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the text behind the reading's ``[start, end)``."""
        if not self._segments:
            return start, end
        return self._where(start)[0], self._where(end - 1)[1]

    def _where(self, index: int) -> tuple[int, int]:
        at, source, length, literal = self._segments[bisect.bisect_right(self._starts, index) - 1]
        if literal:
            return source + index - at, source + index - at + 1
        return source, source + length


def _unescape(m: re.Match[str]) -> str:
    for group, base in ((1, 16), (2, 16), (3, 16), (4, 10), (5, 16)):
        if m.group(group) is not None:
            code = int(m.group(group), base)
            return chr(code) if code <= 0x10FFFF else "\ufffd"
    return m.group(6)


def _alternation(literals: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted((x for x in literals if x), key=len, reverse=True)  # longest first: no partial leftovers
    return re.compile("|".join(re.escape(x) for x in ordered))


def _base64_cores(data: bytes) -> set[str]:
    """The fixed cores of ``data``'s base64 and base64url forms, at each of the three alignments.

    A base64 character carries 6 bits; only the characters whose bits all come from the secret are
    fixed (the first and last may mix with the bytes around it), so each alignment gives one core,
    found in ``Bearer <key>`` or ``user:<key>`` or a whole JSON document encoded alike.
    """
    cores = set()
    for align in range(3):
        encoded = base64.b64encode(b"\0" * align + data + b"\0\0\0").decode("ascii")
        first = -(-8 * align // 6)  # the first character entirely inside the secret's bits
        last = (8 * (align + len(data))) // 6  # one past the last such character
        core = encoded[first:last]
        if len(core) >= _MIN_BASE64_CORE:
            cores.update({core, core.translate(str.maketrans("+/", "-_"))})
    return cores


def _base64_run(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a base64 core's span to the whole run of base64 characters (and its padding) around it."""
    while start > 0 and text[start - 1] in _BASE64_CHARS:
        start -= 1
    while end < len(text) and text[end] in _BASE64_CHARS:
        end += 1
    while end < len(text) and text[end] == "=":
        end += 1
    return start, end


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
