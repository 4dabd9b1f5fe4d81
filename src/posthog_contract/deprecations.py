"""The host's deprecation notices, as structured records both transports leave on the run (issue 22).

PostHog deprecates ``/api/environments/`` in favour of ``/api/projects/`` (contract §1.9): its
``EnvironmentsRewriteMiddleware`` and ``EnvironmentsRedirectMiddleware`` (``posthog/middleware.py``)
answer every environments path that has a projects counterpart with ``Deprecation: true``, ``Link:
</api/projects/…>; rel="successor-version"`` (query kept) and, while ``API_ENVIRONMENTS_SUNSET_DATE``
is set, ``Sunset: Fri, 31 Jul 2026 00:00:00 GMT``; the redirect build answers 307 with a relative
``Location`` instead (PostHog's middleware tests, ``TestEnvironmentsRedirect``,
``TestSunsetHeader``). Any other host may announce a deprecation the standard ways: ``Deprecation``
(RFC 9745: ``@<epoch seconds>``, or ``true`` as PostHog and the earlier drafts send it), ``Sunset``
(RFC 8594, an HTTP-date) and a ``successor-version`` link (RFC 5829).

Each answer that carries one of them, and each redirect a transport followed, becomes one
:class:`DeprecationRecord`, kept per operation and prefix in the run's :class:`DeprecationLog`
(a field of the run's request ledger, ``ContractSession.ledger.deprecations``). Reporting them (summary,
report.json, HTML, JUnit, diff, ``--deprecations``) is built on :meth:`DeprecationRecord.as_dict`, the
*deprecation finding* of a run. Header values are kept raw, as the host sent them: pass them through
the run's redactor before printing (a hostile host could echo a key into them).

:func:`notice_problems` is the one judgement of a notice's form (tests/test_deprecation.py applies it):
what PostHog's middleware always sends on an ``/api/environments/`` answer, ``Deprecation`` and a
``successor-version`` Link naming the same project's ``/api/projects/`` path with the same query, and a
``Sunset`` that is an HTTP-date when there is one. No I/O here, and no pytest.
"""

from __future__ import annotations

import email.utils
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

__all__ = [
    "ENVIRONMENTS_PREFIX",
    "PROJECTS_PREFIX",
    "DeprecationLog",
    "DeprecationRecord",
    "is_http_date",
    "notice_problems",
    "parse_deprecation",
    "parse_sunset",
    "successor_link",
    "successor_path",
]

#: the deprecated documented prefix and its successor (contract §1.9)
ENVIRONMENTS_PREFIX = "/api/environments/"
PROJECTS_PREFIX = "/api/projects/"

#: one ``<uri>; params`` member of a Link header (RFC 8288); commas inside <> are part of the URI
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r"""(?i)\brel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""")
_EPOCH = re.compile(r"^@(-?\d+)$")
_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_WEEKDAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"\d{2}:\d{2}:\d{2}"
#: RFC 9110 §5.6.7 HTTP-date: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must read
_HTTP_DATE = re.compile(
    rf"^(?:{_DAY}, \d{{2}} {_MONTH} \d{{4}} {_TIME} GMT"
    rf"|{_WEEKDAY}, \d{{2}}-{_MONTH}-\d{{2}} {_TIME} GMT"
    rf"|{_DAY} {_MONTH} [ \d]\d {_TIME} \d{{4}})$"
)


def successor_path(path: str) -> str | None:
    """``/api/environments/<id>/…`` → ``/api/projects/<id>/…`` (same project, same resource); None otherwise.

    PostHog's ``EnvironmentsRewriteMiddleware`` (posthog/middleware.py) replaces the prefix and keeps the
    rest of the path as sent: a Project and its primary Team share the id, ``@current`` included.
    """
    if not path.startswith(ENVIRONMENTS_PREFIX) or len(path) <= len(ENVIRONMENTS_PREFIX):
        return None
    return PROJECTS_PREFIX + path[len(ENVIRONMENTS_PREFIX):]


