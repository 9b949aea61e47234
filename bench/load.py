#!/usr/bin/env python
"""Drive the site as in production with wrk and print what each endpoint costs.

    python bench/load.py [--database NAME ...] [--duration S] [--connections C]
    python bench/load.py --compare NAME NAME ...   # saved results, side by side

For each database (seeded by bench/seed.py, which leaves bench/out/<NAME>.json):

1. migrate, collectstatic, flush the Redis database at REDIS_URL (default
   redis://127.0.0.1:6379/13), sign K bench users in by writing their sessions with
   Django's SessionStore (plus CSRF tokens);
2. start gunicorn with config/gunicorn.py and a Celery worker, DEBUG off, production
   settings except plain HTTP on 127.0.0.1, STATIC_MANIFEST on, and two benchmark aids:
   /bench/constant/ (BENCHMARK_VIEWS) and the X-SQL-Queries header (BENCH_COUNT_QUERIES);
3. for each endpoint in ENDPOINTS: two probe requests (status, SQL queries, cold and
   warm), then wrk with one connection (latency ~ server time) and with C connections
   (throughput and latency under load), while the gunicorn workers' RSS is sampled.

An endpoint that answers 404 (its page isn't built yet) is skipped with a note; any
other failure is reported. Results go to bench/out/load-<NAME>.json; with several
databases the figures are printed side by side at the end.
"""

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from seed import ROOT, database_url, index_dir

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
LUA = BENCH / "requests.lua"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
SIGNED_IN_USERS = 1000  # sessions written before the run
VOTE_PAIRS = 3000  # distinct (user, paper) pairs the upvote toggles cycle through


# --- The endpoints --------------------------------------------------------------------------
# One table for every page the issue names, including those not built yet: they are
# skipped (with a note) while they answer 404, and measured as soon as they exist.
# `paths` gets the seed's metadata (bench/out/<db>.json) and returns the URLs to cycle
# through: many of them where a real visitor would spread over many (paper pages), one
# where everybody asks for the same (the front page).


def _recent_days(meta, count):
    latest = dt.date.fromisoformat(meta["latest_day"])
    return [latest - dt.timedelta(days=i) for i in range(min(count, meta["days"]))]


def _weeks(meta, count):
    weeks = []
    for day in _recent_days(meta, count * 7):
        year, week, _ = day.isocalendar()
        label = f"{year}-W{week:02d}"
        if label not in weeks:
            weeks.append(label)
    return weeks[:count]


def _months(meta, count):
    months = []
    for day in _recent_days(meta, count * 31):
        label = f"{day.year}-{day.month:02d}"
        if label not in months:
            months.append(label)
    return months[:count]


def _search(terms):
    return [f"/search/?q={quote(t)}" for t in terms]


@dataclass
class Endpoint:
    name: str
    paths: object  # meta -> [path]
    signed_in: bool = False  # send a signed-in user's session cookie
    vote: bool = False  # POST add/remove alternately to each path's vote URL
    # Anonymous pages are measured uncached (a bench-only header turns the page cache
    # off: the targets are server time) unless `cached`.
    cached: bool = False
    htmx: bool = False  # sent as htmx sends it (HX-Request): a partial
    # Pages whose parts a site in use has cached (the cards of a list, papers.cards; a
    # paper page's parts, papers.pageparts): each is visited once first.
    cards: bool = False
    # Asked as browsers ask (Accept-Encoding): the page cache answers its gzipped copy.
    compressed: bool = False


