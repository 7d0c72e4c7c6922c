"""An organisation gives eSIMs to its employees from a CSV file: valid rows together, bad
rows reported by line, nothing half done."""

from __future__ import annotations

import pytest

from esimdesk.accounts.models import User
from esimdesk.catalog.models import GB
from esimdesk.core import clock
from esimdesk.core.errors import Conflict, NotFound, ValidationFailed
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group, Membership
from esimdesk.notifications.models import Notification
from esimdesk.sharedplans.member_import import import_members
from esimdesk.sharedplans.terms import GROUP_PLAN
from tests.builders import TEAM_PLAN
from tests.conftest import run_tasks
from tests.sharedplans.conftest import START, buy_seats, new_user

pytestmark = pytest.mark.django_db


def organisation(seats: int) -> tuple[User, Group]:
    clock.set_now(START)
    admin = new_user("it@acme.example")
    group = groups.create_group(owner=admin, kind="enterprise", name="Acme",
                                company_name="Acme Ltd", tax_id="GB999")
    groups.add_cost_centre(by=admin, group=group, code="SALES")
    groups.add_cost_centre(by=admin, group=group, code="ENG")
    buy_seats(admin, group, seats, plan=TEAM_PLAN, line_type=GROUP_PLAN)
    group.refresh_from_db()
    return admin, group


def employees_csv(count: int, bad: dict[int, str]) -> bytes:
    """``count`` data rows; row i (0-based) replaced by ``bad[i]`` when given."""
    lines = ["email,phone,name,employee_ref,cost_centre,cap_gb,language"]
    for i in range(count):
        lines.append(bad.get(i, f"e{i}@acme.example,,Employee {i},E{i:04d},"
                                f"{'SALES' if i % 2 else 'ENG'},{2 if i % 5 == 0 else ''},"
                                f"{'zh-hans' if i % 3 == 0 else 'en'}"))
    return ("\n".join(lines) + "\n").encode()


def test_five_hundred_employees_with_three_bad_rows(group_plans: None) -> None:
    admin, group = organisation(500)
    data = employees_csv(500, {
        10: "not-an-email,,Bad Mail,E0010,ENG,,en",
        200: "e199@acme.example,,Twice,E0200,ENG,,en",  # same person as line 201
        420: "e420@acme.example,,Nowhere,E0420,MARKETING,,en",
    })
    report = import_members(by=admin, group=group, data=data)
    assert report.assigned == 497
    assert [(r["line"], r["code"]) for r in report.rejected] == [
        (12, "invalid_email"), (202, "duplicate_row"), (422, "unknown_cost_centre")]
    assert all(r["message"] for r in report.rejected)
    members = Membership.active.filter(group=group).exclude(user=admin)
    assert members.count() == 497
    assert not User.objects.filter(email__in=["e420@acme.example", "not-an-email"]).exists()
    sample = members.select_related("user", "cost_centre").get(user__email="e5@acme.example")
    assert (sample.cost_centre.code, sample.employee_ref, sample.data_cap_bytes,
            sample.user.language) == ("SALES", "E0005", 2 * GB, "en")
    assert members.get(user__email="e3@acme.example").user.language == "zh-hans"
    assert Notification.objects.filter(kind="group_added", channel="email").count() == 497
    again = import_members(by=admin, group=group, data=employees_csv(3, {}))
    assert again.assigned == 0
    assert {r["code"] for r in again.rejected} == {"already_member"}


def test_valid_rows_that_do_not_fit_change_nothing(group_plans: None) -> None:
    admin, group = organisation(3)
    with pytest.raises(Conflict) as error:
        import_members(by=admin, group=group, data=employees_csv(3, {}))
    assert error.value.code == "group_full"
    assert Membership.active.filter(group=group).count() == 1
    assert not User.objects.filter(email__endswith="@acme.example").exclude(
        email="it@acme.example").exists()


def test_each_employee_gets_an_esim_in_the_background(group_plans: None) -> None:
    admin, group = organisation(3)
    report = import_members(by=admin, group=group, data=employees_csv(2, {}))
    assert report.assigned == 2
    run_tasks()
    assert all(m.esim is not None for m in Membership.active.filter(group=group)
               .exclude(user=admin))


def test_bad_files_and_permissions(group_plans: None) -> None:
    admin, group = organisation(3)
    for data, code in [(b"\xff\xfe", "invalid_csv"), (b"name,employee_ref\nA,1\n", "invalid_csv")]:
        with pytest.raises(ValidationFailed) as error:
            import_members(by=admin, group=group, data=data)
        assert error.value.code == code
    outsider = new_user("o@example.com")
    with pytest.raises(NotFound):
        import_members(by=outsider, group=group, data=employees_csv(1, {}))
    family = groups.create_group(owner=admin, kind="family", name="Home")
    with pytest.raises(ValidationFailed):
        import_members(by=admin, group=family, data=employees_csv(1, {}))
