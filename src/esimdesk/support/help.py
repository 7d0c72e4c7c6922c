"""The help centre: articles read from Markdown files, one folder per language.

``articles/<language>/<slug>.md`` (``en`` and ``zh_Hans``; a Django language code such as
``zh-hans`` maps to its folder by ``translation.to_locale``) starts with a small front matter::

    ---
    title: Install your eSIM on an iPhone
    summary: One sentence shown in lists and search results.
    keywords: iphone, ios, qr code
    topic: install
    order: 10
    related: portal:dashboard
    see_also: data-roaming, data-not-working
    ---

and continues in Markdown. ``{{ name }}`` in the summary or body is replaced with a value the
platform is configured with (``PLACEHOLDERS``), so the refund window an article states is
the one the refund policy applies. Files are re-read when they change (their modification
times are part of the cache key), so operators edit them without restarting anything.

Rendering is safe by construction: raw HTML in a file is escaped, images are not rendered,
and a link may only point into the site (``/…``, ``#…``) or to ``http(s):``, ``mailto:`` and
``tel:`` addresses; any other link is dropped, keeping its text.
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import markdown
from babel.dates import format_timedelta
from django.conf import settings
from django.utils import translation
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from markdown.treeprocessors import Treeprocessor

from esimdesk import config
from esimdesk.core.money import babel_locale
from esimdesk.subscriptions.reminders import parse_duration

logger = logging.getLogger(__name__)

BUILT_IN = Path(__file__).resolve().parent / "articles"

# Topics in the order the index shows them. An article names one by its key.
TOPICS: tuple[tuple[str, Any], ...] = (
    ("start", _("Before you buy")),
    ("install", _("Install and connect")),
    ("plans", _("Renew, top up and change plan")),
    ("payments", _("Payments and refunds")),
)

# Portal pages an article may send the reader on to (``related:``): pages that need no
# argument, with the label of the link.
RELATED_PAGES: dict[str, Any] = {
    "portal:home": _("Plans"),
    "portal:dashboard": _("My eSIMs"),
    "portal:orders": _("Orders"),
    "portal:account": _("Account"),
    "portal:device_check": _("Does my phone support eSIM?"),
}

FIELDS = {"title", "summary", "keywords", "topic", "order", "related", "see_also"}
REQUIRED = {"title", "summary", "topic"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED = {"search"}  # /help/search/ is the search page, not an article
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class ArticleError(ValueError):
    """An article file is malformed (the file is then left out, see ``problems``)."""


@dataclass(frozen=True)
class Article:
    slug: str
    language: str  # folder name: en, zh_Hans
    title: str
    summary: str
    keywords: tuple[str, ...]
    topic: str
    order: int
    related: str
    see_also: tuple[str, ...]
    body: str  # Markdown, placeholders filled in
    html: SafeString = field(repr=False)
    text: str = field(repr=False)  # the body as plain text, for search

    @property
    def topic_name(self) -> str:
        return str(dict(TOPICS).get(self.topic, self.topic))

    @property
    def related_label(self) -> str:
        return str(RELATED_PAGES.get(self.related, "")) if self.related else ""


# --- configuration values an article may quote -------------------------------------------


def _duration_text(option: str, locale: str) -> str:
    """A configured duration (``24h``, ``2d``) in words, exactly: in the largest unit that
    divides it, so 36 hours stays "36 hours" rather than rounding to "2 days"."""
    duration = parse_duration(config.env(option))
    seconds = int(duration.total_seconds())
    units: tuple[tuple[Literal["day", "hour"], int], ...] = (("day", 86400), ("hour", 3600))
    unit: Literal["day", "hour", "minute"] = "minute"
    size = 60
    for name, length in units:
        if seconds % length == 0:
            unit, size = name, length
            break
    # A threshold of the count itself makes Babel pick this unit, not a larger one.
    return str(format_timedelta(duration, threshold=max(seconds // size, 1),
                                granularity=unit, locale=locale))


PLACEHOLDERS: dict[str, Callable[[str], str]] = {
    "refund_window_days": lambda locale: config.env("ESIMDESK_REFUND_WINDOW_DAYS").strip(),
    "auto_renew_data_left": lambda locale: config.env("ESIMDESK_AUTO_RENEW_DATA_LEFT").strip(),
    "auto_renew_before": lambda locale: _duration_text("ESIMDESK_AUTO_RENEW_BEFORE", locale),
    "support_email": lambda locale: str(settings.ESIMDESK["SUPPORT_EMAIL"]),
    "support_phone": lambda locale: str(settings.ESIMDESK["SUPPORT_PHONE"]),
}


def placeholder_values(folder: str) -> tuple[tuple[str, str], ...]:
    locale = babel_locale(folder.replace("_", "-"))
    return tuple((name, value(locale)) for name, value in sorted(PLACEHOLDERS.items()))


# --- files ---------------------------------------------------------------------------


def articles_dir() -> Path:
    configured = config.env("ESIMDESK_HELP_DIR").strip()
    return Path(configured).resolve() if configured else BUILT_IN


def folder_of(language: str | None) -> str:
    """The article folder for a Django language code (``zh-hans`` -> ``zh_Hans``)."""
    wanted = translation.to_locale(language or settings.LANGUAGE_CODE)
    for code, _name in settings.LANGUAGES:
        folder = translation.to_locale(code)
        if folder.lower() == wanted.lower():
            return folder
    if wanted.lower().startswith("zh"):
        return "zh_Hans"
    return "en"


def folders() -> list[str]:
    return [translation.to_locale(code) for code, _name in settings.LANGUAGES]


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Every article file with its modification time and size: a new key when one changes."""
    return tuple(sorted((str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size)
                        for p in root.glob("*/*.md")))


