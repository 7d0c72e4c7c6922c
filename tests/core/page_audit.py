"""What in a rendered page the Content-Security-Policy would block: inline scripts without the
response's nonce, inline event handlers, ``javascript:`` links, ``style`` attributes and
``<style>`` elements, and scripts or styles from another origin."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Script types a browser executes (anything else, e.g. application/json, is a data block).
EXECUTABLE = {"", "text/javascript", "application/javascript", "module", "text/ecmascript"}


class _Audit(HTMLParser):
    def __init__(self, nonce: str) -> None:
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.problems: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name.lower(): value or "" for name, value in attrs}
        where = f"<{tag} {' '.join(f'{k}={v[:40]!r}' for k, v in found.items())}>"
        for name, value in found.items():
            if name.startswith("on"):
                self.problems.append(f"inline event handler {name}: {where}")
            if name in ("href", "src", "action", "formaction") and value.strip().lower(
                    ).startswith("javascript:"):
                self.problems.append(f"javascript: URL: {where}")
        if "style" in found:
            self.problems.append(f"style attribute: {where}")
        if tag == "style":
            self.problems.append("a <style> element")
        if tag == "link" and "stylesheet" in found.get("rel", "").lower():
            self._same_origin(found.get("href", ""), where)
        if tag == "script":
            self.scripts += 1
            kind = found.get("type", "").strip().lower()
            if kind not in EXECUTABLE:
                return
            if "src" in found:
                self._same_origin(found["src"], where)
            elif found.get("nonce") != self.nonce:
                self.problems.append(f"inline script without the response's nonce: {where}")
            if "nonce" in found and found["nonce"] != self.nonce:
                self.problems.append(f"script with another nonce: {where}")

    def _same_origin(self, url: str, where: str) -> None:
        if re.match(r"^([a-z][a-z0-9+.-]*:)?//", url.strip(), re.I):
            self.problems.append(f"resource from another origin: {where}")


def audit(html: str, nonce: str) -> tuple[list[str], int]:
    """(problems, number of <script> tags) of one page."""
    parser = _Audit(nonce)
    parser.feed(html)
    parser.close()
    return parser.problems, parser.scripts


def nonce_of(policy: str) -> str:
    match = re.search(r"script-src [^;]*'nonce-([A-Za-z0-9_\-+/=]+)'", policy)
    assert match, policy
    return match.group(1)
