"""Monev load test: dashboard and ranking pages under 20 concurrent users (locust, 127.0.0.1).

1. Builds the 1M-resident demo once in its own folder (`pesiar demo --population 1000000
   --no-serve` with its own PESIAR_DATA_DIR and DATABASE_URL), or reuses it.
2. Serves it without DEBUG, either with `--server prefork` (default: Django's threaded WSGI
   server in WORKERS forked processes sharing one listening socket, the way gunicorn runs;
   no extra package) or `--server runserver` (`pesiar runserver 127.0.0.1:PORT --noreload`,
   one process). No reverse proxy, so https redirect and secure cookies are off for this run.
3. Runs locust headless on 127.0.0.1: USERS users log in (demo accounts; two a second, and
   the statistics restart once all are in), then open dashboards (nation, province, regency,
   district, village; each followed by its worklist/budget/agent sections, as the browser
   fetches them) and ranking pages (sorted, filtered, paged), reading each page for
   --think seconds. The run stops by itself after --run-time seconds (plus the ten of the
   logins) or --max-requests requests, whichever comes first; the server is stopped too.
4. Prints p50/p95/p99 per page type, requests, errors, and writes bench/out/load_monev.json.

Usage: python bench/load_monev.py [--users 20] [--run-time 60] [--max-requests 20000]
                                  [--population 1000000] [--work DIR]
This file is also the locustfile (locust imports it; the classes below exist only then).
"""

import argparse
import csv
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 300
PAGE_TYPES = ("dashboard", "ranking")


# --- the locust users (only when locust imports this file) ------------------------------------

if __name__ != "__main__":
    from locust import HttpUser, between, events, task

    ACCOUNTS = [
        ("admin", ["/monev/", "/monev/r/15/"]),
        ("jambi", ["/monev/r/15/"]),
        ("merangin", ["/monev/r/15.02/"]),
        ("bpjs-bangko", ["/monev/"]),
    ]
    MAX_REQUESTS = int(os.environ.get("MONEV_MAX_REQUESTS", "20000"))
    SECTIONS = os.environ.get("MONEV_SECTIONS", "1") == "1"
    THINK_SECONDS = tuple(float(x) for x in os.environ.get("MONEV_THINK", "1,3").split(","))
    counter = {"requests": 0}

    @events.request.add_listener
    def _count(**_kwargs) -> None:
        counter["requests"] += 1
        if counter["requests"] >= MAX_REQUESTS and _runner is not None:
            _runner.quit()

    _runner = None

    @events.init.add_listener
    def _init(environment, **_kwargs) -> None:
        global _runner
        _runner = environment.runner

    class MonevUser(HttpUser):
        """An official in the Monev meeting: dashboards down the tree, and the rankings,
        reading each page for THINK_SECONDS (a person, not a script)."""

        wait_time = between(*THINK_SECONDS)

        def on_start(self) -> None:
            self.username, self.tops = random.choice(ACCOUNTS)
            page = self.client.get("/login/", name="login")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            self.client.post(
                "/login/",
                {
                    "username": self.username,
                    "password": "pesiar-demo",
                    "csrfmiddlewaretoken": token,
                },
                headers={"Referer": self.host + "/login/"},
                name="login",
            )
            self.links: list[str] = list(self.tops)

        def _follow(self, url: str) -> None:
            response = self.client.get(url, name="dashboard")
            more = re.search(r'data-src="([^"]+)"', response.text)
            if more and SECTIONS:  # what the browser then fetches: worklist, budget, agents
                self.client.get(more.group(1).replace("&amp;", "&"), name="sections")
            found = re.findall(r'href="(/monev/r/[\d.]+/)"', response.text)
            if found:  # drill down next time, or start again from the top
                self.links = found if len(url) < 20 else list(self.tops)

        @task(3)
        def dashboard(self) -> None:
            self._follow(random.choice(self.links))

        @task(2)
        def ranking(self) -> None:
            sort = random.choice(["rank", "active", "coverage", "name", "population"])
            level = random.choice(["village", "village", "district", "regency"])
            params = f"?level={level}&sort={sort}&dir={random.choice(['asc', 'desc'])}"
            if random.random() < 0.3:
                params += "&within=15.02"
            params += f"&page={random.randint(1, 20)}"
            self.client.get("/monev/ranking/" + params, name="ranking")


# --- the server ---------------------------------------------------------------------------------


def serve(port: int, workers: int) -> None:
    """Django's threaded WSGI server in `workers` processes on one socket (pre-fork)."""
    import signal

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pesiar.settings")
    import django

    django.setup()
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

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


# --- the orchestration --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pesiar(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("pesiar")), *args]


