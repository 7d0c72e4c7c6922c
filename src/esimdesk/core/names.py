"""A name at the start of a sentence or a title, with its first letter capital, except a
name that keeps its own case.

Django's ``capfirst`` turns "eSIMs" into "ESIMs". A word whose first letter is small and
second capital ("eSIM", "eSIMs", "iPhone") is a name written that way on purpose; it is
left as it is. Used by the console's templates in place of Django's filter (registered as
``capfirst`` by ``core.templatetags.names``) and by the admin's Python side (model names in
the Data index, field labels)."""

from __future__ import annotations

from typing import Any


def keeps_its_case(text: str) -> bool:
    """Whether ``text`` starts with a word written small-then-capital ("eSIM")."""
    return len(text) > 1 and text[0].islower() and text[1].isupper()


def capfirst(value: Any) -> Any:
    """``value`` with a capital first letter, unless it keeps its case; an empty value or
    ``None`` as given (as Django's ``capfirst``)."""
    if not value:
        return value
    text = str(value)
    if keeps_its_case(text):
        return text
    return text[0].upper() + text[1:]
