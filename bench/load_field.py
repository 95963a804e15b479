"""Field load test: 20 agents posting visits, events and registrations at once (locust,
127.0.0.1), on SQLite or PostgreSQL. Target: no errors.

1. Builds the small demo once in its own folder (`pesiar demo --population 30000 --no-serve`,
   own PESIAR_DATA_DIR and DATABASE_URL), then makes USERS agents, one per village of
   Merangin that has open families, each with an API token (written to agents.json).
2. Serves it without DEBUG the way load_monev.py does (Django's threaded WSGI server in
   forked processes on one socket).
3. Runs locust headless: each agent reads its worklist once, then without pause posts visits
   (one in ten a retry of its previous client_id, which must answer 200), socialisation
   events, and registrations of whole families (PBPU). A second registration of a family
   answers 409 naming the open request: that is the rule, not an error. Anything else that
   is not 2xx, and every 5xx ("database is locked"), is an error. Stops after --run-time s.
4. Prints requests, errors and p50/p95/p99 per operation, and writes bench/out/load_field-DB.json.

Usage: python bench/load_field.py [--users 20] [--run-time 60] [--database sqlite|postgres]
                                  [--work DIR]
PostgreSQL: DATABASE_URL of the run is postgres://pesiar:pesiar@127.0.0.1:5432/pesiar_loadfield
unless --postgres-url says otherwise. This file is also the locustfile.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ("visit", "visit retry", "event", "registration", "worklist")
OK_STATUSES = {200, 201}

if __name__ != "__main__":
    from locust import HttpUser, constant, task

    AGENTS = json.loads(Path(os.environ["FIELD_AGENTS"]).read_text())
    _free = list(range(len(AGENTS)))

    class Agent(HttpUser):
        """An agent whose phone sends what it recorded offline, as fast as the server takes it."""

        wait_time = constant(0)

        def on_start(self) -> None:
            me = AGENTS[_free.pop() if _free else random.randrange(len(AGENTS))]
            self.headers = {"Authorization": f"Bearer {me['token']}"}
            self.village = me["village"]
            items = self.client.get(
                "/api/worklist?limit=200", headers=self.headers, name="worklist"
            ).json()
            self.items = [i for i in items if i["state"] == "OPEN"] or items
            self.families = [i for i in self.items if _uncovered(i)]
            self.last_visit = None

        def _post(self, path: str, body: dict, name: str, ok: set[int]) -> None:
            with self.client.post(
                path, json=body, headers=self.headers, name=name, catch_response=True
            ) as response:
                if response.status_code in ok:
                    response.success()
                else:
                    response.failure(f"{response.status_code}: {response.text[:200]}")

        @task(6)
        def visit(self) -> None:
            if self.last_visit and random.random() < 0.1:
                self._post("/api/visits", self.last_visit, "visit retry", {200})
                return
            item = random.choice(self.items)
            body = {
                "client_id": str(uuid.uuid4()),
                "item_id": item["id"],
                "date": date.today().isoformat(),
                "outcome": random.choice(["WILL_REGISTER", "NOT_FOUND", "NEEDS_PBI"]),
                "note": "kunjungan",
            }
            self.last_visit = body
            self._post("/api/visits", body, "visit", OK_STATUSES)

        @task(2)
        def event(self) -> None:
            body = {
                "client_id": str(uuid.uuid4()),
                "village": self.village,
                "date": date.today().isoformat(),
                "kind": "VILLAGE_MEETING",
                "attendees": random.randint(5, 60),
            }
            self._post("/api/events", body, "event", OK_STATUSES)

        @task(2)
        def registration(self) -> None:
            if not self.families:
                return
            item = random.choice(self.families)
            body = {
                "client_id": str(uuid.uuid4()),
                "kk": item["kk"],
                "niks": _uncovered(item),
                "segment": "PBPU",
                "jkn_class": 3,
                "faskes_code": "10020101",
                "item_id": item["id"],
            }
            # 409: the family is already in an open request, which the answer names
            self._post("/api/registrations", body, "registration", OK_STATUSES | {409})


def _uncovered(item: dict) -> list[str]:
    return [m["nik"] for m in item["members"] if m["status"] == "NOT_REGISTERED" and m["nik"]]


SETUP = """
import json, sys
from pesiar.accounts.models import Scope, User, Role
from pesiar.field.models import ApiToken
from pesiar.field.models import RegistrationRequest
from pesiar.sweep.models import WorklistItem
# a fresh start: the registrations of an earlier run would all answer 409
RegistrationRequest.objects.unscoped(reason="load test set-up").filter(
    agent__username__startswith="load-agent-"
).delete()
villages = list(
    WorklistItem.objects.unscoped(reason="load test set-up")
    .filter(village__pk__startswith="15.02.", state="OPEN")
    .values_list("village_id", flat=True).distinct().order_by("village_id")[:{users}]
)
out = []
for i, village in enumerate(villages):
    user, _ = User.objects.get_or_create(
        username=f"load-agent-{{i}}", defaults={{"role": Role.AGENT}}
    )
    Scope.objects.get_or_create(user=user, region_id=village)
    out.append({{"village": village, "token": ApiToken.issue(user, name="load")[1]}})
