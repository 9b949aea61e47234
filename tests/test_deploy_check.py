"""`manage.py check --deploy` is clean with production settings: DEBUG off, a long
secret key, an https SITE_URL, and nothing else switched off."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(args, **env):
    """Python in a process of its own, with only `env` on top of the basics: the tests'
    own settings (fast hashers, DEBUG...) stay out of it."""
    keep = ("PATH", "HOME", "DATABASE_URL", "REDIS_URL", "LANG")
    base = {k: os.environ[k] for k in keep if k in os.environ}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=base | env, capture_output=True, text=True
    )


def run_check(**env):
    return run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)


def run_in_production(code):
    """`code` after django.setup() with the production settings."""
    return run_python(
        ["-c", code],
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=secrets.token_urlsafe(60),
        SITE_URL="https://papers.example.org",
    )


PRODUCTION = {
    "SITE_URL": "https://papers.example.org",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.org:587",
}


def test_deploy_check_is_clean_with_production_settings():
    result = run_check(SECRET_KEY=secrets.token_urlsafe(60), **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_warns_without_redis_or_a_mail_server():
    env = {k: v for k, v in PRODUCTION.items() if k not in {"REDIS_URL", "EMAIL_URL"}}
    result = run_check(SECRET_KEY=secrets.token_urlsafe(60), REDIS_URL="", **env)
    assert result.returncode != 0
    assert "dailypapers.W001" in result.stdout + result.stderr
    assert "dailypapers.W002" in result.stdout + result.stderr


def test_deploy_check_fails_when_cookies_are_not_secure():
    result = run_check(
        SECRET_KEY=secrets.token_urlsafe(60), SESSION_COOKIE_SECURE="0", **PRODUCTION
    )
    assert result.returncode != 0
    assert "security.W012" in result.stdout + result.stderr


def test_production_settings_keep_allauth_rate_limits_on():
    code = (
        "import django; django.setup();"
        "from allauth.account import app_settings as a;"
        "from django.conf import settings as s;"
        "print(sorted(a.RATE_LIMITS)); print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    out = run_in_production(code)
    assert out.returncode == 0, out.stderr
    limits, cookies = out.stdout.strip().splitlines()
    for key in ("login_failed", "signup", "reset_password", "confirm_email"):
        assert key in limits
    assert cookies == "True True"


def test_production_settings_hash_passwords_with_a_slow_hasher():
    # The tests swap in a fast hasher (conftest._fast_password_hashing); this runs the
    # real settings in a process of its own.
    code = (
        "import django; django.setup();"
        "from django.contrib.auth.hashers import get_hasher, make_password;"
        "h = get_hasher(); print(h.algorithm, getattr(h, 'iterations', 0));"
        "print(make_password('x').split('$')[0])"
    )
    out = run_in_production(code)
    assert out.returncode == 0, out.stderr
    hasher, stored = out.stdout.strip().splitlines()
    algorithm, iterations = hasher.split()
    assert algorithm in ("pbkdf2_sha256", "argon2", "scrypt", "bcrypt_sha256")
    assert algorithm != "pbkdf2_sha256" or int(iterations) >= 600_000
    assert stored == algorithm
