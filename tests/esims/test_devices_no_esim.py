"""Phones without eSIM (``esims/data/no_esim.json``): popular models and whole budget lines
answer a clear "cannot take an eSIM", typed or read from a User-Agent, however they are
spelt; the models with eSIM, and their regional exceptions, are not caught by a line."""

from __future__ import annotations

import pytest

from esimdesk.esims import devices

N, S, D, U = devices.NOT_SUPPORTED, devices.SUPPORTED, devices.DEPENDS, devices.UNKNOWN


@pytest.mark.parametrize(("typed", "model"), [
    ("iPhone 6s", "iPhone 6s"), ("iphone6s plus", "iPhone 6s Plus"), ("IPHONE 7", "iPhone 7"),
    ("iPhone SE 2016", "iPhone SE (1st generation)"), ("Samsung Galaxy S9+", "Galaxy S9+"),
    ("galaxy s9 plus", "Galaxy S9+"), ("SM-G960F", "Galaxy S9"), ("Galaxy Note 9", "Galaxy Note9"),
    ("SM-N960F/DS", "Galaxy Note9"), ("Galaxy Note10+", "Galaxy Note10+"),
    ("Galaxy A12", "Galaxy A12"), ("SM-A125F", "Galaxy A12"), ("sm-a536b/ds", "Galaxy A53 5G"),
    ("Galaxy A21s", "Galaxy A21s"), ("Redmi Note 9 Pro", "Redmi Note 9 Pro"),
    ("REDMI  NOTE 9 PRO", "Redmi Note 9 Pro"), ("redmi note 9pro", "Redmi Note 9 Pro"),
    ("Xiaomi 12T", "Xiaomi 12T"), ("Mi 11 Lite 5G", "Mi 11 Lite"), ("POCO X3 NFC", "POCO X3 NFC"),
    ("Huawei nova 9", "nova 9"), ("Mate 60 Pro", "Mate 60 Pro"), ("Honor X8", "Honor X8"),
    ("OPPO A57", "OPPO A57"), ("Reno8 T", "Reno8 T"), ("vivo Y20", "vivo Y20"),
    ("realme C55", "realme C55"), ("moto g7 power", "moto g7 Power"),
    ("OnePlus 8 Pro", "OnePlus 8 Pro"), ("Pixel 1", "Pixel (2016)"),
])
def test_listed_phones_without_esim(typed: str, model: str) -> None:
    verdict = devices.check_model(typed)
    assert verdict.verdict == N
    assert verdict.device is not None and verdict.device.model == model
    assert str(devices.NOTES["no_esim"]) in verdict.notes


@pytest.mark.parametrize("typed", [
    "Redmi 9A", "Xiaomi Redmi 12C", "Redmi 14C", "Redmi K40", "Redmi Note 11S",
    "redmi note 12 pro+ 5g", "Galaxy A03 Core", "Samsung Galaxy A23 5G", "SM-A235F",
    "Galaxy M31", "SM-M325F", "Galaxy J7 Prime", "Mi 9T Pro", "POCO M4 Pro 5G", "Huawei Y9a",
    "Huawei P30 lite", "Huawei Enjoy 70", "Honor 50 Lite", "Honor Play 40", "OPPO A5 2020",
    "oppo a78", "OPPO F21 Pro", "vivo Y76 5G", "vivo y02s", "realme 8 pro", "realme narzo 50A",
    "moto e13", "Motorola moto g22", "OnePlus Nord CE 2", "LG G7 ThinQ", "LG K42", "Nokia 7.2",
])
def test_budget_lines_without_esim(typed: str) -> None:
    """Listed by name, or caught by their line's pattern."""
    assert devices.check_model(typed).verdict == N, typed


@pytest.mark.parametrize("typed", ["Redmi 14C", "Redmi K40", "Huawei Enjoy 70", "vivo y02s",
                                   "realme narzo 50A", "LG K42", "Nokia 7.2", "Galaxy M31s"])
def test_a_model_not_listed_is_known_by_its_line(typed: str) -> None:
    verdict = devices.check_model(typed)
    assert verdict.verdict == N and str(devices.NOTES["no_esim_line"]) in verdict.notes
    assert verdict.device is not None and verdict.device.model == typed


@pytest.mark.parametrize(("typed", "region", "verdict"), [
    ("Galaxy A54", "", S), ("Galaxy A55 5G", "", S), ("Galaxy A35", "", S),
    ("Xiaomi 12T Pro", "", D), ("Reno5 A", "", S), ("iPhone XS", "CN", N),
    ("iPhone 15 Pro", "CN", N), ("iPhone 15 Pro", "HK", N), ("iPhone 15 Pro", "GB", S),
    ("iPhone 13 mini", "HK", S), ("iPhone Air", "CN", S), ("Huawei P40 Pro", "GB", S),
    ("Huawei P40 Pro", "CN", N), ("Mate 40 Pro", "", D), ("Honor Magic5 Pro", "", D),
    ("vivo X100 Pro", "", D),
    # Lines left out on purpose (versions differ): no verdict rather than a wrong one.
    ("Galaxy A16 5G", "", U), ("Redmi Note 14 Pro+ 5G", "", U), ("moto g84", "", U),
    # A line's name alone is not a model.
    ("iPhone", "", U), ("Pixel", "", U), ("OPPO Reno", "", U), ("Galaxy S", "", U),
])
def test_phones_with_esim_are_not_caught_by_a_line(typed: str, region: str,
                                                   verdict: str) -> None:
    assert devices.check_model(typed, region).verdict == verdict


@pytest.mark.parametrize(("user_agent", "model"), [
    ("Mozilla/5.0 (Linux; Android 10; SM-A105F) AppleWebKit/537.36 Chrome/120 Mobile",
     "Galaxy A10"),
    ("Mozilla/5.0 (Linux; Android 11; Redmi Note 9 Pro Build/RKQ1.200826.002) AppleWebKit",
     "Redmi Note 9 Pro"),
    ("Mozilla/5.0 (Linux; Android 12; SM-A127F) AppleWebKit/537.36 Chrome/119 Mobile", None),
    ("Mozilla/5.0 (Linux; Android 9; SM-G965F Build/PPR1) AppleWebKit/537.36", "Galaxy S9+"),
    ("Mozilla/5.0 (Linux; Android 13; vivo Y16) AppleWebKit/537.36 Chrome/118 Mobile",
     "vivo Y16"),
])
def test_user_agents_of_phones_without_esim(user_agent: str, model: str | None) -> None:
    verdict = devices.check_user_agent(user_agent)
    assert verdict.verdict == N
    if model:
        assert verdict.device is not None and verdict.device.model == model


def test_the_data_set_is_large_and_every_example_matches_its_line() -> None:
    without = [d for d in devices.devices() if not d.esim]
    assert len(without) >= 300
    assert len({d.brand for d in without}) >= 10
    for line in devices.lines():
        assert line.examples, line.name
        for example in line.examples:
            assert line.pattern.match(devices._key(example)), (line.name, example)
    for device in devices.devices():
        if not device.esim:
            continue
        for name in (device.model, *device.aliases):
            key = devices._key(name.partition("@")[0])
            assert not any(line.pattern.match(key) for line in devices.lines()), name
