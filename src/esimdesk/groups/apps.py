from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "esimdesk.groups"
    label = "groups"
    verbose_name = "Groups"
