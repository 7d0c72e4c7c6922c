"""Group pages in both languages, the member's view, the invitation link, checkout preview,
reports, the invoice; and the same through the API."""

from __future__ import annotations

import pytest
from django.test import Client

from esimdesk.catalog.models import GB
from esimdesk.core import clock
from esimdesk.groups import services as groups
from esimdesk.groups.models import Invitation, Membership
from esimdesk.sharedplans.pools import PoolCharge, charge_pool
from tests.builders import FAMILY_PLAN, TOPUP_5GB, Shop
from tests.conftest import Api
from tests.sharedplans.conftest import Family, at, build_family, new_user

pytestmark = pytest.mark.django_db


def client_for(user: object, language: str = "en") -> Client:
    client = Client()
    client.cookies["esimdesk_language"] = language
    client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.mark.parametrize(("language", "marker", "plan_name"), [
    ("en", "My eSIMs", "Family Europe 5 GB per person"), ("zh-hans", "我的 eSIM", "欧洲家庭套餐")])
def test_group_pages_render_in_both_languages(shop: Shop, group_plans: None, language: str,
                                              marker: str,
                                              plan_name: str) -> None:
    family = build_family(3, seats=4)
    owner = family.owner
    owner.language = language
    owner.save()
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(family.esim_ids()[1], "data", 2 * GB, at(5))])
    invitation = groups.invite(by=owner, group=family.group, email="later@example.com")
    client = client_for(owner, language)
    gid = family.group.pk
    for url in ["/groups/", f"/groups/{gid}/", f"/groups/{gid}/checkout/",
                f"/groups/{gid}/checkout/?members=5"]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert ('lang="zh-Hans"' in html) == (language == "zh-hans"), url
        assert marker in html, url
    dashboard = client.get(f"/groups/{gid}/").content.decode()
    assert plan_name in dashboard and "later@example.com" in dashboard
    assert "<svg" in dashboard and "usage-chart" in dashboard
    seats = client.get(f"/groups/{gid}/checkout/?add=1")
    assert seats.status_code == 200 and "4 → 5" in seats.content.decode()
    top_up = client.get(f"/groups/{gid}/checkout/?product={TOPUP_5GB}")
    assert top_up.status_code == 200 and TOPUP_5GB in top_up.content.decode()
    assert f"/groups/{gid}/checkout/?product={TOPUP_5GB}" in dashboard
    preview = client.get(f"/groups/{gid}/checkout/?members=5").content.decode()
    assert "breakdown" in preview and "20%" in preview
    invitee = new_user("later@example.com", language)
    listing = client_for(invitee, language).get("/groups/").content.decode()
    assert f"/groups/join/{invitation.token}/" in listing  # their open invitations
    page = client_for(invitee, language).get(f"/groups/join/{invitation.token}/")
    assert page.status_code == 200 and family.group.name in page.content.decode()


def test_member_sees_their_share_not_the_others(family: Family) -> None:
    member = family.members[1]
    groups.set_cap(by=family.owner, membership=member, cap_bytes=4 * GB)
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(member.esim_id, "data", GB, at(5))])
    client = client_for(member.user)
    html = client.get(f"/groups/{family.group.pk}/").content.decode()
    assert "my-share" in html and "usage-chart" not in html
    assert "4 GB" in html or "4.0 GB" in html
    assert client.get(f"/groups/{family.group.pk}/checkout/").status_code == 403
    assert client.get(f"/groups/{family.group.pk}/report.csv").status_code == 403
    outsider = client_for(new_user("nosy@example.com"))
    assert outsider.get(f"/groups/{family.group.pk}/").status_code == 404


def test_accepting_through_the_page_and_leaving(family: Family) -> None:
    extra = build_family(2, seats=3)  # a second family, with a free seat
    newcomer = new_user("newcomer@example.com")
    invitation = groups.invite(by=extra.owner, group=extra.group, email="newcomer@example.com")
    client = client_for(newcomer)
    response = client.post(f"/groups/join/{invitation.token}/", {"iccid": ""})
    assert response.status_code == 302
    member = Membership.active.get(group=extra.group, user=newcomer)
    assert Invitation.objects.get(pk=invitation.pk).state == "accepted"
    assert client.post(f"/groups/{extra.group.pk}/leave/").status_code == 302
    member.refresh_from_db()
    assert member.left_at is not None


