"""Field pages: visits, events, registrations, batch export, API tokens and the ODK form (thin:
the work is in services.py and odk.py)."""

import io
import uuid
import zipfile

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pesiar.accounts.models import AccessKind
from pesiar.accounts.scoping import require_personal_access
from pesiar.accounts.viewer import viewer_for
from pesiar.field import phone, services
from pesiar.field.forms import EventForm, RegistrationForm, VisitForm
from pesiar.field.models import (
    ApiToken,
    Event,
    ExportBatch,
    RegistrationRequest,
)
from pesiar.regions.models import Region


def _item_url(item_id: int) -> str:
    return reverse("sweep:item", args=[item_id])


def _problems(request: HttpRequest, exc: services.FieldError) -> None:
    """The problems as messages, as the viewer may read them; logged, since they can name
    people of the family."""
    viewer = viewer_for(request)
    for problem in viewer.texts(exc.problems):
        messages.error(request, problem)
    if viewer.personal:
        viewer.log_request(request, rows=len(exc.problems))


# --- agent home -------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """An agent's villages and their families to visit, highest priority first."""
    require_personal_access(request.user)
    villages = Region.objects.filter(code__in=services.agent_villages(request.user))
    items = list(services.worklist_families(request.user, state="OPEN")[:200])
    viewer = viewer_for(request)
    viewer.log_request(request, rows=len(items))
    for item in items:
        item.kk_shown = viewer.identifier(item.kk)
        item.url = _item_url(item.pk)
    phone.family_status(request.user, items)
    return render(request, "field/home.html", {"villages": villages, "items": items})


# --- visits -----------------------------------------------------------------------------------


def _form_problems(form: forms.Form, exc: services.FieldError) -> None:
    for problem in exc.problems:
        form.add_error(None, problem)


@login_required
def visit_add(request: HttpRequest, item_id: int) -> HttpResponse:
    try:
        item = services.get_item(request.user, item_id)
    except services.NotFound as exc:
        raise Http404(str(exc)) from exc
    if request.method == "POST":
        form = VisitForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.record_visit(
                    request.user,
                    services.VisitInput(
                        item_id=item.pk,
                        date=data["date"],
                        outcome=data["outcome"],
                        reason=data["reason"],
                        note=data["note"],
                        latitude=data["latitude"],
                        longitude=data["longitude"],
                        client_id=data["client_id"],
                    ),
                )
            except services.FieldError as exc:
                _form_problems(form, exc)
            else:
                messages.success(request, _("Visit recorded."))
                return redirect(_item_url(item.pk))
    else:
        form = VisitForm(initial={"date": timezone.localdate(), "client_id": uuid.uuid4()})
    viewer_for(request).log_request(request, rows=1, identifiers=False)
    return render(
        request,
        "field/visit_form.html",
        {"item": item, "form": form, "back": _item_url(item.pk)},
    )


# --- registrations ----------------------------------------------------------------------------


def member_token(nik: str) -> str:
    """An opaque, stable id for a family member in a form (keyed with the site's secret)."""
    return salted_hmac("pesiar.field.member", nik).hexdigest()[:20]


@login_required
def register_family(request: HttpRequest, item_id: int) -> HttpResponse:
    """Choose the members to register (from the population snapshot), segment, class, faskes.
    Each member's checkbox carries an opaque id (`member_token`), never the NIK."""
    try:
        item = services.get_item(request.user, item_id)
        members = services.family_from_registers(item.kk)
    except services.NotFound as exc:
        raise Http404(str(exc)) from exc
    except services.FieldError as exc:
        _problems(request, exc)
        members = []
    member_problems: list[str] = []
    by_token = {member_token(m["nik"]): m["nik"] for m in members}
    if request.method == "POST":
        picked = request.POST.getlist("member")
        chosen = list(dict.fromkeys(by_token[t] for t in picked if t in by_token))
        submit = request.POST.get("action") != "draft"
        form = RegistrationForm(request.POST, submit=submit)
        if form.is_valid():
            data = form.cleaned_data
            try:
                req, _created = services.register_family(
                    request.user,
                    services.RegistrationInput(
                        kk=item.kk,
                        niks=chosen,
                        segment=data["segment"],
                        jkn_class=data["jkn_class"],
                        faskes_code=data["faskes_code"],
                        item_id=item.pk,
                        submit=submit,
                        note=data["note"],
                        client_id=data["client_id"],
                    ),
                )
            except services.FieldError as exc:
                member_problems = viewer_for(request).texts(exc.problems)
            else:
                messages.success(request, _("Registration saved."))
                return redirect("field:registration", pk=req.pk)
    else:
        pathway = "PBI_APBD" if "PBI_APBD" in item.pathways else "PBPU"
        form = RegistrationForm(
            initial={"segment": pathway, "client_id": uuid.uuid4(), "jkn_class": 3}
        )
        chosen = [m["nik"] for m in members if m["status"] in ("NOT_REGISTERED", "")]
    viewer = viewer_for(request)
    shown = [
        {
            "token": member_token(m["nik"]),
            "name": m["name"],
            "relation": m["relation"],
            "status": m["status"],
            "nik_shown": viewer.identifier(m["nik"]),
            "birth_shown": viewer.birth_text(m["birth_date"]),
            "checked": m["nik"] in chosen,
        }
        for m in members
    ]
    faskes = phone.village_faskes(item.village_id)
    picked_faskes = (form["faskes_pick"].value() or "") if form.is_bound else ""
    viewer.log_request(request, rows=len(members))
    return render(
        request,
        "field/register_form.html",
        {
            "item": item,
            "kk": viewer.identifier(item.kk),
            "members": shown,
            "member_problems": member_problems,
            "faskes": faskes,
            "picked_faskes": picked_faskes,
            "form": form,
            "back": _item_url(item.pk),
        },
    )


