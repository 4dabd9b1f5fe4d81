"""The reference server's ASGI application: routing, error envelopes, latency, request log.

In front of the routes, in PostHog's middleware order (posthog/settings/web.py, ``MIDDLEWARE``): the CORS
preflight (``CorsMiddleware``, :mod:`.metadata`), then the ``/api/environments/`` deprecation
(``EnvironmentsRewriteMiddleware``, :mod:`.environments`); OPTIONS is DRF's metadata action; a 401 of
the current release names the OAuth protected-resource metadata (``posthog/exceptions.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from typing import Any

from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response

from . import (
    capture,
    collaborators,
    dashboards,
    environments,
    errors,
    events,
    metadata,
    plan,
    schema_doc,
    sharing,
    timeutil,
    users,
)
from .auth import RateLimiter, refuse_undeclared_method
from .event_windows import WindowCache
from .options import ServerOptions
from .routing import Route, Router
from .storage import Database

log = logging.getLogger("posthog_contract.reference")

#: every resource module; each exposes ROUTES (importing them also declares their mutants)
RESOURCE_MODULES = (users, dashboards, sharing, collaborators, events, capture, schema_doc)


def all_routes() -> list[Route]:
    return [route for module in RESOURCE_MODULES for route in module.ROUTES]


async def _method_not_allowed(request: Request) -> Response:
    """DRF authenticates and checks scopes before it looks up the handler, so 401/403 come before 405."""
    if "project_id" in request.path_params:
        await refuse_undeclared_method(request)
    raise errors.method_not_allowed(request.method)


class ReferenceApp:
    """A plain ASGI app; ``request.app.state`` holds ``db``, ``options`` and ``rate_limiter``."""

    def __init__(self, db: Database, options: ServerOptions) -> None:
        self.state = State()
        self.state.db = db
        self.state.options = options
        self.state.rate_limiter = RateLimiter()
        plan.configure(options.features_off, options.release, options.move_tile_key)
        timeutil.set_clock_offset(options.clock_offset_s)
        #: the host's own address (PostHog: SITE_URL), set by the server once its socket is bound
        self.state.site_url = None
        #: a second listener on another port: the origin the ``environments_307_to_another_origin`` mutant names
        self.state.other_origin = None
        self.state.event_windows = WindowCache()  # PostHog's per-request window cache (§7.4)
        self.router = Router(all_routes())
        self._requests = 0  # for options.throttle_every (one event loop: no lock needed)
        self._log_file = open(options.request_log, "a", buffering=1) if options.request_log else None  # noqa: SIM115

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        scope["app"] = self
        started = time.perf_counter()
        response = await self.handle(scope, receive)
        if self.state.options.latency_ms:
            await asyncio.sleep(self.state.options.latency_ms / 1000)
        await response(scope, receive, send)
        if self._log_file is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            # the path as sent (still percent-encoded): a decoded %0A must not split the line
            path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
            self._log_file.write(f"{scope['method']} {path} {response.status_code} {elapsed_ms:.2f}\n")

    def _throttled_in_front(self) -> Response | None:
        """``--throttle-every N``: a limiter in front of the API refuses every Nth request."""
        every = self.state.options.throttle_every
        if not every:
            return None
        self._requests += 1
        if self._requests % every:
            return None
        return errors.throttled(self.state.options.throttle_retry_after).response()

    async def handle(self, scope: dict[str, Any], receive: Any) -> Response:
        throttled = self._throttled_in_front()
        if throttled is not None:
            return throttled
        method = scope["method"]
        request_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if metadata.is_preflight(method, request_headers):
            return metadata.preflight()
        options = self.state.options
        deprecation = environments.route(
            scope, self.router, options.environments_mode, options.sunset_date, self.state.other_origin
        )
        if deprecation.redirect is not None:
            return deprecation.redirect
        response = await self._dispatch(scope, receive, method)
        if response.status_code == 401 and scope["path"].startswith("/api/") and plan.release() is None:
            # posthog/exceptions.py, exception_handler: RFC 9728 discovery on every DRF 401, pinned to SITE_URL
            site = self.state.site_url or "http://{}:{}".format(*scope.get("server", ("127.0.0.1", 80)))
            metadata_url = f"{site}/.well-known/oauth-protected-resource"
            response.headers["WWW-Authenticate"] = f'Bearer resource_metadata="{metadata_url}"'
        return deprecation.apply(response)

    async def _dispatch(self, scope: dict[str, Any], receive: Any, method: str) -> Response:
        handler, params, allowed = self.router.match(method, scope["path"])
        scope["path_params"] = params or {}
        request = Request(scope, receive)
        try:
            if handler is None:
                if not allowed:
                    raise errors.not_found()
                view = metadata.view_for(self.router.template_for(scope["path"])) if method == "OPTIONS" else None
                response = await (metadata.options(request, view) if view else _method_not_allowed(request))
            else:
                response = await handler(request)
        except errors.ApiError as exc:
            response = exc.response()
        except errors.RawResponse as exc:
            response = exc.response
        except Exception:  # a bug: answer like PostHog, keep serving, show the traceback
            log.error("unhandled error on %s %s\n%s", method, scope["path"], traceback.format_exc())
            response = errors.server_error().response()
        if response.status_code == 405 and "allow" not in response.headers:
            # DRF sends Allow on every response; a 405 without it breaks RFC 9110
            response.headers["Allow"] = ", ".join([*self.router.methods_for(scope["path"]), "OPTIONS"])
        if method == "HEAD":
            response.body = b""
        return response


def create_app(db: Database, options: ServerOptions | None = None) -> ReferenceApp:
    return ReferenceApp(db, options or ServerOptions())
