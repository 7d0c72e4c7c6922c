from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from esimdesk.scheduler import SWEEPS, run_sweep


class Command(BaseCommand):
    help = "Run one scheduler sweep now (for cron): " + ", ".join(SWEEPS)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="sweep to run, or 'all'")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        names = list(SWEEPS) if name == "all" else [name]
        for item in names:
            if item not in SWEEPS:
                raise CommandError(f"unknown sweep {item!r}; choose from {', '.join(SWEEPS)}")
            self.stdout.write(f"{item}: {run_sweep(item)}")
