"""Snapshots: idempotent, replaced only on request, the CLI's JSON line, findings per village,
and atomic under SIGKILL at any moment."""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from pesiar.registers.models import Finding, Snapshot
from pesiar.registers.services import RegisterImportError, import_register

AS_OF = date(2024, 6, 1)
A, B = "15.02.05.1002", "15.71.10.1004"
WELFARE = (
    "nik;kk;decile;village_code\n"
    f"1502054107900001;1502050101100001;3;{A}\n"  # 2: NIK shared with line 8
    f"1502054107900001;1502050101100001;3;{A}\n"  # 3: exact copy of line 2
    f"1571014107900002;1571010101100002;11;{B}\n"  # 4: decile 11
    f"1571014107900003;123;2;{B}\n"  # 5: KK too short (a warning)
    "1502054107900004;1502050101100001;2;desa\n"  # 6: not a village code (a warning)
    f"1502054107900005;1502050101100001;2;{A};x\n"  # 7: a fifth value
    f"1502054107900001;1502050101100009;4;{A}\n"  # 8: NIK shared with line 2
)


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture
def welfare(tmp_path) -> Path:
    path = tmp_path / "dtks.csv"
    path.write_text(WELFARE)
    return path


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


# --- 5. idempotency and replace -------------------------------------------------------


@pytest.mark.django_db
def test_the_same_file_twice_changes_nothing(data_dir, welfare):
    first = import_register("welfare", welfare, AS_OF)
    assert first.snapshot_id and first.duplicate_of is None
    before = tree(data_dir)
    again = import_register("welfare", welfare, AS_OF)
    assert again.duplicate_of == first.snapshot_id and again.snapshot_id is None
    assert (again.rows_read, again.accepted, again.rejected, again.warnings) == (
        first.rows_read,
        first.accepted,
        first.rejected,
        first.warnings,
    )
    assert Snapshot.objects.count() == 1
    assert tree(data_dir) == before  # nothing new on disk, nothing touched


@pytest.mark.django_db
def test_another_file_for_the_same_date_needs_replace(data_dir, welfare, tmp_path):
    first = import_register("welfare", welfare, AS_OF)
    other = tmp_path / "dtks-revisi.csv"
    other.write_text(WELFARE.replace(";11;", ";1;"))
    before = tree(data_dir)
    with pytest.raises(RegisterImportError) as caught:
        import_register("welfare", other, AS_OF)
    message = str(caught.value)
    assert f"#{first.snapshot_id}" in message and "dtks.csv" in message
    assert str(AS_OF) in message and "--replace" in message
    assert tree(data_dir) == before and Snapshot.objects.count() == 1

    # Another date is another snapshot; another register on the same date too.
    assert import_register("welfare", other, date(2024, 7, 1)).snapshot_id

    second = import_register("welfare", other, AS_OF, replace=True)
    assert second.replaced == first.snapshot_id and second.rejected == first.rejected - 1
    old, new = (
        Snapshot.objects.get(pk=first.snapshot_id),
        Snapshot.objects.get(pk=second.snapshot_id),
    )
    assert old.superseded_at is not None and old.superseded_by == new
    assert new.superseded_at is None
    assert Snapshot.objects.latest_for("welfare", AS_OF) == new
    assert list(Snapshot.objects.current().filter(kind="welfare", as_of=AS_OF)) == [new]
    # The replaced snapshot is kept, whole.
    assert pq.read_metadata(old.data_file).num_rows == old.accepted
    assert pq.read_metadata(new.data_file).num_rows == new.accepted == second.accepted


@pytest.mark.django_db
def test_a_failed_replace_keeps_the_current_snapshot(data_dir, welfare, tmp_path):
    first = import_register("welfare", welfare, AS_OF)
    broken = tmp_path / "broken.csv"
    broken.write_text("nik;kk;village_code\n1;2;3\n")
    before = tree(data_dir)
    with pytest.raises(RegisterImportError, match="decile"):
        import_register("welfare", broken, AS_OF, replace=True)
    assert Snapshot.objects.current().get().pk == first.snapshot_id
    assert tree(data_dir).keys() - before.keys() <= {"registers/.staging"}
    assert not list((data_dir / "registers" / ".staging").iterdir())


