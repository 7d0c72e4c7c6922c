"""Finding a destination from what a traveller types: names in English and Chinese, aliases,
pinyin with or without spaces; case, accents, spaces and punctuation do not matter."""

from __future__ import annotations

import pytest

from esimdesk.catalog import search
from tests.builders import CountryFactory, RegionFactory

CODES = ["JP", "TH", "GB", "US", "NL", "KR", "TR", "ES", "NZ", "HK", "CN", "IN", "ID", "FR"]


@pytest.fixture
def countries(db: None) -> None:
    for code in CODES:
        CountryFactory(code=code, popular=code in ("JP", "TH"))
    RegionFactory(code="europe", name_en="Europe", name_zh_hans="欧洲")


def first(query: str) -> str | None:
    found = search.search(query)
    return found[0].code if found else None


def test_normalize_drops_case_accents_spaces_punctuation_and_full_width() -> None:
    assert search.normalize("  Türkiye ") == "turkiye"
    assert search.normalize("U.K.") == "uk"
    assert search.normalize("Ri Ben") == "riben"
    assert search.normalize("ＲＩＢＥＮ") == "riben"
    assert search.normalize("España") == "espana"
    assert search.normalize("日 本") == "日本"


@pytest.mark.parametrize(("query", "code"), [
    ("Japan", "JP"), ("JAPAN", "JP"), ("japan", "JP"), ("jap", "JP"), ("Ja", "JP"),
    ("thai", "TH"), ("Thailand", "TH"),
    ("new zealand", "NZ"), ("newzealand", "NZ"), ("New-Zealand", "NZ"),
    ("turkiye", "TR"), ("Türkiye", "TR"), ("turkey", "TR"), ("espana", "ES"), ("España", "ES"),
])
def test_english_names_case_accents_spaces_and_prefixes(countries: None, query: str,
                                                        code: str) -> None:
    assert first(query) == code


@pytest.mark.parametrize(("query", "code"), [
    ("UK", "GB"), ("uk", "GB"), ("U.K.", "GB"), ("Britain", "GB"), ("Great Britain", "GB"),
    ("England", "GB"), ("Scotland", "GB"), ("USA", "US"), ("America", "US"), ("us", "US"),
    ("Holland", "NL"), ("Korea", "KR"), ("kingdom", "GB"), ("hong kong", "HK"),
])
def test_english_aliases(countries: None, query: str, code: str) -> None:
    assert first(query) == code


@pytest.mark.parametrize(("query", "code"), [
    ("riben", "JP"), ("ri ben", "JP"), ("RiBen", "JP"), ("ri", "JP"), ("rib", "JP"),
    ("rb", "JP"), ("taiguo", "TH"), ("tai guo", "TH"), ("yingguo", "GB"), ("meiguo", "US"),
    ("helan", "NL"), ("hanguo", "KR"), ("xianggang", "HK"), ("yinni", "ID"),
    ("zhongguo", "CN"),
])
def test_pinyin_with_and_without_spaces_and_prefixes(countries: None, query: str,
                                                     code: str) -> None:
    assert first(query) == code


@pytest.mark.parametrize(("query", "code"), [
    ("日", "JP"), ("日本", "JP"), ("泰", "TH"), ("泰国", "TH"), ("英国", "GB"), ("美国", "US"),
    ("香港", "HK"), ("中国", "CN"), ("美利坚", "US"), ("印尼", "ID"), ("荷兰", "NL"),
])
def test_chinese_names_and_aliases(countries: None, query: str, code: str) -> None:
    assert first(query) == code


def test_regions_are_found_by_name_alias_and_pinyin(countries: None) -> None:
    for query in ("Europe", "欧洲", "ouzhou", "Schengen"):
        found = search.search(query)
        assert [(m.kind, m.code) for m in found][:1] == [("region", "europe")], query


def test_no_match_and_empty_query(countries: None) -> None:
    assert search.search("atlantis") == []
    assert search.search("   ") == []
    assert search.best_match("") is None


def test_countries_come_before_regions_and_popular_first(countries: None) -> None:
    # "in" is India's code (exact), then the names it begins: Indonesia.
    assert [m.code for m in search.search("in")][:2] == ["IN", "ID"]
    # "t" begins Thailand (popular) and Türkiye
    assert [m.code for m in search.search("t")][:1] == ["TH"]


def test_best_match_is_an_exact_name_or_the_only_best_one(countries: None) -> None:
    assert search.best_match("riben").code == "JP"  # type: ignore[union-attr]
    assert search.best_match("uk").code == "GB"  # type: ignore[union-attr]
    assert search.best_match("jap").code == "JP"  # type: ignore[union-attr]
    # "n" begins the Netherlands and New Zealand alike: no single destination meant
    assert search.best_match("ne") is None


def test_pinyin_initials() -> None:
    assert search.pinyin_initial("JP") == "R"
    assert search.pinyin_initial("TH") == "T"
    assert search.pinyin_initial("XX") == ""
