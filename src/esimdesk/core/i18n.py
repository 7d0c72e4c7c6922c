"""Helpers for content stored in both languages (``<field>_en`` and ``<field>_zh_hans``)."""

from __future__ import annotations

from typing import Any

from babel import Locale
from django.utils import translation

_LOCALES = {"en": Locale.parse("en"), "zh_hans": Locale.parse("zh_Hans")}


def language_suffix(language: str | None = None) -> str:
    code = (language or translation.get_language() or "en").lower()
    return "zh_hans" if code.startswith("zh") else "en"


def localized(obj: Any, field: str, language: str | None = None) -> str:
    value = getattr(obj, f"{field}_{language_suffix(language)}", "")
    return str(value or getattr(obj, f"{field}_en", ""))


def country_name(code: str, language: str | None = None) -> str:
    """Country or territory name from CLDR, in the active (or given) language."""
    return str(_LOCALES[language_suffix(language)].territories.get(code.upper(), code.upper()))