@pytest.mark.django_db
def test_cli_json_line(data_dir, welfare):
    out = io.StringIO()
    call_command("import", "welfare", str(welfare), "--as-of", "2024-06-01", "--json", stdout=out)
    lines = out.getvalue().splitlines()
    data = json.loads(lines[-1])
    snapshot = Snapshot.objects.get()
    assert data["snapshot_id"] == snapshot.pk and data["duplicate_of"] is None
    assert (
        (data["rows_read"], data["accepted"], data["rejected"], data["warnings"])
        == (
            snapshot.rows_read,
            snapshot.accepted,
            snapshot.rejected,
            snapshot.warned,
        )
        == (7, 4, 3, 4)
    )
    assert data["rows_read"] == data["accepted"] + data["rejected"]
    assert all(not line.lstrip().startswith("{") for line in lines[:-1])  # one JSON object
    assert "rows read 7 = accepted 4 + rejected 3" in out.getvalue()

    out = io.StringIO()
    call_command("import", "welfare", str(welfare), "--as-of", "2024-06-01", "--json", stdout=out)
    again = json.loads(out.getvalue().splitlines()[-1])
    assert again["duplicate_of"] == snapshot.pk and again["snapshot_id"] is None
    assert again["rows_read"] == 7 and "Already imported" in out.getvalue()

    with pytest.raises(CommandError, match="no such file"):
        call_command("import", "welfare", str(welfare) + ".missing", "--as-of", "2024-06-01")


# --- 7. findings ----------------------------------------------------------------------


@pytest.mark.django_db
def test_findings_per_village_and_code(data_dir, welfare):
    result = import_register("welfare", welfare, AS_OF)
    assert (result.rows_read, result.accepted, result.rejected) == (7, 4, 3)
    findings = Finding.objects.unscoped(reason="test").filter(snapshot_id=result.snapshot_id)
    actual = {(f.village_code, f.code, f.severity): f.rows for f in findings}
    assert actual == {
        (A, "DUPLICATE_ROW", "error"): 1,
        (A, "NIK_SHARED", "warning"): 2,
        (B, "DECILE_INVALID", "error"): 1,
        (B, "KK_LENGTH", "warning"): 1,
        ("", "VILLAGE_INVALID", "warning"): 1,
        ("", "ROW_TOO_MANY_COLUMNS", "error"): 1,
    }
    per_code = Counter()
    for (_village, code, _severity), rows in actual.items():
        per_code[code] += rows
    assert dict(per_code) == {code: info["rows"] for code, info in result.reasons.items()}
    # What a regency officer sees: the findings of their villages only.
    merangin = Finding.objects.unscoped(reason="test").filter(village_code__startswith="15.02.")
    assert sum(f.rows for f in merangin) == 3


# --- 6. killed imports ----------------------------------------------------------------

