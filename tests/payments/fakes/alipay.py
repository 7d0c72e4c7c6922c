"""A local fake of the Alipay open platform gateway, speaking its documented wire format.

A real HTTP server on 127.0.0.1 at ``/gateway.do``. It reads the common request parameters
from the query string and the form body (in the request's ``charset``), checks ``app_id``,
``sign_type`` RSA2, a ``timestamp`` in Beijing time, and the app's RSA2 signature over the
sorted ``k=v`` string of every non-empty parameter but ``sign`` (with the *app* public key),
then dispatches on ``method``:

- ``alipay.trade.precreate``: creates the trade, answers a ``qr_code`` (same again for a
  retried identical request, ``ACQ.CONTEXT_INCONSISTENT`` for a changed one);
- ``alipay.trade.wap.pay`` / ``alipay.trade.page.pay`` (GET in the payer's browser): opens
  the trade and answers an HTML cashier page;
- ``alipay.trade.query``: ``ACQ.TRADE_NOT_EXIST`` until the trade is scanned or opened, as
  Alipay does, then its ``trade_status``;
- ``alipay.trade.refund``: refunds each ``out_request_no`` once (a repeat answers
  ``fund_change`` "N"), never more than was paid;
- ``alipay.trade.fastpay.refund.query``.

Answers are ``{"<method>_response": {...}, "sign": "..."}``, signed over the exact member
text with the fake's *Alipay* private key. Written independently of python-alipay-sdk (only
``cryptography``), so it checks the adapter's wire format rather than the SDK against itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from esimdesk import config
from esimdesk.core import clock, console_settings

APP_ID = "2021000000000001"
BEIJING = dt.timezone(dt.timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SELLER_ID = "2088102000000001"


@cache
def keypair(role: str) -> rsa.RSAPrivateKey:
    """One RSA2048 key per role ("app", "alipay", "stranger"), made once per test session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def rsa2_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(),
                                     hashes.SHA256())).decode()