def build(env: dict, population: int) -> None:
    marker = Path(env["PESIAR_DATA_DIR"]).parent / f"demo-{population}.done"
    if marker.exists():
        print(f"Reusing the {population:,}-resident demo in {marker.parent}")
        return
    print(f"Building the {population:,}-resident demo in {marker.parent} (a few minutes) ...")
    started = time.perf_counter()
    subprocess.run(
        pesiar("demo", "--population", str(population), "--no-serve"),
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    marker.write_text(f"{time.perf_counter() - started:.0f} s\n")


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "login/", timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def summarise(stats_csv: Path) -> dict:
    out = {}
    with stats_csv.open() as fh:
        for row in csv.DictReader(fh):
            out[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "max_ms": float(row["Max Response Time"]),
                "rps": float(row["Requests/s"]),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--run-time", type=int, default=60, help="seconds")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument(
        "--think", default="1,3", help="seconds a user reads a page: MIN,MAX (0,0: none)"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench" / "monev")
    parser.add_argument(
        "--no-sections",
        action="store_true",
        help="do not fetch the worklist/budget/agent sections after each dashboard",
    )
    parser.add_argument("--server", choices=["prefork", "runserver"], default="prefork")
    parser.add_argument("--workers", type=int, default=3, help="processes (prefork)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: run the server
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.workers)
        return 0

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PESIAR_DATA_DIR": str(work / "data"),
        "DATABASE_URL": f"sqlite:///{work / 'pesiar.sqlite3'}",
        "PESIAR_SSL_REDIRECT": "0",
        "PESIAR_SECURE_COOKIES": "0",
        "PESIAR_HSTS_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DEBUG", None)
    build(env, args.population)
    subprocess.run(pesiar("migrate", "-v0"), env=env, check=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (work / "server.log").open("w")
    if args.server == "runserver":
        command = pesiar("runserver", f"127.0.0.1:{port}", "--noreload")
        described = "pesiar runserver --noreload (threaded, one process)"
    else:
        command = [sys.executable, __file__, "--serve", str(port), "--workers", str(args.workers)]
        described = f"Django's threaded WSGI server, {args.workers} forked processes"
    server = subprocess.Popen(
        command,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / "load_monev"
    try:
        wait_until_up(url)
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).with_name("locust")),
                "-f",
                __file__,
                "--headless",
                "--host",
                url.rstrip("/"),
                "--users",
                str(args.users),
                "--spawn-rate",
                str(max(1, args.users // 10)),  # ten seconds of logins (Argon2 is slow) ...
                "--reset-stats",  # ... not counted: the figures start with every user in
                "--run-time",
                f"{args.run_time + 10}s",
                "--stop-timeout",
                "10",
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env={
                **env,
                "MONEV_MAX_REQUESTS": str(args.max_requests),
                "MONEV_THINK": args.think,
                "MONEV_SECTIONS": "0" if args.no_sections else "1",
            },
            timeout=args.run_time + 120,
            check=False,
        )
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()

    stats = summarise(Path(f"{prefix}_stats.csv"))
    result = {
        "population": args.population,
        "users": args.users,
        "run_time_s": round(elapsed, 1),
        "think_seconds": args.think,
        "sections": not args.no_sections,
        "server": f"{described}, DEBUG off, SQLite",
        "pages": stats,
    }
    (out_dir / "load_monev.json").write_text(json.dumps(result, indent=2))
    print()
    print(
        f"Monev load test: {args.population:,} residents, {args.users} users "
        f"(think time {args.think} s), {elapsed:.0f} s; {described}"
    )
    header = ("requests", 10), ("errors", 8), ("p50 ms", 9), ("p95 ms", 9), ("p99 ms", 9)
    print(f"{'page':<12}" + "".join(f"{h:>{w}}" for h, w in header) + f"{'req/s':>8}")
    ok = True
    for name in (*PAGE_TYPES, "sections", "login", "Aggregated"):
        s = stats.get(name)
        if not s:
            continue
        print(
            f"{name:<12}{s['requests']:>10}{s['failures']:>8}{s['p50_ms']:>9.0f}"
            f"{s['p95_ms']:>9.0f}{s['p99_ms']:>9.0f}{s['rps']:>8.1f}"
        )
        if name in PAGE_TYPES:
            ok &= s["p95_ms"] < TARGET_P95_MS and s["failures"] == 0 and s["requests"] > 0
    total_failures = stats.get("Aggregated", {}).get("failures", 0)  # sections and logins too
    ok &= total_failures == 0
    print(
        f"Target: p95 under {TARGET_P95_MS} ms for {', '.join(PAGE_TYPES)}, no errors: "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
