from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SweepConfig(AppConfig):
    name = "pesiar.sweep"
    verbose_name = _("Sweep")
