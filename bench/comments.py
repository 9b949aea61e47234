#!/usr/bin/env python
"""What a paper page with a long discussion costs (issue 14), and posting under load.

    python bench/comments.py [--database dp_bench_comments] [--comments 300] [--requests 200]
    python bench/comments.py --load [--database dp_bench_1m] [--connections 32] [--duration 10]

Makes (or reuses) its own database, migrated, with one paper carrying --comments
comments (threads up to eight deep, by 30 users, with upvotes), then requests the
paper page through Django's test client, anonymous and uncached (the page cache off),
and prints p50/p90/p99 of the whole request and its query count; the same for a
signed-in reader; then posts --posts comments one after another as one user (p50/p99).
Single process, single client: a figure for the view itself, not for a loaded server.

--load posts comments as production does, with bench/load.py's server (gunicorn with
config/gunicorn.py, a Celery worker, DEBUG off) and wrk: the constant view
/bench/constant/ at --connections clients (the ceiling), then POST
/papers/<id>/comments/ with htmx (HX-Request, the fragment answer) at one client and at
--connections clients. It prints each run's p50/p95/p99, rate, and CPU milliseconds per
request of gunicorn's workers and of PostgreSQL's backends. The posts come from --users
signed-in bench users (sessions written as bench/load.py does) on --papers recent
papers, each text different, a quarter of them replies (the parent's author is
notified). The database needs bench users (bench/seed.py makes them: old, verified
accounts, so the new-account limits don't apply); COMMENT_RATE_LIMIT is lifted for the
run (a user may post 6 a minute: the bench's users post faster), every other check
runs. The comments, their notifications and counts are removed afterwards.
"""

import argparse
import os
import random
import statistics
import sys
import time
from urllib.parse import urlencode

from seed import ROOT, database_url, in_process_settings

