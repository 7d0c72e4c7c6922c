from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "esimdesk.accounts"
    label = "accounts"
    verbose_name = "Accounts"