def parse(text: str, *, slug: str, language: str) -> dict[str, Any]:
    """The front matter and body of one article file (placeholders not yet filled in)."""
    if not SLUG.match(slug) or slug in RESERVED:
        raise ArticleError(f"{language}/{slug}.md: the file name must be a lower-case slug "
                           f"other than {', '.join(sorted(RESERVED))}")
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---":
        raise ArticleError(f"{language}/{slug}.md: must start with a '---' front matter line")
    try:
        end = lines.index("---", 1)
    except ValueError:
        raise ArticleError(f"{language}/{slug}.md: the front matter has no closing '---'") \
            from None
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in FIELDS:
            raise ArticleError(f"{language}/{slug}.md line {number}: unknown field {key!r}")
        meta[key] = value.strip()
    missing = sorted(REQUIRED - {k for k, v in meta.items() if v})
    if missing:
        raise ArticleError(f"{language}/{slug}.md: missing {', '.join(missing)}")
    if meta["topic"] not in dict(TOPICS):
        raise ArticleError(f"{language}/{slug}.md: unknown topic {meta['topic']!r}")
    related = meta.get("related", "")
    if related and related not in RELATED_PAGES:
        raise ArticleError(f"{language}/{slug}.md: unknown related page {related!r}")
    try:
        order = int(meta.get("order") or 100)
    except ValueError:
        raise ArticleError(f"{language}/{slug}.md: order must be a number") from None
    return {
        "slug": slug, "language": language, "title": meta["title"], "summary": meta["summary"],
        "keywords": tuple(k.strip() for k in re.split(r"[,，、]", meta.get("keywords", ""))
                          if k.strip()),
        "topic": meta["topic"], "order": order, "related": related,
        "see_also": tuple(s.strip() for s in meta.get("see_also", "").split(",") if s.strip()),
        "body": "\n".join(lines[end + 1:]).strip() + "\n",
    }


