"""ES2+ over mutual TLS against the local SM-DP+ (certificates made per test), the
connection check staff run, and what ``esimdesk check`` says about the ES2+ settings."""

from __future__ import annotations

import ssl
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from esimdesk.core.ids import iccid_with_check_digit
from esimdesk.provisioning.suppliers.base import FinalUpstreamError, UpstreamError
from esimdesk.provisioning.suppliers.es2plus.adapter import Es2PlusProvider
from esimdesk.provisioning.suppliers.es2plus.checks import es2plus_configuration
from tests.provisioning.fake_es2plus import Authority, FakeSmdp, Pki, running
from tests.test_cli import esimdesk

ICCID = iccid_with_check_digit(f"89990{1:013d}")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("ESIMDESK_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def tls_smdp(pki: Pki, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Iterator[FakeSmdp]:
    with running(pki) as fake:
        fake.add(ICCID)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "smdp.fake.test")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CA", pki.write("ca.pem", pki.ca.pem))
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_CERT", pki.write("client.pem",
                                                                     pki.client.cert))
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY", pki.write("client.key", pki.client.key))
        yield fake


def adapter() -> Es2PlusProvider:
    made = Es2PlusProvider()
    made.timeout = 2.0
    return made


def refused(code: str) -> Any:
    """The typed error of one release of the test ICCID."""
    with pytest.raises(UpstreamError) as raised:
        adapter().call("releaseProfile", {"iccid": ICCID})
    assert raised.value.code == code, raised.value
    return raised.value


@pytest.mark.django_db
def test_mutual_tls_with_files(tls_smdp: FakeSmdp) -> None:
    order = adapter().order_profile(reference="ord-1", plan_code="p")
    assert order.iccid == ICCID and tls_smdp.profiles[ICCID].state == "Released"


@pytest.mark.django_db
def test_pem_text_is_kept_in_private_files_under_the_data_dir(
        tls_smdp: FakeSmdp, pki: Pki, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CA", pki.ca.pem)
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_CERT", pki.client.cert)
    # As an environment file writes it: one line, \n escapes.
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY", pki.client.key.replace("\n", "\\n"))
    adapter().order_profile(reference="ord-1", plan_code="p")
    written = sorted((data_dir / "es2plus").glob("*.pem"))
    assert len(written) == 3
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in written)
    adapter().check_connection()
    assert len(sorted((data_dir / "es2plus").glob("*"))) == 3  # written once, no leftovers


@pytest.mark.django_db
def test_an_encrypted_key_and_its_passphrase(tmp_path: Path, data_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pki = Pki(tmp_path, passphrase="correct horse")
    with running(pki) as fake:
        fake.add(ICCID)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CA", pki.ca.pem)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_CERT", pki.client.cert)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY", pki.client.key)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE", "correct horse")
        assert "answer ok" in adapter().check_connection()
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE", "wrong")
        error = refused("es2_misconfigured")
        assert "ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE" in str(error)
        assert fake.calls[-1][0] == "releaseProfile" and len(fake.calls) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("option", "value", "says"), [
    ("ESIMDESK_ES2PLUS_CA", "/nonexistent/ca.pem", "ESIMDESK_ES2PLUS_CA"),
    ("ESIMDESK_ES2PLUS_CA", "-----BEGIN CERTIFICATE-----\nnot a certificate\n"
     "-----END CERTIFICATE-----", "ESIMDESK_ES2PLUS_CA"),
    ("ESIMDESK_ES2PLUS_CLIENT_CERT", "/nonexistent/client.pem", "ESIMDESK_ES2PLUS_CLIENT_CERT"),
    ("ESIMDESK_ES2PLUS_CLIENT_CERT", "MIIB" * 400, "ESIMDESK_ES2PLUS_CLIENT_CERT"),  # no header
    ("ESIMDESK_ES2PLUS_CLIENT_CERT", "", "ESIMDESK_ES2PLUS_CLIENT_KEY is set without"),
    ("ESIMDESK_ES2PLUS_CLIENT_KEY_PASSPHRASE", "secret", "does not need a passphrase"),
    ("ESIMDESK_ES2PLUS_CLIENT_KEY", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
     "-----END PRIVATE KEY-----", "not a PEM private key"),
    ("ESIMDESK_ES2PLUS_TLS_MIN_VERSION", "TLSv1", "ESIMDESK_ES2PLUS_TLS_MIN_VERSION"),
])
def test_configuration_errors_are_one_clear_line(tls_smdp: FakeSmdp,
                                                 monkeypatch: pytest.MonkeyPatch, option: str,
                                                 value: str, says: str) -> None:
    monkeypatch.setenv(option, value)
    with pytest.raises(FinalUpstreamError) as raised:
        adapter().order_profile(reference="ord-1", plan_code="p")
    assert raised.value.code == "es2_misconfigured"
    assert says in str(raised.value) and "\n" not in str(raised.value)
    assert tls_smdp.calls == []


