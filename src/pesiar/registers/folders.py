"""The registers' data folder: where snapshots live (`registers/<kind>/<as_of>/<token>`), the
staging folder an import writes in before its snapshot is recorded, and the cleanup of
folders an import that died left behind.

An import owns its folders (a file `owner`: host and process id) until its snapshot is
recorded; readers only ever open folders recorded in the Snapshot table.
"""

import hashlib
import os
import shutil
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from pesiar.registers.models import Snapshot
from pesiar.registers.schema import Kind


def registers_root() -> Path:
    return Path(settings.DATA_DIR) / "registers"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def _owner_alive(folder: Path) -> bool:
    try:
        host, pid = (folder / "owner").read_text().split()
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True  # another machine's work: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_orphans() -> list[Path]:
    """Remove staging folders and unrecorded snapshot folders left by an import that died.

    Readers only ever open folders recorded in the Snapshot table, so these were never
    visible; this reclaims their space. Folders of an import still running are kept.
    """
    root = registers_root()
    removed: list[Path] = []
    staging = root / ".staging"
    if staging.exists():
        for folder in staging.iterdir():
            if not _owner_alive(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    recorded = set(Snapshot.objects.values_list("folder", flat=True))
    for kind in Kind:
        for folder in (root / kind).glob("*/*"):
            relative = str(folder.relative_to(settings.DATA_DIR))
            if relative not in recorded and not _owner_alive(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


@dataclass(frozen=True)
class Staging:
    """The folders of one import: `root` (its scratch space, removed at the end), `out` (the
    snapshot's files, moved to `final` when the snapshot is recorded)."""

    root: Path
    out: Path
    final: Path

    @classmethod
    def create(cls, kind: Kind, as_of_iso: str) -> "Staging":
        cleanup_orphans()
        token = uuid.uuid4().hex
        root = registers_root() / ".staging" / token
        out = root / "out"
        out.mkdir(parents=True)
        owner = f"{socket.gethostname()} {os.getpid()}\n"
        (root / "owner").write_text(owner)
        (out / "owner").write_text(owner)
        return cls(root, out, registers_root() / kind / as_of_iso / token)

    @property
    def folder(self) -> str:
        """The snapshot's folder as recorded: relative to PESIAR_DATA_DIR."""
        return str(self.final.relative_to(settings.DATA_DIR))

    def publish(self) -> None:
        """Move the snapshot's files into place (inside the transaction that records it)."""
        self.final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.out, self.final)

    def abandon(self) -> None:
        """After a failure: a folder already moved but never recorded goes too."""
        if self.final.exists() and not Snapshot.objects.filter(folder=self.folder).exists():
            shutil.rmtree(self.final, ignore_errors=True)

    def finish(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def release(self) -> None:
        """Once recorded, the snapshot folder is no import's own any more."""
        (self.final / "owner").unlink(missing_ok=True)
