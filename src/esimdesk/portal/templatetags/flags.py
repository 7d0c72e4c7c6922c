"""Flags as images from django-countries' static files (``flags/<code>.gif``), so they show
on every system (emoji flags are empty boxes on Windows), and region icons from heroicons.

``{% flag country.code %}`` draws ``<img class="flag" ...>``; ``{% flag code "lg" %}`` a
larger one for cards and headings. The flag is decorative (``alt=""``): the country's name
is always written beside it."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()

# The images are 16 x 11 pixels; larger sizes scale them by whole or half steps.
SIZES = {"sm": (16, 11), "md": (24, 17), "lg": (32, 22), "xl": (48, 33)}


def flag_url(code: str) -> str:
    return static(f"flags/{code.lower()[:2]}.gif")


@register.simple_tag
def flag(code: str, size: str = "sm") -> str:
    if not code:
        return ""
    width, height = SIZES.get(size, SIZES["sm"])
    return format_html('<img class="flag flag-{}" src="{}" alt="" width="{}" height="{}" '
                       'loading="lazy">', size if size in SIZES else "sm", flag_url(code),
                       width, height)


REGION_ICONS = {"asia": "globe-asia-australia", "europe": "globe-europe-africa",
                "americas": "globe-americas"}


@register.filter
def region_icon(code: str) -> str:
    """The heroicon for a region's card (a globe turned to it; the world for the rest)."""
    return REGION_ICONS.get(code, "globe-alt")
