"""A small client for ODK Central's published REST API (https://docs.getodk.org/central-api/):
publish the Pesiar form with its attachments, fill an entity list with the families, and
download the submissions export that odk_import reads back.

Only the standard library is used (urllib), so nothing is downloaded at run time and no new
dependency is needed. The calls, as Central documents them:

- POST /v1/sessions {email, password} -> {token}            (then `Authorization: Bearer`)
- POST /v1/projects/{p}/forms?ignoreWarnings=true&publish=false   (XLSForm body) -> new form
  or, for a form that exists, POST /v1/projects/{p}/forms/{id}/draft (XLSForm body)
- POST /v1/projects/{p}/forms/{id}/draft/attachments/{name}       (file body)
- POST /v1/projects/{p}/forms/{id}/draft/publish?version={v}
- GET  /v1/projects/{p}/datasets; POST /v1/projects/{p}/datasets {name}
- POST /v1/projects/{p}/datasets/{name}/entities {entities: [{label, data}], source}
- GET  /v1/projects/{p}/forms/{id}/submissions.csv.zip
"""

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CentralError(RuntimeError):
    """Central answered with an error (its code and message), or could not be reached."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Central:
    """One Central server and project, signed in with a web user's e-mail and password."""

    url: str
    email: str
    password: str
    project: int
    timeout: float = 60.0
    token: str = ""

    def _call(
        self,
        method: str,
        path: str,
        body: bytes | dict | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(
            self.url.rstrip("/") + path, data=data, method=method, headers=dict(headers or {})
        )
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("message", text)
            except ValueError:
                message = text
            raise CentralError(f"{method} {path}: {exc.code} {message}", exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise CentralError(f"cannot reach ODK Central at {self.url}: {exc}") from exc

    def _json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        _status, data = self._call(method, path, body, **kwargs)
        return json.loads(data or b"null")

    def sign_in(self) -> None:
        self.token = ""
        answer = self._json(
            "POST", "/v1/sessions", {"email": self.email, "password": self.password}
        )
        self.token = answer["token"]

    def _form_path(self, form_id: str = "") -> str:
        base = f"/v1/projects/{self.project}/forms"
        return f"{base}/{urllib.parse.quote(form_id)}" if form_id else base

    def publish_form(
        self, form_id: str, xlsx: bytes, attachments: dict[str, bytes], version: str
    ) -> dict[str, Any]:
        """Upload the XLSForm as a new form or a new draft of the existing one, attach the
        files, and publish it as `version`. Returns Central's form record."""
        if not self.token:
            self.sign_in()
        headers = {"X-XlsForm-FormId-Fallback": form_id}
        try:
            self._call(
                "POST",
                self._form_path() + "?ignoreWarnings=true&publish=false",
                xlsx,
                content_type=XLSX,
                headers=headers,
            )
        except CentralError as exc:
            if exc.status != 409:  # 409: the form exists; a new draft replaces its definition
                raise
            self._call(
                "POST",
                self._form_path(form_id) + "/draft?ignoreWarnings=true",
                xlsx,
                content_type=XLSX,
                headers=headers,
            )
        for name, data in attachments.items():
            self._call(
                "POST",
                self._form_path(form_id) + "/draft/attachments/" + urllib.parse.quote(name),
                data,
                content_type="text/csv" if name.endswith(".csv") else "application/octet-stream",
            )
        query = urllib.parse.urlencode({"version": version})
        self._call("POST", self._form_path(form_id) + "/draft/publish?" + query)
        return self._json("GET", self._form_path(form_id))

    def put_entities(self, dataset: str, rows: list[dict[str, Any]]) -> int:
        """Create entity list `dataset` when missing and add one entity per row ({label, ...}
        with the other keys as properties). Returns the number of entities sent."""
        if not self.token:
            self.sign_in()
        base = f"/v1/projects/{self.project}/datasets"
        names = {d["name"] for d in self._json("GET", base)}
        if dataset not in names:
            self._json("POST", base, {"name": dataset})
        if not rows:
            return 0
        entities = [
            {
                "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"pesiar:{dataset}:{row['name']}")),
                "label": str(row.get("label") or row["name"]),
                "data": {k: str(v) for k, v in row.items() if k != "label"},
            }
            for row in rows
        ]
        self._json(
            "POST",
            f"{base}/{urllib.parse.quote(dataset)}/entities",
            {"entities": entities, "source": {"name": "pesiar"}},
        )
        return len(entities)

    def submissions_zip(self, form_id: str) -> bytes:
        """The form's submissions as Central's CSV ZIP export."""
        if not self.token:
            self.sign_in()
        _status, data = self._call("GET", self._form_path(form_id) + "/submissions.csv.zip")
        return data


FAMILIES_DATASET = "pesiar_families"


def publish_worklist(central: Central, user: Any, code: str) -> dict[str, Any]:
    """Publish the Pesiar form for the families inside `code` (as `user` sees them) to
    Central: the XLSForm, worklist.csv and members.csv as attachments, and the families as
    the entity list FAMILIES_DATASET. Returns what was sent."""
    from django.utils import timezone

    from pesiar.field.odk import FORM_ID, form_files, worklist_rows

    files, count = form_files(user, code)
    xlsx = files.pop("form.xlsx")
    version = timezone.now().strftime("%Y%m%d%H%M%S.%f")
    central.publish_form(FORM_ID, xlsx, files, version)
    families, _members = worklist_rows(user, code)
    rows = [
        {"name": f["name"], "label": f["label"], "village": f["village_code"]} for f in families
    ]
    entities = central.put_entities(FAMILIES_DATASET, rows)
    return {"form": FORM_ID, "version": version, "families": count, "entities": entities}
