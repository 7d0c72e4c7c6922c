"""A pooled eSIM on the traveller's pages: the dashboard card, the eSIM page and the live
figures show the group's pool (what is left of it, the member's own limit, the pool's
period) with the group page's figures, never the eSIM's own empty allowances; no personal
renewal or top-up, a link to the group instead; the dashboard's query count stays fixed."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB, MB, Plan
from esimdesk.core import clock
from esimdesk.esims.models import Esim
from esimdesk.groups import services as groups
from esimdesk.sharedplans import pool_queries
from esimdesk.sharedplans.pools import PoolCharge, charge_pool
from tests.builders import (
    FAMILY_PLAN,
    family_plan,
    in_use,
    make_esim,
    plan,
    regional_plan,
    renewal_queued,
)
from tests.sharedplans.conftest import Family, at, build_family

pytestmark = pytest.mark.django_db
LEFT = 124 * GB // 10
OWNER_USED = 20 * GB - 1200 * MB - LEFT


def client_of(person: User, language: str = "en") -> Client:
    client = Client()
    client.cookies["esimdesk_language"] = language
    client.force_login(person)
    return client


def in_the_pool(fam: Family) -> Family:
    """Everyone's eSIM connected; the member of index 1 capped at 3 GB and 1.2 GB used of
    the pool, the owner the rest of 7.6 GB: 12.4 GB left of the 20 GB pool."""
    for member in fam.members:
        assert member.esim is not None
        in_use(member.esim)
    member = fam.members[1]
    groups.set_cap(by=fam.owner, membership=member, cap_bytes=3 * GB)
    charge_pool(charges=[PoolCharge(member.esim_id, "data", 1200 * MB, at(30)),  # type: ignore[arg-type]
                         PoolCharge(fam.members[0].esim_id, "data", OWNER_USED, at(31))])  # type: ignore[arg-type]
    clock.set_now(at(60))
    return fam


def card_of(html: str, iccid: str) -> str:
    start = html.index(f'id="esim-{iccid}"')
    return html[start:html.index("</article>", start)]


def test_a_family_member_sees_the_pool_and_their_limit(group_plans: None) -> None:
    fam = in_the_pool(build_family())
    member = fam.members[1]
    assert member.esim is not None
    view = pool_queries.overview(fam.group)
    assert view.data is not None and view.data.remaining == LEFT
    html = client_of(member.user).get("/dashboard/").content.decode()
    card = card_of(html, member.esim.iccid)
    # the group's plan: Europe, not the eSIM's own plan
    assert "Europe</a></h2>" in card
    assert 'aria-label="Shared: 12.4 GB left of 20 GB · The Lins"' in card
    assert "Shared: 12.4 GB left of 20 GB · The Lins" in card
    assert "0 KB" not in card
    assert "Your limit: 3 GB, 1.2 GB used" in card
    assert "days left" in card and ">Active<" in card
    # the group's owner renews and tops up the pool: a link to the group, not personal ones
    assert "/renew/" not in card and "/top-up/" not in card
    assert f'href="/groups/{fam.group.pk}/">View family plan</a>' in card


def test_the_owner_is_offered_to_manage_the_family_plan(group_plans: None) -> None:
    fam = in_the_pool(build_family())
    owner_esim = fam.members[0].esim
    assert owner_esim is not None
    card = card_of(client_of(fam.owner).get("/dashboard/").content.decode(), owner_esim.iccid)
    assert f'href="/groups/{fam.group.pk}/">Manage family plan</a>' in card
    assert "Your limit" not in card and "/renew/" not in card


def test_the_card_in_chinese(group_plans: None) -> None:
    fam = in_the_pool(build_family(languages=("zh-hans",)))
    member = fam.members[1]
    assert member.esim is not None
    card = card_of(client_of(member.user, "zh-hans").get("/dashboard/").content.decode(),
                   member.esim.iccid)
    assert "共享：剩余 12.4 GB，共 20 GB · The Lins" in card
    assert "您的上限：3 GB，已用 1.2 GB" in card
    assert "查看家庭套餐" in card and "欧洲" in card


def test_a_pool_waiting_for_first_use_starts_when_you_arrive(db: None) -> None:
    family_plan(code=FAMILY_PLAN, validity_starts=Plan.ValidityStarts.FIRST_USE)
    fam = build_family()
    member = fam.members[1]
    assert member.esim is not None
    assert fam.period.state == "pending"
    card = card_of(client_of(member.user).get("/dashboard/").content.decode(),
                   member.esim.iccid)
    assert "Starts when you arrive" in card
    assert "Shared: 20 GB left of 20 GB · The Lins" in card
    assert "days left" not in card and "/renew/" not in card


def test_a_pooled_esim_costs_no_more_queries_among_personal_ones(group_plans: None) -> None:
    fam = in_the_pool(build_family())
    member = fam.members[1]
    person = member.user
    client = client_of(person)
    client.get("/dashboard/")
    with CaptureQueriesContext(connection) as few:
        client.get("/dashboard/")
    for n in range(4):
        esim = make_esim(person, plan=regional_plan(f"r{n}"))
        renewal_queued(esim, plan(unit="day", count=7, countries=("JP",)))
    # and a second pooled eSIM, in a family of their own
    build_family(2, owner=person)
    clock.set_now(at(90))
    with CaptureQueriesContext(connection) as many:
        html = client.get("/dashboard/").content.decode()
    assert html.count('class="card esim-card') == Esim.objects.filter(owner=person).count() == 6
    assert html.count("Manage family plan") == 1 and html.count("View family plan") == 1
    assert len(many) == len(few)


def test_the_esim_page_and_the_live_figures_agree(group_plans: None) -> None:
    fam = in_the_pool(build_family())
    member = fam.members[1]
    assert member.esim is not None
    client = client_of(member.user)
    page = client.get(f"/esims/{member.esim.iccid}/").content.decode()
    live = client.get(f"/esims/{member.esim.iccid}/live.json").json()
    data = next(a for a in live["allowances"] if a["kind"] == "data")
    assert data["label"] == "Shared: 12.4 GB left of 20 GB · The Lins"
    assert f'aria-label="{data["label"]}"' in page
    assert f'data-gauge-left>{data["remaining_text"]}<' in page
    assert live["pool"]["cap_text"] == "Your limit: 3 GB, 1.2 GB used"
    assert live["pool"]["cap_text"] in page
    assert "You used 1.2 GB of the shared 20 GB" in page
    assert not re.search(r'href="[^"]*/(renew|top-up|change-plan)/', page)
    assert "Automatic renewal" not in page
    assert f'href="/groups/{fam.group.pk}/">View family plan</a>' in page


def test_a_pooled_esims_own_renewal_and_top_up_pages_lead_to_the_group(
        group_plans: None) -> None:
    fam = in_the_pool(build_family())
    member = fam.members[1]
    assert member.esim is not None
    client = client_of(member.user)
    for page in ("renew/", "top-up/", "change-plan/", "renew/confirm/", "top-up/confirm/"):
        response = client.get(f"/esims/{member.esim.iccid}/{page}")
        assert response.status_code == 302, page
        assert response["Location"] == f"/groups/{fam.group.pk}/", page


def test_a_member_over_their_limit_is_told_the_others_continue(group_plans: None) -> None:
    fam = in_the_pool(build_family())
    member = fam.members[2]
    assert member.esim is not None and member.esim_id is not None
    groups.set_cap(by=fam.owner, membership=member, cap_bytes=GB)
    charge_pool(charges=[PoolCharge(member.esim_id, "data", 2 * GB, at(61))])
    card = card_of(client_of(member.user).get("/dashboard/").content.decode(),
                   member.esim.iccid)
    assert "Your limit reached" in card and "Your limit: 1 GB, 1 GB used" in card
    assert "the others can still use the pool" in card
