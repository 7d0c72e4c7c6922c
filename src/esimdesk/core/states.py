"""Explicit state machines: each model lists its allowed transitions in one place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from esimdesk.core.errors import IllegalTransition


class StateMachine:
    def __init__(self, name: str, transitions: Mapping[str, Iterable[str]]) -> None:
        self.name = name
        self.transitions = {source: frozenset(targets) for source, targets in transitions.items()}

    def allows(self, source: str, target: str) -> bool:
        return target in self.transitions.get(source, frozenset())

    def check(self, source: str, target: str) -> None:
        """Raise ``IllegalTransition`` unless ``source -> target`` is allowed."""
        if not self.allows(source, target):
            raise IllegalTransition(self.name, source, target)
