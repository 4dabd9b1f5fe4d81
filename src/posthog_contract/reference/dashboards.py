"""Placeholder: filled in by the dashboards work."""

from __future__ import annotations

from .routing import Route

ROUTES: list[Route] = []
