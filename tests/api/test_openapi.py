"""The OpenAPI document of /api/v1: valid OpenAPI 3.1, every answer documented, request
constraints stated in it and enforced by the same schemas; and what fuzzing it found."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from esimdesk.core.api.schemas import MAX_PAGE, MAX_PAGE_SIZE
from esimdesk.groups import services as groups
from esimdesk.groups.models import Group, Invitation
from esimdesk.notifications.models import NotificationPreference
from esimdesk.sharedplans.terms import GROUP_PLAN
from tests.builders import DAY, MONTH, TEAM_PLAN, Shop, make_group_plans
from tests.conftest import Api
from tests.e2e.helpers import buy_and_pay
from tests.sharedplans.conftest import buy_seats, new_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_plans(shop: Shop) -> None:
    make_group_plans()


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation)
            for path, methods in document["paths"].items()
            for method, operation in methods.items()]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []
    validate(document)  # the validator's own entry point agrees


def test_the_session_token_scheme_says_where_the_token_goes(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["CustomerAuth"] == {
        "type": "apiKey", "in": "header", "name": "X-Session-Token",
        "description": schemes["CustomerAuth"]["description"]}
    assert schemes["ApiKeyAuth"] == {"type": "http", "scheme": "bearer"}
    secured = [label for *label, operation in operations(document) if operation.get("security")]
    assert len(secured) >= 40


def test_every_operation_documents_the_answers_of_the_input_boundary(
        document: dict[str, Any]) -> None:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    assert set(document["components"]["schemas"]["ErrorOut"]["properties"]) == {
        "code", "message", "detail"}
    for method, path, operation in operations(document):
        responses = operation["responses"]
        expected = {"400"}
        if operation.get("security"):
            expected.add("401")
        if operation.get("parameters") or operation.get("requestBody"):
            expected.add("422")
        if operation.get("requestBody"):
            expected.add("413")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            assert response["description"], (method, path, status)
            if status.startswith("4") or status.startswith("5"):
                assert response["content"] == error, (method, path, status)


def _parameter(document: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    [parameter] = [p for p in operation["parameters"] if p["name"] == name]
    return parameter["schema"]


def _body(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"][
        "schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    return document["components"]["schemas"][name]


def test_request_constraints_are_in_the_document(document: dict[str, Any]) -> None:
    currency = {"pattern": "^[A-Z]{3}$", "type": "string"}
    plans = "/api/v1/plans"
    assert currency.items() <= _parameter(document, "get", plans, "currency").items()
    assert _parameter(document, "get", plans, "period")["enum"] == ["day", "month", "year"]
    assert _parameter(document, "get", plans, "kind")["enum"] == [
        "personal", "family", "enterprise"]
    assert _parameter(document, "get", plans, "page")["maximum"] == MAX_PAGE
    assert _parameter(document, "get", plans, "page_size")["maximum"] == MAX_PAGE_SIZE
    usage = "/api/v1/esims/{iccid}/usage"
    assert _parameter(document, "get", usage, "granularity")["enum"] == ["hour", "day"]
    assert _parameter(document, "get", usage, "kind")["enum"] == ["data", "voice", "sms"]
    assert _parameter(document, "get", "/api/v1/groups/{group_id}", "group_id") == {
        "title": "Group Id", "type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert currency.items() <= _parameter(document, "get", "/api/v1/payments/methods",
                                          "currency").items()

    order = _body(document, "post", "/api/v1/orders")
    assert currency.items() <= order["properties"]["currency"].items()
    assert order["properties"]["lines"]["minItems"] == 1
    assert order["properties"]["lines"]["maxItems"] == 10
    line = document["components"]["schemas"]["LineIn"]
    assert line["properties"]["type"]["enum"] == ["new_esim", "renewal", "top_up"]
    outcome = _body(document, "post", "/api/v1/payments/sandbox/{payment_id}/complete")
    assert outcome["properties"]["outcome"]["enum"] == ["approve", "decline"]
    group = _body(document, "post", "/api/v1/groups")
    assert group["properties"]["kind"]["enum"] == ["family", "enterprise"]
    assert group["properties"]["name"]["maxLength"] == 150
    assert group["properties"]["tax_id"]["maxLength"] == 40
    rating = _body(document, "post", "/api/v1/support/conversations/{conversation_id}/rating")
    assert (rating["properties"]["rating"]["minimum"],
            rating["properties"]["rating"]["maximum"]) == (1, 5)
    label = _body(document, "patch", "/api/v1/esims/{iccid}")["properties"]["label"]
    assert {"maxLength": 60, "type": "string"} in label["anyOf"]
    idempotency = _parameter(document, "post", "/api/v1/orders", "Idempotency-Key")
    assert idempotency["maxLength"] == 255


def test_links_lead_from_what_creates_or_lists_to_what_reads(document: dict[str, Any]) -> None:
    ids = {operation["operationId"] for *_, operation in operations(document)}
    created = document["paths"]["/api/v1/orders"]["post"]["responses"]["201"]["links"]
    assert created["GetOrder"] == {"operationId": "esimdesk_payments_api_get_order",
                                   "parameters": {"number": "$response.body#/id"}}
    listed = document["paths"]["/api/v1/esims"]["get"]["responses"]["200"]["links"]
    assert listed["GetEsim"]["parameters"] == {"iccid": "$response.body#/items/0/iccid"}
    for *_, operation in operations(document):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in ids


def test_importing_members_is_not_taken_for_a_member_id(group_plans: None) -> None:
    """``members/import`` is its own route, not ``members/{member_id}`` with the id
    "import" (which answered POST with 405)."""
    admin = new_user("it@acme.example")
    group = groups.create_group(owner=admin, kind=Group.Kind.ENTERPRISE, name="Acme",
                                company_name="Acme Ltd")
    buy_seats(admin, group, 3, plan=TEAM_PLAN, line_type=GROUP_PLAN)
    it = _login("it@acme.example")
    response = it.client.post(f"/api/v1/groups/{group.pk}/members/import",
                              data=b"email,name\nann@acme.example,Ann\nnot-an-email,Bob\n",
                              content_type="text/csv", **it.headers())
    assert response.status_code == 200, response.content
    assert response.json()["assigned"] == 1
    assert [r["code"] for r in response.json()["rejected"]] == ["invalid_email"]
    assert group.memberships.filter(user__email="ann@acme.example").exists()
    # The member routes still answer for a member's id, and only for an id.
    member = group.memberships.get(user=admin)
    assert it.patch(f"/api/v1/groups/{group.pk}/members/{member.pk}",
                    {"cost_centre": ""}).status_code == 200
    assert it.patch(f"/api/v1/groups/{group.pk}/members/import",
                    {"cost_centre": ""}).status_code == 405


def _login(email: str) -> Api:
    client = Client()
    response = client.post("/_allauth/app/v1/auth/login", content_type="application/json",
                           data=json.dumps({"email": email,
                                            "password": "correct-horse-battery-42"}))
    assert response.status_code == 200, response.content
    return Api(client, response.json()["meta"]["session_token"])


def test_a_body_that_is_not_an_object_is_refused(api: Api) -> None:
    """An array or a scalar where the document wants an object was read as an object with
    every field left out, and answered 200."""
    api.patch("/api/v1/notifications/preferences", {"sms": False})
    for body in ([None, None], [], "text", 3, None):
        response = api.patch("/api/v1/notifications/preferences", body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "invalid_request"
        assert response.json()["detail"][0]["type"] == "model_type"
    assert NotificationPreference.objects.get().sms is False


def test_numbers_and_flags_are_not_coerced(shop: Shop, api: Api) -> None:
    """``false`` is not 0 and ``"5"`` is not 5, as the document says; a whole number
    written ``5.0`` is an integer, as JSON Schema counts it."""
    for rating in (True, "5", 4.5):
        response = api.post("/api/v1/support/conversations/1/rating", {"rating": rating})
        assert response.status_code == 422, rating
        assert response.json()["code"] == "invalid_request"
    unknown = api.post("/api/v1/support/conversations/1/rating", {"rating": 5.0})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_conversation"
    iccid = buy_and_pay(api, DAY)["lines"][0]["iccid"]
    for flag in (1, "true", "yes"):
        response = api.patch(f"/api/v1/esims/{iccid}", {"auto_renew": flag})
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    # A label of the wrong type is not "too long".
    assert api.patch(f"/api/v1/esims/{iccid}", {"label": 7}).json()["code"] == "invalid_request"
    assert api.patch(f"/api/v1/esims/{iccid}",
                     {"label": "x" * 61}).json()["code"] == "label_too_long"
    change = api.post(f"/api/v1/esims/{iccid}/plan-change", {
        "plan": MONTH, "when": "now", "currency": "USD", "expected_refund": False})
    assert change.status_code == 422 and change.json()["code"] == "invalid_request"


@pytest.mark.parametrize(("path", "code", "message"), [
    ("/api/v1/plans?period=week", "invalid_period", "The period must be day, month or year."),
    ("/api/v1/plans?kind=solo", "invalid_kind", "The kind must be personal, family or "
                                                "enterprise."),
    ("/api/v1/plans?currency=usd", "unsupported_currency", "That currency is not supported."),
    ("/api/v1/devices/compatibility?model=Pixel+8&region=China", "invalid_region",
     "The region must be a two-letter country code."),
])
def test_refusals_keep_their_codes(api: Api, path: str, code: str, message: str) -> None:
    """A value the schema refuses answers with the refusal's own code and message; what is
    wrong is in ``detail``, by field."""
    response = api.get(path)
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["message"]) == (code, message)
    assert len(body["detail"]) == 1 and body["detail"][0]["loc"][0] == "query"


def test_several_refusals_at_once_are_invalid_request(api: Api) -> None:
    body = api.get("/api/v1/plans?period=week&kind=solo").json()
    assert body["code"] == "invalid_request"
    assert [(e["loc"], e["type"]) for e in body["detail"]] == [
        (["query", "period"], "invalid_period"), (["query", "kind"], "invalid_kind")]


def test_a_message_too_long_for_support_says_so(api: Api) -> None:
    from esimdesk.support.conversations import MAX_BODY
    from esimdesk.support.models import Message

    response = api.post("/api/v1/support/messages", {"body": "x" * (MAX_BODY + 1)})
    assert response.status_code == 422
    assert response.json()["code"] == "message_too_long"
    assert not Message.objects.exists()


def test_usage_refusals_name_the_usage_kinds(shop: Shop, api: Api) -> None:
    iccid = buy_and_pay(api, DAY)["lines"][0]["iccid"]
    kind = api.get(f"/api/v1/esims/{iccid}/usage?kind=minutes").json()
    assert (kind["code"], kind["message"]) == ("invalid_kind",
                                               "The kind must be data, voice or sms.")
    granularity = api.get(f"/api/v1/esims/{iccid}/usage?granularity=week").json()
    assert (granularity["code"], granularity["message"]) == (
        "invalid_granularity", "The granularity must be hour or day.")
    chinese = Api(api.client, api.token, language="zh-hans")
    assert chinese.get(f"/api/v1/esims/{iccid}/usage?kind=minutes").json()["message"] == \
        "类型必须是 data、voice 或 sms。"


def test_an_idempotency_key_over_the_limit_is_refused_before_anything(shop: Shop, api: Api) -> None:
    from esimdesk.orders.models import Order

    response = api.post("/api/v1/orders", {
        "lines": [{"type": "new_esim", "plan": DAY}], "currency": "USD"},
        headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Order.objects.exists()


def test_lists_bound_page_and_page_size(api: Api) -> None:
    assert api.get(f"/api/v1/plans?page_size={MAX_PAGE_SIZE}").status_code == 200
    assert api.get(f"/api/v1/plans?page={MAX_PAGE}").json()["items"] == []
    for query in (f"page_size={MAX_PAGE_SIZE + 1}", "page_size=0", f"page={MAX_PAGE + 1}",
                  "page=0"):
        response = api.get(f"/api/v1/orders?{query}")
        assert response.status_code == 422, query
        assert response.json()["code"] == "invalid_request"


def test_values_longer_than_their_columns_are_refused(group_plans: None) -> None:
    """An invitation to a 300-character address reached the database (a 500 on
    PostgreSQL); a company name over 200 characters was cut silently."""
    owner = new_user("owner@example.com")
    group = groups.create_group(owner=owner, kind=Group.Kind.FAMILY, name="Lins")
    buy_seats(owner, group, 3)
    api = _login("owner@example.com")
    for email, code in (("a" * 290 + "@example.com", "invalid_request"),
                        ("not-an-address", "invalid_email")):
        response = api.post(f"/api/v1/groups/{group.pk}/invitations", {"email": email})
        assert response.status_code == 422, email
        assert response.json()["code"] == code
    assert not Invitation.objects.filter(group=group).exists()
    created = api.post("/api/v1/groups", {"kind": "enterprise", "name": "Acme",
                                          "company_name": "x" * 201})
    assert created.status_code == 422 and created.json()["code"] == "invalid_request"
    assert created.json()["detail"][0]["loc"] == ["body", "body", "company_name"]
    assert not Group.objects.filter(name="Acme").exists()
