import os
import subprocess
import sys

import pytest


@pytest.mark.django_db
def test_pages_speak_bahasa_indonesia_by_default_and_english_on_request(client):
    page = client.get("/login/").content.decode()
    assert "Masuk ke Pesiar" in page and 'lang="id"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    page = client.get("/login/").content.decode()
    assert "Log in to Pesiar" in page and 'lang="en"' in page


@pytest.mark.django_db
def test_home_sends_anonymous_users_to_login(client):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login/")


def test_settings_follow_the_environment(settings):
    assert settings.TIME_ZONE == "Asia/Jakarta"
    assert settings.LANGUAGE_CODE == "id"
    assert [code for code, _ in settings.LANGUAGES] == ["id", "en"]
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_settings_read_the_environment(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATA_DIR, s.DEBUG,"
        " s.ALLOWED_HOSTS, s.SECRET_KEY)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pesiar.settings",
        "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/pesiar",
        "PESIAR_DATA_DIR": str(tmp_path / "data"),
        "DEBUG": "true",
        "ALLOWED_HOSTS": "pesiar.example.id, localhost",
        "SECRET_KEY": "k" * 50,
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split(" ", 3)
    assert out[0] == "django.db.backends.postgresql"
    assert out[1] == str(tmp_path / "data")
    assert out[2] == "True"
    assert "'pesiar.example.id', 'localhost'" in out[3] and out[3].strip().endswith("k" * 50)


def test_secret_key_is_made_once_and_kept_private(tmp_path):
    env = {**os.environ, "PESIAR_DATA_DIR": str(tmp_path / "var" / "data")}
    env.pop("SECRET_KEY", None)
    code = "import pesiar.settings as s; print(s.SECRET_KEY)"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 50
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0
