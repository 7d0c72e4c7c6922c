"""Help-centre and contact pages (in the portal's look, in the reader's language)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from esimdesk.support import help, hours


def _contact() -> dict[str, object]:
    return {
        "phone": settings.ESIMDESK["SUPPORT_PHONE"],
        "email": settings.ESIMDESK["SUPPORT_EMAIL"],
        "hours": hours.describe(hours.configured(), translation.get_language()),
    }


@require_GET
def help_index(request: HttpRequest) -> HttpResponse:
    return render(request, "support/help_index.html", {"topics": help.by_topic()})


@require_GET
def help_search(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:help.MAX_QUERY]
    results = help.search(query) if query else []
    return render(request, "support/help_search.html", {
        "query": query, "results": results,
        "topics": help.by_topic() if not results else [],
        "contact": _contact() if query and not results else None,
    })


@require_GET
def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = help.get(slug)
    if article is None:
        raise Http404("no such help article")
    return render(request, "support/help_article.html", {
        "article": article, "see_also": help.see_also(article)})


@require_GET
def contact(request: HttpRequest) -> HttpResponse:
    topics = help.by_topic()
    return render(request, "support/contact.html", {
        "contact": _contact(), "topics": topics})
