"""The ODK page: how to work with ODK Collect and Central (in-page instructions), and the
upload of Central's submissions export (CSV or ZIP), so nobody needs the command line."""

import tempfile
from pathlib import Path

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pesiar.accounts.models import Role
from pesiar.accounts.scoping import require_personal_access
from pesiar.field import services
from pesiar.field.odk_import import import_submissions
from pesiar.regions.models import Region

MAX_EXPORT_BYTES = 50 * 1024 * 1024


class ExportForm(forms.Form):
    export = forms.FileField(
        label=gettext_lazy("Submissions export from ODK Central (CSV or ZIP)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.zip"}),
    )

    def clean_export(self):
        upload = self.cleaned_data["export"]
        if upload.size > MAX_EXPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB: export one form at a time.")
                % {"mb": MAX_EXPORT_BYTES // (1024 * 1024)}
            )
        if not upload.name.lower().endswith((".csv", ".zip")):
            raise forms.ValidationError(_("Choose the .csv or .zip file Central gave you."))
        return upload


@login_required
def odk_page(request: HttpRequest) -> HttpResponse:
    require_personal_access(request.user)
    result = None
    form = ExportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["export"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(upload.name).name
            with path.open("wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            agent = request.user if request.user.role == Role.AGENT else None
            try:
                result = import_submissions(path, default_agent=request.user, only=agent)
            except (services.FieldError, UnicodeDecodeError, ValueError) as exc:
                form.add_error("export", _("%(file)s cannot be read: %(why)s")
                               % {"file": upload.name, "why": exc})  # fmt: skip
    villages = Region.objects.filter(code__in=services.agent_villages(request.user))
    return render(request, "field/odk.html", {"form": form, "result": result, "villages": villages})
