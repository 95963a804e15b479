"""The churn radar's losses on the worklists: each resident who lost active cover since the
previous map gets the pathway that brings them back and, where one applies, its deadline;
their member row on the family worklist is flagged LOST_RECENTLY."""

from datetime import timedelta

from pesiar.coverage.churn import LOSSES
from pesiar.coverage.models import Change
from pesiar.sweep.models import Flag, Pathway, SweepRun, WorklistMember

# cause -> (pathway when the family is not on the lists, days to the deadline or None)
RECOVERY = {
    # deactivated PBI participants can be reactivated through Dinsos within six months
    Change.Cause.PBI_DEACTIVATED: (Pathway.PBI_APBD, 180),
    # arrears: the REHAB installment plan (no deadline; the debt grows each month)
    Change.Cause.ARREARS: (Pathway.REHAB, None),
    # layoff cover runs six months after the layoff: continue as PBPU before it ends
    Change.Cause.EMPLOYMENT_ENDED: (Pathway.PHK_CONTINUATION, 30),
    Change.Cause.OTHER_LOSS: (Pathway.PBPU, None),
    Change.Cause.DEREGISTERED: (Pathway.DATA_CORRECTION, None),
}


def feed_losses(sweep: SweepRun) -> int:
    """Set pathway and deadline on the losses of the sweep's map date (the worklist member's
    own pathway where the family is listed) and flag those members; returns how many."""
    as_of = sweep.link_run.as_of
    losses = list(
        Change.objects.unscoped(reason="the sweep feeds the losses to the worklists").filter(
            as_of=as_of, cause__in=LOSSES
        )
    )
    if not losses:
        return 0
    members = {
        m.nik: m
        for m in WorklistMember.objects.unscoped(reason="flagging recent losses").filter(
            nik__in=[c.nik for c in losses], item__sweep=sweep
        )
    }
    flagged = []
    for change in losses:
        pathway, days = RECOVERY[change.cause]
        member = members.get(change.nik)
        if member is not None and member.pathway:
            pathway = member.pathway
        change.pathway = str(pathway)
        change.deadline = as_of + timedelta(days=days) if days else None
        if member is not None and Flag.LOST_RECENTLY not in member.flags:
            member.flags = [*member.flags, str(Flag.LOST_RECENTLY)]
            flagged.append(member)
    Change.objects.unscoped(reason="the sweep feeds the losses to the worklists").bulk_update(
        losses, ["pathway", "deadline"], batch_size=2000
    )
    WorklistMember.objects.unscoped(reason="flagging recent losses").bulk_update(
        flagged, ["flags"], batch_size=2000
    )
    return len(losses)
