"""Staff members holding one role each (or none), signed in."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.staff.roles import sync_roles


def member(email: str, *role_names: str, superuser: bool = False) -> tuple[User, Client]:
    sync_roles()
    if superuser:
        user = User.objects.create_superuser(email, "x-long-password-1")
    else:
        user = User.objects.create_user(email, "x-long-password-1", is_staff=True)
        user.groups.add(*Group.objects.filter(name__in=role_names))
    client = Client()
    client.force_login(user)
    return user, client