def _fill(text: str, values: dict[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ArticleError(f"{where}: unknown placeholder {{{{ {name} }}}}")
        return values[name]

    return _PLACEHOLDER.sub(replace, text)


# --- Markdown, made safe -------------------------------------------------------------------

SAFE_SCHEMES = ("http://", "https://", "mailto:", "tel:")


class _SafeLinks(Treeprocessor):  # type: ignore[misc]
    """Keeps links into the site and to web, mail and phone addresses; unwraps the rest."""

    def run(self, root: etree.Element) -> None:
        for parent in root.iter():
            for index, child in enumerate(list(parent)):
                if child.tag != "a":
                    continue
                href = (child.get("href") or "").strip()
                safe = href.startswith(("/", "#")) and not href.startswith("//")
                if safe or href.lower().startswith(SAFE_SCHEMES):
                    continue
                # Keep the text of the link as a <span>, in its place.
                span = etree.Element("span")
                span.text, span.tail = child.text, child.tail
                span.extend(list(child))
                parent.remove(child)
                parent.insert(index, span)


def _markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    # No raw HTML (escaped instead) and no images: what is shown is what we render.
    md.preprocessors.deregister("html_block")
    for name in ("html", "image_link", "image_reference", "short_image_ref"):
        md.inlinePatterns.deregister(name)
    md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)
    return md


_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
# A line break inside a Chinese paragraph would show as a stray space (browsers do not drop
# it between CJK characters), so hard-wrapped Chinese source lines are joined.
_CJK_BREAK = re.compile(rf"(?:(?<=[{_CJK}])|(?<=</strong>)|(?<=</a>)|(?<=</code>)|(?<=</em>))"
                        rf"\n[ \t]*(?=[{_CJK}]|<(?:strong|a|code|em)\b)")


def render_markdown(text: str) -> SafeString:
    md = _markdown()
    rendered = _CJK_BREAK.sub("", md.convert(text))
    # Safe: raw HTML was escaped and every link checked by the renderer above.
    return mark_safe(rendered)


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    articles: dict[str, Article]
    problems: tuple[str, ...]


@lru_cache(maxsize=8)
def _load(root: str, signature: tuple[tuple[str, int, int], ...], folder: str,
          values: tuple[tuple[str, str], ...]) -> _Loaded:
    """One language's articles. A malformed file is left out and reported (in the log and by
    ``problems``), so one operator's typo does not take the whole help centre down."""
    filled = dict(values)
    result: dict[str, Article] = {}
    problems: list[str] = []
    for path in sorted(Path(root, folder).glob("*.md")):
        where = f"{folder}/{path.name}"
        try:
            data = parse(path.read_text(encoding="utf-8"), slug=path.stem, language=folder)
            data["summary"] = _fill(data["summary"], filled, where)
            data["body"] = _fill(data["body"], filled, where)
        except (ArticleError, UnicodeDecodeError) as error:
            logger.error("help article left out: %s", error)
            problems.append(str(error) if isinstance(error, ArticleError)
                            else f"{where}: not UTF-8 text")
            continue
        rendered = render_markdown(data["body"])
        result[data["slug"]] = Article(**data, html=rendered,
                                       text=html.unescape(strip_tags(rendered)))
    topic_rank = {key: rank for rank, (key, _name) in enumerate(TOPICS)}
    ordered = dict(sorted(result.items(),
                          key=lambda item: (topic_rank[item[1].topic], item[1].order, item[0])))
    return _Loaded(ordered, tuple(problems))


def _loaded(language: str | None) -> _Loaded:
    folder = folder_of(language or translation.get_language())
    root = articles_dir()
    return _load(str(root), _signature(root), folder, placeholder_values(folder))


def articles(language: str | None = None) -> dict[str, Article]:
    """Every article in one language (the current one by default), in display order."""
    return _loaded(language).articles


def problems(language: str | None = None) -> tuple[str, ...]:
    """Why article files of that language were left out (empty when all are well formed)."""
    return _loaded(language).problems


def get(slug: str, language: str | None = None) -> Article | None:
    return articles(language).get(slug)


def by_topic(language: str | None = None) -> list[tuple[str, str, list[Article]]]:
    """(topic key, topic name, its articles) for every topic that has articles."""
    items = list(articles(language).values())
    return [(key, str(name), [a for a in items if a.topic == key]) for key, name in TOPICS
            if any(a.topic == key for a in items)]


def see_also(article: Article) -> list[Article]:
    same_language = articles(article.language.replace("_", "-"))
    return [same_language[s] for s in article.see_also if s in same_language]


# --- search --------------------------------------------------------------------------------

MAX_QUERY = 100
# A match in the title counts most, then the keywords, the summary and the body.
WEIGHTS = {"title": 100, "keywords": 50, "summary": 20, "body": 10}


def _terms(query: str) -> list[str]:
    """Whitespace-separated terms, case-folded. Chinese is usually typed without spaces and
    is then matched as one substring: no word splitting is needed for a few dozen articles."""
    return [t for t in query.casefold().split() if t][:10]


def score(article: Article, terms: list[str]) -> int:
    """0 unless every term is found somewhere; otherwise, per term, its best field's weight
    (plus one per further occurrence in the body, up to five)."""
    fields = {"title": article.title.casefold(),
              "keywords": " | ".join(article.keywords).casefold(),
              "summary": article.summary.casefold(), "body": article.text.casefold()}
    total = 0
    for term in terms:
        found = [WEIGHTS[name] for name, text in fields.items() if term in text]
        if not found:
            return 0
        total += max(found) + min(fields["body"].count(term), 5)
    return total


def search(query: str, language: str | None = None) -> list[Article]:
    """Articles in the reader's language matching every term of the query, best first."""
    terms = _terms((query or "")[:MAX_QUERY])
    if not terms:
        return []
    ranked = [(score(article, terms), article) for article in articles(language).values()]
    return [article for points, article in sorted(ranked, key=lambda item: -item[0])
            if points > 0]
