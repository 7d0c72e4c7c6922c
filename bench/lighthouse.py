"""Lighthouse (mobile) on the traveller's key pages, in English and Chinese.

Run against a server started with the demo data (``make run`` or ``esimdesk run --port N``):

    npm install lighthouse            # once, anywhere; or set LIGHTHOUSE to its binary
    .venv/bin/python bench/lighthouse.py --base http://127.0.0.1:8000

It signs in as the two demo travellers (English and Chinese), finds a destination, a plan
and an eSIM of theirs, and runs Lighthouse's mobile preset with Debian's Chromium on home,
destination, plan, checkout, dashboard and eSIM pages. Each report is kept under
``var/lighthouse/`` and the scores are printed as a Markdown table for docs/PERFORMANCE.md.
Exits non-zero when a score is under ``--minimum`` (95 by default).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import requests

CATEGORIES = ("performance", "accessibility", "best-practices")
USERS = {"en": ("traveller@esimdesk.localhost", "esimdesk-demo"),
         "zh-hans": ("lvke@esimdesk.localhost", "esimdesk-demo")}


def sign_in(base: str, email: str, password: str, language: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set("django_language", language)
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not token:
        sys.exit("the sign-in page has no CSRF token")
    answer = session.post(f"{base}/accounts/login/", timeout=30,
                          data={"csrfmiddlewaretoken": token.group(1), "login": email,
                                "password": password},
                          headers={"Referer": f"{base}/accounts/login/"})
    if "sessionid" not in session.cookies:
        sys.exit(f"could not sign in as {email} (HTTP {answer.status_code})")
    return session


def first(pattern: str, html: str, what: str) -> str:
    match = re.search(pattern, html)
    if not match:
        sys.exit(f"found no {what}")
    return match.group(1)


def pages(base: str, session: requests.Session) -> dict[str, str]:
    home = session.get(f"{base}/", timeout=30).text
    destination = first(r'href="(/destinations/[^/"]+/)"', home, "destination on the home page")
    listing = session.get(f"{base}{destination}", timeout=30).text
    plan = first(r'href="/plans/([^/"?]+)/', listing, "plan on a destination page")
    dashboard = session.get(f"{base}/dashboard/", timeout=30).text
    esim = first(r'href="(/esims/\d+/)"', dashboard, "eSIM on the dashboard")
    return {"home": "/", "destination": destination, "plan": f"/plans/{plan}/",
            "checkout": f"/checkout/?plan={plan}", "dashboard": "/dashboard/", "esim": esim}


def lighthouse(binary: str, url: str, cookies: str, report: Path) -> dict[str, int]:
    chromium = os.environ.get("ESIMDESK_CHROMIUM", shutil.which("chromium") or "chromium")
    command = [binary, url, "--quiet", "--output=json", f"--output-path={report}",
               f"--only-categories={','.join(CATEGORIES)}", "--form-factor=mobile",
               f"--extra-headers={json.dumps({'Cookie': cookies})}",
               "--chrome-flags=--headless=new --no-sandbox"]
    # Lighthouse now and then loses the trace of a load (NO_NAVSTART) on a busy machine;
    # that says nothing about the page, so the run is repeated.
    for attempt in range(3):
        if subprocess.run(command, check=False,
                          env={**os.environ, "CHROME_PATH": chromium}).returncode == 0:
            break
        if attempt == 2:
            sys.exit(f"Lighthouse failed three times on {url}")
    result = json.loads(report.read_text(encoding="utf-8"))
    return {name: round(100 * (result["categories"][name]["score"] or 0)) for name in CATEGORIES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("var/lighthouse"))
    parser.add_argument("--minimum", type=int, default=95)
    parser.add_argument("--lighthouse", default=os.environ.get("LIGHTHOUSE", "lighthouse"))
    args = parser.parse_args()
    base = args.base.rstrip("/")
    args.out.mkdir(parents=True, exist_ok=True)
    rows, low = [], []
    for language, (email, password) in USERS.items():
        session = sign_in(base, email, password, language)
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        for name, path in pages(base, session).items():
            scores = lighthouse(args.lighthouse, f"{base}{path}", cookies,
                                args.out / f"{name}-{language}.json")
            rows.append((name, language, scores))
            low += [(name, language, k, v) for k, v in scores.items() if v < args.minimum]
    print("| Page | Language | " + " | ".join(CATEGORIES) + " |")
    print("|---|---|" + "---|" * len(CATEGORIES))
    for name, language, scores in rows:
        print(f"| {name} | {language} | " + " | ".join(str(scores[c]) for c in CATEGORIES)
              + " |")
    for name, language, category, score in low:
        print(f"under {args.minimum}: {name} ({language}) {category} {score}", file=sys.stderr)
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