CHECK = """
import json
import pyarrow.parquet as pq
from django.conf import settings
from pesiar.registers.models import Snapshot
from pesiar.registers.services import cleanup_orphans, registers_root

root = registers_root()

def folders():
    found = root.glob("*/*/*")
    return sorted(str(p.relative_to(settings.DATA_DIR)) for p in found if p.parts[-3] != ".staging")

before = folders()
snapshots = []
for s in Snapshot.objects.all():
    rows = pq.read_metadata(s.data_file).num_rows if s.data_file.exists() else None
    snapshots.append({
        "id": s.pk, "folder": s.folder, "accepted": s.accepted, "rejected": s.rejected,
        "rows_read": s.rows_read, "rows": rows, "rejects": s.rejects_file.exists(),
    })
removed = [str(p.relative_to(settings.DATA_DIR)) for p in cleanup_orphans()]
staging = root / ".staging"
print(json.dumps({
    "before": before, "snapshots": snapshots, "removed": removed, "after": folders(),
    "staging": sorted(p.name for p in staging.iterdir()) if staging.exists() else [],
}))
"""
# Stop the import at an exact point: just after its folder is renamed into place (inside
# the transaction), or just after the commit (before the owner mark is removed).
KILL_AT = """
import os, pathlib, signal, sys
where = sys.argv.pop(1)
def die():
    os.kill(os.getpid(), signal.SIGKILL)
real_replace, real_unlink = os.replace, pathlib.Path.unlink
def replace(src, dst, *args, **kwargs):
    real_replace(src, dst, *args, **kwargs)
    if where == "renamed" and "/registers/population/" in str(dst):
        die()
def unlink(self, *args, **kwargs):
    if where == "committed" and self.name == "owner" and "/registers/population/" in str(self):
        die()
    return real_unlink(self, *args, **kwargs)
os.replace, pathlib.Path.unlink = replace, unlink
from pesiar.cli import main
main(["pesiar", *sys.argv[1:]])
"""


