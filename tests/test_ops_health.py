"""/healthz and the JSON request log, in process."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from pesiar.ops import leases
from pesiar.ops.models import WorkerHeartbeat
from pesiar.ops.requestlog import JsonFormatter


@pytest.fixture
def data_dir(data_dir):
    """The shared data folder, made beforehand: the health check reads it."""
    data_dir.mkdir()
    return data_dir


@pytest.mark.django_db
def test_healthz_names_what_fails(client, settings, data_dir):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"].startswith("no worker")
    leases.register_worker("w1")
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert "no-cache" in response.headers["Cache-Control"]

    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(seconds=61))
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["worker"].startswith("stale")
    assert response.json()["database"] == "ok"

    leases.register_worker("w2")  # another worker is alive: healthy again
    assert client.get("/healthz").status_code == 200
    settings.DATA_DIR = data_dir / "gone"
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["data_folder"].startswith("missing")


@pytest.mark.django_db
def test_healthz_is_not_redirected_to_https_but_other_pages_are(client, settings, data_dir):
    settings.SECURE_SSL_REDIRECT = True
    leases.register_worker("w1")
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301


@pytest.mark.django_db
def test_each_request_is_one_json_line_without_the_query_string(client, data_dir):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("pesiar.requests")
    logger.addHandler(handler)
    try:
        response = client.get("/login/?q=1502050101200001", HTTP_X_REQUEST_ID="abc-123")
    finally:
        logger.removeHandler(handler)
    assert response.headers["X-Request-ID"] == "abc-123"
    line = JsonFormatter().format(records[0])
    data = json.loads(line)
    assert data["path"] == "/login/" and data["status"] == 200 and data["method"] == "GET"
    assert data["request_id"] == "abc-123" and data["user"] is None
    assert "1502050101200001" not in line
