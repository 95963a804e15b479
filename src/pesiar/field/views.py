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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from pesiar.accounts.audit import log_request
from pesiar.accounts.models import AccessKind
from pesiar.accounts.scoping import (
    can_see_full_identifiers,
    get_scope,
    mask_nik,
    require_personal_access,
)
from pesiar.field import phone, services
from pesiar.field.models import (
    ApiToken,
    Event,
    EventKind,
    ExportBatch,
    Outcome,
    RegistrationRequest,
    Segment,
)
from pesiar.regions.models import Region


class IsoDateInput(forms.DateInput):
    """`<input type="date">` takes only an ISO value (2026-12-02), whatever the language."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _item_url(item_id: int) -> str:
    return reverse("sweep:item", args=[item_id])


def _problems(request: HttpRequest, exc: services.FieldError) -> None:
    for problem in exc.problems:
        messages.error(request, problem)


# --- agent home -------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """An agent's villages and their families to visit, highest priority first."""
    require_personal_access(request.user)
    villages = Region.objects.filter(code__in=services.agent_villages(request.user))
    items = list(services.worklist(request.user, state="OPEN")[:200])
    log_request(request, rows=len(items), full_identifiers=can_see_full_identifiers(request.user))
    show = (lambda v: v) if can_see_full_identifiers(request.user) else mask_nik
    for item in items:
        item.kk_shown = show(item.kk)
        item.url = _item_url(item.pk)
    phone.family_status(request.user, items)
    return render(request, "field/home.html", {"villages": villages, "items": items})


# --- visits -----------------------------------------------------------------------------------


class VisitForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), widget=IsoDateInput())
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[("", gettext_lazy("— choose what the visit found —")), *Outcome.choices],
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for refusal"), required=False, max_length=300
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    latitude = forms.DecimalField(
        label=gettext_lazy("Latitude"), required=False, max_digits=9, decimal_places=6
    )
    longitude = forms.DecimalField(
        label=gettext_lazy("Longitude"), required=False, max_digits=9, decimal_places=6
    )
    client_id = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def clean(self) -> dict:
        """The service's checks, placed beside the field they are about."""
        data = super().clean()
        if data.get("outcome") == Outcome.REFUSED and not (data.get("reason") or "").strip():
            self.add_error("reason", _("a refusal needs the reason the family gave"))
        if data.get("date") and data["date"] > timezone.localdate():
            self.add_error("date", _("the visit date %(date)s is in the future") % data)
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            self.add_error("longitude", _("give both latitude and longitude, or neither"))
        return data


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
    log_request(request, rows=1)
    return render(
        request,
        "field/visit_form.html",
        {"item": item, "form": form, "back": _item_url(item.pk)},
    )


# --- registrations ----------------------------------------------------------------------------


