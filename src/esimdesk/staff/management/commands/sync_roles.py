from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from esimdesk.accounts.models import User
from esimdesk.staff import roles


class Command(BaseCommand):
    help = ("Create or correct the staff roles (agent, finance, admin); with --grant, make a "
            "person a staff member holding a role. Runs by itself after every migrate.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--grant", nargs=2, metavar=("EMAIL", "ROLE"),
                            help=f"give EMAIL the role ROLE ({', '.join(roles.ROLES)})")

    def handle(self, *args: Any, grant: list[str] | None = None, **options: Any) -> None:
        for name, count in roles.sync_roles().items():
            self.stdout.write(f"{name}: {count} permissions")
        if grant:
            email, role = grant
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                raise CommandError(f"no user with the e-mail address {email}")
            if role not in roles.ROLES:
                raise CommandError(f"unknown role {role!r}; one of {', '.join(roles.ROLES)}")
            roles.grant(user=user, role=role)
            self.stdout.write(f"{email} is now staff with the role {role}")
