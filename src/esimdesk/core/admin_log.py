"""The admin's history (Django's ``LogEntry``) naming each record as it is now.

A ``LogEntry`` keeps ``object_repr``, the record's name in the words of whoever saved it,
when they saved it ("period 1 of subscription 11"): read later, or in another language, that
text is stale. ``current_names`` names each entry's record by its ``__str__`` today, in the
active language, when the record still exists, and by the stored text when it does not
(deleted, or its model gone) — one query per kind of record, whatever the number of entries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError


def current_names(entries: Iterable[LogEntry]) -> dict[int, str]:
    """Entry id → the name of its record now (or as stored, if the record is gone)."""
    entries = list(entries)
    wanted: dict[int, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.content_type_id is not None and entry.object_id:
            wanted[entry.content_type_id].add(entry.object_id)
    found: dict[tuple[int, str], str] = {}
    for entry in entries:
        kind = entry.content_type_id
        if kind not in wanted:
            continue
        model = entry.content_type.model_class() if entry.content_type else None
        ids = wanted.pop(kind)
        if model is None:
            continue
        field = model._meta.pk
        keys = {}
        for raw in ids:
            try:
                keys[field.to_python(raw)] = raw
            except ValidationError:  # an id the key no longer takes: named as stored
                continue
        for pk, obj in model._default_manager.in_bulk(list(keys)).items():
            found[(kind, keys[pk])] = str(obj)
    return {entry.pk: found.get((entry.content_type_id or 0, entry.object_id or ""),
                                entry.object_repr) for entry in entries}


def with_current_names(entries: Iterable[LogEntry]) -> list[tuple[LogEntry, str]]:
    entries = list(entries)
    names = current_names(entries)
    return [(entry, names[entry.pk]) for entry in entries]
