"""Faults: the site under gunicorn with production settings, with its own Redis that the
test stops and starts again (never the machine's shared one), and a real Celery worker.

While Redis is down the cache is a miss (config/cache.py), rate limits let requests
through (RATELIMIT_FAIL_OPEN), and what needs a task says it can't be done just now
(papers/queueing.py); once Redis is back the worker reconnects and tasks run again."""

import json
import time
from collections import Counter

import httpx
import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from digests import tokens
from digests.models import DigestSubscription
from ingest.models import Submission
from papers.models import Paper, Vote

from .accounts_helpers import PASSWORD, verified
from .conftest import database_url_for_tests
from .factories import DigestSubscriptionFactory, PaperFactory, UserFactory
from .recorded_http import RecordedServer
from .servers import (
    PostgresCluster,
    RedisServer,
    Site,
    Worker,
    free_port,
    manage,
    session_cookies,
    site_env,
)

pytestmark = pytest.mark.worker

PAPER_1707 = "arxiv-api/2026/id_1707.08567_s0_m100_6a1afebfc6a3.xml"


def wait_for(condition, timeout=60, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting; log:\n{log()[-4000:]}")


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def arxiv():
    with RecordedServer() as server:
        server.add("/api/query", file=PAPER_1707, when={"id_list": "1707.08567"})
        yield server


@pytest.fixture
def site_and_worker(transactional_db, redis_server, arxiv, smtp_server):
    port = free_port()
    env = site_env(
        database_url_for_tests(),
        redis_server.url,
        port,
        WEB_CONCURRENCY=2,
        ARXIV_API_URL=f"{arxiv.url}/api/query",
        ARXIV_REQUEST_INTERVAL=0,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}",
        LOG_LEVEL="INFO",
    )
    site, worker = Site(env), Worker(env)
    try:
        site.start()
        worker.start()
        yield site, worker
    finally:
        site.stop()
        worker.stop()


def client_for(site, user=None):
    cookies = session_cookies(user) if user else {}
    client = httpx.Client(base_url=site.url, cookies=cookies, timeout=30)
    client.get("/digest/subscribe/")  # a form: sets the CSRF cookie
    return client


def post(client, path, data):
    return client.post(path, data=data | {"csrfmiddlewaretoken": client.cookies["csrftoken"]})