ENDPOINTS = [
    Endpoint("constant view (ceiling)", lambda m: ["/bench/constant/"]),
    Endpoint("daily /", lambda m: ["/"], cards=True),
    Endpoint("daily / from cache", lambda m: ["/"], cached=True),
    Endpoint("daily / from cache, gzip", lambda m: ["/"], cached=True, compressed=True),
    Endpoint("daily / signed in", lambda m: ["/"], signed_in=True, cards=True),
    Endpoint("day page", lambda m: [f"/papers/date/{d}/" for d in _recent_days(m, 30)], cards=True),
    Endpoint("week page", lambda m: [f"/papers/week/{w}/" for w in _weeks(m, 8)], cards=True),
    Endpoint("month page", lambda m: [f"/papers/month/{x}/" for x in _months(m, 6)], cards=True),
    Endpoint("trending", lambda m: ["/trending/"], cards=True),
    Endpoint("new", lambda m: ["/new/"], cards=True),
    Endpoint("paper page", lambda m: [f"/papers/{p}/" for p in m["sample_papers"]], cards=True),
    Endpoint(
        "paper's related (htmx)",
        lambda m: [f"/papers/{p}/related/" for p in m["sample_papers"]],
        htmx=True,
    ),
    Endpoint(
        "author (busiest)",
        lambda m: [f"/authors/{quote(m['busy_author']['slug'])}/"],
        cards=True,
    ),
    Endpoint("search common", lambda m: _search(t["q"] for t in m["terms"]["common"]), cards=True),
    Endpoint("search rare", lambda m: _search(m["terms"]["rare_pool"]), cards=True),
    Endpoint("search no match", lambda m: _search([m["terms"]["none"]["q"]]), cards=True),
    Endpoint("API daily", lambda m: ["/api/daily_papers"]),
    Endpoint("API paper", lambda m: [f"/api/papers/{p}" for p in m["sample_papers"]]),
    Endpoint("upvote toggle", lambda m: m["voted_papers"], signed_in=True, vote=True),
]


