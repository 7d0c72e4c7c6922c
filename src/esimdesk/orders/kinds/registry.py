"""The line-kind table: which ``LineKind`` handles each ``OrderLine.type``.

Apps register their kinds in their ``AppConfig.ready`` (``orders`` its personal kinds, the
feature apps above it theirs), so the order core looks a kind up here instead of naming
the features. Registration order is the order the kinds are listed in (the ``allowed``
list of an ``invalid_line_type`` error, the field's choices).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from esimdesk.core.errors import ValidationFailed

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from esimdesk.orders.kinds.base import LineKind

_KINDS: dict[str, LineKind] = {}


class UnknownLineKind(LookupError):
    """A stored line names a type no installed app registered (an app left out, or a typo
    in code). Raised by ``kind_for``; requests are checked with ``requested_kind``."""


def register(kind: LineKind) -> LineKind:
    """Add ``kind`` to the table. Registering the same type twice is a programming error,
    unless it is the same object again (``ready`` may run twice in tests)."""
    known = _KINDS.get(kind.type)
    if known is not None and known is not kind:
        raise ValueError(f"order line type {kind.type!r} is already registered by "
                         f"{type(known).__module__}")
    _KINDS[kind.type] = kind
    return kind


def kind_for(line_type: str) -> LineKind:
    """The kind that handles ``line_type``; ``UnknownLineKind`` names the type and the
    known ones when none does."""
    try:
        return _KINDS[line_type]
    except KeyError:
        raise UnknownLineKind(f"no order line kind is registered for {line_type!r} "
                              f"(known: {', '.join(_KINDS) or 'none'})") from None


def requested_kind(line_type: str) -> LineKind:
    """``kind_for`` for a type a customer sent: an unknown one is a 422
    ``invalid_line_type`` listing the allowed types."""
    kind = _KINDS.get(line_type)
    if kind is None:
        raise ValidationFailed(code="invalid_line_type", detail={"allowed": types()})
    return kind


def types() -> list[str]:
    return list(_KINDS)


def kinds() -> list[LineKind]:
    return list(_KINDS.values())


def choices() -> list[tuple[str, str | Promise]]:
    """``OrderLine.type`` choices: each registered type with its name for people."""
    return [(kind.type, kind.verbose_name) for kind in _KINDS.values()]
