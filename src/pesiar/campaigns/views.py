"""Campaign, agent, flag and leaflet pages (thin: the work is in the modules beside)."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pesiar.accounts.models import Role, User
from pesiar.accounts.scoping import get_scope, require_personal_access
from pesiar.accounts.viewer import viewer_for
from pesiar.campaigns import agents, effect, leaflet, plausibility, report, services
from pesiar.campaigns.models import AgentAssignment, AssignmentStatus, TargetKind
from pesiar.campaigns.pathways import DONT_WAIT, GUIDES, WHY_ACTIVE
from pesiar.regions.models import Level, Region


def _date(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def _fail(request: HttpRequest, exc: Exception) -> None:
    text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    messages.error(request, text)


def _regencies(user: User):
    return Region.objects.filter(level=Level.REGENCY).filter(get_scope(user).q("code"))


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        try:
            campaign = services.create_campaign(
                user,
                name=request.POST.get("name", ""),
                region_code=request.POST.get("region", ""),
                start=_date(request.POST.get("start"), timezone.localdate()),
                end=_date(request.POST.get("end"), timezone.localdate()),
                offices=request.POST.getlist("offices"),
            )
        except (PermissionDenied, ValidationError) as exc:
            _fail(request, exc)
        else:
            return redirect("campaigns:detail", pk=campaign.pk)
    can_create = user.role in services.MANAGING_ROLES
    return render(
        request,
        "campaigns/list.html",
        {
            "campaigns": services.campaigns_for(user),
            "can_create": can_create,
            "regions": _regencies(user) if can_create else [],
            "offices": services.OFFICE_CHOICES,
        },
    )


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = services.get_campaign(request.user, pk)
    query = request.GET.get("q", "")
    return render(
        request,
        "campaigns/detail.html",
        {
            "c": campaign,
            "offices": dict(services.OFFICE_CHOICES),
            "progress": services.progress(campaign),
            "coverage": effect.for_campaign(campaign, measure="coverage"),
            "active": effect.for_campaign(campaign, measure="active"),
            "can_manage": services.can_manage(request.user, campaign.region_id),
            "q": query,
            "found": services.search_villages(campaign, query),
            "kinds": TargetKind.choices,
        },
    )


@login_required
@require_POST
def village_change(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = services.get_campaign(request.user, pk)
    code = request.POST.get("code", "")
    try:
        if request.POST.get("action") == "remove":
            services.remove_focus_village(request.user, campaign, code)
        else:
            try:
                value = Decimal(request.POST.get("value", "").replace(",", "."))
            except InvalidOperation as exc:
                raise ValidationError(_("The target is a number, e.g. 95.")) from exc
            services.add_focus_village(
                request.user, campaign, code, request.POST.get("kind", ""), value
            )
    except (PermissionDenied, ValidationError) as exc:
        _fail(request, exc)
    return redirect("campaigns:detail", pk=campaign.pk)


@login_required
def report_page(request: HttpRequest) -> HttpResponse:
    """The report section of a region on its own (what Monev includes)."""
    code = request.GET.get("region", "")
    as_of = _date(request.GET.get("as_of"), timezone.localdate())
    sections = report.section(request.user, code, as_of)
    return render(request, "campaigns/report.html", {"sections": sections, "code": code})


@login_required
def agent_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.role not in (Role.REGENCY, Role.BRANCH, Role.ADMIN, Role.PROVINCE):
        raise PermissionDenied
    if request.method == "POST":
        try:
            if request.POST.get("action") == "recommend":
                agents.recommend(
                    user,
                    regency_code=request.POST.get("regency", ""),
                    village_codes=request.POST.get("villages", "").replace(",", " ").split(),
                    name=request.POST.get("name", ""),
                    phone=request.POST.get("phone", ""),
                )
                messages.success(request, _("Recommendation recorded."))
            elif request.POST.get("action") == "approve":
                agents.approve(
                    user, int(request.POST["pk"]), username=request.POST.get("username", "")
                )
                messages.success(request, _("Agent approved and assigned."))
            elif request.POST.get("action") == "decline":
                agents.decline(user, int(request.POST["pk"]), note=request.POST.get("note", ""))
                messages.success(request, _("Recommendation declined."))
        except (PermissionDenied, ValidationError, ValueError, KeyError) as exc:
            _fail(request, exc)
        return redirect("campaigns:agents")
    month = request.GET.get("month") or timezone.localdate().strftime("%Y-%m")
    code = request.GET.get("region") or (get_scope(user).codes[0] if get_scope(user).codes else "")
    try:
        figures = agents.monthly_figures(user, code, month)
    except ValidationError as exc:
        _fail(request, exc)
        figures = []
    assignments = (
        AgentAssignment.objects.for_user(user)
        .select_related("regency", "recommended_by", "decided_by", "agent")
        .prefetch_related("villages", "villages__parent")
    )
    return render(
        request,
        "campaigns/agents.html",
        {
            "assignments": assignments,
            "can_recommend": agents.can_recommend(user),
            "can_decide": agents.can_decide(user),
            "regencies": _regencies(user),
            "figures": figures,
            "month": month,
            "code": code,
            "RECOMMENDED": AssignmentStatus.RECOMMENDED,
        },
    )


@login_required
def agent_statement(request: HttpRequest, username: str, month: str) -> HttpResponse:
    require_personal_access(request.user)
    agent = get_object_or_404(User, username=username, role=Role.AGENT)
    try:
        st = agents.statement(request.user, agent, month)
    except ValidationError as exc:
        _fail(request, exc)
        return redirect("campaigns:agents")
    viewer_for(request).log_request(request, rows=len(st.lines))
    return render(request, "campaigns/statement.html", {"st": st})


@login_required
def flags(request: HttpRequest) -> HttpResponse:
    require_personal_access(request.user)
    today = timezone.localdate()
    start = _date(request.GET.get("start"), today.replace(day=1))
    end = _date(request.GET.get("end"), today)
    code = request.GET.get("region", "")
    found = plausibility.flags_for(request.user, code, start, end)
    viewer_for(request).log_request(request, rows=len(found), identifiers=False)
    return render(
        request,
        "campaigns/flags.html",
        {"flags": found, "start": start, "end": end, "code": code},
    )


@login_required
def family(request: HttpRequest, item_id: int) -> HttpResponse:
    """The family's leaflet page: download, the WhatsApp message, the agent's scripts."""
    content = leaflet.build(request.user, item_id)
    viewer_for(request).log_request(
        request,
        rows=len(content.members) + 1,
        region=content.item.village_id,
        identifiers=not content.masked,
    )
    return render(
        request,
        "campaigns/family.html",
        {
            "l": content,
            "wa_link": leaflet.whatsapp_link(content),
            "wa_text": leaflet.whatsapp_text(content),
            "why_active": WHY_ACTIVE,
            "dont_wait": DONT_WAIT,
        },
    )


@login_required
def family_pdf(request: HttpRequest, item_id: int) -> HttpResponse:
    pdf, filename = leaflet.render_pdf(request.user, item_id)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
def scripts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "campaigns/scripts.html",
        {"guides": GUIDES.values(), "why_active": WHY_ACTIVE, "dont_wait": DONT_WAIT},
    )
