from django import forms
from django.utils.translation import gettext_lazy as _

from pesiar.registers.limits import MB, max_upload_bytes
from pesiar.registers.profiles import PROFILES
from pesiar.registers.schema import Kind

KIND_LABELS = {
    Kind.POPULATION: _("Population (Dukcapil)"),
    Kind.MEMBERSHIP: _("JKN membership (BPJS Kesehatan)"),
    Kind.WELFARE: _("Welfare list (DTKS/DTSEN)"),
    Kind.STUNTING: _("Stunting (e-PPGBM)"),
    Kind.PREGNANCY: _("Pregnant women"),
    Kind.LAYOFFS: _("Layoffs (PHK)"),
    Kind.WORKERS: _("Formal workers"),
}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Register"), choices=list(KIND_LABELS.items()))
    as_of = forms.DateField(
        label=_("Data as of"),
        widget=forms.DateInput(attrs={"type": "date"}),
        input_formats=["%Y-%m-%d"],
    )
    file = forms.FileField(
        label=_("File (CSV, XLS, XLSX, ODS, JSON or Parquet)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.txt,.tsv,.xls,.xlsx,.xlsm,.ods,.json,.jsonl,.parquet",
            }
        ),
    )
    format_name = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("Detect from the column names"))] + [(p.name, p.label) for p in PROFILES],
    )
    village = forms.CharField(
        label=_("Village, for a file of one village that does not name it (OpenSID)"),
        required=False,
        max_length=13,
        widget=forms.TextInput(
            attrs={"list": "villages", "placeholder": "15.02.05.1002", "autocomplete": "off"}
        ),
    )
    replace = forms.BooleanField(
        label=_("Replace the snapshot of this register and date if there is one"), required=False
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = max_upload_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                _(
                    "%(name)s is %(size)s MB, more than the %(limit)s MB an upload may be "
                    "(PESIAR_MAX_UPLOAD_MB): split the file by region or compress it as XLSX"
                )
                % {"name": upload.name, "size": upload.size // MB, "limit": limit // MB}
            )
        return upload
