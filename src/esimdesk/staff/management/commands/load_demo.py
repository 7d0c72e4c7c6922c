from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from esimdesk.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo catalog, staff user and demo customers (safe to run twice)."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in load_demo():
            self.stdout.write(line)
