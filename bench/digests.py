"""Benchmark: the digest sending path, N subscribers, one process.

    make bench-digests                       # 10,000 subscribers
    .venv/bin/python bench/digests.py --subscribers 100000

What runs: the planner's plan() (finds what is due, queues the delivery rows) and
send_batch() (the body of the send_digest_batch task: claim, choose papers and record
them as sent, compose, SMTP with the commit point) called in this one process, batch
after batch, as one worker process with concurrency 1 would
(--threads N: N batches at a time on N threads of this one process, as
`celery worker --pool=threads --concurrency=N` would; each batch still has its own
single SMTP connection). Mail goes through Django's SMTP backend to an aiosmtpd sink
in a separate process, which counts what it accepts. The data lives in a throwaway
PostgreSQL database (<DATABASE_URL name>_bench), created, migrated and dropped by the
run.

Prints mails/s and memory: peak RSS of the process, and RSS before and after
sending, so runs with different N show whether memory grows with N.
"""

import argparse
import cProfile
import datetime as dt
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- The SMTP sink: another process, so it doesn't share our GIL ----------------------


def _sink(port, ready, accepted, accepted_bytes):
    import asyncio
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            with accepted.get_lock():
                accepted.value += 1
            with accepted_bytes.get_lock():
                accepted_bytes.value += len(envelope.original_content or b"")
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


def start_sink():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    accepted = ctx.Value("q", 0)
    accepted_bytes = ctx.Value("q", 0)
    proc = ctx.Process(target=_sink, args=(port, ready, accepted, accepted_bytes), daemon=True)
    proc.start()
    if not ready.wait(30):
        raise SystemExit("The SMTP sink did not start")
    return proc, port, accepted, accepted_bytes


# --- Data -----------------------------------------------------------------------------------


def create_data(subscribers: int, papers: int, period):
    """Subscriptions by INSERT ... SELECT generate_series (no Python objects, so the
    setup doesn't inflate this process's memory), and the period's papers."""
    from django.db import connection
    from django.utils import timezone

    from papers.models import Author, Authorship, Paper, normalise_name, slug_for

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_digestsubscription (email, frequency, time_zone, "
            "confirmed_at, confirmations_sent, pause_reason, pause_detail, created_at) "
            "SELECT 'reader' || g || '@bench.example', 'daily', '', %s, 0, '', '', %s "
            "FROM generate_series(1, %s) g",
            [now, now, subscribers],
        )
    names = [f"Bench Author {i}" for i in range(40)]
    authors = Author.objects.bulk_create(
        Author(name=n, normalised_name=normalise_name(n), slug=slug_for(normalise_name(n)))
        for n in names
    )
    abstract = (
        "We introduce a method for learning from very long contexts that scales linearly "
        "with sequence length, and show on twelve benchmarks that it matches attention "
        "while using a fraction of the memory. Code and weights are released. " * 3
    )
    for i in range(papers):
        paper = Paper.objects.create(
            arxiv_id=f"2501.{i + 10000:05d}",
            title=f"Linear-Time Long-Context Learning, Part {i}: What Scales and What Doesn't",
            abstract=abstract,
            primary_category="cs.LG",
            categories=["cs.LG", "cs.CL"],
            published_at=now - dt.timedelta(days=1),
            daily_date=period.last,
            upvote_count=100 - i,
            author_names=", ".join(names[i : i + 7]),
            author_count=7,
        )
        Authorship.objects.bulk_create(
            Authorship(paper=paper, author=a, position=p) for p, a in enumerate(authors[i : i + 7])
        )


def run_batches(batches, now, send_batch, threads):
    """Yield each batch's result; with threads > 1, send that many batches at once.
    The queue of batches is bounded, so memory stays flat however many there are."""
    if threads <= 1:
        for key, ids in batches:
            yield send_batch(ids, key, now=now)
        return
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from django.db import connection

    def send(key, ids):
        try:
            return send_batch(ids, key, now=now)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(threads) as pool:
        running = set()
        for key, ids in batches:
            running.add(pool.submit(send, key, ids))
            if len(running) >= threads * 2:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        yield from (f.result() for f in running)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=10, help="papers in the period")
    parser.add_argument("--batch-size", type=int, help="default: DIGEST_BATCH_SIZE")
    parser.add_argument("--threads", type=int, default=1, help="batches sent at a time")
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of the sending")
    args = parser.parse_args()

    sink, port, accepted, accepted_bytes = start_sink()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (the bench creates a DB).")
    from digests.periods import Period
    from digests.planning import plan
    from digests.sending import BatchResult, send_batch

    # The last weekday's issue, at noon UTC: due whatever day the bench runs.
    day = dt.date.today()
    while day.weekday() >= 5:
        day -= dt.timedelta(1)
    period = Period.daily(day)
    now = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)

    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = f"{db['NAME']}_bench"
    bench_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.monotonic()
        create_data(args.subscribers, args.papers, period)
        print(
            f"setup: {args.subscribers:,} subscribers, {args.papers} papers in "
            f"{time.monotonic() - started:.1f}s (database {bench_db})"
        )
        rss_before = rss_mib()
        result = BatchResult()
        checkpoints = []
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        started = time.monotonic()
        for batch_result in run_batches(
            plan(now, batch_size=args.batch_size), now, send_batch, args.threads
        ):
            result += batch_result
            done = result.sent + result.skipped
            if not checkpoints or done >= checkpoints[-1][0] + args.subscribers // 4:
                checkpoints.append((done, rss_mib()))
        elapsed = time.monotonic() - started
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        time.sleep(0.2)  # let the sink count the last reply
        print(f"sent: {result.sent:,} mails in {elapsed:.1f}s, {result.as_dict()}")
        print(f"sink accepted: {accepted.value:,} mails, {accepted_bytes.value / 2**20:.1f} MiB")
        how = "one process" + (f", {args.threads} threads" if args.threads > 1 else "")
        print(f"throughput: {result.sent / elapsed:.0f} mails/s ({how})")
        print(
            f"memory: RSS {rss_before:.0f} MiB before sending, "
            + ", ".join(f"{m:.0f} MiB after {n:,}" for n, m in checkpoints)
            + f"; peak RSS {peak_rss_mib():.0f} MiB"
        )
        if accepted.value != result.sent:
            raise SystemExit("The sink did not receive every mail marked sent")
    finally:
        connection.creation.destroy_test_db(bench_db, verbosity=0)
        sink.terminate()


if __name__ == "__main__":
    main()