@login_required
def registrations(request: HttpRequest) -> HttpResponse:
    require_personal_access(request.user)
    rows = list(
        RegistrationRequest.objects.for_user(request.user).select_related("village", "agent")[:300]
    )
    viewer = viewer_for(request)
    for r in rows:
        r.kk_shown = viewer.identifier(r.kk)
    viewer.log_request(request, rows=len(rows))
    is_officer = services.can_make_batches(request.user)
    batches = list(ExportBatch.objects.for_user(request.user)[:50]) if is_officer else []
    scope = viewer.scope
    codes = (
        list(scope.codes)
        if not scope.national
        else list(Region.objects.filter(level=1).values_list("code", flat=True))
    )
    return render(
        request,
        "field/registrations.html",
        {"rows": rows, "batches": batches, "officer": is_officer, "codes": codes},
    )


@login_required
def registration(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        req = services.get_registration(request.user, pk)
    except services.NotFound as exc:
        raise Http404(str(exc)) from exc
    if request.method == "POST" and request.POST.get("action") == "submit":
        try:
            services.submit_registration(request.user, pk)
            messages.success(request, _("Registration submitted."))
        except services.FieldError as exc:
            _problems(request, exc)
        return redirect("field:registration", pk=pk)
    people = services.registration_people(request.user, req)
    viewer = viewer_for(request)
    for p in people:
        p.nik_shown = viewer.identifier(p.nik)
    viewer.log_request(request, rows=len(people))
    return render(
        request,
        "field/registration.html",
        {
            "req": req,
            "kk": viewer.identifier(req.kk),
            "people": people,
            "item_url": _item_url(req.item_id) if req.item_id else "",
        },
    )


@login_required
@require_POST
def batch_create(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("code", "")
    try:
        batch = services.export_batch(request.user, code)
    except services.FieldError as exc:
        if exc.status == 404:
            raise Http404(str(exc)) from exc
        if exc.status == 403:
            raise PermissionDenied(str(exc)) from exc
        _problems(request, exc)
        return redirect("field:registrations")
    if batch is None:
        messages.info(request, _("No submitted registrations to export."))
    else:
        messages.success(
            request,
            _("Batch %(id)s: %(people)s people.") % {"id": batch.pk, "people": batch.people},
        )
    return redirect("field:registrations")


@login_required
def batch_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    require_personal_access(request.user)
    try:
        path, rows = services.batch_file(request.user, pk, fmt)
    except services.NotFound as exc:
        raise Http404(str(exc)) from exc
    viewer_for(request).log_request(request, rows=rows, kind=AccessKind.EXPORT)
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


# --- events -----------------------------------------------------------------------------------


@login_required
def events(request: HttpRequest) -> HttpResponse:
    require_personal_access(request.user)
    villages = Region.objects.filter(code__in=services.agent_villages(request.user))
    choices = [(v.code, f"{v.name} ({v.code})") for v in villages]
    if request.method == "POST":
        form = EventForm(request.POST)
        form.fields["village"].choices = choices
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.record_event(
                    request.user,
                    services.EventInput(
                        village=data["village"],
                        date=data["date"],
                        kind=data["kind"],
                        attendees=data["attendees"],
                        notes=data["notes"],
                        client_id=data["client_id"],
                    ),
                )
            except services.FieldError as exc:
                _form_problems(form, exc)
            else:
                messages.success(request, _("Event recorded."))
                return redirect("field:events")
    else:
        form = EventForm(initial={"date": timezone.localdate(), "client_id": uuid.uuid4()})
        form.fields["village"].choices = choices
    rows = list(Event.objects.for_user(request.user).select_related("village", "agent")[:200])
    viewer_for(request).log_request(request, rows=len(rows), identifiers=False)
    return render(request, "field/events.html", {"rows": rows, "form": form if choices else None})


# --- API tokens -------------------------------------------------------------------------------


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's own API tokens: make one (the key is shown once), revoke one."""
    key = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            ApiToken.objects.filter(
                user=request.user, pk=request.POST.get("token") or 0, revoked_at__isnull=True
            ).update(revoked_at=timezone.now())
            messages.success(request, _("Token revoked."))
            return redirect("field:tokens")
        _token, key = ApiToken.issue(request.user, name=request.POST.get("name", "")[:100])
    rows = ApiToken.objects.filter(user=request.user)
    return render(request, "field/tokens.html", {"rows": rows, "key": key})


# --- ODK --------------------------------------------------------------------------------------


@login_required
def odk_form(request: HttpRequest, code: str) -> HttpResponse:
    """A zip of form.xlsx and worklist.csv for ODK Collect, for the families inside `code`."""
    from pesiar.field import odk

    require_personal_access(request.user)
    if not Region.objects.filter(code=code).exists() or not services.overlaps_scope(
        request.user, code
    ):
        raise Http404(_("region %(code)s is not in your scope") % {"code": code})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        rows = odk.write_form_files(request.user, code, zf)
    viewer_for(request).log_request(request, rows=rows, kind=AccessKind.EXPORT, region=code)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="pesiar-odk-{code}.zip"'
    return response
