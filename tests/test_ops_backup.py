"""`pesiar backup` and `pesiar restore`: a real instance (the demo set-up on the 30,000-resident
scenario) backed up, restored into an empty one, and giving the same indicators, on the
database the suite runs on (`make test` runs once on SQLite and, in CI, once on PostgreSQL:
each run checks its own engine); damaged backups and non-empty targets refused before anything
is written."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
PG = os.environ.get("PESIAR_TEST_PG", "postgres://pesiar:pesiar@127.0.0.1:5432/postgres")
# The engine of the suite's own database, unless PESIAR_TEST_BACKUP_ENGINES names others.
SUITE_ENGINE = (
    "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
)
ENGINES = (os.environ.get("PESIAR_TEST_BACKUP_ENGINES") or SUITE_ENGINE).split(",")
SNAPSHOT_CHECK = """
import json, duckdb
from pesiar.registers.models import Snapshot
rows = [
    (s.kind, s.accepted, duckdb.execute("SELECT count(*) FROM read_parquet(?)",
                                        [str(s.data_file)]).fetchone()[0])
    for s in Snapshot.objects.all()
]
print("SNAPSHOTS=" + json.dumps(sorted(rows)))
"""


def pesiar(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "pesiar", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"pesiar {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def instance_env(root: Path, database_url: str) -> dict:
    env = {
        **os.environ,
        "PESIAR_DATA_DIR": str(root / "data"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-" + "k" * 50,
    }
    env.pop("DEBUG", None)
    return env


def pg_databases():
    """Two new PostgreSQL databases (dropped afterwards), or a skip naming the reason."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {PG} ({exc})")
    names = [f"pesiar_production_bk_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG.rsplit("/", 1)[0]
    return admin, names, [f"{base}/{name}" for name in names]


def drop_database(admin, name: str) -> None:
    """Drop a test database. A plain DROP stops an autovacuum worker still in it, which
    WITH (FORCE) may not do without superuser rights; the children have exited already."""
    import psycopg

    for _ in range(5):
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(1)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def indicators(env: dict, level: str) -> list[dict]:
    out = pesiar(env, "indicators", "--as-of", "2024-06-01", "--level", level, "--format", "json")
    return json.loads(out.stdout)


@pytest.mark.parametrize("database", ENGINES)
def test_a_restored_instance_gives_the_same_indicators(scenario, tmp_path, database):
    admin = None
    if database == "sqlite":
        urls = [f"sqlite:///{tmp_path / name / 'pesiar.sqlite3'}" for name in ("a", "b")]
    else:
        admin, names, urls = pg_databases()
    try:
        source = instance_env(tmp_path / "a", urls[0])
        demo_dir = tmp_path / "a" / "data" / "demo" / "jambi-30000-4"
        shutil.copytree(scenario.out_dir, demo_dir)  # the demo reuses it
        pesiar(
            source, "demo", "--no-serve", "--population", "30000", "--seed", "4",
            "--oku-population", "0",
        )  # fmt: skip
        before = {level: indicators(source, level) for level in ("regency", "village")}
        assert len(before["regency"]) == 11 and len(before["village"]) > 1000

        out = tmp_path / "backup"
        pesiar(source, "backup", str(out))
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["engine"] == database and manifest["migrations"]["ops"]
        assert any(name.endswith("accepted.parquet") for name in manifest["files"])
        assert not any(name.startswith(("data/demo/", "data/uploads/")) for name in manifest)
        assert (out / "manifest.json").stat().st_mode & 0o077 == 0  # personal data: 0600

        target = instance_env(tmp_path / "b", urls[1])
        (tmp_path / "b").mkdir(exist_ok=True)
        restored = pesiar(target, "restore", str(out))
        assert "restored" in restored.stdout and "migrate" not in restored.stdout
        after = {level: indicators(target, level) for level in ("regency", "village")}
        assert after == before
        shown = pesiar(target, "shell", "-c", SNAPSHOT_CHECK).stdout
        snapshots = json.loads(re.search(r"^SNAPSHOTS=(.*)$", shown, re.M).group(1))
        assert len(snapshots) >= 7 and all(accepted == rows for _, accepted, rows in snapshots)

        # A second restore onto the now full instance is refused.
        again = pesiar(target, "restore", str(out), check=False)
        assert again.returncode != 0 and "empty" in again.stderr
    finally:
        if admin is not None:
            for name in names:
                drop_database(admin, name)
            admin.close()


def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "a").mkdir()
    source = instance_env(tmp_path / "a", f"sqlite:///{tmp_path / 'a' / 'pesiar.sqlite3'}")
    pesiar(source, "migrate", "--verbosity", "0")
    snapshot = tmp_path / "a" / "data" / "registers" / "welfare" / "2024-06-01" / "x"
    snapshot.mkdir(parents=True)
    (snapshot / "accepted.parquet").write_bytes(b"PAR1 rows PAR1")
    (tmp_path / "a" / "data" / "uploads").mkdir()
    (tmp_path / "a" / "data" / "uploads" / "waiting.csv").write_text("nik\n")
    out = tmp_path / "backup"
    pesiar(source, "backup", str(out))
    assert (out / "data" / "registers" / "welfare" / "2024-06-01" / "x").is_dir()
    assert not (out / "data" / "uploads").exists()
    assert pesiar(source, "backup", str(out), check=False).returncode != 0  # never overwrites

    copied = out / "data" / "registers" / "welfare" / "2024-06-01" / "x" / "accepted.parquet"
    copied.write_bytes(b"PAR1 ROWS PAR1")  # same size, other bytes
    target_root = tmp_path / "b"
    target_root.mkdir()
    target = instance_env(target_root, f"sqlite:///{target_root / 'pesiar.sqlite3'}")
    check = pesiar(target, "restore", str(out), "--check", check=False)
    assert check.returncode != 0 and "accepted.parquet: checksum differs" in check.stderr
    done = pesiar(target, "restore", str(out), check=False)
    assert done.returncode != 0 and "nothing was restored" in done.stderr
    assert not (target_root / "data" / "registers").exists()
    db = target_root / "pesiar.sqlite3"
    assert not db.exists() or db.stat().st_size == 0
