"""Routes with PostHog's URL rules: two project prefixes, optional trailing slash, no redirects.

A resource module exposes ``ROUTES: list[Route]``; a path may start with ``{prefix}``, which
stands for both ``/api/projects/{project_id}`` and ``/api/environments/{project_id}`` (§1.1).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from . import mutants

SLASH_REQUIRED = mutants.declare(
    "trailing_slash_required", "API paths answer without the trailing slash too, no redirect (§1.1)",
    killed_by=("tests/test_dashboards.py::test_trailing_slash_is_optional",),
)

Handler = Callable[[Request], Awaitable[Response]]
PREFIXES = ("/api/projects/{project_id}", "/api/environments/{project_id}")


@dataclass(frozen=True)
class Route:
    path: str
    handlers: dict[str, Handler]


@dataclass(frozen=True)
class CompiledRoute:
    pattern: re.Pattern[str]
    template: str
    handlers: dict[str, Handler]


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(
        r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
    )
    return re.compile(f"^{regex}$")


class Router:
    """First route whose pattern matches and which has a handler for the method wins."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes: list[CompiledRoute] = []
        for route in routes:
            templates = (
                [p + route.path[len("{prefix}") :] for p in PREFIXES]
                if route.path.startswith("{prefix}")
                else [route.path]
            )
            for template in templates:
                template = template.rstrip("/") or "/"
                self.routes.append(CompiledRoute(_compile(template), template, route.handlers))

    def methods_for(self, path: str) -> list[str]:
        """The methods a path really supports (handlers marked ``refuses`` only answer 405), for ``Allow``."""
        path = path.rstrip("/") or "/"
        methods: list[str] = []
        for route in self.routes:
            if route.pattern.match(path):
                real = [m for m, h in route.handlers.items() if not getattr(h, "refuses", False)]
                methods += [m for m in real if m not in methods]
        return methods

    def template_for(self, path: str) -> str | None:
        """The first route template matching ``path`` (``…/{id}`` marks a detail route)."""
        path = path.rstrip("/") or "/"
        return next((route.template for route in self.routes if route.pattern.match(path)), None)

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str] | None, list[str]]:
        """(handler, path params, allowed methods of a path that matched without this method)."""
        if mutants.active(SLASH_REQUIRED) and path.startswith("/api/") and not path.endswith("/"):
            return None, None, []
        path = path.rstrip("/") or "/"
        allowed: list[str] = []
        params_seen: dict[str, str] | None = None
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            handler = route.handlers.get(method) or (route.handlers.get("GET") if method == "HEAD" else None)
            if handler is not None:
                return handler, found.groupdict(), []
            allowed.extend(route.handlers)
            params_seen = params_seen or found.groupdict()
        return None, params_seen, allowed
