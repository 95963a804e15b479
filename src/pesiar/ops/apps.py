from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Running Pesiar as a service: the server, the worker's heartbeat and job leases,
    the health check, backups. Below every domain app: it imports none of them; they
    connect to its signals."""

    name = "pesiar.ops"
    verbose_name = _("Operations")
