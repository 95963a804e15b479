"""`/healthz`: is this instance able to serve and to run imports?

Checks the database (a query), the data folder (exists and is writable) and the task
worker (a heartbeat within the lease). 200 with {"status": "ok", ...} when all pass,
503 otherwise, naming the failing check. No login, no personal data; not redirected to
https, so a local probe or load balancer can call it over http."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from pesiar.ops.conf import worker_settings
from pesiar.ops.leases import last_heartbeat


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_data_folder() -> str:
    folder = Path(settings.DATA_DIR)
    if not folder.is_dir():
        return f"missing: {folder}"
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-"):
        pass
    return "ok"


def check_worker() -> str:
    beat = last_heartbeat()
    if beat is None:
        return "no worker has started (run `pesiar db_worker`)"
    age = (timezone.now() - beat.beat_at).total_seconds()
    if age > worker_settings().lease_seconds:
        return f"stale: last heartbeat {age:.0f} s ago"
    return "ok"


CHECKS = {"database": check_database, "data_folder": check_data_folder, "worker": check_worker}


def run_checks() -> dict[str, str]:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a failing check is the answer, not an error page
            results[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    return results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ok else "fail", **checks}, status=200 if ok else 503)
