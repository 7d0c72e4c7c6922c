"""Pages that feature apps above the portal add to it, under the portal's URL namespace
(``portal:``): a feature app registers its URL patterns in its ``AppConfig.ready`` and builds
its views on the portal's forms and helpers, so the portal never imports the feature."""

from __future__ import annotations

from django.urls import URLPattern

_PATTERNS: list[URLPattern] = []


def register(patterns: list[URLPattern]) -> None:
    """Add ``patterns`` once (registering the same pattern object again is a no-op)."""
    _PATTERNS.extend(p for p in patterns if p not in _PATTERNS)


def feature_pages() -> list[URLPattern]:
    return list(_PATTERNS)