# --- The server ------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database, port, redis_url):
    """Production settings (DEBUG off, secure defaults), except plain HTTP on localhost."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "DATABASE_URL": database_url(database),
            "REDIS_URL": redis_url,
            "SECRET_KEY": env.get("BENCH_SECRET_KEY", "bench-load-secret-key-not-for-production"),
            "SITE_URL": f"http://127.0.0.1:{port}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "STATIC_MANIFEST": "1",
            "DAILYPAPERS_VAR_DIR": str(OUT / "var"),
            "BENCHMARK_VIEWS": "1",
            "BENCH_COUNT_QUERIES": "1",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # The database's own vector index (built before the load, see ensure_index).
            "SEMANTIC_INDEX_DIR": str(index_dir(database)),
        }
    )
    return env


def ensure_index():
    """Build the vector index of the database in DATABASE_URL unless it is there, as a
    running site has one (its worker builds it): without it, search's semantic half
    would scan vectors exactly. bench/semantic_load.py uses the same folder."""
    from semantic import encoder, index

    key = encoder.model_key()
    meta = index.read_meta()
    if meta and meta["model_key"] == key:
        print(f"vector index: {meta['count']:,} vectors, built {meta['built_at']}", flush=True)
        return
    print("vector index: building it (semantic.index.rebuild) ...", flush=True)
    started = time.perf_counter()
    built = index.rebuild(key)
    if not built.count:
        print("vector index: no vectors in this database: search by meaning is off", flush=True)
        return
    print(f"vector index: {built.count:,} vectors in {time.perf_counter() - started:.0f} s")


def manage(env, *args):
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


class Server:
    def __init__(self, env, port, log):
        self.env, self.port, self.log = env, port, log
        self.web = self.worker = None

    def start(self):
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=1",
             "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.web.returncode}; see {self.log.name}")
            try:
                if fetch(self.port, "GET", "/bench/constant/").status == 200:
                    self._settle()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.log.name}")

    @staticmethod
    def _settle(limit=30.0):
        """Wait until the other workers (Django, the model) and the Celery worker have
        started: the first answer comes from one worker while the rest still boot, and
        their start-up would be counted against the first endpoint measured."""
        deadline = time.monotonic() + limit
        while cpu_busy(1.0) > 15 and time.monotonic() < deadline:
            pass

    def stop(self):
        for proc in (self.web, self.worker):
            if proc and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in (self.web, self.worker):
            if proc:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _memory_kb(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
                    key, value = line.split(":")
                    values[key] = int(value.split()[0])
    except OSError:
        pass
    return values


def cpu_busy(seconds=2.0):
    """How busy the CPUs are (percent), from /proc/stat: run while nothing of ours is,
    it says whether other processes are competing for the machine."""

    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    busy1, total1 = sample()
    time.sleep(seconds)
    busy2, total2 = sample()
    return 100.0 * (busy2 - busy1) / max(total2 - total1, 1)


def _cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


class ProcessMonitor(threading.Thread):
    """Every 0.2 s: the gunicorn workers' RSS (and their own high-water marks), and the
    CPU time of the workers and of the PostgreSQL backends serving this database.
    CPU per request is the figure that holds when other processes share the machine.
    Workers are recycled by max_requests, so every pid is kept separately."""

    def __init__(self, master_pid, database_url_, database):
        super().__init__(daemon=True)
        self.master_pid, self.url, self.database = master_pid, database_url_, database
        self.peak_kb = {}  # worker pid -> peak RSS
        # worker pid -> peak anonymous memory: the worker's own, without the mapped files
        # (libraries, the vector index) that every process maps from the same page cache
        self.peak_anon_kb = {}
        self.peak_total_kb = 0
        self.web_ticks, self.db_ticks = {}, {}  # pid -> last CPU ticks seen
        self.db_pids = []
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def _find_db_pids(self, conn):
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [self.database],
        ).fetchall()
        self.db_pids = [r[0] for r in rows]

    def sample(self):
        with self.lock:
            total = 0
            for pid in _children(self.master_pid):
                memory = _memory_kb(pid)
                peak = max(memory.get("VmHWM", 0), memory.get("VmRSS", 0))
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), peak)
                anon = memory.get("RssAnon", 0)
                self.peak_anon_kb[pid] = max(self.peak_anon_kb.get(pid, 0), anon)
                total += memory.get("VmRSS", 0)
                ticks = _cpu_ticks(pid)
                if ticks is not None:
                    self.web_ticks[pid] = ticks
            self.peak_total_kb = max(self.peak_total_kb, total)
            for pid in self.db_pids:
                ticks = _cpu_ticks(pid)
                if ticks is not None:
                    self.db_ticks[pid] = ticks
            return sum(self.web_ticks.values()), sum(self.db_ticks.values())

    def run(self):
        from seed import connect

        with connect(self.url, autocommit=True) as conn:
            rounds = 0
            while not self.halt.wait(0.2):
                if rounds % 5 == 0:
                    self._find_db_pids(conn)
                rounds += 1
                self.sample()

    def cpu_ms(self):
        """(web, database) CPU milliseconds so far."""
        web, db = self.sample()
        return web * TICK_MS, db * TICK_MS

    def summary(self):
        peaks = sorted(self.peak_kb.values(), reverse=True)
        return {
            "workers_seen": len(peaks),
            "peak_worker_mb": round(peaks[0] / 1024, 1) if peaks else None,
            "median_worker_peak_mb": round(peaks[len(peaks) // 2] / 1024, 1) if peaks else None,
            "peak_total_mb": round(self.peak_total_kb / 1024, 1),
            "peak_worker_anon_mb": round(max(self.peak_anon_kb.values(), default=0) / 1024, 1),
        }


# --- Requests ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    queries: str
    size: int
    ms: float
    body: bytes = b""


def fetch(port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    ms = (time.perf_counter() - started) * 1000
    return Reply(response.status, response.getheader("X-SQL-Queries", "?"), len(data), ms, data)


@dataclass
class Request:
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: str = ""

    def line(self):
        headers = "|".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method}\t{self.path}\t{headers}\t{self.body}"


def sign_in(count):
    """Sessions for `count` bench users, written as django.contrib.auth.login would, and a
    CSRF secret each (as a cookie, and in the session too if CSRF_USE_SESSIONS)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, CSRF_SESSION_KEY
    from django.utils.crypto import get_random_string

    store = import_module(settings.SESSION_ENGINE).SessionStore
    backend = settings.AUTHENTICATION_BACKENDS[0]
    users = list(get_user_model().objects.filter(username__startswith="bench").order_by("pk"))
    if len(users) < count:
        raise SystemExit(f"Only {len(users)} bench users in the database; reseed it.")
    signed_in = []
    for user in users[:count]:
        csrf = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
        session = store()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[CSRF_SESSION_KEY] = csrf
        session.create()
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
        cookie += f"; {settings.CSRF_COOKIE_NAME}={csrf}"
        signed_in.append((user, {"Cookie": cookie, "X-CSRFToken": csrf}))
    return signed_in


