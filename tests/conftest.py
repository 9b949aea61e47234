"""Shared fixtures: the real services (PostgreSQL, Redis, an SMTP server, a Celery worker
process, Chromium) and the personas tests are written about."""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache

from config.celery import app as celery_app
from papers import cards, pagecache

from .factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests
# make around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# --- The services must be there: never skip, never fall back --------------------


def _check_services():
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        pytest.exit(
            f"The tests run against PostgreSQL, but DATABASE_URL points to {db['ENGINE']}.\n"
            "Unset it or set DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers",
            returncode=3,
        )
    try:
        import psycopg

        psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except Exception as exc:
        pytest.exit(
            f"PostgreSQL is unreachable at {db['HOST']}:{db['PORT']} ({exc}).\n"
            "Start it with: pg_ctlcluster --skip-systemctl-redirect 15 main start\n"
            "(or point DATABASE_URL at a running server).",
            returncode=3,
        )
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        pytest.exit(
            f"Redis is unreachable at {settings.REDIS_URL or '(REDIS_URL is empty)'} ({exc}).\n"
            "Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ''\n"
            "(or point REDIS_URL at a running server).",
            returncode=3,
        )


def pytest_sessionstart(session):
    _check_services()


@pytest.fixture(autouse=True)
def _fresh_cache_and_eager_tasks():
    """Each test starts with an empty cache, and tasks run in-process unless the test
    asks for a real worker (the `celery_worker` fixture)."""
    cache.clear()
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    """Tests change the database between two anonymous requests and expect the second
    page to show it at once; the anonymous page cache (papers.pagecache) would serve
    it for PAGE_CACHE_SECONDS. tests/test_page_cache.py turns it back on."""
    settings.PAGE_CACHE_SECONDS = 0
    pagecache.local_pages.clear()
    cards.forget()
    # Likewise the recent papers' vectors "For you" keeps per process (for minutes):
    # each test has its own papers. Only if loaded: importing it loads numpy and the index.
    recommend = sys.modules.get("semantic.recommend")
    if recommend is not None:
        recommend.recent.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Django's PBKDF2 costs ~0.3 s a password by design, and the tests create users by
    the hundred (factory.django.Password hashes each). A fast hasher here; production
    keeps the slow default (test_deploy_check asserts it). PBKDF2 stays listed second so
    hashes made outside the tests (bench/seed.py's) still check."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


# --- Personas -----------------------------------------------------------------------


@pytest.fixture
def voter(db):
    return UserFactory(username="voter", display_name="Vera Voter")


@pytest.fixture
def submitter(db):
    return UserFactory(username="submitter", display_name="Sam Submitter")


@pytest.fixture
def stranger(db):
    return UserFactory(username="stranger")


# --- SMTP: a real server in-process ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    """What the test SMTP server received. Tests can make it misbehave like a real
    server: `refuse` maps an address to the reply its RCPT gets (e.g. "550 5.1.1 No
    such user"), `data_delay` holds the reply to a complete message (the server has it
    already, as a real MTA that queued it), `rcpt_delay` holds each RCPT reply.
    `stall` maps an address to seconds its RCPT is held, once, setting `stalled`.
    `rcpt_started`/`data_received` are threading.Events set on each RCPT/message."""

    def __init__(self):
        self.envelopes = []
        self.peers = []  # the connection each message came on
        self.refuse = {}
        self.data_delay = 0.0
        self.rcpt_delay = 0.0
        self.stall = {}
        self.stalled = threading.Event()
        self.rcpt_started = threading.Event()
        self.data_received = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_started.set()
        if address in self.stall:
            self.stalled.set()
            await asyncio.sleep(self.stall.pop(address))
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.peers.append(session.peer)
        self.data_received.set()
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        return [to for e in self.envelopes for to in e.rcpt_tos]

    @property
    def messages(self):
        import email
        from email import policy

        return [
            email.message_from_bytes(e.original_content, policy=policy.default)
            for e in self.envelopes
        ]


@pytest.fixture
def smtp_server(settings):
    """An aiosmtpd server on a free port, with Django's SMTP backend pointed at it.
    `smtp_server.messages` are the received mails, parsed by the email package."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    inbox.port = controller.port
    yield inbox
    controller.stop()


# --- A real Celery worker process ------------------------------------------------------


def database_url_for_tests() -> str:
    """The URL of the test database, for processes started by a test."""
    from django.db import connection

    db = connection.settings_dict
    # Reached through request.getfixturevalue() from another fixture, pytest-django can
    # leave the real database in place: never hand that to a worker (its teardown
    # flushes the database).
    assert db["NAME"].startswith("test_"), f"not the test database: {db['NAME']}"
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, env):
        self.env = env
        self.proc = None
        # The worker's log goes to a file: a pipe nobody reads fills up (64 KB) and
        # then blocks the worker in the middle of a test.
        self.log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log")
        self.hostname = f"test-{os.getpid()}@{socket.gethostname()}"

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def start(self):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                self.hostname,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("The Celery worker exited:\n" + self.output())
            # Ping this worker only: replies travel over Redis pub/sub, which every
            # Redis database shares, so other workers on the machine would answer too.
            if celery_app.control.ping(destination=[self.hostname], timeout=0.5):
                return self
        raise RuntimeError("The Celery worker did not answer a ping within 30 s")

    def kill(self):
        """SIGKILL the whole worker (parent and pool child), as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def _mail_env() -> dict:
    """Point the worker's mail at the test's SMTP server, if the test has one (request
    `smtp_server` before `celery_worker`)."""
    if settings.EMAIL_BACKEND != "django.core.mail.backends.smtp.EmailBackend":
        return {}
    return {"EMAIL_URL": f"smtp://{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"}


@pytest.fixture
def celery_worker(transactional_db, request):
    """A `celery worker` process against Redis and the test database. Tasks sent during
    the test go to it, not in-process. `.kill()` and `.start()` simulate a crash.
    Settings for the worker's environment: @pytest.mark.worker_env(NAME="value")."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    marker = request.node.get_closest_marker("worker_env")
    env = (
        os.environ
        | {"DATABASE_URL": database_url_for_tests(), "CELERY_TASK_ALWAYS_EAGER": "0"}
        | _mail_env()
        | (marker.kwargs if marker else {})
    )
    worker = WorkerProcess(env).start()
    yield worker
    worker.stop()
    celery_app.control.purge()


# --- A real browser ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(
            f"Chromium is not at {CHROMIUM}. Install it with: apt-get install -y chromium",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab (own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
