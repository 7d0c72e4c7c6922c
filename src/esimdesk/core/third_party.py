"""Other projects' apps and models named in the reader's language in the console.

django-tasks' database backend calls its app "Tasks Database Backend" (not marked for
translation) and allauth's MFA model has no name of its own ("authenticator"); both are
named here when the apps are ready. Names those projects do mark for translation, but
whose Chinese they do not ship ("Task Results", "enqueued at"), are listed below so that
our catalogue carries them: Django looks a message up in every catalogue it loads.

Only ``Meta`` names are changed here, never a field's ``verbose_name``: migrations compare
fields, so a changed field would ask for a migration in the other project's app. Field
labels in those apps' admin pages are set by ``core.admin_third_party`` instead.
"""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

#: Messages django-tasks (and its database backend) mark, for our catalogue to translate.
TASKS_MESSAGES = (
    gettext_noop("Task Result"), gettext_noop("Task Results"), gettext_noop("status"),
    gettext_noop("enqueued at"), gettext_noop("started at"), gettext_noop("finished at"),
    gettext_noop("last attempted at"), gettext_noop("args kwargs"), gettext_noop("priority"),
    gettext_noop("task path"), gettext_noop("worker id"), gettext_noop("queue name"),
    gettext_noop("backend name"), gettext_noop("run after"), gettext_noop("return value"),
    gettext_noop("exception class path"), gettext_noop("traceback"),
    pgettext_lazy("Task", "Ready"), pgettext_lazy("Task", "Running"),
    pgettext_lazy("Task", "Failed"), pgettext_lazy("Task", "Successful"),
)

#: Django's admin index marks these (headings read to screen readers) but its Chinese
#: catalogue lacks them.
ADMIN_MESSAGES = (gettext_noop("Model name"), gettext_noop("Add link"),
                  gettext_noop("Change or view list link"))


def name_models() -> None:
    """Give the other projects' apps and models shown in the console translated names."""
    if apps.is_installed("django_tasks_db"):
        apps.get_app_config("django_tasks_database").verbose_name = _("Background tasks")
    if apps.is_installed("allauth.mfa"):
        meta = apps.get_model("mfa", "Authenticator")._meta
        meta.verbose_name = _("authenticator")
        meta.verbose_name_plural = _("authenticators")
