"""The schemathesis transport: a ``requests.Session`` that honours 429 + Retry-After."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ..client import retry_after_seconds
from ..config import Settings
from ..outcomes import LOG
from ..redaction import Redactor


class RetryAfterAdapter(HTTPAdapter):
    """Retries 429 answers after ``Retry-After`` seconds, bounded by a time budget and attempts.

    Schemathesis under pytest sends a 429 straight to the checks (its ``rate-limit = "auto"``
    retry is CLI-engine only), so the session does what §1.8 asks of the suite: wait, retry
    (bounded) and record a warning.
    """

    def __init__(
        self,
        *,
        max_wait: float,
        max_attempts: int = 6,
        sleep: Callable[[float], Any] = time.sleep,
        on_wait: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_wait = max_wait  # seconds per request, like the suite's client (POSTHOG_MAX_RETRY_WAIT)
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.on_wait = on_wait
        self.retries = 0  # over the session, for the report
        self.slept = 0.0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            response = super().send(request, **kwargs)
            if response.status_code != 429 or attempt >= self.max_attempts:
                return response
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            pause = retry_after if retry_after is not None else float(2 ** (attempt - 1))
            if waited + pause > self.max_wait:
                return response  # budget exhausted: the 429 reaches the checks as the host's answer
            response.close()
            waited += pause
            self.slept += pause
            self.retries += 1
            if self.on_wait is not None:
                self.on_wait(
                    f"429 on {request.method} {urlsplit(request.url or '').path}: waited {pause:g} s "
                    f"(Retry-After {response.headers.get('Retry-After', 'absent')}) before retry {attempt}"
                )
            self.sleep(pause)


def http_session(
    settings: Settings, *, redactor: Redactor | None = None, sleep: Callable[[float], Any] = time.sleep
) -> requests.Session:
    """A ``requests.Session`` whose adapters honour 429 + Retry-After (warnings go to the report)."""
    scrub = redactor.text if redactor is not None else (lambda text: text)
    session = requests.Session()
    adapter = RetryAfterAdapter(
        max_wait=settings.max_retry_wait, sleep=sleep, on_wait=lambda note: LOG.warn(scrub(note))
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
