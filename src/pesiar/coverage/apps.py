import logging

from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def _changes_after_map(sender, instance, update_fields=None, **kwargs) -> None:
    """When a map is done, the churn radar compares it with the map before (a failure is
    logged and leaves the map as it is)."""
    from pesiar.coverage.churn import detect_changes

    if instance.status != "DONE" or not instance.persons_file.exists():
        return
    try:
        detect_changes(instance)
    except Exception:
        logger.exception("churn: the changes of map #%s could not be computed", instance.pk)


class CoverageConfig(AppConfig):
    name = "pesiar.coverage"
    verbose_name = _("Coverage")

    def ready(self) -> None:
        post_save.connect(
            _changes_after_map, sender="linkage.LinkRun", dispatch_uid="coverage.churn"
        )