def vote_pairs(signed_in, arxiv_ids, count, rng):
    """Distinct (user, paper) pairs where the user hasn't voted yet, so each toggle
    really adds then really removes a vote."""
    from papers.models import Paper, Vote

    papers = dict(Paper.objects.filter(arxiv_id__in=arxiv_ids).values_list("arxiv_id", "pk"))
    ids = [a for a in arxiv_ids if a in papers]
    users = {u.pk for u, _ in signed_in}
    voted = set(
        Vote.objects.filter(user_id__in=users, paper_id__in=papers.values()).values_list(
            "user_id", "paper_id"
        )
    )
    pairs = []
    for k in rng.sample(
        range(len(signed_in) * len(ids)), min(count * 2, len(signed_in) * len(ids))
    ):
        user, headers = signed_in[k % len(signed_in)]
        arxiv_id = ids[k // len(signed_in)]
        if (user.pk, papers[arxiv_id]) not in voted:
            pairs.append((user, headers, arxiv_id))
        if len(pairs) == count:
            break
    return pairs


def restore_votes(pairs):
    """Withdraw whatever the toggles left, through the model, so counts stay exact and
    the database is as seeded."""
    from papers.models import Paper, Vote

    wanted = {(user.pk, arxiv_id) for user, _, arxiv_id in pairs}
    left = Vote.objects.filter(
        user_id__in={u for u, _ in wanted}, paper__arxiv_id__in={a for _, a in wanted}
    ).select_related("user", "paper")
    restored = 0
    for vote in left:
        if (vote.user_id, vote.paper.arxiv_id) in wanted:
            Paper.objects.get(pk=vote.paper_id).remove_vote(vote.user)
            restored += 1
    return restored


def requests_for(endpoint, meta, signed_in, pairs, port):
    if endpoint.vote:
        origin = f"http://127.0.0.1:{port}"
        ups, removes = [], []
        for _, headers, arxiv_id in pairs:
            common = {
                **headers,
                "Origin": origin,
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            path = f"/papers/{arxiv_id}/vote/"
            ups.append(Request("POST", path, common, urlencode({"action": "up", "next": "/"})))
            removes.append(
                Request("POST", path, common, urlencode({"action": "remove", "next": "/"}))
            )
        # Every pair goes up, then (a whole cycle later) down again.
        return ups + removes
    paths = endpoint.paths(meta)
    if endpoint.signed_in:
        return [
            Request("GET", paths[i % len(paths)], {"Cookie": signed_in[i][1]["Cookie"]})
            for i in range(len(signed_in))
        ]
    headers = {} if endpoint.cached else {"X-Bench-Page-Cache": "off"}
    if endpoint.compressed:
        headers["Accept-Encoding"] = "gzip, deflate, br"
    if endpoint.htmx:
        headers["HX-Request"] = "true"
    return [Request("GET", p, dict(headers)) for p in paths]


def run_wrk(port, request_file, connections, seconds):
    wrk = shutil.which("wrk")
    command = [
        wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(request_file), "1",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    match = re.search(r"^WRK_JSON (.*)$", result.stdout, re.M)
    if not match:
        raise SystemExit(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    errors = sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return {
        "connections": connections,
        "requests": data["requests"],
        "rps": round(data["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": data["p50_us"] / 1000,
        "p95_ms": data["p95_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "max_ms": data["max_us"] / 1000,
        "non_2xx_3xx": data["status_errors"],
        "socket_errors": errors,
    }


def probe(port, request, repeat=2):
    """Send the request `repeat` times; the first is cold (empty cache)."""
    return [
        fetch(port, request.method, request.path, request.headers, request.body.encode() or None)
        for _ in range(repeat)
    ]


# --- One database -------------------------------------------------------------------------------


def run_one(args, database):
    meta_file = OUT / f"{database}.json"
    if not meta_file.exists():
        raise SystemExit(f"No {meta_file}: seed the database first (python bench/seed.py).")
    meta = json.loads(meta_file.read_text())
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    port = free_port()
    env = server_env(database, port, args.redis_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.cache import cache

    print(f"== {database}: {meta['papers']:,} papers, {meta['votes']:,} votes", flush=True)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    ensure_index()
    cache.clear()  # FLUSHDB on REDIS_URL: no page cached by an earlier run
    rng = random.Random(7)
    signed_in = sign_in(min(SIGNED_IN_USERS, meta["users"]))
    pairs = vote_pairs(signed_in, meta["voted_papers"], VOTE_PAIRS, rng)
    from django.db import connections

    connections.close_all()

    OUT.mkdir(exist_ok=True)
    (OUT / "requests").mkdir(exist_ok=True)
    busy_before = cpu_busy()
    if busy_before > 10:
        print(
            f"Note: other processes keep {busy_before:.0f}% of the CPU busy: the figures will be "
            "lower than this machine can do.",
            flush=True,
        )
    log = (OUT / f"server-{database}.log").open("w")
    server = Server(env, port, log)
    server.start()
    monitor = ProcessMonitor(server.web.pid, env["DATABASE_URL"], database)
    monitor.start()
    results = []
    started = time.monotonic()
    try:
        for endpoint in ENDPOINTS:
            if args.only and not any(o in endpoint.name for o in args.only):
                continue
            result = measure(endpoint, meta, signed_in, pairs, port, args, monitor)
            results.append(result)
            print_row(result, results[0])
    finally:
        monitor.halt.set()
        monitor.join()
        server.stop()
        log.close()
    restore_votes(pairs)

    report = {
        "database": database,
        "papers": meta["papers"],
        "votes": meta["votes"],
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duration": args.duration,
        "latency_duration": args.latency_duration,
        "connections": args.connections,
        "workers": int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) * 2),
        "seconds": round(time.monotonic() - started, 1),
        "memory": monitor.summary(),
        "others_cpu_percent_before": round(busy_before, 1),
        "endpoints": results,
    }
    (OUT / f"load-{database}.json").write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    return report


def measure(endpoint, meta, signed_in, pairs, port, args, monitor):
    requests = requests_for(endpoint, meta, signed_in, pairs, port)
    result = {"name": endpoint.name, "path": requests[0].path, "urls": len(requests)}
    if endpoint.vote:
        # A pair of its own for the probe: up, then remove, back where it was.
        up, remove = requests[0], requests[len(requests) // 2]
        replies = probe(port, up, 1) + probe(port, remove, 1)
        requests = requests[1 : len(requests) // 2] + requests[len(requests) // 2 + 1 :]
        result["sql"] = f"{replies[0].queries}/{replies[1].queries}"  # up / remove
    else:
        replies = probe(port, requests[0])
        first, second = replies[0].queries, replies[1].queries
        result["sql"] = first if first == second else f"{first}/{second}"  # cold / warm
    status = replies[0].status
    result["status"] = status
    result["bytes"] = replies[0].size
    if status == 404:
        result["skipped"] = f"{requests[0].path} answers 404: not built on this branch yet"
        return result
    if (endpoint.vote or endpoint.signed_in) and not 200 <= status < 300:
        # A redirect to sign-in or a CSRF failure: the harness's sessions don't work.
        result["error"] = f"{requests[0].method} {requests[0].path} answered {status}"
        return result
    if not 200 <= status < 300:
        result["warning"] = f"the probe of {requests[0].path} answered {status}"
    if endpoint.signed_in and b"Sign in" in replies[0].body and not endpoint.vote:
        result["warning"] = "the page still offers 'Sign in': is the session valid?"

    if endpoint.cards:
        # A site in use has its cards and page parts cached: each of the endpoint's pages
        # is asked for once before the timed runs, as a visitor would have. The probe
        # above shows the first visit's cost (its SQL is cold/warm).
        for request in {r.path: r for r in requests}.values():
            probe(port, request, 1)
    request_file = OUT / "requests" / (re.sub(r"\W+", "-", endpoint.name).strip("-") + ".txt")
    request_file.write_text("\n".join(r.line() for r in requests) + "\n")
    result["latency"] = run_wrk(port, request_file, 1, args.latency_duration)
    web_before, db_before = monitor.cpu_ms()
    result["load"] = run_wrk(port, request_file, args.connections, args.duration)
    web_after, db_after = monitor.cpu_ms()
    done = max(result["load"]["requests"], 1)
    result["load"]["web_cpu_ms"] = round((web_after - web_before) / done, 2)
    result["load"]["db_cpu_ms"] = round((db_after - db_before) / done, 2)
    return result


# --- Printing ----------------------------------------------------------------------------------


def _ms(value):
    return f"{value:.1f}" if value is not None else "-"


HEADER = (
    f"{'endpoint':<24} {'HTTP':>4} {'SQL':>5} | {'c=1 p50':>7} {'p95':>6} {'p99':>6} | "
    f"{'c=N req/s':>9} {'ceil%':>5} {'p50':>6} {'p95':>6} {'p99':>7} | {'CPU web':>7} {'db':>5} "
    f"| {'errors':>6}"
)
LEGEND = (
    "Latency in ms (wrk). c=1: one connection, ~ server time. c=N: N connections, ceil% = "
    "throughput as a share of the constant view's.\nSQL: queries per request (cold/warm "
    "when they differ; up/remove for the vote). CPU: ms of gunicorn-worker and PostgreSQL-"
    "backend CPU per request\nunder load (holds when other processes share the machine). "
    "errors: non-2xx/3xx answers and socket errors."
)


def print_row(result, ceiling_result=None, file=None):
    name = result["name"]
    if "skipped" in result:
        print(f"{name:<24} skipped: {result['skipped']}", file=file, flush=True)
        return
    if "latency" not in result:
        print(f"{name:<24} ERROR: {result.get('error')}", file=file, flush=True)
        return
    lat, load = result["latency"], result["load"]
    ceiling = None
    if ceiling_result and "ceiling" in ceiling_result["name"]:
        ceiling = ceiling_result.get("load", {}).get("rps")
    share = f"{100 * load['rps'] / ceiling:.0f}" if ceiling else "-"
    errors = load["non_2xx_3xx"] + load["socket_errors"] + lat["non_2xx_3xx"]
    print(
        f"{name:<24} {result['status']:>4} {result['sql']:>5} | {_ms(lat['p50_ms']):>7} "
        f"{_ms(lat['p95_ms']):>6} {_ms(lat['p99_ms']):>6} | {load['rps']:>9.0f} {share:>5} "
        f"{_ms(load['p50_ms']):>6} {_ms(load['p95_ms']):>6} {_ms(load['p99_ms']):>7} | "
        f"{_ms(load.get('web_cpu_ms')):>7} {_ms(load.get('db_cpu_ms')):>5} | {errors:>6}",
        file=file,
        flush=True,
    )
    for key in ("error", "warning"):
        if key in result:
            print(f"{'':<24} {key}: {result[key]}", file=file, flush=True)


def print_report(report):
    memory = report["memory"]
    ceiling = next((r for r in report["endpoints"] if "ceiling" in r["name"]), None)
    print()
    print(
        f"{report['database']}: {report['papers']:,} papers; gunicorn {report['workers']} "
        f"workers; wrk c=1 for {report['latency_duration']} s, then "
        f"c={report['connections']} for {report['duration']} s per endpoint"
    )
    if report.get("others_cpu_percent_before", 0) > 10:
        print(f"(other processes used {report['others_cpu_percent_before']}% of the CPU before)")
    print(LEGEND)
    print(HEADER)
    for result in report["endpoints"]:
        print_row(result, ceiling)
    for name in ("daily / from cache", "daily / from cache, gzip"):
        cached = next((r for r in report["endpoints"] if r["name"] == name), None)
        if ceiling and cached and "load" in ceiling and "load" in cached:
            ceiling_rps, cached_rps = ceiling["load"]["rps"], cached["load"]["rps"]
            print(
                f"{name}: {cached_rps:,.0f} req/s against the constant view's "
                f"{ceiling_rps:,.0f}, {100 * cached_rps / ceiling_rps:.0f} % "
                "(issue 16: at least 80 %)"
            )
    print(
        f"gunicorn workers: peak RSS {memory['peak_worker_mb']} MB (median worker peak "
        f"{memory['median_worker_peak_mb']} MB, {memory['workers_seen']} worker processes seen, "
        f"all workers together at most {memory['peak_total_mb']} MB); own memory (anonymous, "
        f"without mapped files such as the vector index) at most "
        f"{memory.get('peak_worker_anon_mb')} MB a worker"
    )


def print_side_by_side(reports):
    """The same endpoints at each scale: a cost that grows with the table shows here."""
    names = []
    for report in reports:
        for r in report["endpoints"]:
            if r["name"] not in names:
                names.append(r["name"])
    width = 44
    print()
    titles = [f"{r['papers']:,} papers" for r in reports]
    print(f"{'':<24} " + " | ".join(f"{t:^{width}}" for t in titles))
    sub = f"{'SQL':>5} {'c1 p50':>7} {'req/s':>6} {'p95':>6} {'p99':>6} {'CPU ms':>7}"
    print(f"{'endpoint':<24} " + " | ".join(f"{sub:<{width}}" for _ in reports))
    for name in names:
        cells = []
        for report in reports:
            r = next((x for x in report["endpoints"] if x["name"] == name), None)
            if r is None or "latency" not in r:
                note = "404: not built" if r and "skipped" in r else (r or {}).get("error", "-")
                cells.append(f"{note[:width]:^{width}}")
                continue
            load = r["load"]
            cpu = (load.get("web_cpu_ms") or 0) + (load.get("db_cpu_ms") or 0)
            cell = (
                f"{r['sql'][:5]:>5} {_ms(r['latency']['p50_ms']):>7} {load['rps']:>6.0f} "
                f"{_ms(load['p95_ms']):>6} {_ms(load['p99_ms']):>6} {_ms(cpu):>7}"
            )
            cells.append(f"{cell:<{width}}")
        print(f"{name:<24} " + " | ".join(cells))
    peaks = " | ".join(f"{str(r['memory']['peak_worker_mb']) + ' MB':^{width}}" for r in reports)
    print(f"{'worker peak RSS':<24} {peaks}")
    own = " | ".join(
        f"{str(r['memory'].get('peak_worker_anon_mb')) + ' MB':^{width}}" for r in reports
    )
    print(f"{'worker own memory':<24} {own}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        action="append",
        help="seeded database(s) to measure, in order (default dp_bench_1m)",
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per endpoint")
    parser.add_argument(
        "--latency-duration", type=int, default=3, help="seconds of the one-connection pass"
    )
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument(
        "--only", action="append", help="measure only endpoints whose name contains this"
    )
    parser.add_argument(
        "--compare", nargs="+", metavar="NAME", help="print saved results side by side"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: one database, in-process
    args = parser.parse_args(argv)
    args.redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL

    if args.compare:
        reports = []
        for name in args.compare:
            path = OUT / f"load-{name}.json"
            if not path.exists():
                raise SystemExit(f"No {path}: run bench/load.py --database {name} first.")
            reports.append(json.loads(path.read_text()))
        for report in reports:
            print_report(report)
        print_side_by_side(reports)
        return
    if args.one:
        run_one(args, args.one)
        return

    databases = args.database or ["dp_bench_1m"]
    # One process per database: Django's settings (DATABASE_URL) are set once a process.
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    passthrough = _without_database_flags(passthrough)
    for name in databases:
        subprocess.run([sys.executable, __file__, *passthrough, "--one", name], check=True)
    if len(databases) > 1:
        reports = [json.loads((OUT / f"load-{n}.json").read_text()) for n in databases]
        print_side_by_side(reports)


def _without_database_flags(argv):
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--database":
            skip = True
            continue
        if arg.startswith("--database="):
            continue
        kept.append(arg)
    return kept


if __name__ == "__main__":
    main()
