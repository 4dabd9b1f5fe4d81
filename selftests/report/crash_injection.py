"""A pytest plugin (``-p crash_injection``) that makes schemathesis crash inside one generated test.

It stands in for a broken library (pytest 9.2 broke schemathesis 4.32.5 exactly so: an
``AttributeError`` inside ``call_and_validate``): the GET of one dashboard raises before any request,
so the host is never judged there. Nothing of the suite is changed.
"""

from __future__ import annotations

from typing import Any

import schemathesis

CRASH = "'Function' object has no attribute '_nodeid'"
_original = schemathesis.Case.call_and_validate


def _crashing(self: Any, *args: Any, **kwargs: Any) -> Any:
    if self.operation.method.upper() == "GET" and self.operation.path.endswith("/dashboards/{id}/"):
        raise AttributeError(CRASH)
    return _original(self, *args, **kwargs)


schemathesis.Case.call_and_validate = _crashing