def parse_deprecation(value: str | None) -> tuple[bool, datetime | None]:
    """(deprecated?, since when) from a ``Deprecation`` header: ``@<epoch>`` (RFC 9745), ``true``
    (PostHog; earlier drafts), or an HTTP-date (the draft before the structured field)."""
    if value is None:
        return False, None
    text = value.strip()
    epoch = _EPOCH.match(text)
    if epoch:
        try:
            return True, datetime.fromtimestamp(int(epoch.group(1)), UTC)
        except (OverflowError, OSError, ValueError):
            return True, None
    if text.lower() in ("true", "?1"):
        return True, None
    if text.lower() in ("false", "?0", ""):
        return False, None
    moment = _http_date(text)
    return True, moment


def parse_sunset(value: str | None) -> datetime | None:
    """The instant of a ``Sunset`` header (RFC 8594: an HTTP-date); None when absent or unreadable."""
    return _http_date(value) if value else None


def successor_link(value: str | None) -> str | None:
    """The target of the ``rel="successor-version"`` member of a ``Link`` header, as sent (often relative)."""
    if not value:
        return None
    for target, params in _LINK.findall(value):
        for quoted, bare in _REL.findall(params):
            if "successor-version" in (quoted or bare).lower().split():
                return target.strip()
    return None


def is_http_date(value: str | None) -> bool:
    """Whether ``value`` is an HTTP-date (RFC 9110 §5.6.7), as RFC 8594 requires of ``Sunset``: PostHog sends
    ``Fri, 31 Jul 2026 00:00:00 GMT`` (django.utils.http.http_date); an ISO date is not one."""
    return bool(value) and bool(_HTTP_DATE.match(str(value).strip())) and _http_date(str(value)) is not None


def notice_problems(request_url: str, headers: Mapping[str, str] | Any, *, required: bool) -> list[str]:
    """What is wrong with the deprecation notice of an answer to an ``/api/environments/`` request (§1.9).

    PostHog's ``EnvironmentsRewriteMiddleware`` and ``EnvironmentsRedirectMiddleware`` (posthog/middleware.py)
    add to every answer of such a path, whatever its status, ``Deprecation: true`` and ``Link:
    </api/projects/…?same query>; rel="successor-version"``, and ``Sunset`` as an HTTP-date while
    ``API_ENVIRONMENTS_SUNSET_DATE`` is set. ``required``: the host is judged as a release that sends them
    (the current one); otherwise only what it sends is judged. ``request_url`` is the URL the answer is
    to (absolute; a relative Link target is resolved against it). Empty: nothing wrong.
    """
    here = urlsplit(request_url)
    successor = successor_path(here.path)
    if successor is None:
        return []
    problems = []
    deprecation, link, sunset = (_header(headers, name) for name in ("Deprecation", "Link", "Sunset"))
    if deprecation is None:
        if required:
            problems.append("no Deprecation header (PostHog sends `Deprecation: true` on every /api/environments/ "
                            "answer: posthog/middleware.py, EnvironmentsRewriteMiddleware)")
    elif not parse_deprecation(deprecation)[0]:
        problems.append(f"Deprecation {deprecation!r} does not announce a deprecation (RFC 9745: `@<epoch seconds>`;"
                        " PostHog: `true`)")
    target = successor_link(link)
    wanted = f"{successor}?{here.query}" if here.query else successor
    if target is None:
        if required:
            problems.append(f'no Link with rel="successor-version" (PostHog sends `Link: <{wanted}>; '
                            'rel="successor-version"`)')
    else:
        there = urlsplit(urljoin(request_url, target))
        if (there.scheme, there.netloc) != (here.scheme, here.netloc):
            problems.append(f"the successor-version Link {target!r} names another origin, not this host's {wanted}")
        elif there.path.rstrip("/") != successor.rstrip("/"):
            problems.append(f"the successor-version Link {target!r} is not the same project's /api/projects/ path "
                            f"{wanted} (posthog/middleware.py: the prefix replaced, the rest of the path kept)")
        elif sorted(parse_qsl(there.query, keep_blank_values=True)) != \
                sorted(parse_qsl(here.query, keep_blank_values=True)):
            problems.append(f"the successor-version Link {target!r} does not keep the query: {wanted}")
    if sunset is not None and not is_http_date(sunset):
        problems.append(f"Sunset {sunset!r} is not an HTTP-date (RFC 8594; PostHog: `Fri, 31 Jul 2026 00:00:00 GMT`)")
    return problems


