"""Placeholder: filled in by the sharing work."""

from __future__ import annotations

from .routing import Route

ROUTES: list[Route] = []
