"""Schemathesis over ``/api/v1/openapi.json``, in process against the WSGI application that
``esimdesk web`` serves: as an anonymous client, as a signed-in customer who owns an eSIM,
orders, a group, a saved method, notices and a support conversation (generated path
parameters are mixed with those real ids, so requests reach the code behind the lookups), and
statefully along the document's links. Any 5xx, any status the document does not list for the
operation, any body or content type that does not match it, a schema-violating request that is
accepted, or a schema-valid one refused by validation fails the test.

Bounded and reproducible: few examples per operation, derandomized, no example database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoveragePhaseData

from esimdesk.wsgi import application

CHECKS = {
    # Replaced by ``validation_agrees_with_the_document`` below: a schema-valid request may
    # still be refused by a business rule (a currency the plan is not sold in), never by the
    # validation that the document describes.
    "positive_data_acceptance": {"enabled": False},
}
# Anonymous calls stop at authentication for most operations: random inputs are enough.
ANONYMOUS = schemathesis.Config.from_dict({
    "checks": CHECKS, "phases": {"coverage": {"enabled": False}}})
# The customer's calls reach the code: boundary values of every parameter (coverage) too.
# The session token is the real one (``SessionToken``), never a generated one.
CUSTOMER = schemathesis.Config.from_dict({
    "checks": CHECKS, "generation": {"with-security-parameters": False},
    # Usage ingestion takes an API key, not a session: every call is 401 whatever it sends.
    "operations": [{"include-path": "/api/v1/ops/usage-events",
                    "phases": {"coverage": {"enabled": False}}}]})
EXAMPLES = settings(max_examples=5, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

DOCUMENT = "/api/v1/openapi.json"
anonymous = schemathesis.openapi.from_wsgi(DOCUMENT, application, config=ANONYMOUS)
customer = schemathesis.openapi.from_wsgi(DOCUMENT, application, config=CUSTOMER)

# Real ids of the signed-in customer's objects, by path parameter name, and their session
# token (filled by ``signed_in``).
REAL: dict[str, list[Any]] = {}
TOKEN: dict[str, str] = {}


# Cases are drawn when the tests are collected, before the customer exists: they carry
# this stand-in, exchanged for the customer's real token when the call is made.
SIGNED_IN = "customer-session-token"


@customer.auth(refresh_interval=None, retry_on=[])
class SessionToken:
    """The customer's ``X-Session-Token`` on every call, known to schemathesis as the
    credentials (its auth checks take them away, or forge them, to see the call refused)."""

    def get(self, case: Any, context: Any) -> str:
        return SIGNED_IN

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "X-Session-Token": data}


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.headers and case.headers.get("X-Session-Token") == SIGNED_IN:
        case.headers = {**case.headers, "X-Session-Token": TOKEN["value"]}
    # A boundary value of a query parameter or a body field (the coverage phase) is tried
    # on one of the customer's real objects, where the code behind the lookup runs.
    meta = case.meta
    if (REAL and case.path_parameters and meta is not None
            and isinstance(meta.phase.data, CoveragePhaseData)
            and meta.generation.mode.is_positive
            and meta.phase.data.parameter_location != ParameterLocation.PATH):
        case.path_parameters = {name: REAL[name][0] if REAL.get(name) else value
                                for name, value in case.path_parameters.items()}


@schemathesis.hook
def flatmap_case(ctx: Any, case: Any) -> Any:
    """A schema-valid case gets, field by field, either its generated value or one of the
    customer's real ones (``REAL``, by name: path parameters, query and body fields), so
    calls reach the code behind the lookups. Negative cases stay as generated."""
    if not REAL or (case.meta is not None and not case.meta.generation.mode.is_positive):
        return st.just(case)
    return st.tuples(_mixed(case.path_parameters), _mixed(case.query),
                     _mixed(case.body)).map(lambda parts: _with(case, *parts))


def _mixed(value: Any, name: str | None = None) -> Any:
    if isinstance(value, dict):
        return st.fixed_dictionaries({key: _mixed(item, key) for key, item in value.items()})
    if isinstance(value, list):
        return st.tuples(*(_mixed(item) for item in value)).map(list)
    if name in REAL and isinstance(value, str | int) and not isinstance(value, bool):
        return st.sampled_from([value, *REAL[name]])
    return st.just(value)


def _with(case: Any, path_parameters: Any, query: Any, body: Any) -> Any:
    # The case was drawn for this flatmap alone: setting its parts is safe.
    case.path_parameters, case.query, case.body = path_parameters, query, body
    return case


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


@schemathesis.check
def validation_agrees_with_the_document(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request the document allows passes the API's own validation: the document and the
    validation are the same pydantic schemas, so ``invalid_request`` or ``malformed_json`` for
    a schema-valid request means they drifted apart."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code in (400, 422):
        code = _json(response).get("code")
        if code in ("invalid_request", "malformed_json"):
            raise AssertionError(f"a schema-valid request was refused with {code}: "
                                 f"{response.text[:500]}")
    return None


def _json(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@pytest.fixture
def in_test_transaction(db: None) -> Iterator[None]:
    """Requests run in the test's transaction, each in a savepoint (so a failed request is
    reported alone instead of breaking every later one on PostgreSQL), and the request
    signals do not close the test's connection (as Django's test client arranges)."""
    for connection in connections.all():
        connection.settings_dict["ATOMIC_REQUESTS"] = True
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        for connection in connections.all():
            connection.settings_dict["ATOMIC_REQUESTS"] = False


@dataclass
class World:
    token: str
    real: dict[str, list[Any]]


def build_world() -> World:
    """A customer with a paid order (its eSIM ready, the card saved), an order awaiting
    payment, a refunded order, a family group they own with a member and an open invitation,
    an invitation to someone else's group, notices and a support conversation."""
    from esimdesk.accounts.models import User
    from esimdesk.groups import services as groups
    from esimdesk.groups.models import Group
    from esimdesk.notifications.models import Notification
    from esimdesk.orders import services as orders
    from esimdesk.payments import checkout
    from esimdesk.payments import services as payments
    from esimdesk.payments.models import Payment, Refund, SavedMethod
    from esimdesk.sharedplans import members as group_members
    from tests.builders import make_group_plans, plan, top_up
    from tests.conftest import Api, run_tasks
    from tests.e2e.helpers import buy_and_pay, post_order
    from tests.sharedplans.conftest import buy_seats as buy_group_plan
    from tests.sharedplans.conftest import new_user

    day = plan(usd=299)
    month = plan(unit="month", data_gb=10, usd=1699)
    singapore = plan(countries=("SG",), usd=299)
    product = top_up(usd=499, data_gb=1)
    family_plan, _team = make_group_plans()
    api = Api.signup("traveller@example.com")
    user = User.objects.get(email="traveller@example.com")
    payment = checkout.place_order(
        user=user, currency="USD", method="sandbox", save_method=True,
        lines=[orders.LineRequest(type="new_esim", plan=day.code)]).payment
    payments.complete_sandbox_payment(user=user, payment_id=payment.public_id,
                                      outcome="approve", save_card=True)
    run_tasks()
    paid = api.get(f"/api/v1/orders/{payment.order.number}").json()
    iccid = paid["lines"][0]["iccid"]
    assert iccid
    unpaid = post_order(api, day.code)
    refunded = buy_and_pay(api, singapore.code)
    assert api.post(f"/api/v1/orders/{refunded['id']}/refund").status_code == 200
    run_tasks()

    family = groups.create_group(owner=user, kind=Group.Kind.FAMILY, name="Fuzz family")
    buy_group_plan(user, family, 3)
    member_user = new_user("member@example.com")
    joined = group_members.accept_invitation(
        user=member_user, token=groups.invite(by=user, group=family,
                                              email="member@example.com").token)
    open_invitation = groups.invite(by=user, group=family, email="later@example.com")
    other_owner = new_user("other-owner@example.com")
    other = groups.create_group(owner=other_owner, kind=Group.Kind.FAMILY, name="Friends")
    buy_group_plan(other_owner, other, 3)
    for_me = groups.invite(by=other_owner, group=other, email="traveller@example.com")
    assert api.post("/api/v1/support/messages", {"body": "Hello"}).status_code == 201
    run_tasks()

    payments = Payment.objects.filter(order__user=user)
    return World(token=api.token or "", real={
        "iccid": [iccid],
        "number": [paid["id"], unpaid["id"], refunded["id"]],
        "payment_id": [p.public_id for p in payments],
        "refund_id": [r.public_id for r in Refund.objects.filter(payment__order__user=user)],
        "method_id": list(SavedMethod.objects.filter(user=user).values_list("pk", flat=True)),
        "group_id": [family.pk, other.pk],
        "member_id": [joined.pk],
        "invitation_id": [open_invitation.pk],
        "token": [for_me.token],
        "notification_id": list(Notification.objects.filter(user=user)
                                .values_list("pk", flat=True)[:3]),
        "conversation_id": list(user.support_conversations.values_list("pk", flat=True)),
        "code": [day.code],
        "slug": ["install-iphone"],
        # Body and query fields.
        "plan": [day.code, month.code, family_plan.code],
        "product": [product.code],
        "currency": ["USD"],
        "provider": ["sandbox"],
        "members": [3],
    })


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the module inside a transaction of its own; every test runs in a
    savepoint within it, so each operation starts from the same objects, and the
    transaction is rolled back when the module is done."""
    from django.db import transaction

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
            yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def signed_in(world: World, in_test_transaction: None) -> Iterator[World]:
    REAL.clear()
    REAL.update(world.real)
    TOKEN["value"] = world.token
    yield world
    REAL.clear()
    TOKEN.clear()


@pytest.fixture
def shop(in_test_transaction: None) -> None:
    """Something on sale for the anonymous calls to list: plans by the day and by the month
    (one with calls), a top-up, a family plan."""
    from tests.builders import family_plan, plan, top_up

    plan(usd=299)
    plan(unit="month", data_gb=10, usd=1699)
    plan(unit="month", data_gb=30, voice_min=100, sms_count=50, usd=2999)
    top_up(usd=499, data_gb=1)
    family_plan()


@anonymous.parametrize()
@EXAMPLES
def test_anonymous(case: Any, shop: None) -> None:
    case.call_and_validate()


@customer.parametrize()
@EXAMPLES
def test_customer(case: Any, signed_in: World) -> None:
    case.call_and_validate()


def test_customer_along_the_links(signed_in: World) -> None:
    """Sequences of calls that follow the document's links (an order placed, then read,
    paid again, its sandbox payment completed; an eSIM listed, then read, patched, its usage
    and top-ups; a group created, then read, changed, priced, ordered, invited to), each
    answer checked as above."""
    targets = {(link["operationId"]) for operations in customer.raw_schema["paths"].values()
               for operation in operations.values()
               for response in operation["responses"].values()
               for link in response.get("links", {}).values()}
    assert len(targets) >= 10
    followed: set[str] = set()

    class Customer(customer.as_state_machine()):  # type: ignore[misc]
        # Each run starts from the same data: what one run bought (a saved card, an order)
        # would otherwise change what the next run's same choices lead to, and Hypothesis
        # refuses generation that depends on state it cannot see.
        def setup(self) -> None:
            self.savepoint = transaction.savepoint()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def step(self, input: Any) -> Any:
            output = super().step(input)
            if (input.transition is not None and input.is_applied
                    and output.response.status_code < 300):
                followed.add(input.case.operation.label)
            return output

    Customer.run(settings=settings(
        max_examples=25, stateful_step_count=5, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))
    assert followed, "no call along a link reached its object"