open({path!r}, "w").write(json.dumps(out))
print(len(out), "agents")
"""


def serve(port: int, workers: int) -> None:
    """The server as load_monev.py runs it (Django's threaded WSGI server, pre-forked), here
    without importing locust (whose gevent would patch the server's threads), and with every
    500 written to the server log with its traceback."""
    import logging
    import signal

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pesiar.settings")
    import django

    django.setup()
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    logging.getLogger("django.request").addHandler(logging.StreamHandler())
    server = ThreadedWSGIServer(("127.0.0.1", port), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    children = []
    for _ in range(workers - 1):
        pid = os.fork()
        if pid == 0:
            children = []
            break
        children.append(pid)

    def stop(*_args) -> None:
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


def main() -> int:
    if "--serve" in sys.argv:
        at = sys.argv.index("--serve")
        workers = sys.argv[sys.argv.index("--workers") + 1] if "--workers" in sys.argv else "3"
        serve(int(sys.argv[at + 1]), int(workers))
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    import load_monev as common  # the orchestration helpers (build, summarise, ...)

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--run-time", type=int, default=60, help="seconds")
    parser.add_argument("--population", type=int, default=30_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url", default="postgres://pesiar:pesiar@127.0.0.1:5432/pesiar_loadfield"
    )
    parser.add_argument("--workers", type=int, default=3, help="server processes")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench" / "field")
    args = parser.parse_args()

    work = (args.work / args.database).resolve()
    work.mkdir(parents=True, exist_ok=True)
    database = (
        f"sqlite:///{work / 'pesiar.sqlite3'}" if args.database == "sqlite" else args.postgres_url
    )
    env = {
        **os.environ,
        "PESIAR_DATA_DIR": str(work / "data"),
        "DATABASE_URL": database,
        "PESIAR_SSL_REDIRECT": "0",
        "PESIAR_SECURE_COOKIES": "0",
        "PESIAR_HSTS_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DEBUG", None)
    if args.database == "postgres":
        _create_database(args.postgres_url)
    common.build(env, args.population)
    subprocess.run(common.pesiar("migrate", "-v0"), env=env, check=True)
    agents = work / "agents.json"
    subprocess.run(
        common.pesiar("shell", "-c", SETUP.format(users=args.users, path=str(agents))),
        env=env,
        check=True,
    )

    port = common.free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / f"load_field-{args.database}"
    try:
        common.wait_until_up(url)
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).with_name("locust")),
                "-f", __file__, "--headless", "--host", url.rstrip("/"),
                "--users", str(args.users), "--spawn-rate", str(args.users),
                "--run-time", f"{args.run_time}s", "--stop-timeout", "10",
                "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
            ],
            env={**env, "FIELD_AGENTS": str(agents)},
            timeout=args.run_time + 120,
            check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()

    stats = common.summarise(Path(f"{prefix}_stats.csv"))
    errors = stats.get("Aggregated", {}).get("failures", 0)
    result = {
        "database": args.database,
        "users": args.users,
        "run_time_s": round(elapsed, 1),
        "server": f"Django's threaded WSGI server, {args.workers} forked processes, DEBUG off",
        "operations": stats,
    }
    (out_dir / f"load_field-{args.database}.json").write_text(json.dumps(result, indent=2))
    print()
    print(f"Field load test: {args.users} agents without pause, {elapsed:.0f} s, {args.database}")
    header = ("requests", 10), ("errors", 8), ("p50 ms", 9), ("p95 ms", 9), ("p99 ms", 9)
    print(f"{'operation':<14}" + "".join(f"{h:>{w}}" for h, w in header) + f"{'req/s':>8}")
    for name in (*OPERATIONS, "Aggregated"):
        s = stats.get(name)
        if s:
            print(
                f"{name:<14}{s['requests']:>10}{s['failures']:>8}{s['p50_ms']:>9.0f}"
                f"{s['p95_ms']:>9.0f}{s['p99_ms']:>9.0f}{s['rps']:>8.1f}"
            )
    failures = prefix.with_name(prefix.name + "_failures.csv")
    if errors and failures.exists():
        print(failures.read_text()[:2000])
    print("Target: no errors: " + ("met" if errors == 0 else "NOT met"))
    return 0 if errors == 0 else 1


def _create_database(url: str) -> None:
    """Create the run's PostgreSQL database when it does not exist yet."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as con:
        if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            con.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    sys.exit(main())
