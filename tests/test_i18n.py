"""Everything a user sees exists in English and Simplified Chinese."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from babel.messages.pofile import read_po

import esimdesk
from esimdesk import config

LOCALE = Path(esimdesk.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_every_message_has_a_chinese_translation() -> None:
    with (LOCALE / "django.po").open("rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in catalog if m.id and (not m.string or (
        isinstance(m.string, tuple) and not all(m.string)))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == []
    assert fuzzy == []


def test_compiled_catalog_matches_the_source() -> None:
    """The shipped .mo (so `make run` needs no gettext tools) is compiled from the .po."""
    with (LOCALE / "django.po").open("rb") as handle:
        catalog = read_po(handle)
    with (LOCALE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            assert compiled.ngettext(message.id[0], message.id[1], 1) == message.string[0]
        elif message.context:
            assert compiled.pgettext(message.context, message.id) == message.string
        else:
            assert compiled.gettext(message.id) == message.string, message.id


def test_translation_functions_keep_names_makemessages_extracts() -> None:
    """makemessages only finds strings passed to ``_``, ``gettext``, ``gettext_lazy`` and
    their kin by those names; an alias such as ``gettext_lazy as _lazy`` silently leaves the
    strings out of the catalog (and the page in English)."""
    import re
    from pathlib import Path

    known = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext",
             "pgettext_lazy", "gettext_noop"}
    source = Path(__file__).resolve().parents[1] / "src" / "esimdesk"
    pattern = re.compile(r"from django\.utils\.translation import (.+)")
    bad = []
    for path in source.rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = pattern.match(line.strip())
            if not match:
                continue
            for part in match.group(1).strip("()").split(","):
                name = part.strip()
                if " as " in name:
                    original, alias = (x.strip() for x in name.split(" as "))
                    if "gettext" in original and alias not in known:
                        bad.append(f"{path.relative_to(source)}: {name}")
    assert bad == []


def test_every_options_help_has_a_chinese_translation() -> None:
    """Staff read each option's help on the console (``config.help_text``): every option
    declared, the platform's and the adapters', has its Chinese in the catalogue."""
    with (LOCALE / "django.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy and not m.context}
    helps = [option.help for option in config.options()]
    assert len(helps) > 120, "fewer options than declared: are the adapters' loaded?"
    assert [text for text in helps if text not in translated] == []


CJK = r"[\u4e00-\u9fff]"
HALF_WIDTH_NEXT_TO_CJK = re.compile(
    rf"{CJK}[,;:!?]|[,;:!?]\s*{CJK}|{CJK}\s?\(|\)\s?{CJK}|{CJK}\.(?:\s|$)")


def _chinese_texts() -> list[tuple[str, str]]:
    """Every Chinese text a traveller reads: the catalog's translations and the help centre."""
    with (LOCALE / "django.po").open("rb") as handle:
        catalog = read_po(handle)
    texts = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        texts += [(str(message.id), text) for text in strings]
    articles = Path(esimdesk.__file__).parent / "support" / "articles" / "zh_Hans"
    texts += [(path.name, path.read_text(encoding="utf-8")) for path in articles.glob("*.md")]
    return texts


def test_chinese_copy_addresses_the_reader_politely() -> None:
    """您, never 你: the shop speaks to customers formally, in every message alike."""
    assert [source for source, text in _chinese_texts() if "你" in text] == []


def test_chinese_copy_uses_full_width_punctuation() -> None:
    """Full-width commas, stops, colons and brackets beside Chinese characters; half-width
    marks are for English and code."""
    bad = [(source, text) for source, text in _chinese_texts()
           if HALF_WIDTH_NEXT_TO_CJK.search(_prose(text))]
    assert bad == []


def _prose(text: str) -> str:
    """The words of a text without what is not prose: placeholders, code, Markdown link
    targets, an article's front-matter keys and its comma-separated search keywords."""
    text = re.sub(r"^keywords:.*$", "", text, flags=re.MULTILINE)
    text = re.sub(r"^[a-z_]+: ", "", text, flags=re.MULTILINE)
    return re.sub(r"%\([a-z_]+\)[sd]|\{\{[^}]*\}\}|\{[^}]*\}|`[^`]*`|\]\([^)]*\)", "]", text)
