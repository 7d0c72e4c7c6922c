"""The orders' tasks live beside what they run (``services.fulfil_order_task``,
``reissue.reissue_task``, ``reissue.revoke_profile_task``). Tasks queued before they moved
carry this module's paths, so the names still resolve here."""

from __future__ import annotations

from esimdesk.orders.reissue import reissue_task, revoke_profile_task
from esimdesk.orders.services import fulfil_order_task

__all__ = ["fulfil_order_task", "reissue_task", "revoke_profile_task"]
