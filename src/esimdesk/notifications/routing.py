"""Which channels one message goes out on: the customer's preferences, the addresses they
have, and the rule that transactional messages cannot be switched off. Pure functions, no
database access, so every combination is cheap to test."""

from __future__ import annotations

from typing import Any

from esimdesk.notifications.models import Category, Channel, NotificationPreference

# The order messages are made in, and the order answers list them.
CHANNEL_ORDER = (Channel.EMAIL, Channel.SMS, Channel.INAPP)
# Channels that reach a customer who is not looking at the portal or the app. A transactional
# message must go out on at least one of these: an in-app notice alone is not enough.
REACHING_CHANNELS = (Channel.EMAIL, Channel.SMS)

# Every non-transactional kind belongs to exactly one category the customer can switch off.
# Explicit on purpose: a new kind that fits no prefix is refused (UnknownKind), so nobody
# ships a message that ignores the customer's choice by accident.
KIND_PREFIXES: tuple[tuple[str, Category], ...] = (
    ("reminder_", Category.REMINDERS),     # reminder_expiry, reminder_low_data
    ("renewal_", Category.RENEWALS),       # renewal_upcoming (heads-up before auto-renew)
    ("auto_renew_", Category.RENEWALS),    # auto_renew_upcoming, auto_renew_method_expiring
)


class UnknownKind(ValueError):
    """A non-transactional kind with no category: add it to KIND_PREFIXES, or send it as
    transactional if the customer must get it whatever they chose."""


def category_for(kind: str) -> Category:
    for prefix, category in KIND_PREFIXES:
        if kind.startswith(prefix):
            return category
    known = ", ".join(f"{prefix}*" for prefix, _ in KIND_PREFIXES)
    raise UnknownKind(f"notification kind {kind!r} has no preference category ({known})")


def addresses_of(user: Any) -> dict[Channel, bool]:
    """The channels this user can be reached on at all."""
    return {Channel.EMAIL: bool(user.email), Channel.SMS: bool(user.phone),
            Channel.INAPP: True}


def fallback_channel(user: Any) -> Channel | None:
    """Where a transactional message goes when the customer switched every channel off."""
    if user.email:
        return Channel.EMAIL
    if user.phone:
        return Channel.SMS
    return None


def channels_for(*, user: Any, preference: NotificationPreference, kind: str,
                 transactional: bool) -> list[Channel]:
    """The channels to send one message on, in CHANNEL_ORDER.

    Non-transactional: nothing if the customer turned the kind's category off (or the
    account is closed), else every channel they left on and have an address for.
    Transactional: the channels they left on, plus e-mail (or SMS without an e-mail
    address) when none of those would reach them outside the app.
    """
    have = addresses_of(user)
    chosen = [c for c in CHANNEL_ORDER if have[c] and preference.channel_on(c)]
    if not transactional:
        category = category_for(kind)  # checked first: an unknown kind is always an error
        if not user.is_active or not preference.wants(category):
            return []
        return chosen
    if not any(c in REACHING_CHANNELS for c in chosen):
        fallback = fallback_channel(user)
        if fallback is not None:
            chosen.append(fallback)
    return sorted(chosen, key=CHANNEL_ORDER.index)