def test_with_redis_stopped_pages_render_votes_count_and_tasks_resume_after(
    site_and_worker, redis_server, smtp_server
):
    site, worker = site_and_worker
    paper = PaperFactory(title="Resilient Caches Considered")
    voter = verified(UserFactory(username="voter"))
    # The server checks passwords with the production hashers, not the tests' fast one.
    voter.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    voter.save(update_fields=["password"])
    visitor, user = client_for(site), client_for(site, voter)

    redis_server.stop()

    for path in ["/", "/trending/", "/new/", paper.get_absolute_url(), "/search/?q=caches",
                 "/feeds/daily.rss", "/api/daily_papers", "/digest/subscribe/"]:  # fmt: skip
        response = visitor.get(path)
        assert response.status_code == 200, (path, site.output()[-3000:])
    assert "Resilient Caches Considered" in visitor.get(paper.get_absolute_url()).text
    assert user.get("/submit/").status_code == 200

    # Signing in works (allauth's login rate limit can't count either).
    signing_in = client_for(site)
    response = post(signing_in, "/accounts/login/", {"login": voter.email, "password": PASSWORD})
    assert response.status_code == 302, response.text[-2000:]
    assert signing_in.get("/submit/").status_code == 200  # signed in

    # A vote is recorded and counted (its rate limit can't count: it lets it through).
    response = post(user, f"{paper.get_absolute_url()}vote/", {"action": "up"})
    assert response.status_code == 302
    paper.refresh_from_db()
    assert paper.upvote_count == Vote.objects.filter(paper=paper, user=voter).count() == 1

    # A submission needs a task: it fails at once with a message, not a 500.
    response = post(user, "/submit/", {"paper": "1707.08567"})
    assert response.status_code == 302
    page = user.get(response.headers["location"])
    assert page.status_code == 200
    assert "Submissions are paused for a moment" in page.text
    assert Submission.objects.get().status == Submission.Status.FAILED

    # So does a digest subscription: the box says so, and the mail isn't counted.
    response = post(
        visitor, "/digest/subscribe/", {"email": "ada@example.org", "frequency": "daily"}
    )
    assert response.status_code == 503
    assert "We couldn't send the confirmation mail just now" in response.text
    assert DigestSubscription.objects.get(email="ada@example.org").confirmations_sent == 0
    # As do the account's digest settings and the page a digest's link opens.
    mine = DigestSubscriptionFactory(email=voter.email, user=voter, confirmed_at=None)
    response = post(user, "/settings/digest/", {"action": "resend"})
    assert response.status_code == 302
    assert "send the confirmation link just now" in user.get("/settings/digest/").text
    bounced = DigestSubscriptionFactory(paused_at=timezone.now(), pause_reason="bounced")
    link = f"/digest/unsubscribe/{tokens.unsubscribe_token(bounced.pk)}/"
    response = post(visitor, link, {"action": "confirm"})
    assert response.status_code == 200
    assert "We couldn't send the link just now" in response.text
    mine.refresh_from_db()
    bounced.refresh_from_db()
    assert mine.confirmations_sent == bounced.confirmations_sent == 0
    assert "Internal Server Error" not in site.output()
    assert "Redis cache unreachable" in site.output()

    redis_server.start()  # same port, empty: as after a restart

    response = post(user, "/submit/", {"paper": "1707.08567"})
    assert response.status_code == 302
    wait_for(
        lambda: Paper.objects.filter(arxiv_id="1707.08567", daily_date__isnull=False).exists(),
        log=worker.output,
    )
    assert Submission.objects.filter(status=Submission.Status.FEATURED).count() == 1
    response = post(
        visitor, "/digest/subscribe/", {"email": "ada@example.org", "frequency": "daily"}
    )
    assert response.status_code == 200
    assert "Check your inbox" in response.text
    wait_for(lambda: smtp_server.recipients() == ["ada@example.org"], log=worker.output)
    assert DigestSubscription.objects.get(email="ada@example.org").confirmations_sent == 1
    assert "Internal Server Error" not in site.output()


def test_the_cache_answers_misses_while_redis_is_unreachable(caplog):
    from config.cache import ResilientRedisCache

    closed = ResilientRedisCache(f"redis://127.0.0.1:{free_port()}/0", {})

    assert closed.get("k") is None
    assert closed.get("k", "fallback") == "fallback"
    assert closed.get_many(["a", "b"]) == {}
    assert closed.add("k", 1) is True  # as an empty cache would: nothing is kept
    assert closed.incr("k") is None
    assert closed.has_key("k") is False
    assert closed.get_or_set("k", 5) == 5
    closed.set("k", 1)
    closed.set_many({"a": 1})
    closed.delete("k")
    assert "Redis cache unreachable" in caplog.text


def test_the_cache_still_raises_what_is_not_about_reaching_redis(redis_server):
    from config.cache import ResilientRedisCache

    live = ResilientRedisCache(redis_server.url, {})
    with pytest.raises(ValueError):
        live.incr("missing")  # Django's contract: incr of a missing key raises
    live.set("k", 1)
    assert live.incr("k") == 2


def test_rate_limits_let_requests_through_while_redis_is_unreachable(rf, settings):
    from django_ratelimit.core import is_ratelimited

    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    request = rf.post("/")
    limited = [
        is_ratelimited(request, group="g", key="ip", rate="1/m", increment=True) for _ in range(3)
    ]
    assert limited == [False, False, False]


def test_an_unreachable_database_or_broker_is_a_503_and_anything_else_a_500(rf):
    from django.db import OperationalError
    from kombu.exceptions import OperationalError as BrokerUnreachable

    from papers.views import server_error

    for error, status in [
        (OperationalError("the database system is shutting down"), 503),
        (BrokerUnreachable("Error 111 connecting to 127.0.0.1:6379"), 503),
        (ValueError("a bug"), 500),
    ]:
        try:
            raise error
        except Exception:  # Django calls the handler while handling the exception
            response = server_error(rf.get("/"))
        assert response.status_code == status
        assert (response.get("Retry-After") == "5") == (status == 503)
        assert ("Back in a moment" in response.content.decode()) == (status == 503)


