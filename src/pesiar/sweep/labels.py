"""Words for the codes the sweep's pages show (pathways, member status, membership segments,
visit outcomes). Apps above the sweep add their own codes with `add_labels` from their
AppConfig.ready (the field app adds the visit outcomes), so no page shows a raw code."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from pesiar.sweep.models import Flag, Pathway, WorklistMember

LABELS: dict[str, dict[str, Any]] = {
    "pathway": dict(Pathway.choices),
    "flag": dict(Flag.choices),
    "member_status": dict(WorklistMember.Status.choices),
    "segment": {
        "PBPU": _("PBPU (self-paying)"),
        "PBI_APBN": _("PBI-APBN (paid by the state)"),
        "PBI_APBD": _("PBI-APBD (paid by the Pemda)"),
        "PBI": _("PBI (paid by the state)"),
        "PPU": _("PPU (wage earner)"),
        "BP": _("BP (non-worker)"),
    },
    "outcome": {},
}


def add_labels(kind: str, choices: Any) -> None:
    """Add the words for codes of `kind` ('outcome', ...) from a Django `choices` list."""
    LABELS.setdefault(kind, {}).update(dict(choices))


def label(kind: str, code: Any) -> str:
    """The words for `code`, or the code made readable ('SOME_CODE' -> 'some code')."""
    if code in (None, ""):
        return ""
    words = LABELS.get(kind, {}).get(code)
    return str(words) if words is not None else str(code).replace("_", " ").lower()
