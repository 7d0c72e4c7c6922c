"""A local HTTP fake of the WeChat Pay API v3 (direct merchant), speaking its wire format.

A real ``ThreadingHTTPServer`` on 127.0.0.1. Like WeChat it:

- checks every request's ``Authorization: WECHATPAY2-SHA256-RSA2048 …`` with the merchant
  public key (mchid, serial_no, ±5 minute timestamp, signature over
  ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``) and answers 401 ``SIGN_ERROR``;
- signs every answer with a platform private key (``Wechatpay-Timestamp/-Nonce/-Signature/
  -Serial``) and serves ``GET /v3/certificates`` with its self-signed platform certificates
  encrypted (AEAD_AES_256_GCM) with the APIv3 key;
- implements Native and H5 orders, query and close by ``out_trade_no``, refunds (create,
  query; idempotent on ``out_refund_no``), with WeChat's JSON, status codes and
  ``{"code", "message"}`` error bodies; state lives in memory.

It implements the cryptography independently of the adapter, on purpose: a shared helper
would hide a mistake made on both sides. Tests drive it with ``pay``, ``close``,
``refund_notify`` (each returns the signed, encrypted notify as WeChat would POST it), the
forgery options of ``notify`` and ``fail_next``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from esimdesk import config
from esimdesk.core import clock
from esimdesk.payments.providers.wechatpay_crypto import clear_certificate_cache

SCHEME = "WECHATPAY2-SHA256-RSA2048"
MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
APIV3_KEY = "e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4"  # 32 characters, as the merchant platform sets
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
CST = dt.timezone(dt.timedelta(hours=8))  # WeChat writes times in China Standard Time
Reply = tuple[int, dict[str, Any] | None]


@functools.cache
def rsa_key(label: str) -> rsa.RSAPrivateKey:
    """2048-bit keys take a while to make: one per label per test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class Platform:
    """A WeChat Pay platform certificate and its private key."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def serial(self) -> str:
        return format(self.certificate.serial_number, "X")


@functools.cache
def platform(label: str) -> Platform:
    key = rsa_key(label)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"Tenpay.com sign ({label})")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=5 * 365))
                   .sign(key, hashes.SHA256()))
    return Platform(key, certificate)


def cst_now() -> str:
    return clock.now().astimezone(CST).isoformat(timespec="seconds")


def seal(plaintext: bytes, *, key: str, associated_data: str) -> dict[str, str]:
    """AEAD_AES_256_GCM the way WeChat does it: a 12-character nonce, base64 ciphertext+tag."""
    nonce = secrets.token_hex(6)
    ciphertext = AESGCM(key.encode()).encrypt(nonce.encode(), plaintext,
                                              associated_data.encode())
    return {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
            "associated_data": associated_data,
            "ciphertext": base64.b64encode(ciphertext).decode()}


def compact(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def error(status: int, code: str, message: str) -> Reply:
    return status, {"code": code, "message": message}


@dataclass
class Failure:
    """What the next request meets instead of a normal answer."""

    status: int = 0
    code: str = ""
    timeout: bool = False
    disconnect: bool = False
    bad_signature: bool = False


@dataclass(frozen=True)
class Received:
    """One request as it reached the fake."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    authorization_error: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class WeChatPayFake:
    def __init__(self) -> None:
        self.mchid, self.appid, self.apiv3_key = MCHID, APPID, APIV3_KEY
        self.merchant_key = rsa_key("merchant")
        self.merchant_serial = MERCHANT_SERIAL
        self.platforms = [platform("platform-1")]
        self.signing = self.platforms[0]
        #: set (e.g. ``PUB_KEY_ID_…``) to sign as a public-key-only merchant's WeChat does
        self.public_key_id = ""
        #: status a new refund starts in (WeChat usually answers PROCESSING)
        self.refund_status = "PROCESSING"
        self.transactions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.received: list[Received] = []
        self.certificate_downloads = 0
        self._failures: list[Failure] = []
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._server: _Server | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> WeChatPayFake:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()  # let a request held for a timeout finish
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The adapter's configuration for this fake."""
        return {"ESIMDESK_WECHATPAY_API_BASE": self.base_url,
                "ESIMDESK_WECHATPAY_MCHID": self.mchid,
                "ESIMDESK_WECHATPAY_APPID": self.appid,
                "ESIMDESK_WECHATPAY_PRIVATE_KEY": private_pem(self.merchant_key),
                "ESIMDESK_WECHATPAY_CERT_SERIAL": self.merchant_serial,
                "ESIMDESK_WECHATPAY_APIV3_KEY": self.apiv3_key,
                "ESIMDESK_WECHATPAY_CURRENCIES": "CNY"}

    # -- test controls -------------------------------------------------------------------

    def fail_next(self, *, status: int = 0, code: str = "", timeout: bool = False,
                  disconnect: bool = False, bad_signature: bool = False) -> None:
        """The next request: answers ``status`` with ``code`` (default SYSTEM_ERROR), is
        held until the client gives up (``timeout``), gets the connection closed without an
        answer (``disconnect``), or gets a normal answer with a wrong signature."""
        default = {429: "FREQUENCY_LIMITED"}.get(status, "SYSTEM_ERROR")
        with self._lock:
            self._failures.append(Failure(status, code or default, timeout, disconnect,
                                          bad_signature))

    def rotate_certificate(self) -> str:
        """WeChat issues a new platform certificate and signs with it from now on."""
        with self._lock:
            self.signing = platform("platform-2")
            self.platforms.append(self.signing)
            return self.signing.serial

    def pay(self, out_trade_no: str, *, total: int | None = None,
            payer_total: int | None = None, currency: str | None = None,
            **forge: Any) -> tuple[dict[str, str], bytes]:
        """The payer pays; returns the TRANSACTION.SUCCESS notify. ``total``/``currency``
        override what WeChat reports (to test amount checks); ``forge`` goes to ``notify``."""
        with self._lock:
            transaction = self.transactions[out_trade_no]
            if transaction["trade_state"] not in ("NOTPAY", "USERPAYING"):
                raise ValueError(f"cannot pay a {transaction['trade_state']} transaction")
            amount = dict(transaction["amount"])
            amount["total"] = amount["total"] if total is None else total
            amount["currency"] = amount["payer_currency"] = currency or amount["payer_currency"]
            amount["payer_total"] = amount["total"] if payer_total is None else payer_total
            transaction.update(
                trade_state="SUCCESS", trade_state_desc="支付成功", amount=amount,
                transaction_id="42000" + str(secrets.randbelow(10**23)).zfill(23),
                bank_type="OTHERS", success_time=cst_now(),
                payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"})
            resource = self._transaction_view(transaction)
        return self.notify("TRANSACTION.SUCCESS", resource, summary="支付成功", **forge)

    def close(self, out_trade_no: str, state: str = "CLOSED") -> None:
        """The order ends unpaid: CLOSED (timed out or closed), PAYERROR or REVOKED."""
        descriptions = {"CLOSED": "订单已关闭", "PAYERROR": "支付失败", "REVOKED": "已撤销"}
        with self._lock:
            self.transactions[out_trade_no].update(trade_state=state,
                                                   trade_state_desc=descriptions[state])

    def refund_notify(self, out_refund_no: str, *, status: str = "SUCCESS",
                      **forge: Any) -> tuple[dict[str, str], bytes]:
        """The refund ends (SUCCESS, ABNORMAL or CLOSED); returns its REFUND.* notify."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            self._settle_refund(refund, status)
            amount = refund["amount"]
            resource = {
                "mchid": self.mchid, "out_trade_no": refund["out_trade_no"],
                "transaction_id": refund["transaction_id"],
                "out_refund_no": out_refund_no, "refund_id": refund["refund_id"],
                "refund_status": status, "success_time": refund.get("success_time", ""),
                "user_received_account": refund["user_received_account"],
                "amount": {"total": amount["total"], "refund": amount["refund"],
                           "payer_total": amount["payer_total"],
                           "payer_refund": amount["payer_refund"]},
            }
        summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
        return self.notify(f"REFUND.{status}", resource, summary=summary,
                           original_type="refund", **forge)

    def notify(self, event_type: str, resource: dict[str, Any], *, summary: str = "",
               original_type: str = "transaction", serial: str | None = None,
               timestamp: int | None = None, apiv3_key: str | None = None,
               tamper_body: bool = False) -> tuple[dict[str, str], bytes]:
        """(headers, body) of a notify exactly as WeChat POSTs it. Forgeries: another
        ``serial``, an old ``timestamp``, a resource sealed with another ``apiv3_key``, or a
        body changed after signing (``tamper_body``)."""
        envelope = {
            "id": str(uuid.uuid4()), "create_time": cst_now(),
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type,
                         **seal(compact(resource), key=apiv3_key or self.apiv3_key,
                                associated_data=original_type)},
        }
        body = compact(envelope)
        headers = self._signature_headers(body, serial=serial, timestamp=timestamp)
        headers["Content-Type"] = "application/json"
        if tamper_body:
            body = body.replace(b'"id":"', b'"id":"X', 1)
        return headers, body

    def last_call(self) -> Received:
        """The last API request (certificate downloads, which the adapter makes on its own
        schedule, left out)."""
        return [r for r in self.received if r.path != "/v3/certificates"][-1]

    # -- the HTTP side -------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        """Answer one request: (status, headers, body), or None to drop the connection."""
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        problem = self._authorization_error(method, target, headers, body)
        self.received.append(Received(method, target, headers, body, problem))
        if failure and failure.disconnect:
            return None
        if failure and failure.timeout:
            self._release.wait(5)  # the client's timeout is far shorter
            return None
        if failure and failure.status:
            status, payload = error(failure.status, failure.code, "系统繁忙，请稍后重试")
        elif problem:
            status, payload = error(401, "SIGN_ERROR", f"签名错误：{problem}")
        else:
            status, payload = self._route(method, target, body)
        raw = compact(payload) if payload is not None else b""
        signed = self._signature_headers(raw, wrong_key=bool(failure and failure.bad_signature))
        signed["Request-ID"] = f"08{secrets.token_hex(16).upper()}"
        if raw:
            signed["Content-Type"] = "application/json; charset=utf-8"
        return status, signed, raw

    def _authorization_error(self, method: str, target: str, headers: dict[str, str],
                             body: bytes) -> str:
        header = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, params = header.partition(" ")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        if scheme != SCHEME:
            return "认证类型不正确"
        if fields.get("mchid") != self.mchid:
            return "商户号不匹配"
        if fields.get("serial_no") != self.merchant_serial:
            return "商户证书序列号不匹配"
        timestamp = fields.get("timestamp", "")
        if not timestamp.isdigit() or abs(clock.now().timestamp() - int(timestamp)) > 300:
            return "请求时间戳过期"
        message = (f"{method}\n{target}\n{timestamp}\n{fields.get('nonce_str', '')}\n".encode()
                   + body + b"\n")
        try:
            self.merchant_key.public_key().verify(
                base64.b64decode(fields.get("signature", ""), validate=True), message,
                padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "签名验证失败"
        return ""

    def _signature_headers(self, body: bytes, *, serial: str | None = None,
                           timestamp: int | None = None,
                           wrong_key: bool = False) -> dict[str, str]:
        stamp = str(int(clock.now().timestamp()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16).upper()
        key = rsa_key("intruder") if wrong_key else self.signing.key
        signature = key.sign(f"{stamp}\n{nonce}\n".encode() + body + b"\n",
                             padding.PKCS1v15(), hashes.SHA256())
        return {"Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": nonce,
                "Wechatpay-Signature": base64.b64encode(signature).decode(),
                "Wechatpay-Serial": serial or self.public_key_id or self.signing.serial,
                "Wechatpay-Signature-Type": SCHEME}

    def _route(self, method: str, target: str, body: bytes) -> Reply:
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return error(400, "PARAM_ERROR", "请求体不是合法的JSON")
        for verb, pattern, handler in ROUTES:
            match = re.fullmatch(pattern, url.path)
            if verb == method and match:
                with self._lock:
                    return handler(self, unquote(match.group(1) or ""), query, data)
        return error(404, "NOT_FOUND", "请求的资源不存在")

    # -- endpoints -----------------------------------------------------------------------

    def _certificates(self, _arg: str, _query: dict[str, str], _data: Any) -> Reply:
        self.certificate_downloads += 1
        if self.public_key_id:
            return error(404, "NOT_FOUND", "证书不存在")
        items = []
        for item in self.platforms:
            pem = item.certificate.public_bytes(serialization.Encoding.PEM)
            items.append({
                "serial_no": item.serial,
                "effective_time": item.certificate.not_valid_before_utc.astimezone(CST)
                .isoformat(),
                "expire_time": item.certificate.not_valid_after_utc.astimezone(CST).isoformat(),
                "encrypt_certificate": seal(pem, key=self.apiv3_key,
                                            associated_data="certificate"),
            })
        return 200, {"data": items}

    def _create_order(self, kind: str, _query: dict[str, str], order: Any) -> Reply:
        problem = self._order_problem(kind, order)
        if problem:
            return problem
        number = order["out_trade_no"]
        existing = self.transactions.get(number)
        if existing:
            if existing["trade_state"] in ("SUCCESS", "REFUND"):
                return error(400, "INVALID_REQUEST", "该订单已支付")
            if existing["trade_state"] == "CLOSED":
                return error(400, "ORDER_CLOSED", "订单已关闭")
            if existing["order"] != order:
                return error(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            return 200, existing["answer"]  # the same order again: the same code
        prepay = "wx" + secrets.token_hex(15)
        answer = ({"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"}
                  if kind == "native" else
                  {"h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb"
                             f"?prepay_id={prepay}&package={secrets.randbelow(10**10)}"})
        self.transactions[number] = {
            "order": order, "answer": answer, "appid": order["appid"],
            "mchid": order["mchid"], "out_trade_no": number,
            "trade_type": "NATIVE" if kind == "native" else "MWEB",
            "trade_state": "NOTPAY", "trade_state_desc": "订单未支付",
            # Like WeChat: an unpaid order's amount names only the payer's currency.
            "amount": {"total": order["amount"]["total"],
                       "payer_currency": order["amount"].get("currency", "CNY")},
        }
        return 200, answer

    def _order_problem(self, kind: str, order: Any) -> Reply | None:
        for field in ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount"):
            if not isinstance(order, dict) or not order.get(field):
                return error(400, "PARAM_ERROR", f"输入源“/body/{field}”映射到值字段“{field}”"
                                                 "必填性规则校验失败，此字段为必填项")
        if order["mchid"] != self.mchid:
            return error(400, "MCH_NOT_EXISTS", "商户号不存在")
        if order["appid"] != self.appid:
            return error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        total = order["amount"].get("total")
        if not isinstance(total, int) or isinstance(total, bool) or total < 1:
            return error(400, "PARAM_ERROR", "总金额必须为正整数（单位：分）")
        if order["amount"].get("currency", "CNY") != "CNY":
            return error(400, "PARAM_ERROR", "货币类型只支持CNY")
        if not re.fullmatch(r"[0-9A-Za-z_\-|*]{6,32}", order["out_trade_no"]):
            return error(400, "PARAM_ERROR", "商户订单号格式不正确")
        if not order["notify_url"].startswith("https://") or "?" in order["notify_url"]:
            return error(400, "PARAM_ERROR", "notify_url需为不带参数的HTTPS地址")
        scene = order.get("scene_info") or {}
        if kind == "h5" and not (scene.get("payer_client_ip")
                                 and (scene.get("h5_info") or {}).get("type")):
            return error(400, "PARAM_ERROR", "H5支付需要scene_info.payer_client_ip和h5_info")
        return None

    def _query_order(self, number: str, query: dict[str, str], _data: Any) -> Reply:
        if query.get("mchid") != self.mchid:
            return error(400, "PARAM_ERROR", "mchid与请求商户号不一致")
        transaction = self.transactions.get(number)
        if transaction is None:
            return error(404, "ORDER_NOT_EXIST", "订单不存在")
        return 200, self._transaction_view(transaction)

    def _close_order(self, number: str, _query: dict[str, str], data: Any) -> Reply:
        transaction = self.transactions.get(number)
        if transaction is None or data.get("mchid") != self.mchid:
            return error(404, "ORDER_NOT_EXIST", "订单不存在")
        if transaction["trade_state"] in ("SUCCESS", "REFUND"):
            return error(400, "ORDERPAID", "订单已支付")
        self.close(number)
        return 204, None

    def _create_refund(self, _arg: str, _query: dict[str, str], request: Any) -> Reply:
        amount = request.get("amount") or {}
        for field, value in (("out_refund_no", request.get("out_refund_no")),
                             ("out_trade_no", request.get("out_trade_no")),
                             ("amount.refund", amount.get("refund")),
                             ("amount.total", amount.get("total")),
                             ("amount.currency", amount.get("currency"))):
            if not value:
                return error(400, "PARAM_ERROR", f"{field}为必填项")
        transaction = self.transactions.get(request["out_trade_no"])
        if transaction is None:
            return error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        existing = self.refunds.get(request["out_refund_no"])
        if existing:
            return 200, self._refund_view(existing)  # same out_refund_no: same refund
        problem = self._refund_problem(transaction, request)
        if problem:
            return problem
        refund = {
            "refund_id": "50300" + str(secrets.randbelow(10**24)).zfill(24),
            "out_refund_no": request["out_refund_no"],
            "transaction_id": transaction["transaction_id"],
            "out_trade_no": transaction["out_trade_no"], "request": request,
            "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
            "create_time": cst_now(), "status": "PROCESSING", "funds_account": "AVAILABLE",
            "amount": {"total": amount["total"], "refund": amount["refund"], "from": [],
                       "payer_total": transaction["amount"]["payer_total"],
                       "payer_refund": amount["refund"], "settlement_refund": amount["refund"],
                       "settlement_total": amount["total"], "discount_refund": 0,
                       "currency": amount["currency"], "refund_fee": 0},
        }
        self.refunds[refund["out_refund_no"]] = refund
        self._settle_refund(refund, self.refund_status)
        return 200, self._refund_view(refund)

    def _refund_problem(self, transaction: dict[str, Any], request: Any) -> Reply | None:
        amount = request["amount"]
        if transaction["trade_state"] not in ("SUCCESS", "REFUND"):
            return error(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if amount["currency"] != transaction["amount"]["currency"]:
            return error(400, "PARAM_ERROR", "退款币种与订单币种不一致")
        if amount["total"] != transaction["amount"]["total"]:
            return error(400, "INVALID_REQUEST", "订单金额total与原订单金额不一致")
        refunded = sum(r["amount"]["refund"] for r in self.refunds.values()
                       if r["out_trade_no"] == transaction["out_trade_no"]
                       and r["status"] in ("SUCCESS", "PROCESSING"))
        if amount["refund"] < 1 or refunded + amount["refund"] > amount["total"]:
            return error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        notify_url = request.get("notify_url", "https://")
        if not notify_url.startswith("https://") or "?" in notify_url:
            return error(400, "PARAM_ERROR", "notify_url需为不带参数的HTTPS地址")
        return None

    def _query_refund(self, number: str, _query: dict[str, str], _data: Any) -> Reply:
        refund = self.refunds.get(number)
        if refund is None:
            return error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return 200, self._refund_view(refund)

    # -- state -----------------------------------------------------------------------------

    def _settle_refund(self, refund: dict[str, Any], status: str) -> None:
        refund["status"] = status
        if status == "SUCCESS":
            refund["success_time"] = cst_now()
            transaction = self.transactions[refund["out_trade_no"]]
            transaction.update(trade_state="REFUND", trade_state_desc="转入退款")

    @staticmethod
    def _transaction_view(transaction: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in transaction.items() if k not in ("order", "answer")}

    @staticmethod
    def _refund_view(refund: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in refund.items() if k != "request"}


ROUTES = (
    ("GET", r"/v3/certificates()", WeChatPayFake._certificates),
    ("POST", r"/v3/pay/transactions/(native|h5)", WeChatPayFake._create_order),
    ("GET", r"/v3/pay/transactions/out-trade-no/([^/]+)", WeChatPayFake._query_order),
    ("POST", r"/v3/pay/transactions/out-trade-no/([^/]+)/close", WeChatPayFake._close_order),
    ("POST", r"/v3/refund/domestic/refunds()", WeChatPayFake._create_refund),
    ("GET", r"/v3/refund/domestic/refunds/([^/]+)", WeChatPayFake._query_refund),
)


class _Server(ThreadingHTTPServer):
    fake: WeChatPayFake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stalls

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.fake.handle(self.command, self.path, dict(self.headers), body)
        if reply is None:
            self.close_connection = True
            return
        status, headers, raw = reply
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)


@pytest.fixture
def wechatpay_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[WeChatPayFake]:
    """A running fake, the adapter configured for it (from the environment only: the staff
    console's stored settings would need the database), and a cold certificate cache."""
    monkeypatch.setattr(config, "_console_lookup", None, raising=False)
    fake = WeChatPayFake().start()
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    clear_certificate_cache()
    try:
        yield fake
    finally:
        fake.stop()
        clear_certificate_cache()
