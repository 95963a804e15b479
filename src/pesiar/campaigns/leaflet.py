"""The family leaflet (one page, PDF, Bahasa Indonesia) and the WhatsApp message.

The leaflet says who in the family is not covered or not active, what to do (their pathway),
where to go and what it costs. Personal data follows the export rules: the family must be in
the user's scope, viewers get nothing, NIK and KK are masked for roles that do not see them in
full, and each leaflet is logged as an export. The WhatsApp message carries no NIK or KK; the
server sends nothing, the link opens the agent's own WhatsApp with the text filled in.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pesiar.accounts.audit import log_access
from pesiar.accounts.models import AccessKind
from pesiar.accounts.scoping import require_personal_access
from pesiar.accounts.viewer import Viewer
from pesiar.campaigns.pathways import DONT_WAIT, WHY_ACTIVE, guide
from pesiar.sweep.models import WorklistItem, WorklistMember

LANGUAGE = "id"


@dataclass
class Leaflet:
    item: WorklistItem
    kk: str
    members: list[dict[str, Any]]  # the members not covered or not active
    guides: list[Any]  # the pathways' guides, once each, in the members' order
    masked: bool


def build(user: Any, item_id: int) -> Leaflet:
    """The leaflet's content for family `item_id`, masked for the user's role (not logged)."""
    require_personal_access(user)
    item = WorklistItem.objects.for_user(user).filter(pk=item_id).select_related("village")
    item = item.first()
    if item is None:
        raise PermissionDenied(_("No such family in your region scope."))
    viewer = Viewer.of(user)
    full = viewer.full_identifiers
    show = viewer.identifier
    members, pathways = [], []
    for m in WorklistMember.objects.for_user(user).filter(item=item):
        if m.status == WorklistMember.Status.ACTIVE:
            continue
        members.append(
            {
                "name": m.name,
                "nik": show(m.nik) if m.nik else "",
                "status": m.get_status_display(),
                "pathway": m.get_pathway_display() if m.pathway else "",
                "arrears_months": m.arrears_months,
                "arrears_amount": m.arrears_amount,
            }
        )
        if m.pathway and m.pathway not in pathways:
            pathways.append(m.pathway)
    guides = [g for g in (guide(p) for p in pathways) if g is not None]
    return Leaflet(item=item, kk=show(item.kk), members=members, guides=guides, masked=not full)


def render_pdf(user: Any, item_id: int) -> tuple[bytes, str]:
    """The leaflet as PDF and its file name; logged as an export of the family's rows."""
    from weasyprint import HTML

    leaflet = build(user, item_id)
    with translation.override(LANGUAGE):
        html = render_to_string(
            "campaigns/leaflet_pdf.html",
            {
                "l": leaflet,
                "why_active": WHY_ACTIVE,
                "dont_wait": DONT_WAIT,
                "printed": timezone.localtime(),
                "agent": user.get_full_name() or user.get_username(),
            },
        )
    pdf = HTML(string=html, base_url=".").write_pdf()
    log_access(
        user,
        AccessKind.EXPORT,
        f"family leaflet {leaflet.item.pk}",
        rows=len(leaflet.members) + 1,
        region=leaflet.item.village_id,
        full_identifiers=not leaflet.masked,
    )
    return pdf, f"leaflet-{leaflet.item.pk}.pdf"


def whatsapp_text(leaflet: Leaflet) -> str:
    """A short message for the family, without NIK or KK."""
    with translation.override(LANGUAGE):
        names = ", ".join(m["name"] for m in leaflet.members if m["name"]) or _("some members")
        lines = [
            _("Dear family of %(head)s,") % {"head": leaflet.item.head_name or "-"},
            _("not yet covered or not active in JKN: %(names)s.") % {"names": names},
        ]
        for g in leaflet.guides:
            lines.append(f"- {g.title}: {g.where}. {g.cost}")
        lines.append(str(DONT_WAIT))
        return "\n".join(str(line) for line in lines)


def whatsapp_link(leaflet: Leaflet) -> str:
    """A wa.me link that opens WhatsApp with the message filled in (the agent picks the
    contact; nothing is sent by the server)."""
    return "https://wa.me/?text=" + quote(whatsapp_text(leaflet))
