"""Bad input gets a 4xx with a machine-readable code and a translated message, and changes
nothing: the API's own refusals, and the input boundary's for every endpoint (NUL bytes,
numbers and times out of range, over-deep and oversized bodies), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core.errors import MESSAGES
from esimdesk.core.models import AuditEntry
from esimdesk.esims.models import Esim
from esimdesk.groups.models import Group
from esimdesk.orders.models import Order
from esimdesk.payments.models import Payment
from esimdesk.support.models import Message
from tests.builders import DAY, TOPUP_1GB, Shop
from tests.conftest import Api
from tests.e2e.helpers import buy_and_pay


def _counts() -> tuple[int, int, int]:
    return Order.objects.count(), Payment.objects.count(), AuditEntry.objects.count()


def order(lines: list[dict[str, Any]], currency: str = "USD", **extra: Any) -> dict[str, Any]:
    return {"lines": lines, "currency": currency, "provider": "sandbox", **extra}


@pytest.mark.parametrize(("body", "status", "code"), [
    (order([{"type": "new_esim", "plan": "atlantis-1gb"}]), 404, "unknown_plan"),
    (order([{"type": "new_esim", "plan": DAY}], "XYZ"), 422, "unsupported_currency"),
    (order([{"type": "new_esim", "plan": DAY}], "JPY"), 422, "currency_not_available"),
    (order([{"type": "new_esim"}]), 422, "plan_required"),
    (order([{"type": "renewal", "plan": DAY}]), 422, "iccid_required"),
    (order([{"type": "renewal", "plan": DAY, "iccid": "12345"}]), 404, "unknown_esim"),
    (order([{"type": "top_up", "product": "more-9gb"}]), 404, "unknown_product"),
    (order([{"type": "top_up", "product": TOPUP_1GB}]), 422, "iccid_required"),
    (order([{"type": "top_up", "iccid": "12345"}]), 422, "product_required"),
    (order([{"type": "teleport", "plan": DAY}]), 422, "invalid_request"),
    (order([]), 422, "invalid_request"),
    (order([{"type": "new_esim", "plan": DAY}], provider="bitcoin"), 422,
     "unknown_provider"),
    ({"currency": "USD"}, 422, "invalid_request"),
])
def test_bad_orders_are_refused_and_change_nothing(api: Api, body: dict[str, Any], status: int,
                                                  code: str) -> None:
    before = _counts()
    response = api.post("/api/v1/orders", body)
    assert response.status_code == status, response.content
    error = response.json()
    assert error["code"] == code
    assert error["message"]
    assert _counts() == before


def test_someone_elses_iccid_looks_unknown(api: Api, other_api: Api) -> None:
    iccid = buy_and_pay(other_api, DAY)["lines"][0]["iccid"]
    before = _counts()
    for response in (
        api.get(f"/api/v1/esims/{iccid}"),
        api.get(f"/api/v1/esims/{iccid}/qr.svg"),
        api.patch(f"/api/v1/esims/{iccid}", {"label": "mine now"}),
        api.post("/api/v1/orders", order([{"type": "renewal", "plan": DAY,
                                           "iccid": iccid}])),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "unknown_esim"
    assert _counts() == before


def test_someone_elses_order_and_payment_look_unknown(api: Api, other_api: Api) -> None:
    theirs = other_api.post("/api/v1/orders", order([{"type": "new_esim",
                                                      "plan": DAY}])).json()
    assert api.get(f"/api/v1/orders/{theirs['id']}").json()["code"] == "unknown_order"
    response = api.post(f"/api/v1/payments/sandbox/{theirs['payment']['id']}/complete",
                        {"outcome": "approve"})
    assert response.status_code == 404
    assert Payment.objects.get().status == "pending"


def test_malformed_json(api: Api) -> None:
    before = _counts()
    response = api.post("/api/v1/orders", raw=b'{"lines": [')
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert _counts() == before


def test_messages_follow_the_request_language(db: None) -> None:
    api = Api.signup("wang@example.com", language="zh-hans")
    response = api.post("/api/v1/orders", order([{"type": "new_esim", "plan": "nope"}]))
    assert response.json() == {"code": "unknown_plan", "message": "没有这个套餐。",
                               "detail": {"plan": "nope", "line": 0}}


def test_without_a_session_token(db: None) -> None:
    response = Api(Api.signup("x@example.com").client).get("/api/v1/esims")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_unknown_country_in_catalog(shop: Shop) -> None:
    response = Api(Api.signup("y@example.com").client).get("/api/v1/plans?country=AQ")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_country"


# -- the input boundary: every endpoint, before any view logic (core.boundary) ----------------

def _customer_session(api: Api) -> Client:
    client = Client()
    client.force_login(User.objects.get(email="alex@example.com"))
    return client


def _staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss@example.com", "x-long-password-1"))
    return client


def _refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and body["message"] and set(body) == {"code", "message",
                                                                     "detail"}


# The NUL bytes found in the attack (14 endpoints on PostgreSQL) and their neighbours.
NUL_API = [
    ("get", "/api/v1/plans?country=%00", None),
    ("get", "/api/v1/plans/%00", None),
    ("get", "/api/v1/orders/%00", None),
    ("get", "/api/v1/orders/%00/receipt", None),
    ("get", "/api/v1/help/articles?q=%00", None),
    ("get", "/api/v1/devices/compatibility?model=%00", None),
    ("post", "/api/v1/groups", {"name": "Ann\x00", "kind": "family"}),
    ("post", "/api/v1/support/messages", {"body": "help\x00"}),
    ("patch", "/api/v1/esims/{iccid}", {"label": "mine\x00"}),
    ("post", "/api/v1/orders", {"lines": [{"type": "new_esim", "plan": "jp\x00"}],
                                "currency": "USD", "provider": "sandbox"}),
    ("post", "/api/v1/payments/sandbox/%00/complete", {"outcome": "approve"}),
    ("post", "/api/v1/groups/invitations/%00/accept", {}),
    ("post", "/_allauth/app/v1/auth/login", {"email": "alex@example.com\x00",
                                             "password": "x"}),
]


@pytest.mark.parametrize(("method", "url", "body"), NUL_API)
def test_nul_bytes_are_refused_before_the_api_runs(api: Api, method: str, url: str,
                                                   body: Any) -> None:
    iccid = buy_and_pay(api, DAY)["lines"][0]["iccid"]
    before = (_counts(), Group.objects.count(), Message.objects.count(),
              list(Esim.objects.values_list("label", flat=True)))
    url = url.format(iccid=iccid)
    if method == "get":
        response = api.get(url)
    elif method == "patch":
        response = api.patch(url, body)
    else:
        response = api.post(url, body)
    _refused(response, 400, "invalid_characters")
    assert (_counts(), Group.objects.count(), Message.objects.count(),
            list(Esim.objects.values_list("label", flat=True))) == before


NUL_PAGES = [
    ("get", "/destinations/%00/", None),
    ("get", "/orders/%00/", None),
    ("get", "/help/search/?q=%00", None),
    ("get", "/?q=%00", None),
    ("post", "/groups/", {"name": "Ann\x00", "kind": "family"}),
    ("post", "/support/chat/", {"body": "help\x00"}),
    ("post", "/esims/{iccid}/label/", {"label": "mine\x00"}),
]


@pytest.mark.parametrize(("method", "url", "form"), NUL_PAGES)
def test_nul_bytes_on_pages_get_a_page_with_the_code(api: Api, method: str, url: str,
                                                     form: Any) -> None:
    iccid = buy_and_pay(api, DAY)["lines"][0]["iccid"]
    client = _customer_session(api)
    before = (Group.objects.count(), Message.objects.count())
    url = url.format(iccid=iccid)
    response = client.get(url) if method == "get" else client.post(url, form)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "invalid_characters" in page and "characters that are not allowed" in page
    assert (Group.objects.count(), Message.objects.count()) == before
    assert Esim.objects.get(iccid=iccid).label == ""


@pytest.mark.parametrize("url", ["/staff/customers/?q=%00", "/staff/activations/?q=%00",
                                 "/staff/outbox/?q=%00", "/staff/simulator/?q=%00",
                                 "/staff/margins/?q=%00", "/staff/usage/?iccid=%00",
                                 "/staff/accounts/user/?q=%00",
                                 "/staff/activations/order/%00/",
                                 "/staff/payments/%00/refund/"])
def test_nul_bytes_in_staff_searches(db: None, url: str) -> None:
    response = _staff().get(url)
    assert response.status_code == 400
    assert "invalid_characters" in response.content.decode()


def test_the_refusal_page_is_in_the_readers_language(api: Api) -> None:
    client = _customer_session(api)
    client.post("/account/language/", {"language": "zh-hans", "next": "/"})
    page = client.get("/destinations/%00/").content.decode()
    assert "请求中含有不允许的字符。" in page
    response = api.get("/api/v1/plans?country=%00", headers={"Accept-Language": "zh-hans"})
    assert response.json()["message"] == "请求中含有不允许的字符。"


def test_ids_beyond_bigint_are_unknown_ids(api: Api) -> None:
    for url in ("/api/v1/groups/99999999999999999999", "/api/v1/groups/9223372036854775808",
                "/api/v1/groups/0", "/api/v1/notifications/99999999999999999999/read"):
        response = (api.post(url, {}) if url.endswith("/read") else api.get(url))
        _refused(response, 404, "not_found")
    client = _customer_session(api)
    for url in ("/groups/99999999999999999999/", "/groups/9223372036854775808/",
                "/account/notifications/99999999999999999999/read/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "not_found" in response.content.decode()
    assert client.get("/groups/9223372036854775807/").status_code == 404  # in range: unknown


@pytest.mark.parametrize("query", ["page=576460752303423487", "page=99999999999999999999",
                                   "page=0", "page_size=1000000000000"])
def test_pages_out_of_range_are_refused_with_a_code(api: Api, query: str) -> None:
    for path in ("/api/v1/notifications", "/api/v1/orders", "/api/v1/esims", "/api/v1/plans",
                 "/api/v1/help/articles"):
        response = api.get(f"{path}?{query}")
        _refused(response, 422, "invalid_request")
        assert response.json()["detail"][0]["loc"][:1] == ["query"]
    assert api.get("/api/v1/notifications?page=1000000").json()["items"] == []


@pytest.mark.parametrize("value", [2**63, 2**64, 10**30, 1e30, -(2**63) - 1])
def test_numbers_beyond_64_bits_in_json_are_refused(api: Api, value: Any) -> None:
    group = api.post("/api/v1/groups", {"name": "Ann", "kind": "family"}).json()
    member = group["me"]["id"]
    raw = b'{"cap_bytes": ' + json.dumps(value).encode() + b"}"
    response = api.client.patch(f"/api/v1/groups/{group['id']}/members/{member}", data=raw,
                                content_type="application/json", **api.headers())
    _refused(response, 400, "number_out_of_range")
    assert api.get(f"/api/v1/groups/{group['id']}").json()["me"]["cap_set_bytes"] is None


def test_a_month_no_datetime_holds_is_refused(api: Api) -> None:
    group = api.post("/api/v1/groups", {"name": "Acme", "kind": "family"}).json()
    client = _customer_session(api)
    for month in ("9999-12", "0000-01", "10000-01"):
        response = client.get(f"/groups/{group['id']}/invoice.pdf?month={month}")
        assert 400 <= response.status_code < 500


def deep(depth: int) -> bytes:
    return b'{"email": "a@example.com", "password": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("url", ["/_allauth/app/v1/auth/login", "/_allauth/app/v1/auth/signup",
                                 "/_allauth/browser/v1/auth/login", "/api/v1/orders",
                                 "/hooks/payments/sandbox"])
def test_json_nested_100000_deep_is_refused_before_parsing(api: Api, url: str) -> None:
    before = _counts()
    response = api.client.post(url, data=deep(100_000), content_type="application/json",
                               **api.headers())
    _refused(response, 400, "json_too_deep")
    assert response.json()["detail"] == {"max_depth": 64}
    assert _counts() == before


def test_json_at_the_depth_limit_reaches_the_view(api: Api) -> None:
    response = api.client.post("/api/v1/orders", data=deep(63), content_type="application/json",
                               **api.headers())
    assert response.status_code == 422  # the view's own answer: no lines
    response = api.client.post("/_allauth/app/v1/auth/login", data=deep(63),
                               content_type="application/json")
    assert response.status_code == 400 and "errors" in response.json()  # allauth's own


def test_a_lone_surrogate_is_refused_where_json_loads_would_keep_it(db: None) -> None:
    response = Client().post("/_allauth/app/v1/auth/login",
                             data=b'{"email": "\\ud800@example.com", "password": "x"}',
                             content_type="application/json")
    _refused(response, 400, "invalid_characters")


def test_a_body_over_the_limit_is_a_json_413_logged_with_its_route(
        api: Api, caplog: pytest.LogCaptureFixture, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = _counts()
    body = json.dumps({"lines": [], "pad": "x" * 20_000}).encode()
    with caplog.at_level(logging.WARNING, logger="esimdesk.core.boundary"):
        response = api.post("/api/v1/orders", raw=body)
    _refused(response, 413, "body_too_large")
    assert response.json()["detail"] == {"max_bytes": 10_000}
    assert any("route=api/v1/orders" in r.getMessage() and "bytes=" in r.getMessage()
               for r in caplog.records)
    assert _counts() == before
    for url in ("/_allauth/app/v1/auth/login", "/hooks/payments/sandbox"):
        _refused(Client().post(url, data=body, content_type="application/json"), 413,
                 "body_too_large")
    page = _customer_session(api).post("/groups/", {"name": "x" * 20_000, "kind": "family"})
    assert page.status_code == 413 and "body_too_large" in page.content.decode()


def test_usage_ingestion_keeps_its_own_larger_limit(db: None, settings: Any) -> None:
    from esimdesk.accounts import services as accounts

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    key = accounts.create_api_key(name="network-a")[1]
    records = [{"id": f"r{i}", "iccid": "8999001000000000018", "kind": "data",
                "quantity": 1, "occurred_at": "2026-03-01T12:00:00Z"} for i in range(500)]
    response = Client().post("/api/v1/ops/usage-events", data=json.dumps(records),
                             content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert len(response.json()["rejected"]) == 500  # read and answered per record


def test_marking_a_missing_invoice_paid_is_a_404(db: None) -> None:
    staff = _staff()
    for form in ({"reference": "BANK-1"}, {}):
        response = staff.post("/staff/invoices/424242/paid", form)
        assert response.status_code == 404
    assert staff.post("/staff/invoices/99999999999999999999/paid",
                      {"reference": "x"}).status_code == 404


def test_errors_django_raises_itself_have_the_same_shape(api: Api) -> None:
    _refused(api.get("/api/v1/no-such-thing"), 404, "not_found")
    _refused(Client().post("/hooks/upstream/"), 404, "not_found")
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    assert "not_found" in page.content.decode()
    from django.test import RequestFactory

    from esimdesk.core.error_pages import server_error

    answer = server_error(RequestFactory().get("/api/v1/orders"))
    assert answer.status_code == 500
    assert json.loads(answer.content) == {"code": "server_error", "detail": None,
                                          "message": str(MESSAGES["server_error"])}
    assert b"server_error" in server_error(RequestFactory().get("/orders/")).content


def test_a_form_without_its_csrf_token_gets_the_same_shape(api: Api) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(email="alex@example.com"))
    page = client.post("/groups/", {"name": "Ann", "kind": "family"})
    assert page.status_code == 403 and "csrf_failed" in page.content.decode()
    response = Client(enforce_csrf_checks=True).post(
        "/_allauth/browser/v1/auth/login", data={"email": "a@example.com", "password": "x"},
        content_type="application/json")
    _refused(response, 403, "csrf_failed")


def test_nul_bytes_in_multipart_fields_but_not_in_files(api: Api) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = _customer_session(api)
    assert client.post("/support/chat/", {"body": "help\x00"}).status_code == 400
    assert not Message.objects.exists()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # a file's bytes are its own business
    answer = client.post("/support/chat/", {
        "body": "help", "attachment": SimpleUploadedFile("shot.png", png, "image/png")})
    assert answer.status_code == 302
    assert Message.objects.get().body == "help"


def test_a_value_only_the_database_refuses_is_a_400_logged_as_a_missing_check(
        rf: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The last line, for input that found no check before it."""
    from django.db import DataError

    from esimdesk.core.boundary import InputBoundary

    boundary = InputBoundary(lambda request: None)  # type: ignore[arg-type,return-value]
    for error in (DataError("bigint out of range"), OverflowError("date value out of range")):
        with caplog.at_level(logging.ERROR, logger="esimdesk.core.boundary"):
            response = boundary.process_exception(rf.get("/api/v1/orders"), error)
        assert response is not None and response.status_code == 400
        assert json.loads(response.content)["code"] == "invalid_request"
        assert "bigint" not in response.content.decode()  # never the internals
        assert "unchecked input refused late" in caplog.records[-1].getMessage()
    assert boundary.process_exception(rf.get("/"), KeyError("x")) is None
