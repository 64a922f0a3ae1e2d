"""Production settings, each read in a fresh process from the environment alone: DEBUG=0
without SECRET_KEY refuses to start; HTTPS redirect, HSTS, Secure cookies and CSP are on
by default; `manage.py check --deploy` is clean for the compose configuration."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PRINT = (
    "import json, django; from django.conf import settings as s; django.setup(); print(json.dumps("
    "[s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
    " s.CSRF_COOKIE_SECURE, 'django.middleware.csp.ContentSecurityPolicyMiddleware'"
    " in s.MIDDLEWARE, bool(s.SECURE_CSP)]))"
)


def _env(**values: str) -> dict[str, str]:
    """This machine's environment without any Studio or Django setting, plus ``values``."""
    names = set(re.findall(r"^([A-Z_]+)=", (ROOT / "docker/.env.example").read_text(), re.M))
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("SECURE")}
    env.update(DJANGO_SETTINGS_MODULE="studio.settings", PYTHONPATH=str(ROOT), **values)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _key() -> str:
    return secrets.token_urlsafe(50)


def test_debug_off_without_a_secret_key_refuses_to_start_with_a_clear_message():
    done = _run(["manage.py", "check"], _env(DEBUG="0"))
    assert done.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in done.stderr
    assert "DEBUG=1 for a local trial" in done.stderr


def test_debug_on_without_a_secret_key_still_runs_for_a_local_trial():
    done = _run(["manage.py", "check"], _env(DEBUG="1"))
    assert done.returncode == 0, done.stderr


def test_production_defaults_are_https_only_with_csp():
    done = _run(["-c", PRINT], _env(DEBUG="0", SECRET_KEY=_key()))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        False, True, 31_536_000, True, True, True, True
    ]  # fmt: skip


def test_each_https_setting_can_be_turned_off_from_the_environment():
    env = _env(
        DEBUG="0", SECRET_KEY=_key(), SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0",
        SECURE_COOKIES="0",
    )  # fmt: skip
    done = _run(["-c", PRINT], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])[1:5] == [False, 0, False, False]


def _interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2), match.group(3) or ""
        if given.get(name):
            return given[name]
        assert kind != "?", f"compose would refuse to start: {rest}"
        return rest if kind == "-" else ""

    return re.sub(r"\$\{(\w+)(?::([?-])([^}]*))?\}", one, value)


def test_check_deploy_is_clean_for_the_compose_configuration():
    """docker/.env made from the example (with its SECRET_KEY filled in), then the compose
    file's own environment on top, as `docker compose` does."""
    example = dict(
        re.findall(r"^([A-Z_]+)=(.*)$", (ROOT / "docker/.env.example").read_text(), re.M)
    )
    # The operator fills in the required secrets; compose then interpolates its own file.
    given = {**example, "SECRET_KEY": _key(), "POSTGRES_PASSWORD": "pg-pass"}
    given["MINIO_ROOT_PASSWORD"] = "minio-pass"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = {
        k: _interpolate(str(v), given) for k, v in compose["services"]["web"]["environment"].items()
    }
    assert environment["DATABASE_URL"] == "postgres://studio:pg-pass@db:5432/studio"
    env = _env(**{**given, **environment})
    done = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_every_page_carries_a_content_security_policy(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
