"""Pesiar as a service, in real processes on a fresh instance: `pesiar serve` (gunicorn) with
a login, a dashboard, static files, JSON request logs and /healthz; `pesiar db_worker`
killed with SIGKILL in the middle of an import."""

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
PASSWORD = "Rahasia-Jambi-2024"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pesiar(env: dict, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pesiar", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
        **kwargs,
    )


def instance_env(root: Path, **extra: str) -> dict:
    env = {
        **os.environ,
        "PESIAR_DATA_DIR": str(root / "data"),
        "DATABASE_URL": f"sqlite:///{root / 'pesiar.sqlite3'}",
        "SECRET_KEY": "test-" + "k" * 50,
        "PESIAR_SSL_REDIRECT": "0",  # plain http on 127.0.0.1 in the test
        "PESIAR_SECURE_COOKIES": "0",
        "PESIAR_WORKER_HEARTBEAT": "0.5",
        "PESIAR_JOB_LEASE": "3",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    env.pop("DEBUG", None)
    return env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A migrated SQLite database with Jambi's regions and one regency officer, copied per test."""
    root = tmp_path_factory.mktemp("template")
    env = instance_env(root)
    pesiar(env, "migrate", "--verbosity", "0")
    pesiar(env, "regions", "load", "--within", "15")
    pesiar(
        {**env, "PESIAR_PASSWORD": PASSWORD}, "createuser", "dinkes", "--role", "regency",
        "--office", "dinkes", "--scope", "15.02",
    )  # fmt: skip
    return root / "pesiar.sqlite3"


@pytest.fixture
def instance(migrated, tmp_path) -> Path:
    shutil.copy(migrated, tmp_path / "pesiar.sqlite3")
    (tmp_path / "data").mkdir()
    return tmp_path


def start(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pesiar", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.stdout.read()


def get(opener, url: str) -> tuple[int, str]:
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_serve_logs_in_shows_a_dashboard_and_reports_its_health(instance, tmp_path):
    env = instance_env(instance)
    # A database behind the code: serve refuses, naming the way out.
    (tmp_path / "fresh").mkdir()
    fresh = pesiar(instance_env(tmp_path / "fresh"), "serve", "--bind", "127.0.0.1:1", check=False)
    assert fresh.returncode != 0 and "pesiar migrate" in fresh.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    server = start(env, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2")
    worker = None
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        status, login_page = wait_for(
            lambda: _try(opener, base + "login/"), 90, "the server to answer"
        )
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        form = urllib.parse.urlencode(
            {"username": "dinkes", "password": PASSWORD, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(base + "login/", data=form, headers={"Referer": base})
        with opener.open(request, timeout=20) as response:
            dashboard = response.read().decode()
            assert "/monev/r/15.02/" in response.url  # landed on Merangin's dashboard
        assert "Merangin" in dashboard and "dinkes" in dashboard
        status, css = get(opener, base + "static/pesiar/pesiar.css")  # WhiteNoise
        assert status == 200 and "{" in css

        # No worker yet: unhealthy, and says why.
        status, body = get(opener, base + "healthz")
        health = json.loads(body)
        assert status == 503 and health["database"] == "ok" and health["data_folder"] == "ok"
        assert "db_worker" in health["worker"]

        worker = start(env, "db_worker", "--no-startup-delay")
        status, body = wait_for(
            lambda: (r := get(opener, base + "healthz"))[0] == 200 and r, 60, "a healthy worker"
        )
        assert json.loads(body) == {
            "status": "ok", "database": "ok", "data_folder": "ok", "worker": "ok"
        }  # fmt: skip

        worker.kill()  # SIGKILL: no goodbye, the heartbeat just goes stale (lease 3 s)
        worker.wait()
        status, body = wait_for(
            lambda: (r := get(opener, base + "healthz"))[0] == 503 and r, 30, "a stale heartbeat"
        )
        assert json.loads(body)["worker"].startswith("stale")
    finally:
        log = stop(server)
        if worker is not None:
            stop(worker)
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [r for r in records if r.get("event") == "request"]
    logged_in = [r for r in requests if r["path"] == "/monev/r/15.02/" and r["status"] == 200]
    assert logged_in and logged_in[0]["user"] is not None and logged_in[0]["ms"] > 0
    assert {"time", "method", "status", "request_id", "ip"} <= set(logged_in[0])
    assert any(r["path"] == "/healthz" and r["status"] == 503 for r in requests)


def _try(opener, url):
    try:
        return get(opener, url)
    except OSError:
        return None


def welfare_file(path: Path, rows: int) -> None:
    with path.open("w") as fh:
        fh.write("nik;kk;decile;village_code\n")
        for i in range(rows):
            fh.write(f"150205410790{i % 10000:04d};15020501011{i % 100000:05d};3;15.02.05.1002\n")


def db_rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database, timeout=30) as con:
        return con.execute(sql).fetchall()


def test_a_worker_killed_mid_import_leaves_no_job_running_after_the_lease(instance):
    env = instance_env(instance)
    database = instance / "pesiar.sqlite3"
    upload = instance / "data" / "uploads" / "f00d"
    upload.mkdir(parents=True)
    welfare_file(upload / "dtks.csv", 1_500_000)
    pesiar(
        env, "shell", "-c",
        "from datetime import date\n"
        "from pesiar.registers.models import ImportJob\n"
        "from pesiar.registers.tasks import run_import_job\n"
        "job = ImportJob.objects.create(kind='welfare', as_of=date(2024, 6, 1),"
        " upload='uploads/f00d/dtks.csv', source_name='dtks.csv')\n"
        "run_import_job.enqueue(job.pk)\n",
    )  # fmt: skip
    worker = start(env, "db_worker", "--no-startup-delay", "--interval", "0.2")
    try:
        wait_for(
            lambda: db_rows(database, "SELECT status FROM registers_importjob") == [("RUNNING",)],
            60,
            "the import to start",
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    finally:
        stop(worker)
    # Nobody finishes it: it stays RUNNING until a worker notices the expired lease.
    time.sleep(1)
    assert db_rows(database, "SELECT status FROM registers_importjob") == [("RUNNING",)]
    assert db_rows(database, "SELECT status FROM django_tasks_database_dbtaskresult") == [
        ("RUNNING",)
    ]

    # The worker's supervisor starts a new one; within the lease (3 s) the job is FAILED.
    started = time.monotonic()
    again = start(env, "db_worker", "--no-startup-delay", "--interval", "0.2")
    try:
        status, message = wait_for(
            lambda: (
                (r := db_rows(database, "SELECT status, message FROM registers_importjob")[0])[0]
                != "RUNNING"
                and r
            ),
            60,
            "the job to be recovered",
        )
        assert time.monotonic() - started < 30
    finally:
        stop(again)
    assert status == "FAILED" and message
    assert db_rows(
        database, "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status='RUNNING'"
    ) == [(0,)]
    assert not upload.exists()  # the upload of the failed job is removed
    assert not (instance / "data" / "registers" / "welfare").exists()  # nothing half-written


def test_sigterm_lets_the_worker_finish_its_import_then_stop(instance):
    env = instance_env(instance)
    database = instance / "pesiar.sqlite3"
    upload = instance / "data" / "uploads" / "beef"
    upload.mkdir(parents=True)
    welfare_file(upload / "dtks.csv", 300_000)
    pesiar(
        env, "shell", "-c",
        "from datetime import date\n"
        "from pesiar.registers.models import ImportJob\n"
        "from pesiar.registers.tasks import run_import_job\n"
        "job = ImportJob.objects.create(kind='welfare', as_of=date(2024, 6, 1),"
        " upload='uploads/beef/dtks.csv', source_name='dtks.csv')\n"
        "run_import_job.enqueue(job.pk)\n",
    )  # fmt: skip
    worker = start(env, "db_worker", "--no-startup-delay", "--interval", "0.2")
    try:
        wait_for(
            lambda: db_rows(database, "SELECT status FROM registers_importjob") == [("RUNNING",)],
            60,
            "the import to start",
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=240) == 0
    finally:
        log = stop(worker)
    assert "shutting down gracefully" in log
    assert db_rows(database, "SELECT status FROM registers_importjob") == [("DONE",)]
    assert db_rows(database, "SELECT count(*) FROM ops_workerheartbeat") == [(0,)]
    assert not upload.exists()