class Site:
    """A data folder and a file SQLite database, used by `pesiar` subprocesses."""

    def __init__(self, root: Path):
        self.data = root / "data"
        self.env = {
            **os.environ,
            "PESIAR_DATA_DIR": str(self.data),
            "DATABASE_URL": f"sqlite:///{root / 'pesiar.sqlite3'}",
        }

    def pesiar(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "pesiar", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr
        return done

    def start(self, file: Path, as_of: date, kill_at: str | None = None) -> subprocess.Popen:
        command = ["import", "population", str(file), "--as-of", as_of.isoformat(), "--json"]
        prefix = ["-c", KILL_AT, kill_at] if kill_at else ["-m", "pesiar"]
        return subprocess.Popen(
            [sys.executable, *prefix, *command],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def check(self) -> dict:
        """Every recorded snapshot complete; after cleanup, no folder without a record."""
        state = json.loads(self.pesiar("shell", "-c", CHECK).stdout.strip().splitlines()[-1])
        for snapshot in state["snapshots"]:
            assert snapshot["rows"] == snapshot["accepted"], snapshot  # readable, whole
            assert snapshot["rows_read"] == snapshot["accepted"] + snapshot["rejected"]
            assert snapshot["rejects"] or not snapshot["rejected"], snapshot
            assert snapshot["folder"] in state["before"], snapshot
        assert state["after"] == sorted(s["folder"] for s in state["snapshots"])
        assert state["staging"] == []
        return state


def wait_for(proc: subprocess.Popen, found, timeout: float = 60) -> bool:
    """Poll until `found()` holds (True) or the process ends (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    raise AssertionError("the import neither progressed nor ended")


def kill(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return proc.returncode


@pytest.mark.slow
def test_killed_imports_leave_no_partial_snapshot(tmp_path):
    from pesiar.demo.generator import generate

    site = Site(tmp_path)
    site.pesiar("migrate", "-v0")
    site.pesiar("regions", "load", "--within", "15")
    big = generate(100_000, 11, tmp_path / "scenario").path("population")
    registers = site.data / "registers"
    dates = (date(2024, 1, 1) + timedelta(days=i) for i in range(1000))

    def variant(name: str) -> Path:
        """The big file with one more line: another checksum, so never a duplicate."""
        path = tmp_path / f"population-{name}.csv"
        shutil.copyfile(big, path)
        with path.open("a") as fh:
            fh.write(f'"{name}"\n')
        return path

    # An uninterrupted import, to know how long one takes.
    started = time.monotonic()
    baseline = site.start(variant("baseline"), next(dates))
    out, err = baseline.communicate(timeout=120)
    took = time.monotonic() - started
    assert baseline.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["rows_read"] > 100_000
    site.check()

    def staged(pattern: str):
        return lambda: any(registers.glob(f".staging/*/{pattern}"))

    # Kill after a delay, or when a file shows up (then after a further delay).
    moments = {
        "0.3 s": (None, 0.3),
        "half-way": (None, took / 2),
        "staging folder made": (staged("owner"), 0),
        "Parquet being written": (staged("out/accepted.parquet"), 0),
        # Counting, findings, the transaction, the rename: the end of the import.
        "rejects + 0.05 s": (staged("out/rejects.csv"), 0.05),
        "rejects + 0.15 s": (staged("out/rejects.csv"), 0.15),
        "rejects + 0.3 s": (staged("out/rejects.csv"), 0.3),
    }
    outcomes = {}
    for label, (event, delay) in moments.items():
        as_of = next(dates)
        proc = site.start(variant(label.replace(" ", "")), as_of)
        if event is not None:
            wait_for(proc, event)
        time.sleep(delay)
        code = kill(proc)
        assert code in (0, -signal.SIGKILL), (label, code)
        state = site.check()  # recorded or not, never partial
        recorded = any(as_of.isoformat() in s["folder"] for s in state["snapshots"])
        assert recorded or code != 0, label  # an import that ended is recorded
        outcomes[label] = "finished" if code == 0 else "recorded" if recorded else "nothing"
    # Most kills hit the import before its commit.
    assert Counter(outcomes.values())["nothing"] >= 5, outcomes

    # Exactly between rename and commit: the folder is there, unrecorded, and goes.
    as_of = next(dates)
    proc = site.start(variant("renamed"), as_of, kill_at="renamed")
    proc.communicate(timeout=120)  # it kills itself
    assert proc.returncode == -signal.SIGKILL
    state = site.check()
    orphan = [f for f in state["before"] if as_of.isoformat() in f]
    assert len(orphan) == 1 and orphan == [r for r in state["removed"] if as_of.isoformat() in r]
    assert not any(as_of.isoformat() in s["folder"] for s in state["snapshots"])

    # Just after the commit: recorded and whole, and cleanup leaves it alone.
    as_of = next(dates)
    proc = site.start(variant("committed"), as_of, kill_at="committed")
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    state = site.check()
    assert [s for s in state["snapshots"] if as_of.isoformat() in s["folder"]]
    assert not [r for r in state["removed"] if as_of.isoformat() in r]

    # And then an import runs through.
    final = site.start(big, next(dates))
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result["snapshot_id"] and result["rows_read"] == result["accepted"] + result["rejected"]
    state = site.check()
    assert result["snapshot_id"] in {s["id"] for s in state["snapshots"]}


@pytest.mark.django_db
def test_apps_above_hear_of_each_snapshot_and_their_failure_keeps_it(data_dir, tmp_path):
    from pesiar.registers.signals import snapshot_imported

    heard = []

    def listener(sender, *, snapshot, **kwargs):
        heard.append(snapshot.kind)
        return {"listener": {"rows": snapshot.accepted}}

    def broken(sender, *, snapshot, **kwargs):
        raise RuntimeError("down")

    membership = tmp_path / "peserta.csv"
    membership.write_text(
        "NOKA;NIK;NAMA;JENIS_KELAMIN;TGL_LAHIR;SEGMEN;KELAS;STATUS\n"
        "0001234567801;1502054107900001;SITI;P;1990-07-01;PBPU;3;AKTIF\n"
    )
    snapshot_imported.connect(listener)
    snapshot_imported.connect(broken)
    try:
        result = import_register("membership", membership, AS_OF)
    finally:
        snapshot_imported.disconnect(listener)
        snapshot_imported.disconnect(broken)
    assert heard == ["membership"]
    summary = Snapshot.objects.get(pk=result.snapshot_id).summary
    assert summary["listener"] == {"rows": 1}
    # the field app reconciles registrations against every membership snapshot
    assert summary["reconciliation"]["requests"] == 0
    assert "RuntimeError: down" in next(iter(summary["errors"].values()))
    assert Snapshot.objects.current().filter(pk=result.snapshot_id).exists()
