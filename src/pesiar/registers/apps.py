from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistersConfig(AppConfig):
    name = "pesiar.registers"
    verbose_name = _("Registers")

    def ready(self) -> None:
        from pesiar.ops.signals import housekeeping, task_abandoned
        from pesiar.registers.tasks import expire_previews, job_abandoned, remove_orphaned_uploads

        task_abandoned.connect(job_abandoned, dispatch_uid="registers.job_abandoned")
        housekeeping.connect(remove_orphaned_uploads, dispatch_uid="registers.orphan_uploads")
        housekeeping.connect(expire_previews, dispatch_uid="registers.expire_previews")