# Bodies of the --load run's comments start with this, so they can be removed after.
LOAD_PREFIX = "Bench load comment"


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dp_bench_comments")
    parser.add_argument("--comments", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--load", action="store_true", help="posting under load (wrk)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--papers", type=int, default=500)
    args = parser.parse_args(argv)
    if args.load:
        return load(args)

    in_process_settings(
        args.database,
        PAGE_CACHE_SECONDS="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        COMMENT_RATE_LIMIT="100000/m",
    )
    sys.path.insert(0, str(ROOT))
    _create_database(args.database)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    paper, reader = _seed(args.comments)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    url = paper.get_absolute_url()
    print(f"paper {paper.arxiv_id}: {paper.comment_count} comments")
    # Wall time depends on what else the machine runs; the process's CPU time per
    # request (Python's share, without PostgreSQL's) much less.
    print(
        f"{'who':<10} {'queries':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'cpu p50 ms':>11}"
    )
    for who, client in (("visitor", Client()), ("member", _signed_in(Client(), reader))):
        client.get(url)  # warm: templates compiled, connection open
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        query_count = len(queries)  # now: later requests reset the connection's log
        assert response.status_code == 200
        shown = response.content.decode().count('<article class="comment')
        assert shown == args.comments, shown
        timings, cpu = [], []
        for _ in range(args.requests):
            start, start_cpu = time.perf_counter(), time.process_time()
            client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        print(
            f"{who:<10} {query_count:>7} {statistics.median(timings):>7.1f}"
            f" {percentile(timings, 90):>7.1f} {percentile(timings, 99):>7.1f}"
            f" {statistics.median(cpu):>11.1f}"
        )

    poster = _signed_in(Client(), reader)
    post_url = f"/papers/{paper.arxiv_id}/comments/"
    timings = []
    for n in range(args.posts):
        start = time.perf_counter()
        response = poster.post(post_url, {"body": f"Bench comment {time.time_ns()} #{n}"})
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 302, response.status_code
    print(
        f"posting {args.posts} comments: p50 {statistics.median(timings):.1f} ms,"
        f" p99 {percentile(timings, 99):.1f} ms"
    )
    # Back to the measured size for the next run.
    from discussion.models import Comment

    Comment.objects.filter(paper=paper, body__startswith="Bench comment ").delete()
    paper.discussion.model(paper_id=paper.pk)._recount_paper()


def _create_database(name):
    import psycopg

    url = database_url(name)
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _signed_in(client, user):
    client.force_login(user)
    return client


def _seed(count):
    """One paper with `count` comments, made once: re-runs reuse it."""
    import datetime as dt
    import random

    from allauth.account.models import EmailAddress
    from django.utils import timezone

    from accounts.models import User
    from discussion.models import Comment
    from papers.models import Paper

    arxiv_id = "2411.99999"
    paper = Paper.objects.filter(arxiv_id=arxiv_id).first()
    users = []
    for n in range(30):
        user, created = User.objects.get_or_create(
            username=f"bench{n}",
            defaults={
                "email": f"bench{n}@example.org",
                "date_joined": timezone.now() - dt.timedelta(days=90),
            },
        )
        if created:
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        users.append(user)
    if paper is None:
        paper = Paper.objects.create(
            arxiv_id=arxiv_id,
            title="A benchmark paper with a long discussion",
            abstract="Three hundred comments, threaded, with $x^2$ math and upvotes.",
            daily_date=timezone.localdate(),
            published_at=timezone.now(),
        )
    have = Comment.objects.filter(paper=paper).count()
    rng = random.Random(14)
    made = list(Comment.objects.filter(paper=paper))
    for n in range(have, count):
        parent = rng.choice(made) if made and rng.random() < 0.6 else None
        if parent is not None and parent.depth >= 7:
            parent = None
        body = (
            f"Comment {n}: does **Lemma {n % 7}** hold when $\\alpha_{n % 5} > 0$? "
            f"See [the code](https://github.com/example/repo/issues/{n}) and @bench{n % 30}."
        )
        made.append(Comment.post(paper, users[n % 30], body, parent))
    for comment in made[:count:3]:
        for voter in rng.sample(users, 3):
            if voter.pk != comment.author_id:
                comment.add_vote(voter)
    paper.refresh_from_db()
    return paper, users[0]


# --- Posting under load ------------------------------------------------------------------


def load(args):
    import load as harness

    database = args.database if args.database != "dp_bench_comments" else "dp_bench_1m"
    redis_url = os.environ.get("REDIS_URL") or harness.DEFAULT_REDIS_URL
    port = harness.free_port()
    env = harness.server_env(database, port, redis_url)
    env["COMMENT_RATE_LIMIT"] = "1000000/m"  # lifted: the bench users post faster than 6/m
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connections

    harness.manage(env, "migrate", "--noinput", "-v0")
    harness.manage(env, "collectstatic", "--noinput", "-v0")
    cache.clear()  # FLUSHDB on REDIS_URL: rate-limit counters and sessions of earlier runs
    signed_in = harness.sign_in(args.users)
    papers = _load_papers(args.papers, signed_in)
    requests = _post_requests(signed_in, papers, port, count=args.duration * 1500)
    connections.close_all()

    harness.OUT.mkdir(exist_ok=True)
    (harness.OUT / "requests").mkdir(exist_ok=True)
    busy = harness.cpu_busy()
    print(f"{database}: {len(papers)} papers, {len(signed_in)} users; others' CPU {busy:.0f}%")
    log = (harness.OUT / f"server-comments-{database}.log").open("w")
    server = harness.Server(env, port, log)
    server.start()
    # CPU per request of the gunicorn workers and of PostgreSQL: the figure that holds
    # when other processes share the machine.
    monitor = harness.ProcessMonitor(server.web.pid, env["DATABASE_URL"], database)
    monitor.start()
    try:
        probe = harness.probe(port, requests[0], 1)[0]
        assert probe.status == 200, (probe.status, probe.body[:500])
        print(f"posting answers {probe.status} with {probe.queries} queries, {probe.size} bytes")
        header = ("", "clients", "req/s", "p50 ms", "p95", "p99", "errors", "web cpu", "db cpu")
        print("{:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8} {:>7}".format(*header))
        files = harness.OUT / "requests"
        constant = files / "comments-constant.txt"
        constant.write_text(harness.Request("GET", "/bench/constant/").line() + "\n")
        _report("constant view", monitor, port, constant, args.connections, args.duration)
        used = 1  # posts sent so far: each run starts with texts not posted yet
        for clients in (1, args.connections):
            posts = files / "comments-post.txt"
            posts.write_text("\n".join(r.line() for r in requests[used:]) + "\n")
            result = _report("post a comment", monitor, port, posts, clients, args.duration)
            # wrk counts the answers it timed; a few more may have been sent as it stopped.
            used += result["requests"] + clients
            assert used < len(requests), "more posts than prepared texts"
    finally:
        monitor.halt.set()
        monitor.join()
        server.stop()
        log.close()
        removed = _remove_load_comments()
        print(f"removed {removed} bench comments; counts recomputed")


def _report(name, monitor, port, request_file, clients, seconds):
    """wrk's figures for one run, and the CPU milliseconds each request cost."""
    import load as harness

    web_before, db_before = monitor.cpu_ms()
    result = harness.run_wrk(port, request_file, clients, seconds)
    web_after, db_after = monitor.cpu_ms()
    done = max(result["requests"], 1)
    errors = result["non_2xx_3xx"] + result["socket_errors"]
    print(
        f"{name:<16} {clients:>7} {result['rps']:>7.1f} {result['p50_ms']:>7.1f}"
        f" {result['p95_ms']:>7.1f} {result['p99_ms']:>7.1f} {errors:>6}"
        f" {(web_after - web_before) / done:>8.1f} {(db_after - db_before) / done:>7.1f}",
        flush=True,
    )
    return result


def _load_papers(count, signed_in):
    """`count` recent visible papers, each with a top-level comment to reply to."""
    from discussion.models import Comment
    from papers.models import Paper

    papers = list(Paper.objects.visible().order_by("-daily_date", "-pk")[:count])
    rng = random.Random(14)
    roots = {}
    for paper in papers:
        author = rng.choice(signed_in)[0]
        roots[paper.arxiv_id] = Comment.post(
            paper, author, f"{LOAD_PREFIX} (root) on {paper.arxiv_id} {time.time_ns()}"
        ).pk
    return roots


def _post_requests(signed_in, roots, port, count):
    """`count` POSTs as htmx sends them (the CSRF token in a header), each text new."""
    import load as harness

    rng = random.Random(32)
    run = time.time_ns()
    arxiv_ids = list(roots)
    requests = []
    for n in range(count):
        user, headers = signed_in[n % len(signed_in)]
        arxiv_id = rng.choice(arxiv_ids)
        form = {"body": f"{LOAD_PREFIX} {run}-{n}: does Lemma {n % 7} hold for $x_{n % 5}$?"}
        if n % 4 == 3:
            form["parent"] = roots[arxiv_id]
        request_headers = {
            **headers,
            "Origin": f"http://127.0.0.1:{port}",
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        requests.append(
            harness.Request(
                "POST", f"/papers/{arxiv_id}/comments/", request_headers, urlencode(form)
            )
        )
    return requests


def _remove_load_comments():
    from discussion.models import Comment, recount_papers

    comments = Comment.objects.filter(body__startswith=LOAD_PREFIX)
    paper_ids = set(comments.values_list("paper_id", flat=True))
    removed, _ = comments.delete()
    recount_papers(paper_ids)
    return removed


if __name__ == "__main__":
    main()
