from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import pytest

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group, Invitation, Membership
from esimdesk.orders import services as orders
from esimdesk.orders.models import Order
from esimdesk.sharedplans import members as group_members
from esimdesk.sharedplans.terms import GROUP_PLAN
from esimdesk.subscriptions.models import Period
from tests.builders import FAMILY_PLAN, buy, make_esim, make_group_plans, user
from tests.conftest import run_tasks

START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
_serial = itertools.count(100)


@pytest.fixture
def group_plans(db: None) -> None:
    """A family plan for Europe (``FAMILY_PLAN``) and an organisation's plan for the world
    (``TEAM_PLAN``), with their price tiers."""
    make_group_plans()


def new_user(email: str, language: str = "en") -> User:
    return user(email, language=language)


def own_esim(owner: User) -> Esim:
    """An eSIM the user already has (with a personal plan), known to the simulator."""
    return make_esim(owner, n=next(_serial), data=1000)


def buy_seats(owner: User, group: Group, members: int, *, plan: str = FAMILY_PLAN,
              line_type: str = GROUP_PLAN) -> Order:
    """``members`` seats of the group's plan, marked paid and fulfilled."""
    return buy(owner, orders.LineRequest(type=line_type, plan=plan, group=group.pk,
                                         members=members), pay="marked")


@dataclass
class Family:
    group: Group
    owner: User
    members: list[Membership] = field(default_factory=list)

    @property
    def period(self) -> Period:
        return Period.objects.get(subscription__group=self.group, sequence=1)

    def esim_ids(self) -> list[int]:
        return [m.esim_id for m in self.members if m.esim_id is not None]


def build_family(size: int = 4, *, seats: int | None = None,
                 languages: tuple[str, ...] = (), owner: User | None = None,
                 plan: str = FAMILY_PLAN) -> Family:
    """A family of ``size`` (owner included) on the 5 GB-per-person plan (a 20 GB pool for
    four), every member with their own eSIM attached."""
    clock.set_now(START)
    owner = owner or new_user(f"owner{next(_serial)}@example.com")
    group = groups.create_group(owner=owner, kind=Group.Kind.FAMILY, name="The Lins")
    buy_seats(owner, group, seats or size, plan=plan)
    group.refresh_from_db()
    owner_member = group_members.attach_esim(user=owner, group_id=group.pk,
                                             iccid=own_esim(owner).iccid)
    family = Family(group, owner, [owner_member])
    for n in range(size - 1):
        language = languages[n] if n < len(languages) else "en"
        user = new_user(f"member{next(_serial)}@example.com", language)
        invitation = groups.invite(by=owner, group=group, email=user.email or "")
        family.members.append(group_members.accept_invitation(
            user=user, token=invitation.token, iccid=own_esim(user).iccid))
    run_tasks()
    assert family.period.allowances.get(kind="data").total == (seats or size) * 5 * GB
    assert Invitation.objects.filter(group=group, state="accepted").count() == size - 1
    return family


@pytest.fixture
def family(group_plans: None) -> Family:
    return build_family()


def at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


