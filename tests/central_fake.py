"""A fake ODK Central for tests: a local HTTP server that follows the parts of Central's
published REST API (https://docs.getodk.org/central-api/) the Pesiar client uses: sessions,
forms and drafts (XLSForm upload, attachments, publish), datasets and entities, and the
submissions CSV ZIP export. It is a FAKE, written from the documentation: it checks the
methods, paths, headers and bodies Central expects, but it cannot stand in for a test against
a real Central server (docs/field.md says how to run one)."""

import io
import json
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FakeCentral:
    def __init__(self, email: str = "admin@example.org", password: str = "central-pass-1"):
        self.email, self.password, self.token = email, password, "fake-session-token"
        self.forms: dict[str, dict[str, Any]] = {}
        self.datasets: dict[str, list[dict[str, Any]]] = {}
        self.submissions_csv: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, content_type: str = "application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.calls.append((method, self.path))
                status, answer, kind = fake.route(method, self.path, self.headers, body)
                self._send(status, answer, kind)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeCentral":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def error(status: int, code: float, message: str) -> tuple[int, Any, str]:
        return status, {"code": code, "message": message}, "application/json"

    def route(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any, str]:
        ok = "application/json"
        if (method, path) == ("POST", "/v1/sessions"):
            data = json.loads(body or b"{}")
            if (data.get("email"), data.get("password")) != (self.email, self.password):
                return self.error(401, 401.2, "Could not authenticate with the credentials.")
            return 200, {"token": self.token, "expiresAt": "2099-01-01T00:00:00Z"}, ok
        if headers.get("Authorization") != f"Bearer {self.token}":
            return self.error(403, 403.1, "The authenticated actor does not have rights.")
        m = re.fullmatch(r"/v1/projects/1/forms/([^/?]+)/submissions\.csv\.zip", path)
        if m and method == "GET" and m.group(1) in self.forms:
            return 200, self.export(m.group(1)), "application/zip"
        m = re.fullmatch(r"/v1/projects/1/forms(\?.*)?", path)
        if m and method == "POST":
            if headers.get("Content-Type") != XLSX:
                return self.error(400, 400.1, "Unexpected content type.")
            form_id = headers.get("X-XlsForm-FormId-Fallback", "")
            if form_id in self.forms:
                return self.error(409, 409.3, "A form with this id already exists.")
            self.forms[form_id] = {"xmlFormId": form_id, "draft": body, "attachments": {},
                                   "version": None, "state": "open"}  # fmt: skip
            return 200, {"xmlFormId": form_id, "projectId": 1}, ok
        m = re.fullmatch(
            r"/v1/projects/1/forms/([^/?]+)(/draft)?(/attachments/([^/?]+)|/publish)?(\?.*)?", path
        )
        if not m or m.group(1) not in self.forms:
            if re.fullmatch(r"/v1/projects/1/datasets(/.*)?", path):
                return self.datasets_route(method, path, body)
            return self.error(404, 404.1, "Could not find the resource you were looking for.")
        form = self.forms[m.group(1)]
        if method == "GET" and not m.group(2) and not m.group(3):
            return 200, {"xmlFormId": m.group(1), "version": form["version"]}, ok
        if method == "POST" and m.group(2) and not m.group(3):
            form["draft"], form["attachments"] = body, {}
            return 200, {"success": True}, ok
        if method == "POST" and m.group(4):
            form["attachments"][m.group(4)] = body
            return 200, {"success": True}, ok
        if method == "POST" and m.group(3) == "/publish":
            version = re.search(r"version=([^&]+)", m.group(5) or "")
            if version and version.group(1) == form["version"]:
                return self.error(409, 409.6, "The form version already exists.")
            form["version"] = version.group(1) if version else "1"
            form["published"], form["published_attachments"] = form["draft"], form["attachments"]
            return 200, {"success": True}, ok
        return self.error(404, 404.1, "Could not find the resource you were looking for.")

    def datasets_route(self, method: str, path: str, body: bytes) -> tuple[int, Any, str]:
        ok = "application/json"
        if path == "/v1/projects/1/datasets" and method == "GET":
            return 200, [{"name": n, "projectId": 1} for n in self.datasets], ok
        if path == "/v1/projects/1/datasets" and method == "POST":
            name = json.loads(body)["name"]
            if name in self.datasets:
                return self.error(409, 409.3, "A resource already exists with name.")
            self.datasets[name] = []
            return 200, {"name": name, "projectId": 1}, ok
        m = re.fullmatch(r"/v1/projects/1/datasets/([^/]+)/entities", path)
        if m and method == "POST" and m.group(1) in self.datasets:
            data = json.loads(body)
            if "entities" not in data or "source" not in data:
                return self.error(400, 400.2, "Required parameters missing: entities, source.")
            self.datasets[m.group(1)].extend(data["entities"])
            return 200, {"success": True}, ok
        return self.error(404, 404.1, "Could not find the resource you were looking for.")

    def export(self, form_id: str) -> bytes:
        """Central's export: <formId>.csv and a repeat file beside it."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{form_id}.csv", self.submissions_csv.get(form_id, ""))
            archive.writestr(f"{form_id}-extra.csv", "PARENT_KEY,KEY\n")
        return buffer.getvalue()
