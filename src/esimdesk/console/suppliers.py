"""The console's supplier page: each configured supplier in failover order with its health
over the last hour and day (``figures.supplier_health``), its settings (which are set and
where, which are not; a secret's value never), links to its calls, and *Test connection*,
a live handshake (``provisioning.connection``) whose outcome comes back as one message.

Suppliers installed but not in the failover order are listed after it, with their settings
and *Test connection*, so one can be set up and checked before it takes orders.

Seeing the page needs ``provisioning.view_suppliercall``; testing a connection needs
``provisioning.check_supplier`` (the admin role) and is audited."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from esimdesk import config
from esimdesk.core.admin_base import console_page
from esimdesk.core.models import ConsoleSetting
from esimdesk.figures.figures import FAILURES, SupplierHealth, Window, supplier_health
from esimdesk.provisioning import connection, registry
from esimdesk.provisioning.connection import ConnectionCheck

VIEW = "provisioning.view_suppliercall"
CHECK = "provisioning.check_supplier"
#: Where an option's value comes from, as the page says it.
SOURCES = {"console": gettext_lazy("set in the console"),
           "environment": gettext_lazy("set in the environment"),
           "default": gettext_lazy("default"),
           "unset": gettext_lazy("not set")}
#: Codes esimdesk itself gives a failed check, said in the reader's language (a supplier's
#: own codes and messages are shown as it gave them).
OUR_CODES = {"not_supported": gettext_lazy("this supplier cannot check its connection"),
             "unknown_upstream": gettext_lazy("no supplier of this name is installed")}

#: What in a setting's description is typed or looked up as it stands, not read as words:
#: a quoted value, a URL or path, an option or field name (``ESIMDESK_…``, ``matchingId``).
_TOKEN = r"[A-Za-z0-9.:/_=+@,$-]"
MACHINE = re.compile(rf"'[^'\n]+'|`[^`\n]+`|{_TOKEN}*[/_=]{_TOKEN}*[A-Za-z0-9/_]"
                     r"|\b[a-z]+[A-Z][A-Za-z]*")


def described(text: str) -> SafeString:
    """``text`` (a translated help) escaped, its machine words marked as code so that they
    are not taken for words to translate (``translate="no"``)."""
    parts: list[str] = []
    last = 0
    for match in MACHINE.finditer(text):
        value = match.group(0).strip("`'")
        parts += [escape(text[last:match.start()]), f'<code translate="no">{escape(value)}</code>']
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # every piece is escaped above


@dataclass(frozen=True)
class Setting:
    name: str
    help: str
    source: str
    shown: str
    secret: bool
    console_url: str

    @property
    def source_label(self) -> str:
        return str(SOURCES[self.source])


def _source(option: config.Option) -> str:
    if config.console_value(option.name) is not None:
        return "console"
    if os.environ.get(option.name, "").strip():
        return "environment"
    return "default" if option.default else "unset"


def _shown(option: config.Option, source: str) -> str:
    """A value as the page shows it: never a secret's; a PEM block by its length."""
    if option.secret or source == "unset":
        return ""
    value = config.env(option.name).strip()
    lines = value.count("\n") + 1
    if lines > 1:
        return _("%(count)d lines of text") % {"count": lines}
    return value if len(value) <= 120 else value[:119] + "…"


def settings_of(name: str, *, editable: bool, stored: dict[str, int]) -> list[Setting]:
    """The options supplier ``name`` declares, each with where its value comes from; with
    ``editable``, a link to set it in the console where it may be set there (``stored``:
    the console settings' ids by name)."""
    if not registry.known(name):
        return []
    rows = []
    for option in registry.provider_class(name).options:
        source = _source(option)
        url = ""
        if editable and config.console_editable(option.name):
            url = (reverse("admin:core_consolesetting_change", args=[stored[option.name]])
                   if option.name in stored else
                   reverse("admin:core_consolesetting_add") + "?"
                   + urlencode({"name": option.name}))
        rows.append(Setting(option.name, described(config.help_text(option)), source,
                            _shown(option, source), option.secret, url))
    return rows


def _calls(name: str, *, failures: bool = False, since: dt.datetime | None = None) -> str:
    query: dict[str, str] = {"supplier": name}
    if failures:
        query["outcome__in"] = ",".join(FAILURES)
    if since is not None:
        query["at__gte"] = since.astimezone(dt.UTC).isoformat(timespec="seconds")
    return reverse("admin:provisioning_suppliercall_changelist") + "?" + urlencode(query)


@admin.site.admin_view
@permission_required(VIEW, raise_exception=True)
def supplier_page(request: HttpRequest) -> HttpResponse:
    hour = Window.last(dt.timedelta(hours=1))
    day = Window.last(dt.timedelta(days=1), until=hour.until)
    by_hour: dict[str, SupplierHealth] = {h.name: h for h in supplier_health(hour)}
    by_day: dict[str, SupplierHealth] = {h.name: h for h in supplier_health(day)}
    editable = request.user.has_perm("core.change_consolesetting")
    stored = dict(ConsoleSetting.objects.values_list("name", "pk")) if editable else {}
    configured = connection.configured()
    suppliers: list[dict[str, Any]] = []
    for position, name in enumerate(configured, start=1):
        suppliers.append({
            "position": position, "name": name, "label": registry.label(name),
            "known": registry.known(name),
            "windows": [(_("Last hour"), by_hour.get(name)), (_("Last day"), by_day.get(name))],
            "settings": settings_of(name, editable=editable, stored=stored),
            "calls_link": _calls(name), "failures_link": _calls(name, failures=True,
                                                                since=day.since)})
    # Installed but not in the failover order: set up and tested before going live.
    idle = [{"name": name, "label": registry.label(name), "known": True,
             "settings": settings_of(name, editable=editable, stored=stored)}
            for name in sorted(registry.PROVIDERS) if name not in configured]
    return console_page(request, "console/suppliers.html", {
        "title": _("Suppliers"), "suppliers": suppliers, "idle": idle,
        "may_check": request.user.has_perm(CHECK), "may_edit": editable})


def describe(result: ConnectionCheck) -> str:
    """The one line staff read after *Test connection*: esimdesk's words in their language,
    the supplier's own message as it gave it."""
    detail = str(OUR_CODES.get(result.code, result.detail))
    if result.ok:
        return _("%(supplier)s: the connection works (%(ms)d ms): %(detail)s") % {
            "supplier": result.label, "ms": result.duration_ms, "detail": detail}
    if result.retryable:
        return _("%(supplier)s did not answer properly this time, try again later: "
                 "%(detail)s (%(code)s)") % {"supplier": result.label, "detail": detail,
                                             "code": result.code}
    return _("%(supplier)s: the connection failed: %(detail)s (%(code)s)") % {
        "supplier": result.label, "detail": detail, "code": result.code}


@require_POST
@admin.site.admin_view
@permission_required(CHECK, raise_exception=True)
def test_connection(request: HttpRequest, name: str) -> HttpResponse:
    if name not in connection.configured() and not registry.known(name):
        raise Http404
    result = connection.check(name)
    connection.record_check(result=result, by=request.user)
    if result.ok:
        messages.success(request, describe(result))
    else:
        messages.error(request, describe(result))
    return redirect("console_suppliers")