def _http_date(text: str) -> datetime | None:
    try:
        moment = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _header(headers: Mapping[str, str] | Any, name: str) -> str | None:
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None and isinstance(headers, Mapping):  # a plain dict: names in any case
        value = next((v for k, v in headers.items() if str(k).lower() == name.lower()), None)
    return None if value is None else str(value)


@dataclass
class DeprecationRecord:
    """One operation the host announced as deprecated, or redirected to its successor (contract §1.9).

    ``method`` and ``path`` are the first call that carried the notice (query left out, so no
    secret rides along); ``operation_id`` is the catalogue operation it belongs to (None for a path
    the catalogue does not know) and ``prefix`` the first path segment after ``/api/``
    (``environments`` or ``projects``): records are kept once per operation and prefix, ``count``
    says how many answers carried the notice. ``deprecation``, ``sunset`` and ``link`` are the raw
    header values (None when absent); ``successor`` is the successor-version link's target, or the
    URL a followed redirect named, as the host sent it. ``sunset_at`` is the parsed Sunset instant
    and ``sunset_passed`` whether it lies before the moment the record was made, on the run's own
    clock (None without a Sunset). ``redirect_status`` is 307/308 when a transport followed the
    redirect to ``successor`` (and judged the successor's answer as the operation's). ``template`` is the
    operation's path template under the prefix called (``/api/environments/{project_id}/dashboards/{id}/``)
    and ``documented`` whether PostHog documents the operation (contract §0.1).
    """

    method: str
    path: str
    operation_id: str | None
    prefix: str
    deprecation: str | None = None
    sunset: str | None = None
    link: str | None = None
    successor: str | None = None
    deprecated_since: datetime | None = None
    sunset_at: datetime | None = None
    sunset_passed: bool | None = None
    redirect_status: int | None = None
    seen_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    count: int = 1
    template: str | None = None
    documented: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """What records are deduplicated on: the operation (or ``METHOD path`` without one) and the prefix."""
        return (self.operation_id or f"{self.method} {self.path}", self.prefix)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: instants as ISO 8601 strings, everything else as recorded."""
        return {
            "method": self.method,
            "path": self.path,
            "operation_id": self.operation_id,
            "prefix": self.prefix,
            "deprecation": self.deprecation,
            "sunset": self.sunset,
            "link": self.link,
            "successor": self.successor,
            "deprecated_since": _iso(self.deprecated_since),
            "sunset_at": _iso(self.sunset_at),
            "sunset_passed": self.sunset_passed,
            "redirect_status": self.redirect_status,
            "seen_at": _iso(self.seen_at),
            "count": self.count,
            "template": self.template,
            "successor_template": self.successor_template,
            "documented": self.documented,
            "redirected": self.redirect_status is not None,
        }

    @property
    def successor_template(self) -> str | None:
        """The successor's path template (``/api/projects/{project_id}/…``), when the prefix is the deprecated one."""
        return successor_path(self.template) if self.template else None

    def sentence(self) -> str:
        """The finding in words: what is deprecated, its sunset (passed or not, on the run's clock), what to use."""
        what = f"{self.method} {self.template or self.path}" + (f" ({self.operation_id})" if self.operation_id else "")
        parts = [f"{what} is deprecated" + (f" since {self.deprecated_since.date().isoformat()}"
                                            if self.deprecated_since else "")]
        if self.sunset_at is not None:
            state = "passed" if self.sunset_passed else "not yet"
            parts.append(f"sunset {self.sunset_at.date().isoformat()} ({state})")
        elif self.sunset is not None:
            parts.append(f"sunset {self.sunset!r} (not an HTTP-date)")
        else:
            parts.append("no sunset announced")
        use = self.successor_template or self.successor
        if use:
            parts.append(f"use {use}")
        if self.redirect_status is not None:
            parts.append(f"the host redirected ({self.redirect_status}) to {self.successor}")
        return "; ".join(parts)

    def line(self) -> str:
        """One readable line: what, its successor, the sunset and whether it has passed."""
        what = f"{self.method} {self.path}" + (f" ({self.operation_id})" if self.operation_id else "")
        parts = [what]
        if self.redirect_status is not None:
            parts.append(f"redirected ({self.redirect_status}) to {self.successor}")
        elif self.successor:
            parts.append(f"successor {self.successor}")
        if self.sunset_at is not None:
            parts.append(f"sunset {self.sunset_at.date().isoformat()}{' (passed)' if self.sunset_passed else ''}")
        return ", ".join(parts)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def _template(operation: Any, prefix: str) -> str | None:
    """The catalogue operation's path template under ``prefix`` (None without an operation)."""
    if operation is None:
        return None
    if getattr(operation, "prefixed", False) and prefix in ("projects", "environments"):
        return str(operation.full_path(prefix))
    return getattr(operation, "path", None)


