"""Scan the running site for injection, XSS, redirects and header problems with sqlmap
and wapiti, as an attacker would, and print what they find (`make scan`).

    bench/scan.py [--database dailypapers_scan] [--only sqlmap|wapiti] [--wapiti-time 600]

It makes (or reuses) its own database, migrates it, loads the demo data and adds a
verified user with a signed-in session, then starts gunicorn as in production (DEBUG
off, PostgreSQL and Redis, bound to 127.0.0.1, plain HTTP) with the rate limits raised
so the scanners measure the code, not the limits. Tasks run in-process and the
ingestion URLs point at a closed local port: nothing leaves 127.0.0.1.

- sqlmap (Debian: apt-get install sqlmap) tests every query parameter of the list pages,
  search, filters and the API, the path segments of the day/author/paper/profile URLs
  (marked `*`), and the subscribe form (with its CSRF token), for PostgreSQL
  boolean-blind, error, stacked and time-based injection.
- wapiti3 runs from its own virtualenv (var/wapiti-venv; made on first use with pip)
  with only modules that stay on this machine (no nikto/wapp database downloads, no
  SSRF/log4shell callbacks to the internet), crawling as a visitor and as the user.

Afterwards the server's log is searched for 500s (a traceback is a finding too). The
exit status is 1 if anything was found. Not part of `make test`: it takes ~40 minutes.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "scan"
WAPITI_VENV = ROOT / "var" / "wapiti-venv"
WAPITI_VERSION = "3.2.3"
# Modules that need nothing beyond the target. Left out: ssl (no TLS here), nikto and
# wapp (download databases), ssrf/xxe/log4shell/spring4shell (call back to a public
# endpoint), takeover (DNS), buster/brute_login_form (wordlists; allauth limits them).
WAPITI_MODULES = (
    "backup,cookieflags,crlf,csp,csrf,exec,file,htaccess,http_headers,methods,"
    "permanentxss,redirect,shellshock,sql,timesql,upload,xss"
)
RAISED_LIMITS = {
    "VOTE_RATE_LIMIT": "100000/m",
    "SUBMIT_RATE_LIMIT": "100000/h",
    "CLAIM_RATE_LIMIT": "100000/h",
    "DIGEST_SUBSCRIBE_RATE_IP": "100000/h",
    "DIGEST_SUBSCRIBE_RATE_EMAIL": "100000/h",
}
CLOSED = "http://127.0.0.1:9"  # discard port: nothing listens, fetches fail at once
# wapiti findings that come from scanning over plain HTTP, not from the site: in
# production the cookies are secure (SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE, on unless
# DEBUG, enforced by `check --deploy`).
EXPECTED = {"Secure Flag cookie": "plain HTTP on 127.0.0.1; secure cookies in production"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dailypapers"
    return urlunsplit(urlsplit(base)._replace(path="/" + name))


def server_env(database: str, port: int) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "DATABASE_URL": database_url(database),
            "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14",
            "SECRET_KEY": "scan-secret-key-not-for-production-" + "x" * 20,
            "SITE_URL": f"http://127.0.0.1:{port}",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "STATIC_MANIFEST": "1",
            "DAILYPAPERS_VAR_DIR": str(OUT / "var"),
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "EMAIL_URL": "consolemail://",
            "ARXIV_API_URL": CLOSED,
            "ARXIV_OAI_URL": CLOSED,
            "HF_DAILY_PAPERS_URL": CLOSED,
            "INGEST_HTTP_TIMEOUT": "2",
            "ARXIV_REQUEST_INTERVAL": "0",
            "SUBMIT_FETCH_RETRIES": "0",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "3",
            "LOG_LEVEL": "WARNING",
        }
        | RAISED_LIMITS
    )
    return env


def manage(env, *args, capture=False):
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
        capture_output=capture,
    ).stdout


SETUP = """
import json
from importlib import import_module
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.models import User
from papers.models import Author, Paper
user, _ = User.objects.get_or_create(username="scanner", defaults={"email": "scanner@example.org"})
user.set_password("scan-password-1")
user.save()
EmailAddress.objects.get_or_create(
    user=user, email=user.email, defaults={"verified": True, "primary": True}
)
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
# A CSRF cookie, so the token sqlmap reads from a form (--csrf-url) matches it.
from django.middleware.csrf import _get_new_csrf_string
csrf = _get_new_csrf_string()
paper = Paper.objects.visible().exclude(daily_date=None).order_by("-daily_date").first()
author = Author.objects.order_by("pk").first()
print(json.dumps({
    "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
              f"{settings.CSRF_COOKIE_NAME}={csrf}",
    "paper": paper.arxiv_id, "day": paper.daily_date.isoformat(), "author": author.slug,
}))
"""


def prepare(database: str, env: dict) -> dict:
    import psycopg

    admin = urlsplit(database_url("postgres"))
    with psycopg.connect(urlunsplit(admin), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "load_demo")
    return json.loads(manage(env, "shell", "-c", SETUP, capture=True).strip().splitlines()[-1])


class Server:
    def __init__(self, env, port, log_path):
        self.env, self.port, self.log_path = env, port, log_path
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/robots.txt", timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# --- sqlmap ------------------------------------------------------------------------------


def sqlmap_targets(base: str, seed: dict) -> list[tuple[str, list[str]]]:
    day, paper, author = seed["day"], seed["paper"], seed["author"]
    deep = ["--level", "3", "--risk", "2"]
    return [
        (f"{base}/search/?q=attention&since=2020-01-01&until=2030-01-01&cat=cs.LG"
         "&sort=newest&page=1", deep),
        (f"{base}/search/?cat=cs.LG&page=1", deep),
        (f"{base}/api/daily_papers?date={day}&p=0&limit=10", deep),
        (f"{base}/api/daily_papers?week=2026-W47&month=2026-11", []),
        (f"{base}/?page=1", []),
        (f"{base}/trending/?page=1", []),
        (f"{base}/new/?page=1", []),
        (f"{base}/papers/date/{day}*/", []),
        (f"{base}/papers/week/2026-W47*/", []),
        (f"{base}/papers/month/2026-11*/", []),
        (f"{base}/papers/{paper}*/", []),
        (f"{base}/api/papers/{paper}*", []),
        (f"{base}/authors/{author}*/", []),
        (f"{base}/u/scanner*/", []),
        (f"{base}/u/scanner/?show=upvoted&page=1", []),
        (f"{base}/authors/{author}/?page=1", []),
        (f"{base}/digest/confirm/abc*/", []),
        (f"{base}/digest/unsubscribe/1:abc*/", []),
    ]  # fmt: skip


def run_sqlmap(base: str, seed: dict, match: str = "") -> list[str]:
    sqlmap = shutil.which("sqlmap")
    if not sqlmap:
        raise SystemExit("sqlmap is missing: apt-get install -y sqlmap")
    findings = []
    common = [
        sqlmap, "--batch", "--dbms=PostgreSQL", "--flush-session", "--disable-coloring",
        "--output-dir", str(OUT / "sqlmap"), "--timeout", "15",
        "--cookie", seed["cookie"], "--time-sec", "3",
    ]  # fmt: skip
    posts = [
        (
            f"{base}/digest/subscribe/",
            ["--data", "email=scan@example.org&frequency=daily&time_zone=UTC&csrfmiddlewaretoken=x",
             "--csrf-token", "csrfmiddlewaretoken", "--csrf-url", f"{base}/digest/subscribe/"],
        ),
        (
            f"{base}/submit/",
            ["--data", "paper=2406.12345&csrfmiddlewaretoken=x",
             "--csrf-token", "csrfmiddlewaretoken", "--csrf-url", f"{base}/submit/"],
        ),
    ]  # fmt: skip
    # --csrf-url (a fresh token per request) can't run with --threads.
    gets = [(url, [*extra, "--threads", "2"]) for url, extra in sqlmap_targets(base, seed)]
    for url, extra in gets + posts:
        if match and not re.search(match, url):
            continue
        started = time.monotonic()
        result = subprocess.run(
            [*common, "-u", url, *extra], capture_output=True, text=True, cwd=OUT
        )
        out = result.stdout
        (OUT / "sqlmap.log").open("a").write(f"\n===== {url}\n{out}")
        # Only what sqlmap confirms (it rejects its own false positives after a first
        # "appears to be injectable").
        confirmed = out.split("identified the following injection point", 1)[1:]
        injectable = re.findall(r"Parameter: (.+?) \(", confirmed[0]) if confirmed else []
        verdict = "INJECTABLE: " + ", ".join(sorted(set(injectable))) if injectable else "clean"
        errors = len(re.findall(r"\b500 \(Internal Server Error\)", out))
        failed = [line for line in re.findall(r"\[CRITICAL\] (.*)", out) if "lagging" not in line]
        if failed or result.returncode:
            verdict = f"sqlmap failed ({result.returncode}): " + "; ".join(failed)
        if errors:
            verdict += f"; {errors} responses were HTTP 500"
        print(f"  sqlmap {url.removeprefix(base)}  {verdict}  ({time.monotonic() - started:.0f} s)")
        if injectable or errors or failed or result.returncode:
            findings.append(f"sqlmap: {url.removeprefix(base)}: {verdict}")
    return findings


# --- wapiti ------------------------------------------------------------------------------


def wapiti_bin() -> Path:
    binary = WAPITI_VENV / "bin" / "wapiti"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(WAPITI_VENV)], check=True)
        pip = WAPITI_VENV / "bin" / "pip"
        subprocess.run([str(pip), "install", "-q", f"wapiti3=={WAPITI_VERSION}"], check=True)
    return binary


def run_wapiti(base: str, seed: dict, max_time: int) -> list[str]:
    findings = []
    binary = wapiti_bin()
    for who, cookie in (("visitor", None), ("signed in", seed["cookie"])):
        report = OUT / f"wapiti-{who.replace(' ', '-')}.json"
        command = [
            str(binary), "-u", f"{base}/", "--scope", "folder", "-m", WAPITI_MODULES,
            "--flush-session", "-f", "json", "-o", str(report), "-d", "3",
            "--max-links-per-page", "25", "--max-files-per-dir", "15",
            "--max-scan-time", str(max_time), "--max-attack-time", str(max_time // 6),
            "--tasks", "4", "-t", "20",
            "--endpoint", CLOSED + "/", "--dns-endpoint", "localhost",
            # Stay signed in, and don't delete the account being scanned with.
            "-x", f"{base}/accounts/logout/", "-x", f"{base}/settings/delete/",
            "-x", f"{base}/static/*",
        ]  # fmt: skip
        if cookie:
            command += ["-C", cookie]
        started = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True, cwd=OUT)
        (OUT / "wapiti.log").open("a").write(f"\n===== {who}\n{result.stdout}\n{result.stderr}")
        if not report.exists():
            findings.append(f"wapiti ({who}) wrote no report; see var/scan/wapiti.log")
            continue
        data = json.loads(report.read_text())
        crawled = data.get("infos", {}).get("crawled_pages_nbr", "?")
        print(f"  wapiti as {who}: {crawled} pages crawled in {time.monotonic() - started:.0f} s")
        # "additionals" are information (technologies, allowed methods), not findings.
        for category, items in sorted(data.get("additionals", {}).items()):
            if items:
                print(f"  wapiti as {who}, for information: {category} x{len(items)}")
        for section in ("vulnerabilities", "anomalies"):
            for category, items in sorted(data.get(section, {}).items()):
                for item in items:
                    if category in EXPECTED:
                        print(f"  wapiti as {who}, expected: {category} ({EXPECTED[category]})")
                        continue
                    kind = "anomaly" if section == "anomalies" else "vulnerability"
                    line = (
                        f"wapiti ({who}) {kind}:"
                        f" {category}: {item.get('method', '')} {item.get('path', '')}"
                        f" {item.get('parameter', '')} - {item.get('info', '')}"
                    )
                    print("  " + " ".join(line.split())[:400])
                    findings.append(line)
    return findings


def server_errors(log_path: Path) -> list[str]:
    text = log_path.read_text(errors="replace")
    errors = re.findall(r"ERROR django\.request: Internal Server Error: (\S+)", text)
    return [f"HTTP 500 at {path}" for path in sorted(set(errors))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dailypapers_scan")
    parser.add_argument("--only", choices=["sqlmap", "wapiti"])
    parser.add_argument("--wapiti-time", type=int, default=600, help="seconds per crawl")
    parser.add_argument("--match", default="", help="only sqlmap targets matching this regex")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    for stale in ("sqlmap.log", "wapiti.log"):
        (OUT / stale).unlink(missing_ok=True)
    port = free_port()
    env = server_env(args.database, port)
    seed = prepare(args.database, env)
    base = f"http://127.0.0.1:{port}"
    log_path = OUT / "server.log"
    findings = []
    with Server(env, port, log_path):
        print(f"Scanning {base} (gunicorn, DEBUG off, database {args.database})")
        if args.only in (None, "sqlmap"):
            findings += run_sqlmap(base, seed, args.match)
        if args.only in (None, "wapiti"):
            findings += run_wapiti(base, seed, args.wapiti_time)
    findings += server_errors(log_path)
    print()
    if findings:
        print(f"{len(findings)} finding(s):")
        for finding in findings:
            print(" - " + " ".join(finding.split())[:400])
        print(f"Reports and logs: {OUT.relative_to(ROOT)}/")
        sys.exit(1)
    print(f"No findings. Reports and logs: {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
