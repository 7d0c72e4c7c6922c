"""The staff console's own permissions, declared on ``Role`` (a proxy of Django's auth group:
the roles *are* groups, see ``staff.roles``). No table of its own."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _


class Role(Group):
    """A staff role (agent, finance, admin): a group whose permissions ``sync_roles`` keeps."""

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        proxy = True
        permissions = [
            ("view_customer_console", "Can open customer pages in the staff console"),
            ("resend_install_email", "Can resend an order's install e-mail"),
            ("extend_validity", "Can extend a plan as goodwill (up to the agent limit)"),
            ("extend_validity_beyond_limit", "Can extend a plan beyond the agent limit"),
            ("suspend_esim", "Can suspend and resume an eSIM"),
            ("unlock_account", "Can unlock a locked customer account"),
            ("refund_beyond_limit", "Can refund more than the finance limit"),
        ]
