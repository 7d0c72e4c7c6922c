"""handleDownloadProgressInfo: the SM-DP+ tells esimdesk how a download went (SGP.22 5.3.5,
the JSON binding of 6.5.1: the request's headers and ids, the 204 answer, refusals in the
ES2+ shape)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from esimdesk.accounts.models import User
from esimdesk.core.ids import eid_with_check_digits, iccid_with_check_digit
from esimdesk.esims import services as esims
from esimdesk.esims.models import Esim
from esimdesk.provisioning.models import Es2ProgressNotification

PROGRESS_URL = "/hooks/upstream/es2plus/gsma/rsp2/es2plus/handleDownloadProgressInfo"
CALLBACK_TOKEN = "smdp-callback-token-4f1c9a"


def iccid(n: int) -> str:
    return iccid_with_check_digit(f"89990{n:013d}")


@pytest.fixture
def es2_callbacks(db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """ES2+ configured, with the bearer secret the SM-DP+ sends on its callbacks."""
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus", "simulator"]}
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CALLBACK_TOKEN", CALLBACK_TOKEN)


@pytest.fixture
def esim(es2_callbacks: None) -> Esim:
    owner = User.objects.create_user("traveller@example.com", "correct-horse-battery-42")
    return esims.create_esim(owner=owner, iccid=iccid(1), smdp_address="smdp.fake.test",
                             matching_id="ABC-123", upstream="es2plus")


def notification(point: Any = 4, status: str = "Executed-Success", **extra: Any) -> dict[str, Any]:
    return {"header": {"functionRequesterIdentifier": "smdp", "functionCallIdentifier": "n1"},
            "iccid": iccid(1) + "F", "profileType": "travel-data",
            "timestamp": "2026-11-25T10:00:00Z", "notificationPointId": point,
            "notificationPointStatus": {"status": status}, **extra}


def post(body: Any, *, content_type: str = "application/json", **extra: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {CALLBACK_TOKEN}")
    extra.setdefault("HTTP_X_ADMIN_PROTOCOL", "gsma/rsp/v2.5.0")
    return Client().post(PROGRESS_URL, data=raw, content_type=content_type, **extra)


def es2_refusal(response: Any, status: int, code: str) -> dict[str, Any]:
    """The answer is a refusal in the ES2+ shape, with esimdesk's code beside it."""
    assert response.status_code == status, response.content
    assert response["X-Admin-Protocol"] == "gsma/rsp/v2.5.0"
    assert response["Content-Type"] == "application/json"
    answer: dict[str, Any] = response.json()
    execution = answer["header"]["functionExecutionStatus"]
    assert execution["status"] == "Failed"
    assert execution["statusCodeData"]["subjectCode"] and execution["statusCodeData"]["reasonCode"]
    assert answer["code"] == code and answer["message"]
    return dict(execution["statusCodeData"])


def test_installation_moves_esim_to_installed(esim: Esim) -> None:
    eid = eid_with_check_digits("89049032" + "0" * 22)
    response = post(notification(3))
    assert response.status_code == 204 and response.content == b""
    # SGP.22 6.5.1: the answer says its protocol, and is not a web page.
    assert response["X-Admin-Protocol"] == "gsma/rsp/v2.5.0"
    assert response["Content-Type"] == "application/json"
    esim.refresh_from_db()
    assert esim.status == "ready"
    response = post(notification(4, eid=eid))
    assert response.status_code == 204 and response.content == b""
    esim.refresh_from_db()
    assert esim.status == "installed" and esim.installed_at is not None
    assert esim.eid == eid
    rows = list(Es2ProgressNotification.objects.order_by("pk"))
    assert [(r.point_id, r.outcome) for r in rows] == [(3, "recorded"), (4, "installed")]
    assert rows[1].esim == esim
    # A repeated notification is recorded again and changes nothing.
    assert post(notification(4)).status_code == 204


def test_an_eighteen_digit_iccid_finds_its_esim(es2_callbacks: None) -> None:
    short = f"89990{5:013d}"
    owner = User.objects.create_user("traveller@example.com", "correct-horse-battery-42")
    esim = esims.create_esim(owner=owner, iccid=iccid_with_check_digit(short),
                             smdp_address="smdp.fake.test", matching_id="ABC-123",
                             upstream="es2plus")
    assert post({**notification(4), "iccid": short + "FF"}).status_code == 204
    esim.refresh_from_db()
    assert esim.status == "installed"