def test_reports_and_invoice(family: Family) -> None:
    clock.set_now(at(60))
    charge_pool(charges=[PoolCharge(e, "data", 1000 * (i + 1), at(5))
                         for i, e in enumerate(family.esim_ids())])
    client = client_for(family.owner)
    report = client.get(f"/groups/{family.group.pk}/report.csv").content.decode()
    lines = report.strip().splitlines()
    assert lines[0].startswith("member,") and len(lines) == 5
    assert sorted(int(row.split(",")[5]) for row in lines[1:]) == [1000, 2000, 3000, 4000]
    by_centre = client.get(f"/groups/{family.group.pk}/report.csv?by=cost_centre")
    assert by_centre.content.decode().splitlines()[1].startswith(",4,10000")
    pdf = client.get(f"/groups/{family.group.pk}/invoice.pdf?month=2026-03")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    from esimdesk.sharedplans.invoice_pdf import invoice_lines, month_of

    seats = invoice_lines(family.group, month_of("2026-03"))
    assert len(seats) == 4 and sum(s["amount"].amount for s in seats) == 4080
    assert sorted(s["data_used"] for s in seats) == [1000, 2000, 3000, 4000]
    assert {s["member"] for s in seats} == set(family.members)
    assert invoice_lines(family.group, month_of("2026-04")) == []


def test_api_group_journey(shop: Shop, group_plans: None) -> None:
    owner = Api.signup("api-owner@example.com")
    created = owner.post("/api/v1/groups", {"kind": "family", "name": "API family"})
    assert created.status_code == 201, created.content
    gid = created.json()["id"]
    quote = owner.get(f"/api/v1/groups/{gid}/quote?members=3&currency=USD"
                      f"&plan={FAMILY_PLAN}").json()
    assert (quote["total"], quote["percent_off"]) == (3240, 10)
    ordered = owner.post(f"/api/v1/groups/{gid}/orders",
                         {"plan": FAMILY_PLAN, "members": 3, "currency": "USD",
                         "provider": "sandbox"},
                         headers={"Idempotency-Key": "g-1"})
    assert ordered.status_code == 201, ordered.content
    replay = owner.post(f"/api/v1/groups/{gid}/orders",
                        {"plan": FAMILY_PLAN, "members": 3, "currency": "USD",
                         "provider": "sandbox"},
                        headers={"Idempotency-Key": "g-1"})
    assert replay.json()["id"] == ordered.json()["id"]
    paid = owner.post(f"/api/v1/payments/sandbox/{ordered.json()['payment']['id']}/complete",
                      {"outcome": "approve"})
    assert paid.status_code == 200, paid.content
    from tests.conftest import run_tasks

    run_tasks()
    group = owner.get(f"/api/v1/groups/{gid}").json()
    assert group["pool"][0]["total"] == 15 * GB and group["seats"] == 3
    invited = owner.post(f"/api/v1/groups/{gid}/invitations", {"email": "kid@example.com"})
    assert invited.status_code == 201
    token = Invitation.objects.get(pk=invited.json()["id"]).token
    kid = Api.signup("kid@example.com")
    mine = kid.get("/api/v1/groups/invitations").json()
    assert [(i["group_id"], i["token"]) for i in mine] == [(gid, token)]
    joined = kid.post(f"/api/v1/groups/invitations/{token}/accept", {})
    assert joined.status_code == 200 and joined.json()["role"] == "member"
    assert joined.json()["members"] == []  # a member does not see the others
    member_id = joined.json()["me"]["id"]
    capped = owner.patch(f"/api/v1/groups/{gid}/members/{member_id}", {"cap_percent": 20})
    assert capped.status_code == 200
    row = next(m for m in capped.json()["members"] if m["id"] == member_id)
    assert row["cap_bytes"] == 3 * GB
    denied = kid.patch(f"/api/v1/groups/{gid}/members/{member_id}", {"cap_percent": 100})
    assert denied.status_code == 403 and denied.json()["code"] == "group_manager_only"
    bad = owner.post(f"/api/v1/groups/{gid}/invitations", {})
    assert bad.status_code == 422 and bad.json()["code"] == "invitation_address_required"
    assert owner.get("/api/v1/groups/99999").status_code == 404
    topped = owner.post(f"/api/v1/groups/{gid}/top-ups",
                        {"product": TOPUP_5GB, "currency": "USD"})
    assert topped.status_code == 201 and topped.json()["total"]["amount"] == 1799, topped.content
    seat_quote = owner.get(f"/api/v1/groups/{gid}/quote?members=1&currency=USD&add=true")
    assert seat_quote.json()["seats_after"] == 4 and seat_quote.json()["total"] == 4080 - 3240
    seated = owner.post(f"/api/v1/groups/{gid}/seats", {"members": 1, "currency": "USD"})
    assert seated.status_code == 201 and seated.json()["total"]["amount"] == 840
    assert kid.post(f"/api/v1/groups/{gid}/top-ups", {"product": TOPUP_5GB,
                                                      "currency": "USD"}).status_code == 403
    assert kid.post(f"/api/v1/groups/{gid}/leave").status_code == 204
    schema = owner.get("/api/v1/openapi.json").json()
    assert "/api/v1/groups/{group_id}/members/import" in schema["paths"]
