"""Placeholder: filled in by the capture work."""

from __future__ import annotations

from .routing import Route

ROUTES: list[Route] = []