def test_failure_is_recorded(esim: Esim) -> None:
    body = notification(3, "Failed")
    body["notificationPointStatus"]["statusCodeData"] = {"subjectCode": "8.1",
                                                         "reasonCode": "4.2"}
    assert post(body).status_code == 204
    row = Es2ProgressNotification.objects.get()
    assert row.outcome == "failure" and row.status_code_data["reasonCode"] == "4.2"
    esim.refresh_from_db()
    assert esim.status == "ready"


def test_unknown_point_and_unknown_iccid(esim: Esim) -> None:
    assert post(notification(99)).status_code == 204
    assert post({**notification(4), "iccid": iccid(7)}).status_code == 204
    outcomes = list(Es2ProgressNotification.objects.order_by("pk")
                    .values_list("point_id", "outcome"))
    assert outcomes == [(99, "recorded"), (4, "unknown_iccid")]


@pytest.mark.parametrize(("body", "subject", "reason"), [
    (b"not json", "1.2", "2.1"),
    (b"[]", "1.2", "2.1"),
    ({k: v for k, v in notification().items() if k != "header"}, "1.2", "2.2"),
    ({**notification(), "header": {"functionRequesterIdentifier": "smdp"}}, "1.2", "2.2"),
    ({**notification(), "header": {"functionCallIdentifier": "n1"}}, "1.2", "2.2"),
    ({**notification(), "header": {"functionRequesterIdentifier": "",
                                   "functionCallIdentifier": "n1"}}, "1.2", "2.1"),
    ({k: v for k, v in notification().items() if k != "profileType"}, "8.2.5", "2.2"),
    ({k: v for k, v in notification().items() if k != "notificationPointStatus"},
     "1.2", "2.2"),
    ({**notification(), "iccid": "123"}, "8.2.1", "2.1"),
    ({**notification(), "timestamp": "yesterday"}, "1.2", "2.1"),
    ({**notification(), "timestamp": "2026-11-25T10:00:00"}, "1.2", "2.1"),
    ({**notification(), "notificationPointId": "four"}, "1.2", "2.1"),
    ({**notification(), "eid": "1234"}, "8.1.1", "2.1"),
])
def test_malformed_is_a_400_in_the_es2_shape(es2_callbacks: None, body: Any, subject: str,
                                             reason: str) -> None:
    data = es2_refusal(post(body), 400, "malformed_notification")
    assert (data["subjectCode"], data["reasonCode"]) == (subject, reason)
    assert not Es2ProgressNotification.objects.exists()


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({"HTTP_X_ADMIN_PROTOCOL": ""}, 400, "unsupported_protocol"),
    ({"HTTP_X_ADMIN_PROTOCOL": "gsma/rsp/v3.0.0"}, 400, "unsupported_protocol"),
    ({"content_type": "text/plain"}, 415, "unsupported_media_type"),
    ({"content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ({"HTTP_AUTHORIZATION": "Bearer wrong"}, 401, "unauthenticated_supplier"),
])
def test_a_request_that_is_not_es2_is_refused_before_it_is_read(
        esim: Esim, headers: dict[str, str], status: int, code: str) -> None:
    es2_refusal(post(notification(), **headers), status, code)
    assert not Es2ProgressNotification.objects.exists()
    esim.refresh_from_db()
    assert esim.status == "ready"


def test_the_protocol_may_be_any_v2(esim: Esim) -> None:
    assert post(notification(), HTTP_X_ADMIN_PROTOCOL="gsma/rsp/v2.2.0",
                content_type="application/json; charset=utf-8").status_code == 204


def test_an_unauthenticated_caller_learns_nothing_more(esim: Esim) -> None:
    """Credentials first: without them, even a non-ES2+ request is only told 401."""
    response = post(b"<html/>", content_type="text/html", HTTP_AUTHORIZATION="",
                    HTTP_X_ADMIN_PROTOCOL="")
    data = es2_refusal(response, 401, "unauthenticated_supplier")
    assert (data["subjectCode"], data["reasonCode"]) == ("1.1", "1.2")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_get_is_refused(es2_callbacks: None) -> None:
    assert Client().get(PROGRESS_URL).status_code == 405