# --- PostgreSQL restarted under load ------------------------------------------------------

# Run with `manage.py shell` against the private cluster: voters with sessions, papers.
SEED = """
import json
from django.utils import timezone
from tests.accounts_helpers import verified
from tests.factories import PaperFactory, UserFactory
from tests.servers import session_cookies
papers = [PaperFactory(daily_date=timezone.localdate()).arxiv_id for _ in range(4)]
users = [verified(UserFactory(username=f"voter{n}")) for n in range(%(users)d)]
print(json.dumps({"papers": papers, "sessions": [session_cookies(u) for u in users]}))
"""
CHECK = """
from django.db.models import Count
from papers.models import Paper
for p in Paper.objects.annotate(rows=Count("votes")).order_by("arxiv_id"):
    print(p.arxiv_id, p.upvote_count, p.rows)
"""


@pytest.fixture
def cluster():
    pg = PostgresCluster().init()
    yield pg
    pg.destroy()


class Traffic:
    """Each thread one signed-in user: loads the daily page, votes, withdraws, and notes
    (when, status, Retry-After) of every answer, or the error if none came."""

    def __init__(self, site, sessions, papers):
        import threading

        self.results, self.stop = [], threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(site.url, cookies, papers))
            for cookies in sessions
        ]

    def _run(self, url, cookies, papers):
        import itertools

        with httpx.Client(base_url=url, cookies=cookies, timeout=20) as client:
            client.get("/digest/subscribe/")
            token = client.cookies.get("csrftoken", "")
            votes = [(f"/papers/{p}/vote/", a) for p in papers for a in ("up", "remove")]
            steps = itertools.cycle(
                [("GET", "/", {})] + [("POST", path, {"action": a}) for path, a in votes]
            )
            for method, path, data in steps:
                if self.stop.is_set():
                    return
                started = time.monotonic()
                try:
                    data = data | {"csrfmiddlewaretoken": token} if data else None
                    response = client.request(method, path, data=data)
                    outcome = (response.status_code, response.headers.get("retry-after"))
                    if not token:
                        token = client.cookies.get("csrftoken", "")
                except httpx.HTTPError as exc:
                    outcome = (repr(exc), None)
                self.results.append((started, time.monotonic(), path, *outcome))
                time.sleep(0.02)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def test_a_postgresql_restart_under_load_answers_503_then_recovers_with_exact_votes(
    cluster, redis_server
):
    cluster.create_database("dp")
    port = free_port()
    env = site_env(cluster.url("dp"), redis_server.url, port, WEB_CONCURRENCY=2)
    env["VOTE_RATE_LIMIT"] = "100000/m"
    manage(env, "migrate", "--noinput", "-v0")
    seeded = json.loads(manage(env, "shell", "--no-imports", input=SEED % {"users": 6}))
    site = Site(env).start()
    try:
        with Traffic(site, seeded["sessions"], seeded["papers"]) as traffic:
            time.sleep(2)
            down = time.monotonic()
            cluster.stop()
            time.sleep(2)
            cluster.start()
            up = time.monotonic()
            time.sleep(4)
    finally:
        site.stop()

    statuses = Counter(r[3] for r in traffic.results)
    during = [r for r in traffic.results if r[1] > down and r[0] < up]
    after = [r for r in traffic.results if r[0] > up + 1]
    assert set(statuses) <= {200, 302, 503}, statuses  # no 500, no request left hanging
    assert {r[3] for r in during} >= {503}, statuses  # the restart was seen
    assert all(r[4] for r in traffic.results if r[3] == 503)  # with Retry-After
    assert max(r[1] - r[0] for r in during) < 10  # failed fast, no worker held
    assert after and {r[3] for r in after} <= {200, 302}, Counter(r[3] for r in after)
    assert "Internal Server Error" not in site.output()
    assert "WORKER TIMEOUT" not in site.output()
    counts = [
        line.split() for line in manage(env, "shell", "--no-imports", input=CHECK).splitlines()
    ]
    assert len(counts) == 4
    assert all(count == rows for _, count, rows in counts), counts  # no half-recorded vote
