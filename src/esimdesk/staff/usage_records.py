"""Usage records as received, for staff answering "why was I charged this?".

Usage events are keyed by (source, record id) itself, a composite primary key, which the
Django admin cannot list; this page takes its place. It finds records by eSIM (ICCID), newest
first, or one record by its source and id, each through an index: there is deliberately no
"every record" listing, which on a fleet's event table would read millions of rows.
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from esimdesk.core.admin_base import console_page
from esimdesk.core.ids import is_valid_iccid, normalize_iccid
from esimdesk.esims.models import Esim
from esimdesk.usage.models import UsageEvent

PER_PAGE = 50


@staff_member_required
@permission_required("usage.view_usageevent", raise_exception=True)
def usage_records(request: HttpRequest) -> HttpResponse:
    iccid = (request.GET.get("iccid") or "").strip()
    source = (request.GET.get("source") or "").strip()[:64]
    record = (request.GET.get("id") or "").strip()[:128]
    kind = request.GET.get("kind") or ""
    kind = kind if kind in UsageEvent.Kind.values else ""
    error = ""
    esim = None
    events = UsageEvent.objects.none()
    if iccid:
        if not is_valid_iccid(iccid):
            error = _("That is not a valid ICCID.")
        else:
            esim = Esim.objects.filter(iccid=normalize_iccid(iccid)).first()
            if esim is None:
                error = _("No eSIM has that ICCID.")
            else:
                events = UsageEvent.objects.filter(esim=esim)
    elif record:
        if not source:
            error = _("Give the source with the record id: ids are unique per source.")
        else:
            events = UsageEvent.objects.filter(source=source, external_id=record)
    if kind:
        events = events.filter(kind=kind)
    if source and iccid:
        events = events.filter(source=source)
    page = Paginator(events.select_related("esim").order_by("-occurred_at", "external_id"),
                     PER_PAGE).get_page(request.GET.get("page"))
    return console_page(request, "staff/usage_records.html", {
        "title": _("Usage records"), "page": page, "esim": esim, "error": error,
        "iccid": iccid, "source": source, "record": record, "kind": kind,
        "kinds": UsageEvent.Kind.choices, "searched": bool(iccid or record),
        "query": _pager_query(request)})


def _pager_query(request: HttpRequest) -> str:
    """The search as a query string without the page, for the pager's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
