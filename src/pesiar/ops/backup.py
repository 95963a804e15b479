"""Backups of one Pesiar instance, and their restore into an empty one.

A backup is a folder:

    manifest.json        format, time, engine, migrations, and size + SHA-256 of every file
    database.sqlite3     SQLite: an online copy (sqlite3's backup API), or
    database.pgdump      PostgreSQL: `pg_dump --format=custom`
    data/...             the data folder: register snapshots, map runs, batch files

The database is dumped first, in one consistent read, then the data folder is copied.
Snapshot and map folders are written completely before the row that names them is
committed, and never change afterwards, so every folder the dump refers to is in the copy;
a folder created meanwhile is copied too and does no harm. Uploads waiting for import,
staging folders and the demo scenario's source files are left out.

Restore checks every checksum before it writes anything, refuses a database or data folder
that is not empty, and restores the database in one transaction (PostgreSQL) or by an
atomic rename (SQLite); the data files are moved into place only once the database is in.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.db.migrations.recorder import MigrationRecorder

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# Top-level folders of the data folder that a backup leaves out (see the module docstring).
LEFT_OUT = {"uploads", "demo"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class BackupReport:
    folder: Path
    engine: str
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)


@contextmanager
def private_files():
    """Backups hold personal data: files 0600, folders 0700."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def engine() -> str:
    vendor = connection.vendor
    if vendor not in DUMPS:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pesiar_version() -> str:
    try:
        return version("pesiar")
    except PackageNotFoundError:
        return "unknown"


def pg_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {**os.environ, "PGDATABASE": db["NAME"]}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client of the server's major "
            "version (Debian: apt-get install postgresql-client-15)"
        )
    return path


def run_pg(args: list[str]) -> None:
    done = subprocess.run(args, env=pg_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[:2000]}")


def dump_database(out: Path) -> Path:
    kind = engine()
    target = out / DUMPS[kind]
    if kind == "sqlite":
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
    else:
        run_pg([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target)])
    return target


def data_files(root: Path):
    """The files of the data folder a backup keeps, as paths relative to it."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and not (rel_dir == Path(".") and d in LEFT_OUT)
        )
        for name in sorted(filenames):
            if not name.startswith("."):
                yield rel_dir / name


def applied_migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def backup(out: Path) -> BackupReport:
    """Write a backup of this instance to the new folder `out`."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} already exists and is not empty: choose a new folder")
    report = BackupReport(folder=out, engine=engine())
    partial = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    with private_files():
        partial.mkdir(parents=True)
        try:
            files = {}
            dump = dump_database(partial)
            migrations = applied_migrations()
            files[dump.name] = {"size": dump.stat().st_size, "sha256": sha256(dump)}
            data_root = Path(settings.DATA_DIR)
            for rel in data_files(data_root):
                target = partial / "data" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(data_root / rel, target)
                key = f"data/{rel.as_posix()}"
                files[key] = {"size": target.stat().st_size, "sha256": sha256(target)}
            manifest = {
                "format": FORMAT,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "pesiar_version": pesiar_version(),
                "engine": report.engine,
                "database": dump.name,
                "migrations": migrations,
                "files": files,
            }
            (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
            if out.exists():
                out.rmdir()
            partial.rename(out)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    report.files = len(files)
    report.bytes = sum(entry["size"] for entry in files.values())
    return report


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder}: no {MANIFEST}; is this a Pesiar backup folder?")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BackupError(f"{path}: not valid JSON ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: backup format {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


def verify(folder: Path, manifest: dict) -> list[str]:
    """Every file of the manifest present with its size and checksum; the problems found."""
    problems = []
    for name, entry in sorted(manifest["files"].items()):
        path = Path(folder) / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["size"]:
            problems.append(f"{name}: {path.stat().st_size} bytes, expected {entry['size']}")
        elif sha256(path) != entry["sha256"]:
            problems.append(f"{name}: checksum differs (damaged or changed)")
    return problems


def database_is_empty() -> bool:
    return not connection.introspection.table_names()


def data_folder_is_empty(root: Path) -> bool:
    return not root.exists() or not any(True for _ in data_files(root))


def restore(folder: Path) -> BackupReport:
    """Restore the backup in `folder` into this (empty) instance."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    report = BackupReport(folder=folder, engine=engine(), files=len(manifest["files"]))
    if manifest["engine"] != report.engine:
        raise BackupError(
            f"the backup is of a {manifest['engine']} database and this instance uses "
            f"{report.engine}: set DATABASE_URL to a {manifest['engine']} database"
        )
    problems = verify(folder, manifest)
    if problems:
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        shown = "; ".join(problems[:10]) + more
        raise BackupError(f"the backup in {folder} is damaged, nothing was restored: {shown}")
    data_root = Path(settings.DATA_DIR)
    if not database_is_empty():
        raise BackupError(
            "the database already has tables: restore into an empty database (a new SQLite "
            "file, or `createdb` on PostgreSQL), nothing was restored"
        )
    if not data_folder_is_empty(data_root):
        raise BackupError(f"the data folder {data_root} is not empty, nothing was restored")
    with private_files():
        staging = data_root / f".restore-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        try:
            for name in manifest["files"]:
                if name.startswith("data/"):
                    target = staging / name.removeprefix("data/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(folder / name, target)
            restore_database(folder / manifest["database"])
            for entry in staging.iterdir():
                os.replace(entry, data_root / entry.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    report.bytes = sum(entry["size"] for entry in manifest["files"].values())
    return report


def restore_database(dump: Path) -> None:
    if engine() == "sqlite":
        name = Path(settings.DATABASES["default"]["NAME"])
        connections.close_all()
        name.parent.mkdir(parents=True, exist_ok=True)
        tmp = name.with_name(f".{name.name}.restore")
        shutil.copyfile(dump, tmp)
        for suffix in ("-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, name)
    else:
        run_pg(
            [
                pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                "--single-transaction", "--dbname", settings.DATABASES["default"]["NAME"],
                str(dump),
            ]
        )  # fmt: skip
