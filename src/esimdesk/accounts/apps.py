from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def create_cache_table(using: str = "default", **kwargs: Any) -> None:
    """The database cache's table (settings.CACHES) after every migrate: ``esimdesk run``,
    ``esimdesk manage migrate`` and the tests' databases all get it. Creates only what is
    missing, and nothing when the cache is Redis."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class AccountsConfig(AppConfig):
    name = "esimdesk.accounts"
    label = "accounts"
    # Not "Accounts": allauth's app (e-mail addresses) is called that in the admin too.
    verbose_name = _("Users and sign-in")

    def ready(self) -> None:
        from allauth.account import signals as account_signals
        from allauth.mfa import signals as mfa_signals
        from django.db.models.signals import post_migrate

        from esimdesk.accounts import signin_policy

        mfa_signals.authentication_failed.connect(signin_policy.second_factor_failed)
        mfa_signals.authenticator_used.connect(signin_policy.second_factor_used)
        account_signals.password_reset.connect(signin_policy.password_was_reset)
        post_migrate.connect(create_cache_table, sender=self)
