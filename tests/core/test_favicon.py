from __future__ import annotations

from typing import Any


def test_favicon_ico_leads_to_the_site_icon(client: Any) -> None:
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301
    assert answer["Location"].endswith("core/favicon.svg")