class RegistrationForm(forms.Form):
    segment = forms.ChoiceField(label=gettext_lazy("Segment"), choices=Segment.choices)
    jkn_class = forms.TypedChoiceField(
        label=gettext_lazy("Class"), choices=[(3, "3"), (2, "2"), (1, "1")], coerce=int
    )
    faskes_pick = forms.CharField(required=False, max_length=20)
    faskes_code = forms.CharField(
        label=gettext_lazy("Faskes (FKTP) code"), required=False, max_length=20
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    client_id = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: object, submit: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.submit = submit

    def clean(self) -> dict:
        """The faskes is the one picked from the village's list, or the code typed in."""
        data = super().clean()
        typed = (data.get("faskes_code") or "").strip()
        data["faskes_code"] = typed or (data.get("faskes_pick") or "").strip()
        if self.submit and not data["faskes_code"]:
            self.add_error(
                "faskes_code",
                _("choose the faskes (FKTP code) the family will be registered at"),
            )
        if data.get("segment") == Segment.PBI_APBD and data.get("jkn_class") not in (None, 3):
            self.add_error("jkn_class", _("PBI-APBD participants are in class 3"))
        return data


def _member_choice(member: dict) -> str:
    """The value a member's checkbox carries (and the form sends back)."""
    return member["nik"]


@login_required
def register_family(request: HttpRequest, item_id: int) -> HttpResponse:
    """Choose the members to register (from the population snapshot), segment, class, faskes."""
    try:
        item = services.get_item(request.user, item_id)
        members = services.family_from_registers(item.kk)
    except services.NotFound as exc:
        raise Http404(str(exc)) from exc
    except services.FieldError as exc:
        _problems(request, exc)
        members = []
    member_problems: list[str] = []
    picked = request.POST.getlist("nik")
    chosen = (
        set(picked)
        if request.method == "POST"
        else {_member_choice(m) for m in members if m["status"] in ("NOT_REGISTERED", "")}
    )
    if request.method == "POST":
        submit = request.POST.get("action") != "draft"
        form = RegistrationForm(request.POST, submit=submit)
        if form.is_valid():
            data = form.cleaned_data
            by_choice = {_member_choice(m): m["nik"] for m in members}
            try:
                req, _created = services.register_family(
                    request.user,
                    services.RegistrationInput(
                        kk=item.kk,
                        niks=[by_choice.get(value, value) for value in picked],
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
                member_problems = exc.problems
            else:
                messages.success(request, _("Registration saved."))
                return redirect("field:registration", pk=req.pk)
    else:
        pathway = "PBI_APBD" if "PBI_APBD" in item.pathways else "PBPU"
        form = RegistrationForm(
            initial={"segment": pathway, "client_id": uuid.uuid4(), "jkn_class": 3}
        )
    show = (lambda v: v) if can_see_full_identifiers(request.user) else mask_nik
    for m in members:
        m["nik_shown"] = show(m["nik"])
        m["choice"] = _member_choice(m)
        m["checked"] = m["choice"] in chosen
    faskes = phone.village_faskes(item.village_id)
    picked_faskes = (form["faskes_pick"].value() or "") if form.is_bound else ""
    log_request(request, rows=len(members), full_identifiers=can_see_full_identifiers(request.user))
    return render(
        request,
        "field/register_form.html",
        {
            "item": item,
            "kk": show(item.kk),
            "members": members,
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
    show = (lambda v: v) if can_see_full_identifiers(request.user) else mask_nik
    for r in rows:
        r.kk_shown = show(r.kk)
    log_request(request, rows=len(rows), full_identifiers=can_see_full_identifiers(request.user))
    is_officer = services.can_make_batches(request.user)
    batches = list(ExportBatch.objects.for_user(request.user)[:50]) if is_officer else []
    scope = get_scope(request.user)
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
    show = (lambda v: v) if can_see_full_identifiers(request.user) else mask_nik
    for p in people:
        p.nik_shown = show(p.nik)
    log_request(request, rows=len(people), full_identifiers=can_see_full_identifiers(request.user))
    return render(
        request,
        "field/registration.html",
        {
            "req": req,
            "kk": show(req.kk),
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
    log_request(
        request,
        rows=rows,
        kind=AccessKind.EXPORT,
        full_identifiers=can_see_full_identifiers(request.user),
    )
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


# --- events -----------------------------------------------------------------------------------


class EventForm(forms.Form):
    village = forms.ChoiceField(label=gettext_lazy("Village"))
    date = forms.DateField(label=gettext_lazy("Date"), widget=IsoDateInput())
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=EventKind.choices)
    attendees = forms.IntegerField(label=gettext_lazy("Attendees"), min_value=0)
    notes = forms.CharField(
        label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    client_id = forms.CharField(widget=forms.HiddenInput, max_length=100)


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
    log_request(request, rows=len(rows))
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
    log_request(
        request,
        rows=rows,
        kind=AccessKind.EXPORT,
        region=code,
        full_identifiers=can_see_full_identifiers(request.user),
    )
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="pesiar-odk-{code}.zip"'
    return response
