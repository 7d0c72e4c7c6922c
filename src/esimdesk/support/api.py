"""Help-centre API for apps. No ``from __future__ import annotations`` here: django-ninja
reads the annotations at import time to build the pydantic schemas."""

from typing import Annotated, Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from esimdesk.core.api.schemas import ErrorOut, Pagination
from esimdesk.core.errors import NotFound, ValidationFailed
from esimdesk.support import help

router = Router(tags=["help"])


Lang = Annotated[str | None, Field(max_length=16, examples=["zh-Hans"],
                                   description="en or zh-hans (zh-Hans, zh_Hans and zh "
                                               "too); default: the language of the request")]


class ArticleQuery(Schema):
    q: str | None = Field(None, max_length=200, description="words to search for")
    lang: Lang = None


class LangQuery(Schema):
    lang: Lang = None


class ArticleSummaryOut(Schema):
    slug: str
    language: str
    title: str
    summary: str
    topic: str
    topic_name: str
    keywords: list[str]
    url: str


class RelatedPageOut(Schema):
    label: str
    url: str


class ArticleOut(ArticleSummaryOut):
    html: str
    related_page: RelatedPageOut | None = None
    see_also: list[ArticleSummaryOut]


def _language(lang: str | None) -> str:
    """A Django language code from ``lang`` (``en``, ``zh-hans``, ``zh-Hans``, ``zh_Hans``,
    ``zh``…), or the language of the request (``Accept-Language``) when it is left out."""
    if not lang:
        return translation.get_language() or "en"
    code = lang.strip().lower().replace("_", "-")
    if code == "en" or code.startswith("en-"):
        return "en"
    if code == "zh" or code.startswith("zh-"):
        return "zh-hans"
    raise ValidationFailed(code="invalid_language", detail={"lang": lang})


def _summary(article: help.Article) -> dict[str, Any]:
    return {"slug": article.slug, "language": translation.to_language(article.language),
            "title": article.title, "summary": article.summary, "topic": article.topic,
            "topic_name": article.topic_name, "keywords": list(article.keywords),
            "url": reverse("help:article", args=[article.slug])}


@router.get("/help/articles", response={200: list[ArticleSummaryOut]},
            summary="Help-centre articles, or a search in them")
@paginate(Pagination, page_size=50)
def list_articles(request: HttpRequest, query: Query[ArticleQuery]) -> list[dict[str, Any]]:
    """The help centre's articles (installing on iPhone and Android, data roaming,
    renewing, top-ups, automatic renewal, refunds, device check, plan changes,
    troubleshooting), in display order. No sign-in needed.

    ``lang`` is ``en`` or ``zh-hans`` (``zh-Hans``, ``zh_Hans`` and ``zh`` are accepted);
    without it the articles are in the language of the request (``Accept-Language``).
    Another value answers 422 ``invalid_language``.

    With ``q``, only the articles containing every word of ``q`` (in the title, keywords,
    summary or text; case-insensitive; Chinese is matched as typed, no spaces needed) are
    listed, best match first: a match in the title ranks above one in the keywords, which
    ranks above one in the text. ``url`` is the article's page in the portal."""
    language = _language(query.lang)
    with translation.override(language):
        found = (help.search(query.q or "", language) if (query.q or "").strip()
                 else list(help.articles(language).values()))
        return [_summary(article) for article in found]


@router.get("/help/articles/{slug}", response={200: ArticleOut, 404: ErrorOut},
            summary="One help-centre article")
def get_article(request: HttpRequest,
                slug: Annotated[str, Path(..., min_length=1, max_length=100)],
                query: Query[LangQuery]) -> dict[str, Any]:
    """One article, with its text as ready-to-show HTML (``html``: headings, paragraphs,
    lists, links; no scripts, no images, no raw HTML), the portal page it is about
    (``related_page``, if any) and related articles (``see_also``). ``lang`` as for the
    list. An unknown slug answers 404 ``unknown_article``."""
    language = _language(query.lang)
    with translation.override(language):
        article = help.get(slug, language)
        if article is None:
            raise NotFound(code="unknown_article", detail={"slug": slug})
        related = ({"label": article.related_label, "url": reverse(article.related)}
                   if article.related else None)
        return {**_summary(article), "html": str(article.html), "related_page": related,
                "see_also": [_summary(a) for a in help.see_also(article)]}
