from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from esimdesk.staff.roles import sync_roles

    sync_roles(using=using)


class StaffConfig(AppConfig):
    name = "esimdesk.staff"
    label = "staff"
    verbose_name = _("Staff")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # post_migrate is sent once per app; the roles are synced once, on the staff app's
        # turn (sync_roles first creates every app's permissions, so app order does not
        # matter).
        post_migrate.connect(_sync_after_migrate, sender=self,
                             dispatch_uid="esimdesk.staff.sync_roles")
