"""The sign-in policy's limits as written in ``ESIMDESK_SIGNIN_LIMITS``: plain Python, so
settings can check them when the process starts (a typo fails at start-up, not at the first
sign-in)."""

from __future__ import annotations

from dataclasses import dataclass

RULES = ("failed_signin", "reset", "code", "signup")
DEFAULT_LIMITS = ("failed_signin=5/15m/account,30/15m/address; "
                  "reset=5/1h/account,20/1h/address; "
                  "code=5/1h/account,30/1h/address; "
                  "signup=30/1h/address")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    amount: int
    window: int  # seconds
    scope: str  # "account" or "address"


def parse_limits(text: str) -> dict[str, list[Rate]]:
    """``rule=5/15m/account,30/15m/address; rule=…`` -> rates per rule (``ValueError`` if bad)."""
    found: dict[str, list[Rate]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        rule, _, rates = part.partition("=")
        rule = rule.strip()
        if rule not in RULES:
            raise ValueError(f"unknown sign-in limit {rule!r} (one of {', '.join(RULES)})")
        found[rule] = []
        for rate in filter(None, (r.strip() for r in rates.split(","))):
            found[rule].append(_rate(rate))
    return found


def _rate(text: str) -> Rate:
    try:
        amount, window, scope = text.split("/")
        parsed = Rate(int(amount), int(window[:-1] or 1) * _UNITS[window[-1]], scope)
    except (ValueError, IndexError, KeyError):
        parsed = None
    if parsed is None or parsed.amount < 1 or parsed.window < 1 or parsed.scope not in (
            "account", "address"):
        raise ValueError(f"bad sign-in limit {text!r}: write e.g. 5/15m/account")
    return parsed