def rsa2_verify(key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(),
                   hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def beijing(instant: dt.datetime | None = None) -> str:
    return (instant or clock.now()).astimezone(BEIJING).strftime(TIME_FORMAT)


def notify_content(params: dict[str, str]) -> str:
    """What Alipay signs in a notify: every parameter but sign and sign_type, sorted."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign",
                                                                             "sign_type"))


def form_fields(body: bytes) -> dict[str, str]:
    """A notify body back into its fields (utf-8), for tests that tamper with one."""
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def as_form(params: dict[str, str], charset: str = "utf-8") -> bytes:
    return urlencode(params, encoding=charset).encode("ascii")


class BusinessError(Exception):
    def __init__(self, sub_code: str, sub_msg: str, code: str = "40004") -> None:
        super().__init__(sub_code)
        self.code, self.sub_code, self.sub_msg = code, sub_code, sub_msg


@dataclass
class Refund:
    out_request_no: str
    amount: Decimal
    refunded_total: Decimal  # the trade's running total once this refund was made
    gmt_refund: str


@dataclass
class Trade:
    out_trade_no: str
    total_amount: Decimal
    subject: str
    notify_url: str
    trade_no: str
    method: str
    status: str = "CREATED"  # not visible to alipay.trade.query until scanned/opened
    buyer_logon_id: str = ""
    gmt_create: str = field(default_factory=beijing)
    gmt_payment: str = ""
    refunds: dict[str, Refund] = field(default_factory=dict)

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds.values()), Decimal("0.00"))


class AlipayFake:
    def __init__(self, app_id: str = APP_ID) -> None:
        self.app_id = app_id
        self.app_key = keypair("app")
        self.alipay_key = keypair("alipay")
        self.trades: dict[str, Trade] = {}
        self.requests: list[dict[str, str]] = []  # every verified request, in order
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._serial = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,),
                                        daemon=True)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/gateway.do"

    def start(self) -> AlipayFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._release.is_set():
            return
        self._release.set()  # let any held ("timeout") answer finish
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- test controls ---------------------------------------------------------------------

    def fail_next(self, kind: str) -> None:
        """The next gateway call fails: "timeout" (done, but the answer never arrives in
        time), "http_502" (not done), "bad_signature" (done, answer signed wrongly),
        "unsigned" (done, answer without sign) or "refund_pending" (a refund answered
        fund_change N and not done yet)."""
        self._failures.append(kind)

    def scan(self, out_trade_no: str) -> None:
        """The payer scanned the QR code: the trade now exists for alipay.trade.query."""
        with self._lock:
            trade = self.trades[out_trade_no]
            trade.status = "WAIT_BUYER_PAY" if trade.status == "CREATED" else trade.status

    def pay(self, out_trade_no: str, buyer_logon_id: str = "138****8000", *,
            total_amount: str | None = None, charset: str = "utf-8",
            status: str = "TRADE_SUCCESS") -> bytes:
        """The payer pays: the trade succeeds and the signed notify body is returned, exactly
        as Alipay POSTs it. ``total_amount`` overrides what the notify says was paid."""
        with self._lock:
            trade = self.trades[out_trade_no]
            assert trade.status in ("CREATED", "WAIT_BUYER_PAY"), trade.status
            trade.status, trade.buyer_logon_id = status, buyer_logon_id
            trade.gmt_payment = beijing()
            paid = total_amount or f"{trade.total_amount}"
            return self.notify(self._trade_fields(trade) | {
                "trade_status": status, "total_amount": paid, "receipt_amount": paid,
                "buyer_pay_amount": paid, "invoice_amount": paid, "point_amount": "0.00",
                "gmt_payment": trade.gmt_payment,
                "fund_bill_list": json.dumps([{"amount": paid, "fundChannel": "ALIPAYACCOUNT"}],
                                             separators=(",", ":"))}, charset=charset)

    def close(self, out_trade_no: str) -> bytes:
        """The unpaid trade times out / is closed: the signed TRADE_CLOSED notify."""
        with self._lock:
            trade = self.trades[out_trade_no]
            assert trade.status in ("CREATED", "WAIT_BUYER_PAY"), trade.status
            trade.status = "TRADE_CLOSED"
            return self.notify(self._trade_fields(trade) | {
                "trade_status": "TRADE_CLOSED", "total_amount": f"{trade.total_amount}",
                "gmt_close": beijing()})

    def notify_for(self, out_trade_no: str, out_request_no: str) -> bytes:
        """The signed notify Alipay sends for one refund: refund_fee is the trade's running
        total refunded, out_biz_no the refund's out_request_no; TRADE_CLOSED once all of it
        is refunded."""
        with self._lock:
            trade = self.trades[out_trade_no]
            refund = trade.refunds[out_request_no]
            full = refund.refunded_total == trade.total_amount
            return self.notify(self._trade_fields(trade) | {
                "trade_status": "TRADE_CLOSED" if full else "TRADE_SUCCESS",
                "total_amount": f"{trade.total_amount}", "gmt_payment": trade.gmt_payment,
                "refund_fee": f"{refund.refunded_total}", "gmt_refund": refund.gmt_refund,
                "out_biz_no": out_request_no} | ({"gmt_close": beijing()} if full else {}))

    def notify(self, fields: dict[str, str], *, charset: str = "utf-8",
               key: rsa.RSAPrivateKey | None = None) -> bytes:
        """Any notify, with the common fields filled in, signed (by default) by "Alipay"."""
        params = {"notify_time": beijing(), "notify_type": "trade_status_sync",
                  "notify_id": f"2024{next(self._serial):028d}", "app_id": self.app_id,
                  "auth_app_id": self.app_id, "charset": charset, "version": "1.0",
                  "sign_type": "RSA2"} | fields
        params["sign"] = rsa2_sign(key or self.alipay_key, notify_content(params))
        return as_form(params, charset)

    def verify_request(self, params: dict[str, str]) -> bool:
        """Whether ``params`` carry a valid app signature (as the gateway checks it)."""
        content = "&".join(f"{k}={params[k]}" for k in sorted(params)
                           if k != "sign" and params[k] != "")
        return rsa2_verify(self.app_key.public_key(), content, params.get("sign", ""))

    def _trade_fields(self, trade: Trade) -> dict[str, str]:
        return {"out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no,
                "subject": trade.subject, "buyer_id": "2088102177846880",
                "buyer_logon_id": trade.buyer_logon_id, "seller_id": SELLER_ID,
                "seller_email": "merchant@example.com", "gmt_create": trade.gmt_create}

    # -- the gateway -----------------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[int, str, str]:
        """One gateway request -> (HTTP status, content type, body)."""
        failure = self._failures.pop(0) if self._failures else ""
        if failure == "http_502":
            return 502, "text/html", "<html>502 Bad Gateway</html>"
        method = params.get("method", "")
        key = method.replace(".", "_") + "_response"
        refusal = self._refusal(params)
        if refusal:
            return 200, "text/html;charset=utf-8", json.dumps({key: refusal})
        self.requests.append(params)
        biz = json.loads(params.get("biz_content") or "{}")
        with self._lock:
            try:
                if method in ("alipay.trade.wap.pay", "alipay.trade.page.pay"):
                    self._open(params, biz)
                    return 200, "text/html;charset=utf-8", "<html>支付宝 cashier</html>"
                content = {"code": "10000", "msg": "Success"} | self._dispatch(
                    method, params, biz, failure)
            except BusinessError as error:
                content = {"code": error.code, "msg": "Business Failed",
                           "sub_code": error.sub_code, "sub_msg": error.sub_msg}
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        if failure == "unsigned":
            return 200, "text/html;charset=utf-8", f'{{"{key}":{text}}}'
        sign = rsa2_sign(self.alipay_key if failure != "bad_signature" else keypair("stranger"),
                         text)
        if failure == "timeout":
            self._release.wait(timeout=10)
        return 200, "text/html;charset=utf-8", f'{{"{key}":{text},"sign":"{sign}"}}'

    def _refusal(self, params: dict[str, str]) -> dict[str, str] | None:
        """Gateway-level checks; Alipay answers these unsigned."""
        def invalid(sub_code: str, sub_msg: str) -> dict[str, str]:
            return {"code": "40002", "msg": "Invalid Arguments", "sub_code": sub_code,
                    "sub_msg": sub_msg}

        if params.get("app_id") != self.app_id:
            return invalid("isv.invalid-app-id", "无效的AppID参数")
        if params.get("sign_type") != "RSA2" or not self.verify_request(params):
            return invalid("isv.invalid-signature", "验签出错")
        try:
            sent = dt.datetime.strptime(params.get("timestamp", ""), TIME_FORMAT)
        except ValueError:
            return invalid("isv.invalid-timestamp", "非法的时间戳参数")
        if abs(sent.replace(tzinfo=BEIJING) - clock.now()) > dt.timedelta(minutes=10):
            return invalid("isv.invalid-timestamp", "时间戳超出范围 (not Beijing time?)")
        if params.get("method") not in METHODS:
            return invalid("isv.invalid-method", "不存在的方法名")
        return None

    def _dispatch(self, method: str, params: dict[str, str], biz: dict[str, Any],
                  failure: str) -> dict[str, str]:
        if method == "alipay.trade.precreate":
            trade = self._open(params, biz)
            return {"out_trade_no": trade.out_trade_no,
                    "qr_code": f"https://qr.alipay.com/bax0{trade.trade_no[-8:]}"}
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None or (trade.status == "CREATED" and method == "alipay.trade.query"):
            raise BusinessError("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if method == "alipay.trade.query":
            return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
                    "trade_status": trade.status, "total_amount": f"{trade.total_amount}",
                    "buyer_logon_id": trade.buyer_logon_id,
                    **({"send_pay_date": trade.gmt_payment} if trade.gmt_payment else {})}
        if method == "alipay.trade.refund":
            return self._refund(trade, biz, pending=failure == "refund_pending")
        refund = trade.refunds.get(str(biz.get("out_request_no", "")))
        if refund is None:  # fastpay.refund.query: nothing to report
            return {}
        return {"out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no,
                "out_request_no": refund.out_request_no, "refund_amount": f"{refund.amount}",
                "total_amount": f"{trade.total_amount}", "refund_status": "REFUND_SUCCESS"}

    def _open(self, params: dict[str, str], biz: dict[str, Any]) -> Trade:
        out_trade_no = str(biz["out_trade_no"])
        amount = Decimal(str(biz["total_amount"]))
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise BusinessError("ACQ.INVALID_PARAMETER", "total_amount 不合法")
        trade = self.trades.get(out_trade_no)
        if trade is None:
            trade = Trade(out_trade_no=out_trade_no, total_amount=amount.quantize(Decimal("0.01")),
                          subject=str(biz["subject"]), notify_url=params.get("notify_url", ""),
                          trade_no=f"2024{next(self._serial):024d}", method=params["method"])
            self.trades[out_trade_no] = trade
        if trade.total_amount != amount or trade.subject != biz["subject"]:
            raise BusinessError("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        if trade.status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            raise BusinessError("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        if trade.status == "TRADE_CLOSED":
            raise BusinessError("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        if params["method"] != "alipay.trade.precreate":
            trade.status = "WAIT_BUYER_PAY"  # the payer is on the cashier page
        return trade

    def _refund(self, trade: Trade, biz: dict[str, Any], *, pending: bool) -> dict[str, str]:
        amount = Decimal(str(biz["refund_amount"]))
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        done = trade.refunds.get(request_no)
        if done is not None and done.amount != amount:
            raise BusinessError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原请求不一致")
        if done is None:
            if trade.status not in ("TRADE_SUCCESS", "TRADE_FINISHED"):
                raise BusinessError("ACQ.TRADE_STATUS_ERROR" if trade.status != "TRADE_CLOSED"
                                    else "ACQ.TRADE_HAS_CLOSE", "交易状态不合法")
            if amount <= 0 or trade.refunded + amount > trade.total_amount:
                raise BusinessError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        answer = {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
                  "buyer_logon_id": trade.buyer_logon_id, "gmt_refund_pay": beijing()}
        if pending:  # accepted, money not moved yet
            return answer | {"fund_change": "N", "refund_fee": f"{trade.refunded}"}
        if done is None:
            total = trade.refunded + amount
            trade.refunds[request_no] = Refund(request_no, amount, total,
                                               clock.now().astimezone(BEIJING).strftime(
                                                   "%Y-%m-%d %H:%M:%S.%f")[:-3])
            if total == trade.total_amount:
                trade.status = "TRADE_CLOSED"
        return answer | {"fund_change": "Y" if done is None else "N",
                         "refund_fee": f"{trade.refunded}"}


METHODS = frozenset({"alipay.trade.precreate", "alipay.trade.wap.pay", "alipay.trade.page.pay",
                     "alipay.trade.query", "alipay.trade.refund",
                     "alipay.trade.fastpay.refund.query"})


def _handler(fake: AlipayFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _answer(self, body: bytes) -> None:
            url = urlsplit(self.path)
            if url.path != "/gateway.do":
                self.send_error(404)
                return
            raw = "&".join(p for p in (url.query, body.decode("latin-1")) if p)
            probe = dict(parse_qsl(raw, encoding="latin-1"))
            params = dict(parse_qsl(raw, keep_blank_values=True,
                                    encoding=probe.get("charset") or "utf-8"))
            status, content_type, text = fake.handle(params)
            data = text.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up ("timeout"): as with the real gateway

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def alipay_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlipayFake]:
    """A running fake gateway, with the ESIMDESK_ALIPAY_* variables pointing at it.

    The staff console's stored settings are not consulted meanwhile (``config.env`` would
    otherwise read them from the database): these adapter tests use no database, and the
    environment set here must be what the adapter sees.
    """
    config.set_console_lookup(lambda name: None)
    fake = AlipayFake().start()
    monkeypatch.setenv("ESIMDESK_ALIPAY_GATEWAY", fake.gateway_url)
    monkeypatch.setenv("ESIMDESK_ALIPAY_APP_ID", fake.app_id)
    monkeypatch.setenv("ESIMDESK_ALIPAY_PRIVATE_KEY", private_pem(fake.app_key))
    monkeypatch.setenv("ESIMDESK_ALIPAY_PUBLIC_KEY", public_pem(fake.alipay_key))
    monkeypatch.setenv("ESIMDESK_ALIPAY_CURRENCIES", "CNY")
    monkeypatch.delenv("ESIMDESK_PRODUCTION", raising=False)
    try:
        yield fake
    finally:
        fake.stop()
        config.set_console_lookup(console_settings.lookup)  # as the core app installs it