@pytest.mark.django_db
def test_a_server_certificate_from_another_ca_is_a_final_tls_error(
        tls_smdp: FakeSmdp, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CA", Authority("Someone else").pem)
    error = refused("es2_tls")
    assert "not trusted" in str(error) and "ESIMDESK_ES2PLUS_CA" in str(error)
    assert tls_smdp.calls == []


@pytest.mark.django_db
def test_a_server_certificate_for_another_host_is_a_final_tls_error(
        pki: Pki, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki.server = pki.ca.issue("smdp.test", server=True, names=("smdp.test",))
    with running(pki) as fake:
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CA", pki.ca.pem)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_CERT", pki.client.cert)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY", pki.client.key)
        assert "not trusted" in str(refused("es2_tls"))
        assert fake.calls == []


@pytest.mark.django_db
@pytest.mark.parametrize("client", ["none", "foreign"])
def test_a_client_certificate_the_smdp_refuses(tls_smdp: FakeSmdp, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               client: str) -> None:
    if client == "none":
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_CERT", "")
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY", "")
    else:
        other = Authority("Not the operator CA").issue("intruder", server=False)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_CERT", other.cert)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY", other.key)
    with pytest.raises(UpstreamError) as raised:
        adapter().check_connection()
    # A server that hangs up (as this one does) or one that sends a TLS alert.
    assert raised.value.code in ("es2_tls", "es2_tls_closed"), raised.value
    assert "client certificate" in str(raised.value)
    assert tls_smdp.calls == []


@pytest.mark.django_db
def test_the_minimum_tls_version(pki: Pki, data_dir: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with running(pki, maximum=ssl.TLSVersion.TLSv1_2) as fake:
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", fake.url)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CA", pki.ca.pem)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_CERT", pki.client.cert)
        monkeypatch.setenv("ESIMDESK_ES2PLUS_CLIENT_KEY", pki.client.key)
        assert "answer ok" in adapter().check_connection()  # default minimum 1.2
        monkeypatch.setenv("ESIMDESK_ES2PLUS_TLS_MIN_VERSION", "1.3")
        error = refused("es2_tls")
        assert "ESIMDESK_ES2PLUS_TLS_MIN_VERSION" in str(error)


# -- check_connection ------------------------------------------------------------------------


@pytest.mark.django_db
def test_check_connection_says_what_worked(tls_smdp: FakeSmdp) -> None:
    line = adapter().check_connection()
    assert tls_smdp.url in line and "answer ok" in line and "\n" not in line
    [(function, body)] = tls_smdp.calls
    assert function == "releaseProfile" and body["iccid"] not in tls_smdp.profiles


@pytest.mark.django_db
@pytest.mark.parametrize(("setup", "code", "says"), [
    ("path", "es2_http_404", "ESIMDESK_ES2PLUS_URL"),
    ("suffix", "es2_misconfigured", "/gsma/rsp2/es2plus"),
    ("requester", "es2_requester_refused", "ESIMDESK_ES2PLUS_REQUESTER_ID"),
    ("protocol", "es2_protocol", "gsma/rsp/v3.0.0"),
    ("html", "es2_protocol", "not an ES2+ endpoint"),
    ("nginx400", "es2_tls", "client certificate"),
])
def test_check_connection_says_what_is_wrong(tls_smdp: FakeSmdp,
                                             monkeypatch: pytest.MonkeyPatch, setup: str,
                                             code: str, says: str) -> None:
    if setup == "path":
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", tls_smdp.url + "/es2")
    elif setup == "suffix":
        monkeypatch.setenv("ESIMDESK_ES2PLUS_URL", tls_smdp.url + "/gsma/rsp2/es2plus/")
    elif setup == "requester":
        tls_smdp.requesters = ("the-operator",)
    else:
        tls_smdp.fail_next("releaseProfile", setup)
    with pytest.raises(UpstreamError) as raised:
        adapter().check_connection()
    assert raised.value.code == code
    assert says in str(raised.value) and "\n" not in str(raised.value)


# -- esimdesk check ---------------------------------------------------------------------------


@pytest.fixture
def es2_configured(settings: Any) -> None:
    settings.ESIMDESK = {**settings.ESIMDESK, "UPSTREAM_PROVIDERS": ["es2plus"]}


def found(*ids: str) -> None:
    assert sorted(message.id or "" for message in es2plus_configuration()) == sorted(ids)


def test_check_is_quiet_for_a_good_configuration(tls_smdp: FakeSmdp,
                                                 es2_configured: None) -> None:
    found()


def test_check_finds_an_ip_host_without_an_smdp_address(tls_smdp: FakeSmdp,
                                                        es2_configured: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "")
    found("esimdesk.W123")
    monkeypatch.setenv("ESIMDESK_ES2PLUS_SMDP_ADDRESS", "https://smdp.example.com/")
    found("esimdesk.E122")


def test_check_finds_unusable_tls_files_and_pool(tls_smdp: FakeSmdp, es2_configured: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CA", "/etc/nowhere/ca.pem")
    monkeypatch.setenv("ESIMDESK_ES2PLUS_ICCIDS", "/etc/nowhere/iccids.txt")
    found("esimdesk.E121", "esimdesk.E124")


def test_check_ignores_es2plus_when_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESIMDESK_ES2PLUS_CA", "/etc/nowhere/ca.pem")
    found()


def test_esimdesk_check_exits_1_on_an_unusable_es2_setting(tmp_path: Path) -> None:
    env = {"ESIMDESK_UPSTREAM_PROVIDERS": "es2plus", "ESIMDESK_ES2PLUS_CALLBACK_TOKEN": "t" * 40,
           "ESIMDESK_ES2PLUS_URL": "https://10.0.0.5:8443",
           "ESIMDESK_ES2PLUS_CA": str(tmp_path / "typo-ca.pem")}
    result = esimdesk("check", tmp=tmp_path, env=env)
    assert result.returncode == 1
    assert "PROBLEM: ES2+: ESIMDESK_ES2PLUS_CA:" in result.stdout
    assert "WARNING: ES2+: the URL's host '10.0.0.5' is not a host name" in result.stdout
