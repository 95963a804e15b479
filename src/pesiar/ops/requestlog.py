"""Structured request logs: one JSON line per request on the `pesiar.requests` logger.

Only the path is logged, never the query string (a search may hold a NIK), and the user by
id. Turned off with PESIAR_REQUEST_LOG=0."""

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("pesiar.requests")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time (UTC), level, logger, message and the
    record's `fields` (given with `extra={"fields": {...}}`)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.enabled = getattr(settings, "PESIAR_REQUEST_LOG", True)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.enabled:
            return self.get_response(request)
        started = time.perf_counter()
        request_id = request.META.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex
        response = self.get_response(request)
        user = getattr(request, "user", None)
        fields = {
            "event": "request",
            "request_id": request_id,
            "method": request.method,
            "path": request.path[:500],
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "user": user.pk if user is not None and user.is_authenticated else None,
            "ip": client_address(request),
        }
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(
            level,
            "%s %s %s",
            request.method,
            fields["path"],
            response.status_code,
            extra={"fields": fields},
        )
        response.headers.setdefault("X-Request-ID", request_id)
        return response
