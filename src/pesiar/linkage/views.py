"""The review queue: pairs the probabilistic stage was unsure of, decided by staff."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from pesiar.accounts.models import Role
from pesiar.accounts.scoping import get_scope
from pesiar.accounts.viewer import viewer_for
from pesiar.linkage import rates
from pesiar.linkage.models import LinkRun, ReviewDecision, ReviewItem

FIELDS = (
    ("nik", "NIK"),
    ("name", _("Name")),
    ("sex", _("Sex")),
    ("birth_date", _("Birth date")),
    ("kk", _("Family card (KK)")),
    ("village_code", _("Village")),
)
# Officers who decide whether two records are one person (not agents, not viewers).
REVIEW_ROLES = frozenset({Role.ADMIN, Role.PROVINCE, Role.REGENCY, Role.BRANCH})


def require_reviewer(user) -> None:
    if getattr(user, "role", None) not in REVIEW_ROLES:
        raise PermissionDenied("only Pemda and BPJS officers review linkage pairs")


def pending(user):
    """Review items of the user's villages that nobody has decided yet."""
    decided = ReviewDecision.objects.for_user(user).values_list("noka", flat=True)
    return ReviewItem.objects.for_user(user).exclude(noka__in=list(decided))


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    require_reviewer(request.user)
    items = list(pending(request.user).select_related("run")[:200])
    viewer_for(request).log_request(request, rows=len(items), identifiers=False)
    return render(request, "linkage/review_list.html", {"items": items})


@login_required
@require_http_methods(["GET", "POST"])
def review_item(request: HttpRequest, pk: int) -> HttpResponse:
    require_reviewer(request.user)
    item = get_object_or_404(ReviewItem.objects.for_user(request.user), pk=pk)
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in ReviewDecision.Decision.values:
            return HttpResponse(status=400)
        # one decision per pair, wherever it was decided before (a participant registered in
        # another village makes the same pair appear in two scopes): the item is in scope
        ReviewDecision.objects.unscoped(
            reason="one decision per pair; the item decided is in the user's scope"
        ).update_or_create(
            resident_nik=item.resident_nik,
            noka=item.noka,
            defaults={
                "village_code": item.village_code,
                "decision": decision,
                "decided_by": request.user,
            },
        )
        following = pending(request.user).exclude(pk=item.pk).first()
        if following is not None:
            return redirect("linkage:review_item", pk=following.pk)
        return redirect("linkage:review")
    earlier = (
        ReviewDecision.objects.for_user(request.user)
        .filter(resident_nik=item.resident_nik, noka=item.noka)
        .select_related("decided_by")
        .first()
    )
    viewer = viewer_for(request)
    viewer.log_request(request, rows=1)
    resident, participant = viewer.record(item.resident), viewer.record(item.participant)
    return render(
        request,
        "linkage/review_item.html",
        {
            "item": item,
            "rows": [(label, resident.get(k), participant.get(k)) for k, label in FIELDS],
            "earlier": earlier,
            "decisions": ReviewDecision.Decision.choices,
        },
    )


# What the run page calls each training path (the run stores the English key).
TRAINING_PATHS = {
    "trained": _("trained on this data"),
    "partly fixed": _("trained; levels the data could not estimate taken from the fallback"),
    "reused": _("the model of an earlier run on the same regions, reused"),
    "last model": _("too little data to train: the last trained model of these regions"),
    "priors": _("too little data to train: the documented default model"),
    "nothing to link": _("nothing left for the probabilistic stage"),
}
SEX_LABELS = {"L": _("Men"), "P": _("Women")}


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    require_reviewer(request.user)
    runs = list(LinkRun.objects.select_related("population", "membership")[:30])
    viewer_for(request).log_request(request, rows=len(runs), identifiers=False)
    return render(request, "linkage/run_list.html", {"runs": runs})


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One run for officers: status (and the reason of a failure), what each stage
    did, and the linkage rates of the user's regions."""
    require_reviewer(request.user)
    run = get_object_or_404(LinkRun, pk=pk)
    scope = get_scope(request.user)

    def regency_inside(code: str) -> bool:
        return scope.contains(code) or any(c.startswith(code + ".") for c in scope.codes)

    table = rates.table(run.parameters.get("linkage_rates"), scope.contains, regency_inside)
    bands = [
        (SEX_LABELS[sex], [r for r in table["bands"] if r["sex"] == sex]) for sex in rates.SEXES
    ]
    training = run.parameters.get("training") or {}
    viewer_for(request).log_request(request, rows=len(table["villages"]), identifiers=False)
    return render(
        request,
        "linkage/run_detail.html",
        {
            "run": run,
            "counts": run.counts,
            "training": TRAINING_PATHS.get(training.get("path"), training.get("path")),
            "training_notes": training.get("notes", []),
            "fixed_levels": training.get("fixed_levels", []),
            "rates": table,
            "bands": bands,
            "age_bands": rates.BANDS,
            "villages": table["villages"][:50],
        },
    )
