"""Supplier callbacks as an outsider meets them: a route answers only while its supplier is
configured, the caller is authenticated before anything is parsed or stored, bodies and
fields are bounded, and refusals say what was refused, never why in detail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import resolve

from esimdesk.accounts.models import User
from esimdesk.core import http
from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning import checks
from esimdesk.provisioning.models import Es2ProgressNotification, UpstreamEventReceipt
from esimdesk.provisioning.suppliers.esimgo import adapter as esimgo
from esimdesk.provisioning.suppliers.esimgo.adapter import callback_signature
from esimdesk.sandbox import simulator
from esimdesk.usage.models import UsageEvent
from tests.test_cli import esimdesk

PROGRESS_URL = "/hooks/upstream/es2plus/gsma/rsp2/es2plus/handleDownloadProgressInfo"
TOKEN = "smdp-callback-token-7d1e0c"
SUBJECT = "CN=smdp.example.com,O=Example SM-DP+,C=FR"
FINGERPRINT = "3f9a0c5e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a"
PROXY = "10.0.0.7"
CERTIFICATE = {"HTTP_X_SSL_CLIENT_VERIFY": "SUCCESS", "HTTP_X_SSL_CLIENT_S_DN": SUBJECT,
               "HTTP_X_SSL_CLIENT_FINGERPRINT": FINGERPRINT}
CALLBACK_OPTIONS = ("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", "ESIMDESK_ES2PLUS_CALLBACK_CERT_SUBJECT",
                    "ESIMDESK_ES2PLUS_CALLBACK_CERT_FINGERPRINT", "ESIMDESK_TRUSTED_PROXIES")
REFUSED_MESSAGE = "The caller has not proved that it is this supplier."

pytestmark = pytest.mark.django_db


def iccid(n: int) -> str:
    return iccid_with_check_digit(f"89990{n:013d}")


@pytest.fixture
def es2(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """ES2+ configured, authenticated by a bearer secret only."""
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus", "simulator"]}
    for name in CALLBACK_OPTIONS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", TOKEN)


@pytest.fixture
def by_certificate(es2: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """ES2+ authenticated by the client certificate its TLS proxy verified (no token)."""
    monkeypatch.delenv("ESIMDESK_ES2PLUS_CALLBACK_TOKEN")
    monkeypatch.setenv("ESIMDESK_TRUSTED_PROXIES", "10.0.0.0/24, ::1")
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CALLBACK_CERT_SUBJECT", SUBJECT)
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CALLBACK_CERT_FINGERPRINT",
                       "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33, "
                       + FINGERPRINT.upper())


@pytest.fixture
def ready(es2: None) -> Esim:
    owner = User.objects.create_user("traveller@example.com", "correct-horse-battery-42")
    return esims.create_esim(owner=owner, iccid=iccid(1), smdp_address="smdp.example.com",
                             matching_id="ABC-123", upstream="es2plus")


def notification(**extra: Any) -> dict[str, Any]:
    return {"header": {"functionRequesterIdentifier": "smdp", "functionCallIdentifier": "n1"},
            "iccid": iccid(1), "profileType": "travel-data", "timestamp": "2026-11-25T10:00:00Z",
            "notificationPointId": 4, "notificationPointStatus": {"status": "Executed-Success"},
            **extra}


def post(body: Any, *, token: str | None = TOKEN, remote: str = "192.0.2.10",
         **headers: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    headers.setdefault("HTTP_X_ADMIN_PROTOCOL", "gsma/rsp/v2.5.0")
    return Client().post(PROGRESS_URL, data=raw, content_type="application/json",
                         REMOTE_ADDR=remote, **headers)


def unchanged(esim: Esim) -> bool:
    esim.refresh_from_db()
    return esim.status == Esim.Status.READY and not Es2ProgressNotification.objects.exists()


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    answer: dict[str, Any] = response.json()
    assert answer["code"] == code
    return answer


# -- ES2+: who may call -------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
    f"bearer {TOKEN[:-1]}", "Bearer é"])
def test_an_anonymous_or_wrong_caller_is_refused_and_nothing_changes(
        ready: Esim, authorization: str | None, caplog: pytest.LogCaptureFixture) -> None:
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = post(notification(), token=None, **extra)
    answer = refused(response, 401, "unauthenticated_supplier")
    assert answer["message"] == REFUSED_MESSAGE and answer["detail"] is None
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "token" not in response.content.decode()  # the reason is for the log only
    assert "no valid bearer token" in caplog.text
    assert unchanged(ready)


def test_the_refusal_is_translated(ready: Esim) -> None:
    response = post(notification(), token="nope", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused(response, 401, "unauthenticated_supplier")["message"] == \
        "调用方未能证明其为该供应商。"


def test_the_bearer_secret_lets_the_smdp_move_the_esim(ready: Esim) -> None:
    response = post(notification())
    assert response.status_code == 204 and response.content == b""
    ready.refresh_from_db()
    assert ready.status == Esim.Status.INSTALLED


def test_the_route_is_404_while_es2plus_is_not_configured(ready: Esim, settings: Any) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["simulator"]}
    for body in (notification(), b"not even json"):
        answer = refused(post(body), 404, "unknown_supplier")
        assert answer["message"] == "That is not a supplier esimdesk knows."
    assert unchanged(ready)


def test_es2plus_without_a_credential_refuses_every_call(
        ready: Esim, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.delenv("ESIMDESK_ES2PLUS_CALLBACK_TOKEN")
    monkeypatch.setenv("ESIMDESK_TRUSTED_PROXIES", PROXY)
    for token in (None, "", TOKEN):
        refused(post(notification(), token=token, remote=PROXY, **CERTIFICATE), 401,
                "unauthenticated_supplier")
    assert unchanged(ready)
    [warning] = checks.supplier_callbacks()
    assert warning.id == "esimdesk.W102" and not warning.is_serious()
    settings.PRODUCTION = True
    [error] = checks.supplier_callbacks()
    assert error.id == "esimdesk.E102" and error.is_serious()
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", TOKEN)
    assert checks.supplier_callbacks() == []


def test_esimdesk_check_says_so(tmp_path: Path) -> None:
    env = {"ESIMDESK_UPSTREAM_PROVIDERS": "es2plus",
           "ESIMDESK_ES2PLUS_URL": "https://smdp.example.com"}
    workstation = esimdesk("check", tmp=tmp_path, env=env)
    assert workstation.returncode == 0, workstation.stderr
    assert "WARNING: ES2+ is configured but its progress notifications have no credential" \
        in workstation.stdout
    production = esimdesk("check", tmp=tmp_path, env={
        **env, "ESIMDESK_PRODUCTION": "1", "ESIMDESK_SECRET_KEY": "k" * 50})
    assert production.returncode == 1
    assert "PROBLEM: ES2+ is configured" in production.stdout


# -- ES2+: a client certificate the TLS proxy verified -------------------------------------


@pytest.mark.parametrize("remote", [PROXY, "10.0.0.250", "::1", "::ffff:10.0.0.7"])
def test_a_certificate_verified_by_a_trusted_proxy_is_accepted(
        ready: Esim, by_certificate: None, remote: str) -> None:
    assert post(notification(), token=None, remote=remote, **CERTIFICATE).status_code == 204
    ready.refresh_from_db()
    assert ready.status == Esim.Status.INSTALLED


@pytest.mark.parametrize("remote", ["203.0.113.9", "10.0.1.7", "127.0.0.1", "", "not-an-ip",
                                    "::2"])
def test_certificate_headers_are_believed_only_from_a_trusted_proxy(
        ready: Esim, by_certificate: None, remote: str) -> None:
    refused(post(notification(), token=None, remote=remote, **CERTIFICATE), 401,
            "unauthenticated_supplier")
    assert unchanged(ready)


@pytest.mark.parametrize("change", [
    {"HTTP_X_SSL_CLIENT_VERIFY": "NONE"},
    {"HTTP_X_SSL_CLIENT_VERIFY": "FAILED:unable to get issuer certificate"},
    {"HTTP_X_SSL_CLIENT_VERIFY": None},
    {"HTTP_X_SSL_CLIENT_S_DN": "CN=smdp.example.com,O=Someone Else,C=FR"},
    {"HTTP_X_SSL_CLIENT_S_DN": None},
    {"HTTP_X_SSL_CLIENT_FINGERPRINT": "ffffffffffffffffffffffffffffffffffffffff"},
    {"HTTP_X_SSL_CLIENT_FINGERPRINT": None},
])
def test_the_proxy_must_vouch_for_the_configured_certificate(
        ready: Esim, by_certificate: None, change: dict[str, str | None]) -> None:
    headers = {**CERTIFICATE, **change}
    sent = {name: value for name, value in headers.items() if value is not None}
    refused(post(notification(), token=None, remote=PROXY, **sent), 401,
            "unauthenticated_supplier")
    assert unchanged(ready)


def test_the_header_names_are_settings(ready: Esim, by_certificate: None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_CLIENT_CERT_VERIFY_HEADER", "X-Client-Verified")
    monkeypatch.setenv("ESIMDESK_CLIENT_CERT_SUBJECT_HEADER", "X-Client-Subject")
    monkeypatch.setenv("ESIMDESK_CLIENT_CERT_FINGERPRINT_HEADER", "X-Client-Sha1")
    refused(post(notification(), token=None, remote=PROXY, **CERTIFICATE), 401,
            "unauthenticated_supplier")
    renamed = {"HTTP_X_CLIENT_VERIFIED": "SUCCESS", "HTTP_X_CLIENT_SUBJECT": SUBJECT,
               "HTTP_X_CLIENT_SHA1": FINGERPRINT}
    assert post(notification(), token=None, remote=PROXY, **renamed).status_code == 204


def test_with_a_token_and_a_certificate_both_are_required(
        ready: Esim, by_certificate: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", TOKEN)
    refused(post(notification(), remote=PROXY), 401, "unauthenticated_supplier")
    refused(post(notification(), token=None, remote=PROXY, **CERTIFICATE), 401,
            "unauthenticated_supplier")
    assert unchanged(ready)
    assert post(notification(), remote=PROXY, **CERTIFICATE).status_code == 204


def test_a_bad_proxy_list_trusts_nobody_and_check_says_so(
        by_certificate: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_TRUSTED_PROXIES", "10.0.0.0/24, proxy.example.com")
    assert not http.is_trusted_proxy(PROXY)
    assert [m.id for m in checks.supplier_callbacks()] == ["esimdesk.E101", "esimdesk.W103"]
    monkeypatch.setenv("ESIMDESK_TRUSTED_PROXIES", "")
    assert [m.id for m in checks.supplier_callbacks()] == ["esimdesk.W103"]


# -- ES2+: bounded bodies and fields -------------------------------------------------------


def test_a_two_megabyte_body_is_413_and_nothing_is_stored(ready: Esim) -> None:
    big = notification(resultData="A" * 2_000_000)
    for token in (TOKEN, None):
        answer = refused(post(big, token=token), 413, "callback_too_large")
        assert answer["detail"] == {"max_bytes": 64 * 1024}
    assert unchanged(ready)


class _Unreadable:
    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def test_an_oversized_body_is_refused_without_being_read(ready: Esim) -> None:
    request = RequestFactory().post(PROGRESS_URL, data=b"{}", content_type="application/json",
                                    HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    request.META["CONTENT_LENGTH"] = "2000000"
    request._stream = _Unreadable()  # type: ignore[attr-defined]
    route = resolve(PROGRESS_URL)
    assert route.func(request, **route.kwargs).status_code == 413


def _nested(depth: int) -> bytes:
    return b'{"header": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(("change", "field"), [
    ({"profileType": "P" * 101}, "profileType"),
    ({"profileType": "P" * 60_000}, "profileType"),
    ({"header": {"functionRequesterIdentifier": "smdp", "functionCallIdentifier": "f" * 256}},
     "functionCallIdentifier"),
    ({"header": {"functionRequesterIdentifier": "smdp", "functionCallIdentifier": 12}},
     "functionCallIdentifier"),
    ({"header": {"functionCallIdentifier": "n1"}}, "functionRequesterIdentifier"),
    ({"resultData": "A" * (16 * 1024 + 1)}, "resultData"),
    ({"notificationPointStatus": {"status": "Failed", "statusCodeData": {
        "subjectCode": "8.1", "reasonCode": "4.2", "message": "m" * 513}}}, "message"),
    ({"notificationPointStatus": {"status": "Failed", "statusCodeData": "oops"}},
     "statusCodeData"),
    ({"notificationPointStatus": {"status": "Failed", "statusCodeData": {"subjectCode": 8}}},
     "subjectCode"),
    ({"notificationPointStatus": {"status": "Executed-Success" * 4}},
     "notificationPointStatus"),
    ({"notificationPointId": 99999999999999999999}, "notificationPointId"),
    ({"notificationPointId": "99999999999999999999"}, "notificationPointId"),
    ({"notificationPointId": -1}, "notificationPointId"),
    ({"notificationPointId": "9" * 5000}, "notificationPointId"),
    ({"timestamp": "0001-01-01T00:00:00+23:59"}, "timestamp"),
    ({"timestamp": "9999-12-31T23:59:59-23:59"}, "timestamp"),
    ({"timestamp": "2026-13-45T10:00:00Z"}, "timestamp"),
    ({"timestamp": "2026-11-25T10:00:00" + "0" * 100 + "Z"}, "timestamp"),
    ({"eid": "1" * 5000}, "eid"),
    ({"iccid": "8" * 5000}, "iccid"),
])
def test_an_unbounded_field_is_a_clear_400_not_a_500(ready: Esim, change: Any,
                                                     field: str) -> None:
    body = change if isinstance(change, bytes) else notification(**change)
    answer = refused(post(body), 400, "malformed_notification")
    assert answer["detail"] == {"field": field}
    assert answer["message"] == "The notification is not valid: detail.field names the field."
    assert unchanged(ready)


def test_fields_at_their_limits_are_stored(ready: Esim) -> None:
    data = {"subjectCode": "8" * 32, "reasonCode": "4" * 32, "subjectIdentifier": "s" * 128,
            "message": "m" * 512, "extra": "x" * 10_000}
    body = notification(profileType="P" * 100, resultData="A" * 16 * 1024,
                        header={"functionRequesterIdentifier": "r" * 255,
                                "functionCallIdentifier": "f" * 255},
                        notificationPointStatus={"status": "Failed", "statusCodeData": data},
                        notificationPointId=2**31 - 1)
    assert post(body).status_code == 204
    row = Es2ProgressNotification.objects.get()
    assert (len(row.profile_type), len(row.function_call_identifier), len(row.result_data)) == \
        (100, 255, 16 * 1024)
    assert "extra" not in row.status_code_data and row.status_code_data["message"] == "m" * 512


def test_an_unknown_iccid_keeps_only_the_bounded_fields(ready: Esim,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    body = notification(iccid=iccid(7), resultData="A" * 16 * 1024,
                        notificationPointStatus={"status": "Failed", "statusCodeData": {
                            "subjectCode": "8.1", "reasonCode": "4.2", "message": "m" * 512}})
    assert post(body).status_code == 204
    row = Es2ProgressNotification.objects.get()
    assert (row.outcome, row.iccid, row.esim) == ("unknown_iccid", iccid(7), None)
    assert row.result_data == "" and row.status_code_data == {}
    assert "unknown ICCID" in caplog.text
    ready.refresh_from_db()
    assert ready.status == Esim.Status.READY


# -- eSIM Go and the simulator -------------------------------------------------------------


ESIMGO_SECRET = "esimgo-callback-secret"


@pytest.fixture
def go(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Esim:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo"]}
    monkeypatch.setenv("ESIMDESK_ESIMGO_CALLBACK_SECRET", ESIMGO_SECRET)
    owner = User.objects.create_user("go@example.com", "correct-horse-battery-42")
    return esims.create_esim(owner=owner, iccid=iccid_with_check_digit("894400000000000001"),
                             smdp_address="rsp.esim-go.example", matching_id="M-1",
                             upstream="esimgo")


def _go(body: bytes, signature: str | None = None) -> Any:
    signature = callback_signature(body, ESIMGO_SECRET) if signature is None else signature
    return Client().post("/hooks/upstream/esimgo", data=body, content_type="application/json",
                         HTTP_X_SIGNATURE_SHA256=signature)


def _sim(body: bytes, signature: str | None = None) -> Any:
    signature = simulator.sign(body) if signature is None else signature
    return Client().post("/hooks/upstream/simulator", data=body,
                         content_type="application/json", HTTP_X_SIMULATOR_SIGNATURE=signature)


def _installed(iccid: str) -> bytes:
    return json.dumps({"iccid": iccid, "alertType": "ProfileStatus",
                       "profileStatus": "Installed"}).encode()


def test_esimgo_answers_only_while_configured(go: Esim, settings: Any) -> None:
    body = _installed(go.iccid)
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["simulator"]}
    refused(_go(body), 404, "unknown_supplier")
    go.refresh_from_db()
    assert go.status == Esim.Status.READY and not UpstreamEventReceipt.objects.exists()
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo"]}
    assert _go(body).json() == {"status": "installed"}


def test_the_simulator_answers_only_while_configured(go: Esim) -> None:
    body = json.dumps({"events": [{"id": "e-1", "iccid": go.iccid, "status": "installed",
                                   "occurred_at": "2026-11-25T10:00:00Z"}]}).encode()
    refused(_sim(body), 404, "unknown_supplier")
    go.refresh_from_db()
    assert go.status == Esim.Status.READY
    pull = Client().get(f"/simulator/v1/profiles/{go.iccid}", HTTP_AUTHORIZATION="Bearer x")
    refused(pull, 404, "unknown_supplier")


@pytest.mark.parametrize("supplier", ["esimgo", "simulator"])
def test_a_bad_signature_is_refused_before_the_body_is_parsed(
        go: Esim, settings: Any, monkeypatch: pytest.MonkeyPatch, supplier: str) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo", "simulator"]}
    adapter = {"esimgo": esimgo.EsimGoProvider, "simulator": simulator.SimulatorProvider}
    parsed: list[bytes] = []

    def spy(self: Any, *, body: bytes, headers: Any) -> list[Any]:
        parsed.append(body)
        return []

    monkeypatch.setattr(adapter[supplier], "parse_callback", spy)
    send = _go if supplier == "esimgo" else _sim
    for signature in ("", "bm9wZQ==", "é", callback_signature(b"other", ESIMGO_SECRET)):
        answer = refused(send(b"not json {{{", signature), 400, "bad_signature")
        assert answer["message"] == "The signature of the message does not verify."
    assert parsed == []
    send(b"not json {{{")  # signed: now, and only now, the body is parsed
    assert parsed == [b"not json {{{"]


def test_unsigned_bodies_over_the_limit_are_413(go: Esim, settings: Any) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["esimgo", "simulator"]}
    refused(_go(b" " * (64 * 1024 + 1)), 413, "callback_too_large")
    refused(_sim(b" " * (1024 * 1024 + 1)), 413, "callback_too_large")
    assert not UsageEvent.objects.exists() and not UpstreamEventReceipt.objects.exists()


def test_a_signed_but_deeply_nested_body_is_refused_not_a_500(go: Esim) -> None:
    # The input boundary refuses it before the callback's view runs.
    refused(_go(b"[" * 50_000), 400, "json_too_deep")


def test_a_deeply_nested_notification_is_refused_before_the_view(ready: Esim) -> None:
    answer = refused(post(_nested(30_000)), 400, "json_too_deep")
    assert answer["detail"]["max_depth"] == 64
    assert unchanged(ready)
