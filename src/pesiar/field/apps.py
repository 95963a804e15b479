from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FieldConfig(AppConfig):
    name = "pesiar.field"
    verbose_name = _("Field")

    def ready(self) -> None:
        from pesiar.field.models import EventKind, Outcome, RequestStatus, Segment
        from pesiar.field.reconcile import after_membership_import
        from pesiar.registers.signals import snapshot_imported
        from pesiar.sweep.labels import add_labels

        add_labels("outcome", Outcome.choices)
        add_labels("event_kind", EventKind.choices)
        add_labels("request_status", RequestStatus.choices)
        add_labels("request_segment", Segment.choices)
        snapshot_imported.connect(after_membership_import, dispatch_uid="field.reconcile")
