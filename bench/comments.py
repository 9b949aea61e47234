#!/usr/bin/env python
"""What a paper page with a long discussion costs (issue 14), measured in process.

    python bench/comments.py [--database dp_bench_comments] [--comments 300] [--requests 200]

Makes (or reuses) its own database, migrated, with one paper carrying --comments
comments (threads up to eight deep, by 30 users, with upvotes), then requests the
paper page through Django's test client, anonymous and uncached (the page cache off),
and prints p50/p90/p99 of the whole request and its query count; the same for a
signed-in reader; then posts --posts comments one after another as one user (p50/p99).
Single process, single client: a figure for the view itself, not for a loaded server
(bench/load.py measures those with wrk).
"""

import argparse
import os
import statistics
import sys
import time

from seed import ROOT, database_url


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dp_bench_comments")
    parser.add_argument("--comments", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--posts", type=int, default=100)
    args = parser.parse_args(argv)

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(args.database),
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-comments-not-for-production",
            "ALLOWED_HOSTS": "testserver",
            "SITE_URL": "http://testserver",
            "SECURE_SSL_REDIRECT": "0",
            "STATIC_MANIFEST": "0",
            "PAGE_CACHE_SECONDS": "0",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "LOG_LEVEL": "ERROR",
            "COMMENT_RATE_LIMIT": "100000/m",
        }
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


if __name__ == "__main__":
    main()
