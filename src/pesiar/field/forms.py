"""The forms of the agent's pages. Each places its problems beside the field they are about."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pesiar.field.models import EventKind, Outcome, Segment


class IsoDateInput(forms.DateInput):
    """`<input type="date">` takes only an ISO value (2026-12-02), whatever the language."""

    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


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


class EventForm(forms.Form):
    village = forms.ChoiceField(label=gettext_lazy("Village"))
    date = forms.DateField(label=gettext_lazy("Date"), widget=IsoDateInput())
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=EventKind.choices)
    attendees = forms.IntegerField(label=gettext_lazy("Attendees"), min_value=0)
    notes = forms.CharField(
        label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    client_id = forms.CharField(widget=forms.HiddenInput, max_length=100)
