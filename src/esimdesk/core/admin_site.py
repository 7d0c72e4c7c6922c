"""The console's admin site: Django's, with model names that keep their case.

Django names each model in the Data index and the navigation with ``capfirst`` of its plural
("ESIMs"); this site names it with ``core.names.capfirst`` ("eSIMs"). Installed as the
default site (``admin.site``) by ``ConsoleAdminConfig``, in ``INSTALLED_APPS`` in place of
``django.contrib.admin``, as Django's documentation on overriding the default site shows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from esimdesk.core import names


class ConsoleSite(admin.AdminSite):
    def get_app_list(self, request: HttpRequest, app_label: str | None = None,
                     ) -> list[dict[str, Any]]:
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            for model in app["models"]:
                model["name"] = names.capfirst(model["model"]._meta.verbose_name_plural)
        return app_list


class ConsoleAdminConfig(AdminConfig):
    default_site = "esimdesk.core.admin_site.ConsoleSite"
