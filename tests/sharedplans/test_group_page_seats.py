"""The group page says what each seat's eSIM is (the one it uses, one on its way, none
yet), gives a member whose new eSIM is ready its install link, keeps cost centres and
invoices to organisations, and refuses a member's cap larger than the pool."""

from __future__ import annotations

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group, Membership
from esimdesk.sharedplans import members as group_members
from tests.builders import TEAM_PLAN
from tests.conftest import Api, run_tasks
from tests.sharedplans.conftest import Family, build_family, buy_seats, new_user

pytestmark = pytest.mark.django_db


def page_of(user: User, group: Group) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/groups/{group.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_seat_says_which_esim_it_uses_or_that_it_has_none(group_plans: None) -> None:
    owner = new_user("owner-seat@example.com")
    group = groups.create_group(owner=owner, kind=Group.Kind.FAMILY, name="The Wus")
    buy_seats(owner, group, 3)
    html = page_of(owner, group)
    # nothing is being made for the owner: no "being prepared" for minutes on end
    assert "No eSIM yet" in html and "eSIM being prepared" not in html

    member = new_user("joiner@example.com")
    invitation = groups.invite(by=owner, group=group, email=member.email or "")
    joined = group_members.accept_invitation(user=member, token=invitation.token)
    html = page_of(owner, group)
    assert html.count("eSIM being prepared") == 1  # the joiner's, ordered right now
    assert "Your new eSIM is being prepared" in page_of(member, group)

    run_tasks()
    joined.refresh_from_db()
    assert joined.esim is not None
    tail = joined.esim.iccid[-4:]
    assert f"Uses eSIM …{tail}, not installed yet" in page_of(owner, group)
    # the member who joined with a new eSIM gets its install link on the group page
    mine = page_of(member, group)
    assert f'href="/esims/{joined.esim.iccid}/#install"' in mine
    assert "Install your eSIM" in mine


def test_a_family_shows_no_cost_centres_or_invoices(family: Family) -> None:
    html = page_of(family.owner, family.group)
    assert "Cost centre" not in html and "invoice" not in html.lower().split("<main")[1]
    assert "Usage per member (CSV)" in html
    mine = Membership.active.get(group=family.group, user=family.owner).esim
    assert mine is not None and f"Uses your eSIM …{mine.iccid[-4:]}" in html


def test_an_organisation_shows_cost_centres_and_its_invoice(group_plans: None) -> None:
    owner = new_user("boss@example.com")
    group = groups.create_group(owner=owner, kind=Group.Kind.ENTERPRISE, name="Acme",
                                company_name="Acme Ltd")
    buy_seats(owner, group, 2, plan=TEAM_PLAN)
    html = page_of(owner, group)
    assert "Cost centre" in html and f"/groups/{group.pk}/invoice.pdf" in html


def test_a_cap_larger_than_the_pool_is_refused(family: Family) -> None:
    member = family.members[1]
    client = Client()
    client.force_login(family.owner)
    pool_gb = family.period.allowances.get(kind="data").total // GB  # 20 GB for four
    response = client.post(f"/groups/{family.group.pk}/members/{member.pk}/",
                           {"action": "cap", "cap_gb": str(pool_gb + 1)}, follow=True)
    assert "cannot be larger than the shared pool (20 GB)" in response.content.decode()
    member.refresh_from_db()
    assert member.data_cap_bytes is None
    client.post(f"/groups/{family.group.pk}/members/{member.pk}/",
                {"action": "cap", "cap_gb": str(pool_gb)})
    member.refresh_from_db()
    assert member.data_cap_bytes == pool_gb * GB  # the whole pool is still a cap


def test_the_api_refuses_a_cap_larger_than_the_pool_with_a_code(group_plans: None) -> None:
    api = Api.signup("api-capper@example.com")
    family = build_family(3, owner=User.objects.get(email="api-capper@example.com"))
    member = family.members[1]
    total = family.period.allowances.get(kind="data").total
    refused = api.patch(f"/api/v1/groups/{family.group.pk}/members/{member.pk}",
                        {"cap_bytes": total + 1})
    assert refused.status_code == 422, refused.content
    assert refused.json()["code"] == "cap_above_pool"
    member.refresh_from_db()
    assert member.data_cap_bytes is None
    assert api.patch(f"/api/v1/groups/{family.group.pk}/members/{member.pk}",
                     {"cap_bytes": total}).status_code == 200
