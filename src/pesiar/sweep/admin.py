from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.admin import ScopedAdminMixin
from pesiar.regions.models import Level
from pesiar.sweep.models import PriorityWeights
from pesiar.sweep.rules import DEFAULT_WEIGHTS


class PriorityWeightsForm(forms.ModelForm):
    class Meta:
        model = PriorityWeights
        fields = ["regency", "weights"]
        help_texts = {
            "weights": _(
                'Points per flag and pathway, e.g. {"STUNTED": 40, "ELDERLY": 5}. '
                "Keys left out keep the default: %(defaults)s"
            )
            % {"defaults": ", ".join(f"{k} {v}" for k, v in DEFAULT_WEIGHTS.items())},
        }

    def clean_regency(self):
        regency = self.cleaned_data["regency"]
        if regency is not None and regency.level != Level.REGENCY:
            raise forms.ValidationError(_("Choose a regency (kabupaten/kota)."))
        return regency

    def clean_weights(self):
        weights = self.cleaned_data["weights"]
        if not isinstance(weights, dict):
            raise forms.ValidationError(_("Write the weights as a JSON object."))
        unknown = sorted(set(weights) - set(DEFAULT_WEIGHTS))
        if unknown:
            raise forms.ValidationError(
                _("Unknown keys: %(keys)s. Known: %(known)s.")
                % {"keys": ", ".join(unknown), "known": ", ".join(DEFAULT_WEIGHTS)}
            )
        if not all(isinstance(v, int) and v >= 0 for v in weights.values()):
            raise forms.ValidationError(_("Each weight is a whole number, 0 or more."))
        return weights


@admin.register(PriorityWeights)
class PriorityWeightsAdmin(ScopedAdminMixin, admin.ModelAdmin):
    form = PriorityWeightsForm
    list_display = ["__str__", "regency", "weights", "updated_at", "updated_by"]
    autocomplete_fields = ["regency"]

    def save_model(self, request, obj, form, change) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
