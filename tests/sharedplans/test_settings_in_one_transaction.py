"""A settings change that touches several things is one transaction: a refusal of one part
leaves every part as it was."""

from __future__ import annotations

import pytest

from esimdesk.catalog.models import GB
from esimdesk.core.errors import DomainError
from esimdesk.groups import services as groups
from esimdesk.groups.models import Membership
from esimdesk.sharedplans.group_settings import update_group_settings
from esimdesk.sharedplans.pools import pool_subscription
from tests.sharedplans.conftest import Family


def test_a_refused_billing_change_keeps_the_renewal_and_the_policy(family: Family) -> None:
    group = family.group
    renews = pool_subscription(group.pk).auto_renew  # type: ignore[union-attr]
    countries = list(group.allowed_countries)
    with pytest.raises(DomainError) as refused:
        update_group_settings(by=family.owner, group=group, auto_renew=not renews,
                              allowed_countries=["JP"], default_cap_percent=10,
                              billing="invoice")  # a family is never billed by invoice
    assert refused.value.code == "invoice_needs_company"
    group.refresh_from_db()
    assert pool_subscription(group.pk).auto_renew == renews  # type: ignore[union-attr]
    assert (group.allowed_countries, group.default_cap_percent) == (countries, None)


def test_a_refused_role_change_keeps_the_new_cap(family: Family) -> None:
    admin, member = family.members[1], family.members[2]
    groups.set_role(by=family.owner, membership=admin, role=Membership.Role.ADMIN)
    with pytest.raises(DomainError) as refused:
        groups.update_member(by=admin.user, membership=member, cap=(GB, None),
                             role=Membership.Role.ADMIN)  # only the owner names admins
    assert refused.value.code == "group_owner_only"
    member.refresh_from_db()
    assert (member.data_cap_bytes, member.role) == (None, Membership.Role.MEMBER)
    with pytest.raises(DomainError) as unknown:
        groups.update_member(by=admin.user, membership=member, cap=(GB, None),
                             cost_centre="NOPE")
    assert unknown.value.code == "unknown_cost_centre"
    member.refresh_from_db()
    assert member.data_cap_bytes is None
    groups.update_member(by=admin.user, membership=member, cap=(GB, None), cost_centre="")
    member.refresh_from_db()
    assert member.data_cap_bytes == GB
