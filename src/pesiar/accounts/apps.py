from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "pesiar.accounts"
    verbose_name = _("Accounts and privacy")

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from pesiar.accounts import checks  # noqa: F401  (registers the system checks)
        from pesiar.accounts.models import Scope, User

        # Changes to accounts and their scopes are kept by django-auditlog (who changed what);
        # reads of personal data go to our own AccessLog.
        auditlog.register(User, exclude_fields=["password", "last_login"])
        auditlog.register(Scope)
