"""What sharedplans does when the apps below it announce something (connected in
``apps.ready``)."""

from __future__ import annotations

from typing import Any

from esimdesk.sharedplans.pools import enforce_caps


def on_caps_changed(*, group_id: int, membership_ids: list[int], **_: Any) -> None:
    """``groups.signals.caps_changed``: apply the new caps to the current pool period."""
    enforce_caps(group_id=group_id, membership_ids=membership_ids)
