"""What the agent's phone pages show beside the worklist: each family's status (visited,
registration open, confirmed) and the faskes (FKTP) the village's participants already use."""

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pesiar.field.models import RegistrationRequest, RequestStatus
from pesiar.ops.duck import connect, sql_path
from pesiar.registers.models import Snapshot

OPEN_REQUESTS = (
    RequestStatus.DRAFT,
    RequestStatus.SUBMITTED,
    RequestStatus.EXPORTED,
    RequestStatus.UNCONFIRMED,
)
DONE_REQUESTS = (RequestStatus.CONFIRMED, RequestStatus.ACTIVATED)

STATUS_WORDS = {
    "confirmed": _("registration confirmed"),
    "registration_open": _("registration in progress"),
    "draft": _("registration draft"),
    "visited": _("visited"),
    "new": _("not visited yet"),
}


def family_status(user: Any, items: list[Any]) -> None:
    """Set `status`, `status_label` and `registration` (the latest request, or None) on each
    worklist item: confirmed, registration in progress, draft, visited or not visited yet."""
    latest: dict[int, RegistrationRequest] = {}
    rows = RegistrationRequest.objects.for_user(user).filter(item_id__in=[i.pk for i in items])
    for req in rows.order_by("item_id", "-created_at", "-id"):
        seen = latest.get(req.item_id)
        if seen is None or (req.status in DONE_REQUESTS and seen.status not in DONE_REQUESTS):
            latest[req.item_id] = req
    for item in items:
        req = latest.get(item.pk)
        if req is not None and req.status in DONE_REQUESTS:
            status = "confirmed"
        elif req is not None and req.status == RequestStatus.DRAFT:
            status = "draft"
        elif req is not None:
            status = "registration_open"
        elif item.last_visit_at:
            status = "visited"
        else:
            status = "new"
        item.status, item.status_label, item.registration = status, STATUS_WORDS[status], req


def village_faskes(village_code: str, limit: int = 12) -> list[dict[str, Any]]:
    """The FKTP codes (KD_PPK) the participants of `village_code` use in the latest membership
    snapshot, most used first: [{code, people}]. Empty when the snapshot has no such column."""
    snapshot = Snapshot.objects.latest_for("membership", timezone.localdate())
    if snapshot is None or not snapshot.data_file.exists():
        return []
    con = connect()
    try:
        source = f"read_parquet({sql_path(snapshot.data_file)})"
        columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        if not {"faskes_code", "village_code"} <= columns:
            return []
        rows = con.execute(
            f"""
            SELECT faskes_code, count(*) AS people FROM {source}
            WHERE village_code = ? AND coalesce(trim(faskes_code), '') <> ''
            GROUP BY faskes_code ORDER BY people DESC, faskes_code LIMIT ?
            """,
            [village_code, limit],
        ).fetchall()
    finally:
        con.close()
    return [{"code": code, "people": people} for code, people in rows]
