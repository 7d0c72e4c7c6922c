"""The scheduler's sweeps, by name: each app registers its periodic work here (the built-in
ones from ``esimdesk.scheduler``, plug-ins such as the sandbox from their
``AppConfig.ready``), so registering needs no import of the scheduler and what it assembles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SWEEPS: dict[str, Callable[[], Any]] = {}


def register(name: str, sweep: Callable[[], Any]) -> None:
    SWEEPS[name] = sweep
