"""Processes that fault tests (tests/test_faults.py) and bench/soak.py start, stop and
kill: a private Redis, the site under gunicorn with production settings, and a Celery
worker. Private so that stopping one never touches the Redis or PostgreSQL that other
tests and people on the machine share."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_file(prefix):
    # A file, not a pipe: a pipe nobody reads fills up and blocks the process.
    return tempfile.NamedTemporaryFile(prefix=prefix, suffix=".log")


class Process:
    """A child in its own session, so stop()/kill() reach its children too."""

    proc = None

    def __init__(self, prefix):
        self.log = _log_file(prefix)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def _spawn(self, args, env=None):
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.running:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout=20):
        if self.running:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class RedisServer(Process):
    """redis-server on a free port, nothing saved to disk. stop() and start() again
    keep the port: clients reconnect to the same URL, as after a real restart."""

    def __init__(self, port=None):
        super().__init__("redis-")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (apt-get install redis-server)"
        self._spawn(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"]
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start:\n" + self.output())


def site_env(database_url, redis_url, port, **extra) -> dict:
    """Production settings (DEBUG off, secure defaults, tasks on a worker), except plain
    HTTP on 127.0.0.1 and static files served without collectstatic."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": env.get("SECRET_KEY") or "fault-test-secret-key-not-for-production",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "STATIC_MANIFEST": "0",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Site(Process):
    """gunicorn with config/gunicorn.py, as `make serve` runs it."""

    def __init__(self, env, gunicorn_args=()):
        super().__init__("gunicorn-")
        self.env = env
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.gunicorn_args = list(gunicorn_args)

    def start(self, timeout=60):
        self._spawn(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py",
             *self.gunicorn_args],
            env=self.env,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError("gunicorn exited:\n" + self.output())
            try:
                urllib.request.urlopen(self.url + "/robots.txt", timeout=5)
                return self
            except urllib.error.HTTPError:
                return self  # it answers
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer:\n" + self.output())

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid)


def children(pid) -> list[int]:
    """The child processes of `pid` (gunicorn's workers, a Celery pool)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


class Worker(Process):
    """`celery worker` (prefork, concurrency 1) with the given environment."""

    def __init__(self, env, concurrency=1):
        super().__init__("celery-")
        self.env = env
        self.concurrency = concurrency

    def start(self, timeout=60):
        mark = len(self.output())
        self._spawn(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
             f"--concurrency={self.concurrency}", "--loglevel=INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat",
             "--hostname", f"fault-{os.getpid()}-{time.monotonic_ns()}@%h"],
            env=self.env,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError("The Celery worker exited:\n" + self.output())
            if " ready." in self.output()[mark:]:
                return self
            time.sleep(0.2)
        raise RuntimeError("The Celery worker did not start:\n" + self.output())


def session_cookies(user) -> dict:
    """The cookie of a signed-in session for `user`, written as django.contrib.auth.login
    would. (The CSRF cookie comes from the first page with a form.)"""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key}


PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory) on a free port,
    to stop and restart under load. As root it runs as the `postgres` user, since
    PostgreSQL refuses to run as root."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-fault-"))
        self.data = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        self._as_postgres = []
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    def url(self, database="postgres"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, *args):
        subprocess.run([*self._as_postgres, *args], check=True, capture_output=True, cwd=self.dir)

    def _ctl(self, *args):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile),
                 "-o", options, "-w", *args)  # fmt: skip

    def init(self):
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                 "--no-sync")  # fmt: skip
        self.start()
        return self

    def start(self):
        self._ctl("start")

    def stop(self):
        """A fast shutdown, as a restart or failover does: open sessions are ended."""
        self._ctl("-m", "fast", "stop")

    def create_database(self, name):
        self._pg(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                 "-U", "postgres", name)  # fmt: skip

    def destroy(self):
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def manage(env, *args, input=None) -> str:
    """Run manage.py with `env`; returns its stdout."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        input=input,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout
