"""The deployment files in deploy/ (docs/deploy.md): the systemd units parse and point at a
real command, and the example environment gives a clean `pesiar check --deploy`."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = [
    "pesiar-web.service",
    "pesiar-worker.service",
    "pesiar-backup.service",
    "pesiar-backup.timer",
]


def example_env() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / "pesiar.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_systemd_units_verify(tmp_path):
    venv = Path(sys.executable).parent.parent
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/pesiar/.venv", str(venv))
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    web = (DEPLOY / "pesiar-web.service").read_text()
    worker = (DEPLOY / "pesiar-worker.service").read_text()
    assert "pesiar serve" in web and "pesiar db_worker" in worker
    assert "Restart=always" in worker and "KillSignal=SIGTERM" in worker


def test_every_example_variable_is_read_by_the_code_and_documented():
    source = "".join(p.read_text() for p in (ROOT / "src" / "pesiar").rglob("*.py"))
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for key in example_env():
        assert re.search(rf"[\"']{key}[\"']", source), f"{key} is read nowhere"
        assert key in guide, f"{key} is not in docs/deploy.md"


def test_the_example_environment_passes_the_deploy_check(tmp_path):
    env = {**os.environ, **example_env()}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'pesiar.sqlite3'}",
        PESIAR_DATA_DIR=str(tmp_path / "data"),
        SECRET_KEY="a-long-random-production-key-" + "x7Q" * 12,
    )
    env.pop("DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "pesiar", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
