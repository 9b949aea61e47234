#!/usr/bin/env python
"""A soak: mixed traffic against the production-like server for a while, then checks.

    python bench/soak.py [--duration S] [--clients N] [--database NAME]   # make soak

1. A database of its own (default dp_soak, dropped and made again), migrated, static
   files collected, filled through the real importers with recorded responses: the
   Hugging Face day (29 featured papers) and arXiv API pages (indexed papers). A
   private redis-server on a free port (never the shared one), and a local fake arXiv
   that answers id_list queries with entries of recorded arXiv responses that were
   not imported, so submissions are fetched for real, from 127.0.0.1.
2. gunicorn with config/gunicorn.py (DEBUG off, production settings but plain HTTP;
   --max-requests 0, so a leak can't hide behind worker recycling) and a Celery worker.
3. N client threads, each a signed-in user (plus anonymous requests), for S seconds:
   browse (daily, trending, new, paper, day, API, feeds) ~55%, search ~20%, vote up /
   withdraw ~20%, submit ~5%. Each client knows which of its votes stand and how many
   submissions it made.
4. Reports status counts and latency per kind, the RSS of every gunicorn worker and
   of the Celery worker sampled every 10 s, and compares the database with what the
   clients did: each client's votes, each paper's count against its vote rows, the
   submissions (none left pending). Exits 1 if a 5xx came or a count is off.
"""

import argparse
import json
import random
import re
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from seed import ROOT, connect, database_url

sys.path.insert(0, str(ROOT))
from tests.servers import (  # noqa: E402
    RedisServer,
    Site,
    Worker,
    children,
    free_port,
    manage,
    site_env,
)

OUT = Path(__file__).resolve().parent / "out"
RECORDED = ROOT / "tests" / "fixtures"
HF_DAY = RECORDED / "hf-daily-papers" / "daily_papers_2024-10-25.json"
ARXIV_PAGES = sorted((RECORDED / "arxiv-api" / "2026").glob("q_testing_s*_m10_*.xml"))
IMPORTED_PAGES = 3  # the first pages are imported (indexed); the others are submitted
ATOM = "{http://www.w3.org/2005/Atom}"

SEED = """
import json
from allauth.account.models import EmailAddress
from django.db.models import Q
from papers.models import Paper
from tests.servers import session_cookies
from accounts.models import User
users = []
for n in range(%(clients)d):
    user = User.objects.create_user(f"soak{n}", f"soak{n}@example.org", "soak-password-1")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    users.append(user)
papers = list(Paper.objects.values_list("arxiv_id", "daily_date", "title"))
print(json.dumps({
    "sessions": [session_cookies(u) for u in users],
    "users": [u.pk for u in users],
    "papers": [a for a, _, _ in papers],
    "indexed": [a for a, d, _ in papers if d is None],
    "days": sorted({d.isoformat() for _, d, _ in papers if d}),
    "titles": [t for _, _, t in papers],
}))
"""


# --- A fake arXiv: id_list queries answered from recorded entries --------------------------


def recorded_entries(pages):
    """arXiv id (no version) -> the <entry> element, from recorded query responses."""
    entries = {}
    for page in pages:
        for entry in ET.parse(page).getroot().iter(f"{ATOM}entry"):
            url = entry.findtext(f"{ATOM}id")
            entries[re.sub(r"v\d+$", "", url.rsplit("/abs/", 1)[1])] = entry
    return entries