def _prefix(path: str) -> str:
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "api" else ""


class DeprecationLog:
    """The run's deprecation records, one per operation and prefix; safe to share between threads.

    ``operation_of(method, url)`` names the catalogue operation (default: ``report.match``'s
    ``operation_for``, loaded when first needed).
    """

    def __init__(self, operation_of: Callable[[str, str], Any] | None = None) -> None:
        self._records: dict[tuple[str, str], DeprecationRecord] = {}
        self._lock = threading.Lock()
        self._operation_of = operation_of

    def __len__(self) -> int:
        return len(self._records)

    @property
    def records(self) -> list[DeprecationRecord]:
        with self._lock:
            return list(self._records.values())

    def observe(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | Any,
        *,
        redirect_status: int | None = None,
        successor: str | None = None,
        now: datetime | None = None,
    ) -> DeprecationRecord | None:
        """Record an answer's notice (or a followed redirect); None when it carries none.

        ``headers`` are the answer's (httpx or requests headers, or a plain mapping); for a followed
        redirect pass its status and the ``Location`` it named as ``successor``.
        """
        deprecation = _header(headers, "Deprecation")
        sunset = _header(headers, "Sunset")
        link = _header(headers, "Link")
        linked = successor_link(link)
        if deprecation is None and sunset is None and linked is None and redirect_status is None:
            return None
        moment = now or datetime.now(UTC)
        path = urlsplit(url).path or "/"
        operation = self._operation(method, path)
        _, since = parse_deprecation(deprecation)
        sunset_at = parse_sunset(sunset)
        prefix = _prefix(path)
        record = DeprecationRecord(
            method=method.upper(),
            path=path,
            operation_id=getattr(operation, "operation_id", None),
            prefix=prefix,
            template=_template(operation, prefix),
            documented=bool(getattr(operation, "documented", False)),
            deprecation=deprecation,
            sunset=sunset,
            link=link,
            successor=successor or linked,
            deprecated_since=since,
            sunset_at=sunset_at,
            sunset_passed=None if sunset_at is None else sunset_at <= moment,
            redirect_status=redirect_status,
            seen_at=moment,
        )
        with self._lock:
            kept = self._records.get(record.key)
            if kept is None:
                self._records[record.key] = record
                return record
            kept.count += 1
            _merge(kept, record)
            return kept

    def as_list(self) -> list[dict[str, Any]]:
        return [record.as_dict() for record in self.records]

    def summary(self, limit: int = 3) -> str | None:
        """At most one line for the terminal: how many operations, a few examples; None when empty."""
        records = self.records
        if not records:
            return None
        passed = sum(1 for r in records if r.sunset_passed)
        sunset = f", {passed} past their sunset" if passed else ""
        if limit <= 0:  # the terminal lists them in a section of their own
            return f"the host announced {len(records)} deprecated operation(s){sunset} (contract §1.9): see below"
        shown = "; ".join(r.line() for r in records[:limit]) + ("; …" if len(records) > limit else "")
        return f"the host announced {len(records)} deprecated operation(s){sunset} (contract §1.9): {shown}"

    def _operation(self, method: str, path: str) -> Any:
        if self._operation_of is None:
            from .report.match import operation_for  # the catalogue matcher, loaded on first use

            self._operation_of = operation_for
        try:
            return self._operation_of(method, path)
        except Exception:  # noqa: BLE001 - naming the operation is a courtesy, never a failure
            return None


def _merge(kept: DeprecationRecord, new: DeprecationRecord) -> None:
    """Fill what the first answer did not carry (a redirect first, the headers of a later answer)."""
    for name in ("deprecation", "sunset", "link", "successor", "deprecated_since", "sunset_at", "redirect_status"):
        if getattr(kept, name) is None and getattr(new, name) is not None:
            setattr(kept, name, getattr(new, name))
    if kept.sunset_passed is None:
        kept.sunset_passed = new.sunset_passed