class FakeArxiv:
    def __init__(self, entries, template):
        self.entries, self.requests = entries, Counter()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                params = parse_qs(urlsplit(self.path).query)
                ids = [i for v in params.get("id_list", []) for i in v.split(",") if i]
                fake.requests[tuple(ids)] += 1
                body = fake.feed([re.sub(r"v\d+$", "", i) for i in ids], template)
                self.send_response(200)
                self.send_header("Content-Type", "application/atom+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/query"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def feed(self, ids, template):
        root = ET.fromstring(template)
        for entry in root.findall(f"{ATOM}entry"):
            root.remove(entry)
        found = [self.entries[i] for i in ids if i in self.entries]
        for entry in found:
            root.append(entry)
        for name in ("totalResults", "itemsPerPage"):
            node = root.find(f"{{http://a9.com/-/spec/opensearch/1.1/}}{name}")
            if node is not None:
                node.text = str(len(found))
        return ET.tostring(root, xml_declaration=True, encoding="utf-8")

    def close(self):
        self.server.shutdown()


# --- Clients ----------------------------------------------------------------------------------


class Client(threading.Thread):
    def __init__(self, n, url, cookies, data, submittable, stop, seed):
        super().__init__(daemon=True)
        self.n, self.url, self.cookies, self.data = n, url, cookies, data
        self.submittable, self.stop = submittable, stop
        self.rng = random.Random(seed)
        self.votes = set()  # papers this user's upvote stands on, as the site answered
        self.submitted = 0  # submissions the site accepted (a redirect to its status)
        self.results = []  # (kind, status or error, seconds)
        self.uncertain = set()  # papers whose last vote answer was an error: unknown state

    def run(self):
        signed = httpx.Client(base_url=self.url, cookies=self.cookies, timeout=30)
        anonymous = httpx.Client(base_url=self.url, timeout=30)
        signed.get("/digest/subscribe/")
        self.token = signed.cookies.get("csrftoken", "")
        kinds = ["browse"] * 11 + ["search"] * 4 + ["vote"] * 4 + ["submit"]
        while not self.stop.is_set():
            kind = self.rng.choice(kinds)
            started = time.monotonic()
            try:
                status = getattr(self, kind)(signed, anonymous)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            self.results.append((kind, status, time.monotonic() - started))
            time.sleep(self.rng.uniform(0.02, 0.15))
        signed.close()
        anonymous.close()

    def browse(self, signed, anonymous):
        data, rng = self.data, self.rng
        path = rng.choice(
            [
                "/",
                "/trending/",
                "/new/",
                f"/papers/{rng.choice(data['papers'])}/",
                f"/papers/{rng.choice(data['papers'])}/",
                f"/papers/date/{rng.choice(data['days'])}/",
                f"/api/daily_papers?date={rng.choice(data['days'])}",
                f"/api/papers/{rng.choice(data['papers'])}",
                "/feeds/daily.rss",
                "/feeds/trending.atom",
            ]
        )
        return rng.choice([signed, anonymous]).get(path).status_code

    def search(self, signed, anonymous):
        words = re.findall(r"[A-Za-z]{4,}", self.rng.choice(self.data["titles"]))
        query = " ".join(self.rng.sample(words, min(len(words), self.rng.choice([1, 1, 2]))))
        client = self.rng.choice([signed, anonymous])
        return client.get("/search/", params={"q": query or "learning"}).status_code

    def vote(self, signed, anonymous):
        arxiv_id = self.rng.choice(self.data["papers"][:40])  # a few papers get many votes
        action = "remove" if arxiv_id in self.votes and self.rng.random() < 0.6 else "up"
        response = signed.post(
            f"/papers/{arxiv_id}/vote/",
            data={"action": action, "csrfmiddlewaretoken": self.token},
            headers={"HX-Request": "true"},
        )
        if response.status_code == 200:
            (self.votes.add if action == "up" else self.votes.discard)(arxiv_id)
            self.uncertain.discard(arxiv_id)
        else:
            self.uncertain.add(arxiv_id)
        return response.status_code

    def submit(self, signed, anonymous):
        arxiv_id = self.rng.choice(self.submittable)
        response = signed.post(
            "/submit/", data={"paper": arxiv_id, "csrfmiddlewaretoken": self.token}
        )
        if response.status_code == 302:
            self.submitted += 1
            signed.get(response.headers["location"])
        return response.status_code


# --- Memory ------------------------------------------------------------------------------------


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None


class MemorySampler(threading.Thread):
    def __init__(self, site, worker, stop, every=10.0):
        super().__init__(daemon=True)
        self.site, self.worker, self.stop, self.every = site, worker, stop, every
        self.samples = []  # (seconds, {pid: MB} of gunicorn workers, celery MB)

    def run(self):
        started = time.monotonic()
        while True:
            web = {pid: rss_mb(pid) for pid in self.site.worker_pids()}
            celery = [self.worker.proc.pid, *children(self.worker.proc.pid)]
            celery_mb = sum(rss_mb(p) or 0 for p in celery)
            self.samples.append((time.monotonic() - started, web, celery_mb))
            if self.stop.wait(self.every):
                return


# --- Setup, run, check ----------------------------------------------------------------------


def prepare_database(name, env):
    url = database_url(name)
    with connect(database_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "ingest_hf_daily", "--file", str(HF_DAY))
    for page in ARXIV_PAGES[:IMPORTED_PAGES]:
        manage(env, "ingest_arxiv", "--file", str(page))
    return url


def percentile(values, share):
    values = sorted(values)
    return values[min(int(len(values) * share), len(values) - 1)] if values else 0.0


def check_database(url, clients, data):
    """What the database holds against what the clients saw. Returns problems."""
    problems = []
    with connect(url) as conn:
        uneven = conn.execute(
            """SELECT p.arxiv_id, p.upvote_count, count(v.id) FROM papers_paper p
               LEFT JOIN papers_vote v ON v.paper_id = p.id
               GROUP BY p.id HAVING p.upvote_count <> count(v.id)"""
        ).fetchall()
        if uneven:
            problems.append(f"upvote_count differs from the vote rows: {uneven[:5]}")
        rows = conn.execute(
            """SELECT v.user_id, p.arxiv_id FROM papers_vote v
               JOIN papers_paper p ON p.id = v.paper_id WHERE v.user_id = ANY(%s)""",
            [data["users"]],
        ).fetchall()
        stored = defaultdict(set)
        for user_id, arxiv_id in rows:
            stored[user_id].add(arxiv_id)
        for client, user_id in zip(clients, data["users"], strict=True):
            known = stored[user_id] - client.uncertain
            if known != client.votes - client.uncertain:
                problems.append(f"soak{client.n}: votes {sorted(known ^ client.votes)} differ")
        per_paper = Counter(a for _, a in rows)
        expected = Counter(a for c in clients for a in c.votes)
        submissions = dict(
            conn.execute(
                """SELECT status, count(*) FROM papers_submission WHERE user_id = ANY(%s)
                   GROUP BY status""",
                [data["users"]],
            ).fetchall()
        )
    made = sum(submissions.values())
    if made != sum(c.submitted for c in clients):
        problems.append(
            f"{made} submissions stored, clients made {sum(c.submitted for c in clients)}"
        )
    if submissions.get("pending"):
        problems.append(f"{submissions['pending']} submissions still pending")
    if submissions.get("failed"):
        problems.append(f"{submissions['failed']} submissions failed")
    return problems, {
        "votes standing": sum(per_paper.values()),
        "votes expected": sum(expected.values()),
        "papers voted on": len(per_paper),
        "submissions": submissions,
    }


def wait_for_submissions(url, users, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connect(url) as conn:
            pending = conn.execute(
                "SELECT count(*) FROM papers_submission WHERE status='pending' AND user_id=ANY(%s)",
                [users],
            ).fetchone()[0]
        if not pending:
            return
        time.sleep(1)


def report(clients, sampler, fake, db, problems, seconds):
    results = [r for c in clients for r in c.results]
    print(f"\n{len(results)} requests in {seconds:.0f} s ({len(results) / seconds:.1f}/s), "
          f"{len(clients)} clients")  # fmt: skip
    print(f"{'kind':8} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for kind in ("browse", "search", "vote", "submit"):
        mine = [r for r in results if r[0] == kind]
        times = [r[2] * 1000 for r in mine]
        statuses = dict(sorted(Counter(str(r[1]) for r in mine).items()))
        p50, p95, p99 = (percentile(times, share) for share in (0.5, 0.95, 0.99))
        print(f"{kind:8} {len(mine):>9} {p50:>8.0f} {p95:>8.0f} {p99:>8.0f}  {statuses}")
    errors = [r for r in results if not isinstance(r[1], int) or r[1] >= 500]
    print(f"5xx or no answer: {len(errors)}")

    print("\nRSS (MB), sampled every 10 s:")
    first, last = sampler.samples[0], sampler.samples[-1]
    pids = sorted(set(first[1]) | set(last[1]))
    print(f"{'t (s)':>6} " + " ".join(f"{'web ' + str(p):>10}" for p in pids) + f" {'celery':>8}")
    step = max(len(sampler.samples) // 10, 1)
    for t, web, celery in sampler.samples[::step] + [last]:
        cells = " ".join(f"{web.get(p) or 0:>10.1f}" for p in pids)
        print(f"{t:>6.0f} {cells} {celery:>8.1f}")
    warm = sampler.samples[min(3, len(sampler.samples) - 1)]  # after ~30 s of warm-up
    for pid in pids:
        if warm[1].get(pid) and last[1].get(pid):
            print(f"web {pid}: {warm[1][pid]:.1f} MB at {warm[0]:.0f} s -> "
                  f"{last[1][pid]:.1f} MB at {last[0]:.0f} s")  # fmt: skip
    print(f"celery: {warm[2]:.1f} MB -> {last[2]:.1f} MB")
    print(f"\ndatabase: {json.dumps(db)}")
    print(f"fake arXiv answered {sum(fake.requests.values())} requests")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("OK: no 5xx, counts match" if not problems and not errors else "FAILED")
    return not problems and not errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--database", default="dp_soak")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    OUT.mkdir(exist_ok=True)
    entries = recorded_entries(ARXIV_PAGES)
    fake = FakeArxiv(entries, ARXIV_PAGES[0].read_bytes())
    redis = RedisServer().start()
    port = free_port()
    env = site_env(
        database_url(args.database),
        redis.url,
        port,
        STATIC_MANIFEST=1,
        DAILYPAPERS_VAR_DIR=OUT / "soak-var",
        ARXIV_API_URL=fake.url,
        ARXIV_REQUEST_INTERVAL=0,
        # Limits sized for a few clients doing many things, not for people.
        VOTE_RATE_LIMIT="100000/m",
        SUBMIT_RATE_LIMIT="100000/h",
    )
    site = worker = None
    try:
        print(f"Preparing {args.database} ...", flush=True)
        url = prepare_database(args.database, env)
        data = json.loads(
            manage(env, "shell", "--no-imports", input=SEED % {"clients": args.clients})
        )
        # Papers not imported (fetched from the fake arXiv), and indexed ones (featured
        # at once); once featured, a paper is refused with a link (also counted).
        submittable = [i for i in entries if i not in data["papers"]] + data["indexed"]
        site = Site(env, gunicorn_args=["--max-requests", "0"]).start()
        worker = Worker(env).start()
        stop = threading.Event()
        clients = [
            Client(n, site.url, cookies, data, submittable, stop, args.seed * 1000 + n)
            for n, cookies in enumerate(data["sessions"])
        ]
        sampler = MemorySampler(site, worker, stop)
        print(
            f"{args.clients} clients for {args.duration:.0f} s against {site.url} ...", flush=True
        )
        started = time.monotonic()
        sampler.start()
        for client in clients:
            client.start()
        stop.wait(args.duration)
        stop.set()
        for client in clients:
            client.join(60)
        seconds = time.monotonic() - started
        sampler.join(15)
        wait_for_submissions(url, data["users"])
        problems, db = check_database(url, clients, data)
        if "Internal Server Error" in site.output() or "Traceback" in worker.output():
            problems.append(
                "errors in the logs:\n" + site.output()[-3000:] + worker.output()[-3000:]
            )
        ok = report(clients, sampler, fake, db, problems, seconds)
    finally:
        for process in (site, worker, redis):
            if process:
                process.stop()
        fake.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
